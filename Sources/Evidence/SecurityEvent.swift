// SPDX-License-Identifier: GPL-2.0-or-later
public import NetworkAddress

/// What a source did wrong. Every sensor — log dialect, packet decoder, HEP — reduces
/// what it saw to one of these; detection never knows where an event came from.
public enum EventKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Wrong password or failed digest challenge response.
    case authFailed = "auth_failed"
    /// No such peer, endpoint, account or extension to register as.
    case unknownUser = "unknown_user"
    /// Rejected by an access control list.
    case aclDenied = "acl_denied"
    /// A call to an unknown or unauthorised destination (toll-fraud probing).
    case unauthenticatedCall = "unauthenticated_call"
    /// A known attack tool signature.
    case scanner
    /// Request rate above the configured limit.
    case flood
    /// Unparseable SIP or a malformed request.
    case malformed

    /// Dense index, for per-kind tables.
    public var index: Int {
        switch self {
        case .authFailed: 0
        case .unknownUser: 1
        case .aclDenied: 2
        case .unauthenticatedCall: 3
        case .scanner: 4
        case .flood: 5
        case .malformed: 6
        }
    }
}

/// The transport the offending request arrived on, when the sensor knows it.
public enum Transport: String, Sendable, Hashable, Codable {
    case udp, tcp, tls, ws, wss, sctp
}

/// Which decoder produced an event.
public enum Dialect: String, Sendable, Hashable, Codable, CaseIterable {
    case asterisk, freeswitch, kamailio, opensips
    /// SIP seen on the wire (capture, HEP, inline).
    case sip
}

/// Microseconds since the Unix epoch, UTC. A plain integer keeps the hot path free of
/// Foundation dates and makes clocks trivially injectable.
public struct Timestamp: Hashable, Comparable, Sendable, Codable {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }
    public init(seconds: Int64, microseconds: Int64 = 0) { self.microseconds = seconds * 1_000_000 + microseconds }

    /// Whole seconds, rounded towards negative infinity (never traps).
    public var seconds: Int64 {
        let (q, r) = microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        return r < 0 ? q - 1 : q
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }
    public static func + (a: Timestamp, d: Duration) -> Timestamp { Timestamp(microseconds: a.microseconds + d.microsecondsClamped) }
    public static func - (a: Timestamp, d: Duration) -> Timestamp { Timestamp(microseconds: a.microseconds - d.microsecondsClamped) }
    public static func - (a: Timestamp, b: Timestamp) -> Duration { .microseconds(a.microseconds - b.microseconds) }
}

extension Duration {
    /// Whole microseconds, saturating at Int64's range.
    public var microsecondsClamped: Int64 {
        let (s, atto) = components
        let (m, o) = s.multipliedReportingOverflow(by: 1_000_000)
        if o { return s < 0 ? Int64.min : Int64.max }
        let (r, o2) = m.addingReportingOverflow(atto / 1_000_000_000_000)
        return o2 ? (m < 0 ? Int64.min : Int64.max) : r
    }
}

/// Where in its input an event was found.
public enum EventOrigin: Hashable, Sendable {
    /// A log line: file and 1-based line number (0 when unknown, e.g. a live tail).
    case logLine(file: String, line: Int)
    /// A captured frame: 1-based frame number in a capture file, or 0 when live.
    case frame(file: String, number: Int)
    /// A live packet sensor (capture interface, HEP listener, inline queue).
    case wire(sensor: String)
}

/// One observed security failure: who did what, when, and where it was seen.
///
/// `source` always comes from a field the attacker cannot forge in-band: the PBX's own
/// record of the peer address, or the IP header of the packet. Attacker-written text
/// (`user`, `userAgent`) is carried for evidence only and never used as an address.
public struct SecurityEvent: Hashable, Sendable {
    public var time: Timestamp
    public var source: IPAddress
    public var sourcePort: UInt16?
    public var transport: Transport?
    public var kind: EventKind
    /// User, extension or account the source tried (attacker-controlled text).
    public var user: String?
    /// User-Agent when known (attacker-controlled text).
    public var userAgent: String?
    /// The PBX's reason text or the response code that made this a failure.
    public var reason: String?
    public var dialect: Dialect
    public var origin: EventOrigin

    public init(
        time: Timestamp, source: IPAddress, sourcePort: UInt16? = nil, transport: Transport? = nil,
        kind: EventKind, user: String? = nil, userAgent: String? = nil, reason: String? = nil,
        dialect: Dialect, origin: EventOrigin
    ) {
        self.time = time
        self.source = source
        self.sourcePort = sourcePort
        self.transport = transport
        self.kind = kind
        self.user = user
        self.userAgent = userAgent
        self.reason = reason
        self.dialect = dialect
        self.origin = origin
    }
}
