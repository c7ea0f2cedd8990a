// SPDX-License-Identifier: GPL-2.0-or-later

/// What the probe saw for one request (one user, one method, one repetition).
public struct ProbeObservation: Sendable, Hashable, Codable {
    /// The method sent.
    public var method: ProbeMethod
    /// Existing or unknown user.
    public var subject: ProbeSubject
    /// The user name the request was about.
    public var user: String
    /// 0-based repetition number.
    public var repetition: Int
    /// The first final status code (nil when none arrived).
    public var finalStatus: Int?
    /// The reason phrase of that final answer.
    public var reasonPhrase: String?
    /// Distinct provisional (1xx) status codes, in order of arrival.
    public var provisionalStatuses: [Int]
    /// Every response that matched the request (1xx, final and retransmissions).
    public var responseCount: Int
    /// How many times the request was sent (1 + retransmissions).
    public var transmissions: Int
    /// Time from the first transmission to the first final answer, in milliseconds.
    public var latencyMilliseconds: Double?
    /// Time from the first transmission to the first response of any kind, in milliseconds.
    public var firstResponseMilliseconds: Double?
    /// The headers of the first final answer.
    public var headers: ProbeResponseHeaders?
    /// What the probe did to leave no call behind (`ACK`, `CANCEL`, `ACK+BYE`, ...).
    public var cleanup: [String]

    /// Creates an observation (tests build synthetic ones).
    public init(
        method: ProbeMethod, subject: ProbeSubject, user: String, repetition: Int = 0, finalStatus: Int? = nil,
        reasonPhrase: String? = nil, provisionalStatuses: [Int] = [], responseCount: Int = 0, transmissions: Int = 1,
        latencyMilliseconds: Double? = nil, firstResponseMilliseconds: Double? = nil,
        headers: ProbeResponseHeaders? = nil, cleanup: [String] = []
    ) {
        self.method = method
        self.subject = subject
        self.user = user
        self.repetition = repetition
        self.finalStatus = finalStatus
        self.reasonPhrase = reasonPhrase
        self.provisionalStatuses = provisionalStatuses
        self.responseCount = responseCount
        self.transmissions = transmissions
        self.latencyMilliseconds = latencyMilliseconds
        self.firstResponseMilliseconds = firstResponseMilliseconds
        self.headers = headers
        self.cleanup = cleanup
    }

    /// Whether anything at all came back.
    public var answered: Bool { responseCount > 0 }
}

/// Time limits of one exchange.
struct ExchangeTiming: Sendable, Hashable {
    /// RFC 3261 T1 (first retransmission interval).
    static let t1: Duration = .milliseconds(500)
    /// RFC 3261 T2 (cap of non-INVITE retransmission intervals).
    static let t2: Duration = .seconds(4)

    var requestTimeout: Duration
    var cancelAfter: Duration
    var cleanupTimeout: Duration
}

/// The client side of one probe request: its transaction(s) and the clean-up that
/// leaves no call behind. Sans-I/O: fed responses and clock ticks, returns datagrams.
struct ProbeExchange {
    enum Phase: Sendable, Hashable {
        /// Waiting for the answer to the request.
        case waiting
        /// INVITE only: CANCEL sent, waiting for the INVITE's final answer.
        case cancelling
        /// INVITE only: a 2xx was ACKed and a BYE sent; waiting for the BYE's answer.
        case closingDialog
        case done
    }

    let context: RequestContext
    let timing: ExchangeTiming
    let startedAt: Duration
    private(set) var observation: ProbeObservation
    private(set) var phase: Phase = .waiting

    private var request: [UInt8]
    private var retransmitAt: Duration?
    private var retransmitInterval = ExchangeTiming.t1
    private var cancelAt: Duration?
    private var cleanupDeadline: Duration?
    private var cancelRequest: [UInt8]?
    private var cancelRetransmitAt: Duration?
    private var cancelInterval = ExchangeTiming.t1
    private var byeRequest: [UInt8]?
    private var byeBranch: String?
    private var byeRetransmitAt: Duration?
    private var byeInterval = ExchangeTiming.t1
    /// The ACK to repeat when the final answer to the INVITE is retransmitted.
    private(set) var ack: [UInt8]?
    /// Branches for the 2xx ACK and BYE, drawn when the step starts.
    private let spareBranches: (ack: String, bye: String)

