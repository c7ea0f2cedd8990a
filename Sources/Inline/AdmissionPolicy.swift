// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// The rules the inline admission core decides with. A plain value, validated once at
/// start-up (``validationErrors()``).
///
/// The central promise: a source never has more credentialed requests outstanding
/// (admitted to the PBX, not yet answered) than its remaining failure budget
/// (`maxRetry − failures inside findTime`), so no more than `maxRetry` failed
/// authentications can ever reach the PBX, whatever the attacker's packet rate.
public struct AdmissionPolicy: Hashable, Sendable {
    /// Failed authentications a source may make inside `findTime` before it is cut off.
    public var maxRetry: Int
    /// The window failures are counted in.
    public var findTime: Duration
    /// How long an exhausted source is dropped entirely (its failures are then forgotten).
    public var banTime: Duration
    /// An admitted request the PBX never answers is released, without a failure, after
    /// this long (RFC 3261 Timer F/B: 64 × T1 = 32 s).
    public var transactionTimeout: Duration
    /// Most requests *without* credentials one source may have outstanding at once
    /// (the first REGISTER of a digest handshake, OPTIONS, ...). They cannot fail an
    /// authentication, so they do not consume the failure budget, but they are bounded
    /// so one source cannot make the PBX do unbounded work. Generous by default: many
    /// phones behind one NAT address share it, and a dropped request is only a lost
    /// datagram the client retransmits.
    public var maxUncredentialedOutstanding: Int
    /// Storms are not attacks: every distinct account (the `Authorization` user name)
    /// whose credentialed request from a source succeeds (2xx) inside `findTime` earns that
    /// source one more request in flight, up to this many, on top of its failure budget and
    /// of `maxUncredentialedOutstanding` (a whole office behind one NAT address
    /// re-registering at once needs many in flight). The cost: a source where k accounts
    /// succeeded can have at most `maxRetry + k` failed authentications reach the PBX
    /// before it is cut off — an attacker holding one stolen password earns one, however
    /// often it registers with it; a source with no success (every brute force, every
    /// scanner) still gets exactly `maxRetry`. 0 = no credit.
    public var successCredit: Int
    /// How long a request that arrives while its source has no room in flight may be
    /// *held* (its verdict deferred) until an answer from the PBX makes room, instead of
    /// being dropped at once. Long enough for a PBX working off a backlog (a client
    /// retransmits for up to 32 s; SIPp's default gives up after 11.5 s); retransmissions
    /// of a held request are absorbed meanwhile. Holding never admits anything the budget would not: a held
    /// request is admitted only when it fits, exactly as if it had arrived then; when the
    /// hold time passes without room, or the source is exhausted, it is dropped. A burst
    /// of legitimate requests (a registration storm from one NAT address) then waits a
    /// few milliseconds for the PBX's answers instead of being lost. Zero = never hold.
    /// Holding needs a caller that can defer a verdict (the NFQUEUE shell passes a ticket).
    public var holdTime: Duration
    /// Most requests one source may have held at once; past it, requests are dropped as
    /// without holding. 0 = never hold.
    public var maxHeldPerSource: Int
    /// Most requests held at once over all sources (each is a packet the kernel keeps
    /// queued; the queue holds 65 536).
    public var maxHeldTotal: Int
    /// Hard cap on sources tracked at once. Past it, sampled entries are evicted, the
    /// least informative first (idle, then only-outstanding, then with failures).
    public var maxSources: Int
    /// Sources are judged per prefix: /32 for IPv4 by default.
    public var ipv4PrefixLength: Int
    /// Sources are judged per prefix: /128 for IPv6 by default (/64 is a common choice).
    public var ipv6PrefixLength: Int
    /// Sources in these prefixes are admitted without any accounting.
    public var allowlist: IPNetworkSet
    /// Written into ``SecurityEvent/origin`` as `.wire(sensor:)`.
    public var sensorName: String

