// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// Why a probe configuration was refused.
public enum ProbeConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The existing user is not a valid SIP URI user part (or is empty / longer than 64).
    case badUser(String)
    /// The domain is not a host name or numeric address.
    case badDomain(String)
    /// The version string is empty, too long or not printable ASCII without spaces.
    case badVersion(String)
    /// No method, or a method listed twice.
    case badMethods
    /// Repetitions outside 1...5.
    case badRepetitions(Int)
    /// A time limit outside its allowed range.
    case badTimeout(String)

    public var description: String {
        switch self {
        case .badUser(let user):
            return "'\(ProbeTargetError.printable(user))' is not a usable SIP user name "
                + "(1-64 characters: letters, digits, -_.!~*'()&=+$,;?/ or %HH escapes)"
        case .badDomain(let domain):
            return "'\(ProbeTargetError.printable(domain))' is not a host name or numeric address"
        case .badVersion(let version):
            return "'\(ProbeTargetError.printable(version))' is not a usable version string"
        case .badMethods:
            return "the probe needs at least one method, each listed once"
        case .badRepetitions(let n):
            return "repetitions must be between 1 and 5 (got \(n))"
        case .badTimeout(let what):
            return "\(what) is out of range"
        }
    }
}

/// What the probe sends and how long it waits.
public struct ProbeConfiguration: Sendable, Hashable {
    /// A user (extension) that exists on the target.
    public var existingUser: String
    /// The SIP domain for From/To/Request-URI; nil uses the target address.
    public var domain: String?
    /// Methods to compare, in order.
    public var methods: [ProbeMethod]
    /// Requests per method and user (each repetition uses a fresh random unknown user).
    public var repetitions: Int
    /// How long to wait for a final answer to each request (retransmitting per timer A/E).
    public var requestTimeout: Duration
    /// INVITE: how long after the first 1xx to wait for a final answer before sending CANCEL.
    public var cancelAfter: Duration
    /// How long to wait for the answer to a CANCEL or BYE.
    public var cleanupTimeout: Duration
    /// Pause between requests.
    public var pause: Duration
    /// The sipwarden version, sent as `User-Agent: sipwarden-probe/<version>`.
    public var version: String

    /// Creates a configuration with the defaults: REGISTER, INVITE and OPTIONS, three
    /// repetitions, 4 s per request, CANCEL 1 s after the first 1xx, 2 s for clean-up,
    /// 20 ms between requests.
    public init(
        existingUser: String, version: String, domain: String? = nil,
        methods: [ProbeMethod] = ProbeMethod.allCases, repetitions: Int = 3,
        requestTimeout: Duration = .seconds(4), cancelAfter: Duration = .seconds(1),
        cleanupTimeout: Duration = .seconds(2), pause: Duration = .milliseconds(20)
    ) {
        self.existingUser = existingUser
        self.version = version
        self.domain = domain
        self.methods = methods
        self.repetitions = repetitions
        self.requestTimeout = requestTimeout
        self.cancelAfter = cancelAfter
        self.cleanupTimeout = cleanupTimeout
        self.pause = pause
    }

    /// The User-Agent header value.
    public var userAgent: String { "sipwarden-probe/\(version)" }