    init(
        context: RequestContext, subject: ProbeSubject, repetition: Int, timing: ExchangeTiming,
        spareBranches: (ack: String, bye: String), at now: Duration
    ) {
        self.context = context
        self.timing = timing
        self.startedAt = now
        self.spareBranches = spareBranches
        self.observation = ProbeObservation(
            method: context.method, subject: subject, user: context.user, repetition: repetition, transmissions: 0
        )
        self.request = context.initialRequest.bytes
    }

    var isDone: Bool { phase == .done }
    private var isInvite: Bool { context.method == .invite }
    private var deadline: Duration { startedAt + timing.requestTimeout }

    /// Sends the request for the first time.
    mutating func start() -> [[UInt8]] {
        observation.transmissions = 1
        retransmitAt = startedAt + retransmitInterval
        return [request]
    }

    /// The earliest time ``advance(to:)`` has something to do.
    var nextWakeup: Duration? {
        switch phase {
        case .done:
            return nil
        case .waiting:
            return [retransmitAt, cancelAt, deadline].compactMap { $0 }.min()
        case .cancelling:
            return [cancelRetransmitAt, cleanupDeadline].compactMap { $0 }.min()
        case .closingDialog:
            return [byeRetransmitAt, cleanupDeadline].compactMap { $0 }.min()
        }
    }

    /// Whether `response` belongs to this exchange (RFC 3261 §17.1.3: branch + CSeq method).
    func matches(_ response: ProbeResponse) -> Bool {
        guard response.callID == context.callID else { return false }
        if response.branch == context.branch {
            return response.cseqMethod == context.method.rawValue || response.cseqMethod == "CANCEL"
        }
        if let byeBranch, response.branch == byeBranch { return response.cseqMethod == "BYE" }
        return false
    }

    /// Handles a response for which ``matches(_:)`` is true.
    mutating func receive(_ response: ProbeResponse, at now: Duration) -> [[UInt8]] {
        if response.cseqMethod == "CANCEL" {
            if response.statusCode >= 200 { cancelRetransmitAt = nil }
            return []
        }
        if response.cseqMethod == "BYE" {
            if response.statusCode >= 200 {
                byeRetransmitAt = nil
                if phase == .closingDialog { finish("BYE answered \(response.statusCode)") }
            } else if byeRetransmitAt != nil {
                byeInterval = ExchangeTiming.t2
                byeRetransmitAt = now + byeInterval
            }
            return []
        }
        observation.responseCount += 1
        if observation.firstResponseMilliseconds == nil {
            observation.firstResponseMilliseconds = milliseconds(now - startedAt)
        }
        if response.statusCode < 200 {
            if !observation.provisionalStatuses.contains(response.statusCode), observation.provisionalStatuses.count < 8 {
                observation.provisionalStatuses.append(response.statusCode)
            }
            guard observation.finalStatus == nil, phase == .waiting else { return [] }
            if isInvite {
                retransmitAt = nil // Timer A stops in Proceeding
                if cancelAt == nil { cancelAt = min(now + timing.cancelAfter, deadline) }
            } else if retransmitAt != nil {
                retransmitInterval = ExchangeTiming.t2 // Timer E continues at T2 in Proceeding
                retransmitAt = now + retransmitInterval
            }
            return []
        }
        // A final answer.
        if observation.finalStatus != nil {
            return ack.map { [$0] } ?? [] // retransmitted final: repeat our ACK
        }
        guard phase == .waiting || phase == .cancelling else { return [] }
        observation.finalStatus = response.statusCode
        observation.reasonPhrase = response.reasonPhrase
        observation.headers = response.headers
        observation.latencyMilliseconds = milliseconds(now - startedAt)
        retransmitAt = nil
        cancelAt = nil
        cancelRetransmitAt = nil
        guard isInvite else {
            finish(nil)
            return []
        }
        let tag = response.toTag.flatMap { ProbeSyntax.isToken($0) ? $0 : nil }
        let to = tag.map { "<\(context.aor)>;tag=\($0)" } ?? "<\(context.aor)>"
        if response.statusCode >= 300 {
            let ackBytes = context.ackForNon2xx(responseTo: to).bytes
            ack = ackBytes
            finish("ACK")
            return [ackBytes]
        }
        // 2xx: the call was answered. ACK it, then hang up.
        guard tag != nil else {
            finish("2xx without a usable To tag: could not hang up")
            return []
        }
        let remote = response.contactURI.flatMap { ProbeSyntax.isSafeURI($0) ? $0 : nil } ?? context.requestURI
        var routes = Array(response.recordRoutes.reversed())
        if routes.count > 8 || !routes.allSatisfy(ProbeSyntax.isSafeRoute) {
            routes = []
            observation.cleanup.append("ignored an unusable Record-Route")
        }
        let dialog = EstablishedDialog(remoteTarget: remote, to: to, routeSet: routes)
        let (ackRequest, bye) = context.ackAndBye(dialog: dialog, ackBranch: spareBranches.ack, byeBranch: spareBranches.bye)
        let ackBytes = ackRequest.bytes
        ack = ackBytes
        byeRequest = bye.bytes
        byeBranch = spareBranches.bye
        byeInterval = ExchangeTiming.t1
        byeRetransmitAt = now + byeInterval
        cleanupDeadline = now + timing.cleanupTimeout
        phase = .closingDialog
        observation.cleanup.append("ACK+BYE")
        return [ackBytes, bye.bytes]
    }