    /// Defaults: 5 failures in 10 minutes, then 10 minutes dropped; 32 s transaction
    /// timeout; 32 uncredentialed requests in flight per source, a success credit of up to
    /// 8 192 more (one per account that succeeded); requests held up to 8 s when there is no room (at most 8 192 per source,
    /// 32 768 in all: the kernel queue holds 65 536); 100 000 sources; loopback allowlisted.
    public init(
        maxRetry: Int = 5,
        findTime: Duration = .seconds(600),
        banTime: Duration = .seconds(600),
        transactionTimeout: Duration = .seconds(32),
        maxUncredentialedOutstanding: Int = 32,
        successCredit: Int = 8_192,
        holdTime: Duration = .seconds(8),
        maxHeldPerSource: Int = 8_192,
        maxHeldTotal: Int = 32_768,
        maxSources: Int = 100_000,
        ipv4PrefixLength: Int = 32,
        ipv6PrefixLength: Int = 128,
        allowlist: IPNetworkSet = IPNetworkSet([IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]),
        sensorName: String = "inline"
    ) {
        self.maxRetry = maxRetry
        self.findTime = findTime
        self.banTime = banTime
        self.transactionTimeout = transactionTimeout
        self.maxUncredentialedOutstanding = maxUncredentialedOutstanding
        self.successCredit = successCredit
        self.holdTime = holdTime
        self.maxHeldPerSource = maxHeldPerSource
        self.maxHeldTotal = maxHeldTotal
        self.maxSources = maxSources
        self.ipv4PrefixLength = ipv4PrefixLength
        self.ipv6PrefixLength = ipv6PrefixLength
        self.allowlist = allowlist
        self.sensorName = sensorName
    }

    /// Problems that make this policy unusable, as human-readable messages (empty = valid).
    public func validationErrors() -> [String] {
        var errors: [String] = []
        if !(1...1000).contains(maxRetry) { errors.append("inline: max-retry must be between 1 and 1000, got \(maxRetry)") }
        if findTime <= .zero { errors.append("inline: find-time must be positive") }
        if banTime <= .zero { errors.append("inline: ban-time must be positive") }
        if transactionTimeout <= .zero || transactionTimeout > .seconds(3600) {
            errors.append("inline: transaction timeout must be between 0 and 1 hour")
        }
        if !(1...10_000).contains(maxUncredentialedOutstanding) {
            errors.append("inline: uncredentialed outstanding cap must be between 1 and 10000, got \(maxUncredentialedOutstanding)")
        }
        if !(0...65_536).contains(successCredit) {
            errors.append("inline: success credit must be between 0 and 65536, got \(successCredit)")
        }
        if holdTime < .zero || holdTime > .seconds(30) { errors.append("inline: hold time must be between 0 and 30 s") }
        if !(0...65_536).contains(maxHeldPerSource) {
            errors.append("inline: held requests per source must be between 0 and 65536, got \(maxHeldPerSource)")
        }
        if !(0...65_536).contains(maxHeldTotal) {
            errors.append("inline: held requests in all must be between 0 and 65536, got \(maxHeldTotal)")
        }
        if !(16...50_000_000).contains(maxSources) { errors.append("inline: max sources must be between 16 and 50000000, got \(maxSources)") }
        if !(8...32).contains(ipv4PrefixLength) { errors.append("inline: ipv4 prefix length must be between 8 and 32") }
        if !(32...128).contains(ipv6PrefixLength) { errors.append("inline: ipv6 prefix length must be between 32 and 128") }
        return errors
    }
}

/// Why a request was dropped.
public enum AdmissionDropReason: String, Hashable, Sendable, CaseIterable {
    /// The source already has as many credentialed requests in flight as it has
    /// failures left: one more could be a failure past `maxRetry`.
    case budget
    /// The source reached `maxRetry` failures and is cut off for `banTime`.
    case exhausted
    /// The source has `maxUncredentialedOutstanding` requests without credentials in flight.
    case uncredentialedLimit = "uncredentialed_limit"
    /// A packet to the SIP port that cannot be judged but carries credentials (a
    /// malformed request the PBX might still accept): never let it bypass the budget.
    case unjudgeableCredentials = "unjudgeable_credentials"
    /// An IPv6 fragment to the SIP port (cannot be judged before reassembly).
    case fragment
    /// A held request found no room within the hold time.
    case holdExpired = "hold_expired"
    /// A retransmission of a request that is held: absorbed, as a stateful proxy absorbs
    /// retransmissions of a pending transaction (the held original goes on when there is
    /// room). Not a refusal: the shell counts these apart from drops.
    case retransmissionOfHeld = "retransmission_of_held"

