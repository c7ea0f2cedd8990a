// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// A wall-clock time as a log line wrote it. Log formats often omit the year and the
/// zone; `LogTimeResolver` fills those in from context.
public struct LogClockTime: Hashable, Sendable {
    public var year: Int?
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var microsecond: Int
    /// Offset from UTC in seconds when the line states one (e.g. `+0000`), else nil.
    public var utcOffsetSeconds: Int?

    public init(
        year: Int?, month: Int, day: Int, hour: Int, minute: Int, second: Int,
        microsecond: Int = 0, utcOffsetSeconds: Int? = nil
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.microsecond = microsecond
        self.utcOffsetSeconds = utcOffsetSeconds
    }
}

/// When a line says it happened.
public enum LogTime: Hashable, Sendable {
    /// An exact instant (epoch seconds in the line, or a date with a zone).
    case instant(Timestamp)
    /// A calendar time that needs a year and/or zone from context.
    case clock(LogClockTime)
}

/// What a dialect parser extracts from one line that reports a security failure.
///
/// Parsers are pure functions over the line's bytes. `source` is the address the PBX
/// recorded for the peer — never text taken from an attacker-written field.
public struct LogFinding: Hashable, Sendable {
    public var kind: EventKind
    public var source: IPAddress
    public var sourcePort: UInt16?
    /// The PBX's local address the request reached (Asterisk's security log
    /// `LocalAddress`), when the line states it.
    public var destination: IPAddress?
    /// The PBX's local port, when the line states it.
    public var destinationPort: UInt16?
    public var transport: Transport?
    public var user: String?
    public var userAgent: String?
    public var reason: String?
    /// The SIP Call-ID when the line carries one (attacker-written, clipped).
    public var callID: String?
    /// The best time the line states (see `LogDialects.parse`); nil when it states none
    /// (a journal `MESSAGE`, a console copy): the caller supplies one — the journal entry's
    /// timestamp, or the time the line was read.
    public var time: LogTime?
    public var dialect: Dialect

    public init(
        kind: EventKind, source: IPAddress, sourcePort: UInt16? = nil,
        destination: IPAddress? = nil, destinationPort: UInt16? = nil, transport: Transport? = nil,
        user: String? = nil, userAgent: String? = nil, reason: String? = nil, callID: String? = nil,
        time: LogTime? = nil, dialect: Dialect
    ) {
        self.kind = kind
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.transport = transport
        self.user = user
        self.userAgent = userAgent
        self.reason = reason
        self.callID = callID
        self.time = time
        self.dialect = dialect
    }
}

extension LogFinding {
    /// The event this finding reports, at `time` (the finding's own time resolved by the
    /// caller, or the time it supplies), found at `origin`.
    public func event(at time: Timestamp, origin: EventOrigin) -> SecurityEvent {
        SecurityEvent(
            time: time, source: source, sourcePort: sourcePort, destination: destination,
            destinationPort: destinationPort, transport: transport, kind: kind, user: user,
            userAgent: userAgent, reason: reason, callID: callID, dialect: dialect, origin: origin
        )
    }
}

/// Which dialect(s) to try on each line.
public enum DialectSelection: Hashable, Sendable {
    /// Decide per line.
    case auto
    case only(Dialect)

    /// Parses `auto`, `asterisk`, `freeswitch`, `kamailio`, `opensips`.
    public init?(name: some StringProtocol) {
        if name == "auto" {
            self = .auto
            return
        }
        guard let d = Dialect(rawValue: String(name)), d != .sip else { return nil }
        self = .only(d)
    }
}