    /// Checks every field.
    /// - Throws: ``ProbeConfigurationError`` for the first field at fault.
    public func validate() throws(ProbeConfigurationError) {
        guard ProbeSyntax.isValidUser(existingUser) else { throw .badUser(existingUser) }
        if let domain, !ProbeSyntax.isValidDomain(domain) { throw .badDomain(domain) }
        guard !version.isEmpty, version.utf8.count <= 32,
            version.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x28 && $0 != 0x29 })
        else {
            throw .badVersion(version)
        }
        guard !methods.isEmpty, Set(methods).count == methods.count else { throw .badMethods }
        guard (1...5).contains(repetitions) else { throw .badRepetitions(repetitions) }
        guard requestTimeout >= .milliseconds(100), requestTimeout <= .seconds(32) else { throw .badTimeout("request timeout") }
        guard cancelAfter >= .zero, cancelAfter <= .seconds(32) else { throw .badTimeout("CANCEL delay") }
        guard cleanupTimeout >= .milliseconds(100), cleanupTimeout <= .seconds(32) else { throw .badTimeout("clean-up timeout") }
        guard pause >= .zero, pause <= .seconds(10) else { throw .badTimeout("pause") }
    }

    /// An upper bound on how long a whole probe can take (every request timing out,
    /// every clean-up timing out, every pause).
    public var maximumDuration: Duration {
        let perStep = requestTimeout + cleanupTimeout + pause + .milliseconds(100)
        return perStep * (methods.count * repetitions * 2) + .seconds(1)
    }
}

/// The enumeration-leak probe, sans I/O: it decides what to send and when, and
/// collects what comes back; a shell (``UDPProbeShell``) moves the datagrams.
///
/// Drive it with ``start(at:)``, then feed every received datagram to
/// ``receive(datagram:at:)`` and call ``advance(to:)`` whenever ``nextWakeup`` passes,
/// sending every datagram they return, until ``isFinished``. Times are offsets from an
/// arbitrary origin on a monotonic clock.
///
/// It sends, per repetition and method, one request about the existing user and one
/// about a fresh random 12-digit user, one request at a time, alternating which comes
/// first; requests carry no credentials.
public struct EnumerationProbe {
    struct Step: Sendable, Hashable {
        let method: ProbeMethod
        let subject: ProbeSubject
        let user: String
        let repetition: Int
    }

    /// The target.
    public let target: ProbeTarget
    /// The configuration.
    public let configuration: ProbeConfiguration
    /// The random users standing in for nonexistent ones, one per repetition.
    public let unknownUsers: [String]
    /// Everything observed so far, in the order the requests were sent.
    public private(set) var observations: [ProbeObservation] = []

    private let local: ProbeLocalEndpoint
    private let domain: String
    private var random: any RandomNumberGenerator
    private let steps: [Step]
    private var nextStep = 0
    private var current: ProbeExchange?
    private var nextStartAt: Duration?
    private var started = false
    /// ACKs to repeat if a final answer to an earlier INVITE is retransmitted (by branch).
    private var ackCache: [String: [UInt8]] = [:]

    /// Plans a probe.
    /// - Parameters:
    ///   - target: where to send (already checked by the safety rules).
    ///   - local: the local address and port of the socket (for Via and Contact).
    ///   - configuration: what to send; validated here.
    ///   - random: the source of branches, tags, Call-IDs and unknown users.
    /// - Throws: ``ProbeConfigurationError`` if the configuration is invalid.
    public init(
        target: ProbeTarget, local: ProbeLocalEndpoint, configuration: ProbeConfiguration,
        random: any RandomNumberGenerator = SystemRandomNumberGenerator()
    ) throws(ProbeConfigurationError) {
        try configuration.validate()
        self.target = target
        self.local = local
        self.configuration = configuration
        self.random = random
        self.domain = configuration.domain.map { d in IPAddress(d).map { ip in Self.hostText(ip) } ?? d } ?? target.hostText
        var unknown: [String] = []
        for _ in 0..<configuration.repetitions {
            var user = ProbeTokens.unknownUser(avoiding: configuration.existingUser, using: &self.random)
            while unknown.contains(user) { user = ProbeTokens.unknownUser(avoiding: configuration.existingUser, using: &self.random) }
            unknown.append(user)
        }
        unknownUsers = unknown
        var steps: [Step] = []
        for rep in 0..<configuration.repetitions {
            for method in configuration.methods {
                let existing = Step(method: method, subject: .existing, user: configuration.existingUser, repetition: rep)
                let other = Step(method: method, subject: .unknown, user: unknown[rep], repetition: rep)
                steps += rep % 2 == 0 ? [existing, other] : [other, existing]
            }
        }
        self.steps = steps
    }

