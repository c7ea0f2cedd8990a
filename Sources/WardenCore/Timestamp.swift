// SPDX-License-Identifier: GPL-2.0-or-later

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

/// A source of the current time; injected so that every core (detector, correlator,
/// pipeline) can be driven deterministically. (Not named `Clock`: that is the standard
/// library's protocol, and Hummingbird and ServiceLifecycle use it.)
public typealias TimeSource = @Sendable () -> Timestamp
