// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// Settings of a ``SIPCorrelator``: which ports carry SIP, what counts as an attack tool
/// or a flood, and the bounds that keep its memory finite whatever the traffic.
public struct CorrelatorConfiguration: Sendable, Hashable {
    /// Transport ports that carry SIP. A payload is looked at when its source or
    /// destination port is in the set; a message is blamed as malformed only when its
    /// destination port is in it. Default: 5060 and 5061.
    public var sipPorts: Set<UInt16>
    /// Case-insensitive substrings of a request's User-Agent that identify an attack tool.
    /// Patterns longer than 64 bytes or empty ones are ignored.
    public var scannerUserAgents: [String]
    /// Whether the sipvicious request shape (Via branch and From tag formats, see
    /// docs/WIRE-DETECTION.md) marks a request as a scanner even without its User-Agent.
    public var detectSipviciousShape: Bool
    /// Minimum time between two `scanner` events for the same source.
    public var scannerEventInterval: Duration
    /// Unproductive requests from one source within ``floodWindow`` that make a `flood`
    /// event (one event per source per window). Unproductive: refused (a 4xx that is the
    /// client's fault), challenged and never completed, unanswered, or malformed; requests
    /// answered with success never count. 0 disables flood detection.
    public var floodThreshold: Int
    /// The fixed window unproductive requests are counted in.
    public var floodWindow: Duration
    /// How long a request may wait for its first response, and a challenged request for
    /// an accepted credentialed retry in the same exchange, before it counts as
    /// unproductive (default 4 s: eight times RFC 3261's T1).
    public var floodOutcomeTimeout: Duration
    /// How long a non-INVITE transaction waits for its final response, and how long a
    /// completed one is kept to absorb retransmissions (RFC 3261 timer F: 64·T1 = 32 s).
    public var transactionTimeout: Duration
    /// The same for INVITE: once a provisional response arrives the client waits for the
    /// final one without a timer (RFC 3261 §17.1.1.2), so ringing calls need longer than
    /// timer B. Default 180 s (RFC 3261 timer C's lower bound).
    public var inviteTransactionTimeout: Duration
    /// Most open transactions; the oldest is evicted beyond it.
    public var maxOpenTransactions: Int
    /// Most sources tracked for rate and scanner suppression (least recently seen go first).
    public var maxTrackedSources: Int
    /// Most TCP flows being framed at once (least recently created go first).
    public var maxTCPFlows: Int
    /// Bound on the bytes buffered by all TCP framers together.
    public var maxBufferedTCPBytes: Int
    /// Largest SIP message accepted (datagram or framed from a stream).
    public var maxMessageSize: Int
    /// The SIP servers (the PBX and its peers) when known. Requests from these addresses
    /// never produce events. When nil, any address that sends a response matching a
    /// request the correlator saw is inferred to be a server, and only excused from
    /// `malformed` (inference can be gamed, so it grants nothing else).
    public var serverAddresses: IPNetworkSet?
    /// Most inferred server addresses remembered.
    public var maxInferredServers: Int

    /// Default ``maxOpenTransactions``: 98 304 = ¾ × 2¹⁷, the most a Swift dictionary holds
    /// in 2¹⁷ buckets (its load factor is ¾); 100 000 took 2¹⁸, twice the memory.
    public static let defaultMaxOpenTransactions = 98_304
    /// Default ``maxTrackedSources``: two generations of 49 152 = ¾ × 2¹⁶ (see above).
    public static let defaultMaxTrackedSources = 98_304

    /// The attack-tool User-Agent substrings looked for by default.
    public static let defaultScannerUserAgents = [
        "friendly-scanner", "sipvicious", "sipcli/", "VaxSIPUserAgent", "pplsip", "sundayddr",
    ]