    /// Fires the timers due at `now`.
    mutating func advance(to now: Duration) -> [[UInt8]] {
        var out: [[UInt8]] = []
        switch phase {
        case .done:
            break
        case .waiting:
            if let at = cancelAt, now >= at {
                // Only 1xx so far: cancel the INVITE (allowed once a provisional arrived).
                cancelAt = nil
                retransmitAt = nil
                let cancel = context.cancel.bytes
                cancelRequest = cancel
                cancelInterval = ExchangeTiming.t1
                cancelRetransmitAt = now + cancelInterval
                cleanupDeadline = now + timing.cleanupTimeout
                phase = .cancelling
                observation.cleanup.append("CANCEL")
                out.append(cancel)
            } else if now >= deadline {
                finish(observation.answered ? "no final answer" : "no answer")
            } else if let at = retransmitAt, now >= at {
                out.append(request)
                observation.transmissions += 1
                retransmitInterval = isInvite ? retransmitInterval * 2 : min(retransmitInterval * 2, ExchangeTiming.t2)
                retransmitAt = now + retransmitInterval
            }
        case .cancelling:
            if let limit = cleanupDeadline, now >= limit {
                finish("no final answer after CANCEL")
            } else if let at = cancelRetransmitAt, now >= at, let cancelRequest {
                out.append(cancelRequest)
                cancelInterval = min(cancelInterval * 2, ExchangeTiming.t2)
                cancelRetransmitAt = now + cancelInterval
            }
        case .closingDialog:
            if let limit = cleanupDeadline, now >= limit {
                finish("BYE unanswered")
            } else if let at = byeRetransmitAt, now >= at, let byeRequest {
                out.append(byeRequest)
                byeInterval = min(byeInterval * 2, ExchangeTiming.t2)
                byeRetransmitAt = now + byeInterval
            }
        }
        return out
    }

    private mutating func finish(_ note: String?) {
        if let note { observation.cleanup.append(note) }
        phase = .done
        retransmitAt = nil
        cancelAt = nil
        cancelRetransmitAt = nil
        byeRetransmitAt = nil
        cleanupDeadline = nil
    }
}

/// Milliseconds in a duration, as a Double.
func milliseconds(_ d: Duration) -> Double {
    let (seconds, attoseconds) = d.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}