    /// Whether the request was refused (every reason but an absorbed retransmission).
    public var isRefusal: Bool { self != .retransmissionOfHeld }
}

/// Why a request was admitted.
public enum AdmissionAdmitReason: String, Hashable, Sendable, CaseIterable {
    /// A new credentialed transaction, inside the budget.
    case credentialed
    /// A new transaction without credentials, inside the cap.
    case uncredentialed
    /// A retransmission of a transaction already admitted (costs nothing).
    case retransmission
    /// Not accounted: ACK, responses, the PBX's own requests, allowlisted sources.
    case untracked
}

/// The verdict for one packet.
public enum AdmissionDecision: Hashable, Sendable {
    case admit(AdmissionAdmitReason)
    case drop(AdmissionDropReason)
    /// No verdict yet: the request waits for room in flight (see
    /// ``AdmissionPolicy/holdTime``). Its verdict comes later as an ``AdmissionRelease``
    /// carrying the caller's ticket.
    case hold

    /// Whether the packet may pass.
    public var isAdmitted: Bool {
        if case .admit = self { return true }
        return false
    }
}

/// The deferred verdict of a held request.
public struct AdmissionRelease: Hashable, Sendable {
    /// The ticket the caller gave with the request (the NFQUEUE packet id).
    public var ticket: UInt32
    /// The verdict: `.admit(...)` or `.drop(...)`, never `.hold`.
    public var decision: AdmissionDecision

    public init(ticket: UInt32, decision: AdmissionDecision) {
        self.ticket = ticket
        self.decision = decision
    }
}

/// Something the daemon should know: a failure (feed it to the Detector) or a
/// source cut off (ban it in the kernel too).
public enum AdmissionEvent: Hashable, Sendable {
    /// The PBX answered a credentialed request with 401, 403 or 407: an `auth_failed`
    /// ``SecurityEvent`` whose source is the request's IP header source.
    case failure(SecurityEvent)
    /// The source used up its budget: every request from `network` is dropped until
    /// `until`. `event` is the failure that exhausted it.
    case exhausted(network: IPNetwork, failures: Int, until: Timestamp, event: SecurityEvent)

    /// The `auth_failed` event carried by either case.
    public var securityEvent: SecurityEvent {
        switch self {
        case .failure(let event): event
        case .exhausted(_, _, _, let event): event
        }
    }
}

/// Counters since start (all monotonic except `trackedSources`).
public struct AdmissionStatistics: Hashable, Sendable {
    public var admittedCredentialed = 0
    public var admittedUncredentialed = 0
    public var admittedRetransmissions = 0
    public var admittedUntracked = 0
    public var droppedBudget = 0
    public var droppedExhausted = 0
    public var droppedUncredentialedLimit = 0
    /// Requests held for room (each is later admitted or dropped: `heldAdmitted`,
    /// `heldDropped`).
    public var held = 0
    public var heldAdmitted = 0
    /// Held requests dropped: hold time passed (also counted in `droppedHoldExpired`), the
    /// source exhausted or forgotten.
    public var heldDropped = 0
    public var droppedHoldExpired = 0
    /// Retransmissions of held requests, absorbed (not refusals).
    public var absorbedRetransmissions = 0
    /// Requests held right now.
    public var heldNow = 0
    /// 401/403/407 answers to credentialed requests.
    public var failures = 0
    public var exhaustions = 0
    /// Outstanding requests released by the transaction timeout.
    public var expired = 0
    /// Sources evicted because the table was full.
    public var evictions = 0
    /// Final responses that matched no outstanding request.
    public var unmatchedResponses = 0
    public var trackedSources = 0

    public init() {}
}