    public init(
        sipPorts: Set<UInt16> = [5060, 5061],
        scannerUserAgents: [String] = CorrelatorConfiguration.defaultScannerUserAgents,
        detectSipviciousShape: Bool = true,
        scannerEventInterval: Duration = .seconds(60),
        floodThreshold: Int = 200,
        floodWindow: Duration = .seconds(1),
        floodOutcomeTimeout: Duration = .seconds(4),
        transactionTimeout: Duration = .seconds(32),
        inviteTransactionTimeout: Duration = .seconds(180),
        maxOpenTransactions: Int = CorrelatorConfiguration.defaultMaxOpenTransactions,
        maxTrackedSources: Int = CorrelatorConfiguration.defaultMaxTrackedSources,
        maxTCPFlows: Int = 10_000,
        maxBufferedTCPBytes: Int = 64 << 20,
        maxMessageSize: Int = 65_535,
        serverAddresses: IPNetworkSet? = nil,
        maxInferredServers: Int = 1_024
    ) {
        self.sipPorts = sipPorts
        self.scannerUserAgents = scannerUserAgents
        self.detectSipviciousShape = detectSipviciousShape
        self.scannerEventInterval = scannerEventInterval
        self.floodThreshold = floodThreshold
        self.floodWindow = floodWindow
        self.floodOutcomeTimeout = floodOutcomeTimeout
        self.transactionTimeout = transactionTimeout
        self.inviteTransactionTimeout = inviteTransactionTimeout
        self.maxOpenTransactions = maxOpenTransactions
        self.maxTrackedSources = maxTrackedSources
        self.maxTCPFlows = maxTCPFlows
        self.maxBufferedTCPBytes = maxBufferedTCPBytes
        self.maxMessageSize = maxMessageSize
        self.serverAddresses = serverAddresses
        self.maxInferredServers = maxInferredServers
    }
}

/// Counters of a ``SIPCorrelator`` since it was created.
public struct CorrelatorStatistics: Sendable, Hashable {
    /// Payloads handed to ``SIPCorrelator/ingest(_:sensor:emit:)``.
    public var payloads = 0
    /// Payloads on no SIP port, or that are not SIP at all (keep-alives, STUN, TLS,
    /// binary): ignored.
    public var ignoredPayloads = 0
    /// Messages that parsed.
    public var messagesParsed = 0
    /// Requests among them.
    public var requests = 0
    /// Responses among them.
    public var responses = 0
    /// Messages that parsed only leniently (they depart from the RFC 3261 grammar in a
    /// way a tolerant server accepts); `malformed` only if the server answers 400-class.
    public var deviatingMessages = 0
    /// Messages (or TCP streams) that failed to parse or frame.
    public var malformed = 0
    /// Transactions currently waiting for, or holding, their final response.
    public var transactionsOpen = 0
    /// Transactions dropped because the table was full (oldest first).
    public var transactionsEvicted = 0
    /// Transactions that reached their timeout without a final response.
    public var transactionsExpired = 0
    /// Transactions that received a final response.
    public var transactionsCompleted = 0
    /// Responses matching no open transaction (request unseen, expired or evicted, or
    /// response sent somewhere else than the request's source).
    public var responsesWithoutRequest = 0
    /// Responses whose sender is not the address the request was sent to: dropped.
    public var responsesFromWrongServer = 0
    /// Retransmitted requests and final responses absorbed by an existing transaction.
    public var retransmissions = 0
    /// Requests counted as unproductive because no response came back within the outcome timeout.
    public var unansweredRequests = 0
    /// Requests counted as unproductive because their final response refused them.
    public var refusedRequests = 0
    /// Challenged requests counted as unproductive because no credentialed retry was accepted in time.
    public var abandonedChallenges = 0
    /// Outcome judgements dropped unjudged because too many were queued (fail-open).
    public var judgementsDropped = 0
    /// Sources dropped from the rate table because it was full.
    public var sourcesEvicted = 0
    /// TCP flows dropped because of ``CorrelatorConfiguration/maxTCPFlows`` or the byte budget.
    public var tcpFlowsEvicted = 0
    /// TCP segments skipped while looking for a message start (capture began mid-stream).
    public var tcpSegmentsSkipped = 0
    /// Events emitted, indexed by ``EventKind/index``.
    public var eventsByKind = [Int](repeating: 0, count: EventKind.allCases.count)

    public init() {}

    /// Events emitted of `kind`.
    public func events(_ kind: EventKind) -> Int { eventsByKind[kind.index] }
}