    /// Whether every planned request is finished (answered, timed out or skipped).
    public var isFinished: Bool { started && current == nil && nextStep >= steps.count }

    /// The earliest time ``advance(to:)`` has something to do; nil when finished.
    public var nextWakeup: Duration? {
        if let current { return current.nextWakeup }
        return nextStep < steps.count ? nextStartAt : nil
    }

    /// Starts the probe: returns the first request.
    public mutating func start(at now: Duration) -> [[UInt8]] {
        guard !started else { return [] }
        started = true
        nextStartAt = now
        return advance(to: now)
    }

    /// Handles one received datagram (anything that is not a response to us is ignored).
    public mutating func receive(datagram: [UInt8], at now: Duration) -> [[UInt8]] {
        guard started, let response = ProbeResponse(datagram: datagram) else { return [] }
        if var exchange = current, exchange.matches(response) {
            let out = exchange.receive(response, at: now)
            current = exchange
            return out + settle(at: now)
        }
        // A retransmitted final answer to an INVITE we already finished: ACK it again.
        if response.statusCode >= 200, response.cseqMethod == "INVITE", let branch = response.branch,
            let ack = ackCache[branch]
        {
            return [ack]
        }
        return []
    }

    /// Fires whatever timers are due at `now`; starts the next request when it is time.
    public mutating func advance(to now: Duration) -> [[UInt8]] {
        guard started else { return [] }
        var out: [[UInt8]] = []
        var rounds = 0
        while rounds < 64 {
            rounds += 1
            if var exchange = current {
                guard let wake = exchange.nextWakeup, wake <= now else { break }
                out += exchange.advance(to: now)
                current = exchange
                out += settle(at: now)
            } else {
                guard nextStep < steps.count, let at = nextStartAt, at <= now else { break }
                out += startNextStep(at: now)
            }
        }
        return out
    }

    /// The report on what was observed so far.
    public func report() -> ProbeReport {
        ProbeReport(target: target, configuration: configuration, unknownUsers: unknownUsers, observations: observations)
    }

    // MARK: Internals

    private mutating func settle(at now: Duration) -> [[UInt8]] {
        guard let exchange = current, exchange.isDone else { return [] }
        observations.append(exchange.observation)
        if let ack = exchange.ack, ackCache.count < 64 { ackCache[exchange.context.branch] = ack }
        current = nil
        nextStartAt = now + configuration.pause
        return []
    }

    private mutating func startNextStep(at now: Duration) -> [[UInt8]] {
        while nextStep < steps.count {
            let step = steps[nextStep]
            nextStep += 1
            // A method nobody answered (neither user) is not worth repeating.
            let earlier = observations.filter { $0.method == step.method }
            if earlier.count >= 2, earlier.allSatisfy({ !$0.answered }) { continue }
            let context = RequestContext(
                method: step.method, user: step.user, domain: domain, target: target, local: local,
                userAgent: configuration.userAgent, callID: ProbeTokens.hex(24, using: &random),
                fromTag: ProbeTokens.hex(10, using: &random), branch: ProbeTokens.branch(using: &random), cseq: 1
            )
            let spare = (ProbeTokens.branch(using: &random), ProbeTokens.branch(using: &random))
            var exchange = ProbeExchange(
                context: context, subject: step.subject, repetition: step.repetition,
                timing: ExchangeTiming(
                    requestTimeout: configuration.requestTimeout, cancelAfter: configuration.cancelAfter,
                    cleanupTimeout: configuration.cleanupTimeout
                ),
                spareBranches: spare, at: now
            )
            let out = exchange.start()
            current = exchange
            return out
        }
        return []
    }

    static func hostText(_ ip: IPAddress) -> String {
        switch ip {
        case .v4: ip.description
        case .v6: "[\(ip.description)]"
        }
    }
}
