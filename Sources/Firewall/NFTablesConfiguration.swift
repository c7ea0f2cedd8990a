// SPDX-License-Identifier: GPL-2.0-or-later

/// A destination port or port range (`5060`, `5060-5061`) the ban rules are restricted to.
public struct PortMatch: Hashable, Sendable, CustomStringConvertible {
    public let lowerBound: UInt16
    public let upperBound: UInt16

    /// A single port.
    public init(_ port: UInt16) {
        lowerBound = port
        upperBound = port
    }

    /// An inclusive range; nil when `lower > upper`.
    public init?(lower: UInt16, upper: UInt16) {
        guard lower <= upper else { return nil }
        lowerBound = lower
        upperBound = upper
    }

    /// Parses `PORT` or `LOW-HIGH` (decimal, 0…65535). Returns nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let low = Self.parsePort(first) else { return nil }
        if parts.count == 2 {
            guard let high = Self.parsePort(parts[1]) else { return nil }
            self.init(lower: low, upper: high)
        } else {
            self.init(low)
        }
    }

    private static func parsePort(_ text: some StringProtocol) -> UInt16? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt16(text)
    }

    /// nft syntax: `5060` or `5060-5061`.
    public var description: String {
        lowerBound == upperBound ? "\(lowerBound)" : "\(lowerBound)-\(upperBound)"
    }
}

/// How `NFTablesFirewall` lays out its table.
///
/// The table holds four sets: `host4`/`host6` (hash sets, `flags timeout`) for single
/// addresses and `ban4`/`ban6` (`flags interval, timeout`) for prefixes. Single addresses
/// are kept out of the interval sets on purpose: nft 1.0.x reads back every element of
/// every interval set in the ruleset before each element command, so a large interval
/// set makes every ban slow (measured: 13 ms per add with 9 k interval elements, against
/// 20 µs for a hash set of 10 k). Keeping hosts in hash sets also means a host inside a
/// banned prefix never conflicts with it.
public struct NFTablesConfiguration: Hashable, Sendable {
    /// Name of the `inet` table (letters, digits and `_`, starting with a letter, ≤ 32 characters).
    public var tableName: String
    /// Destination ports the ban applies to (TCP and UDP). Empty = drop every packet from a
    /// banned source.
    public var ports: [PortMatch]
    /// Netfilter hook of the chain. Prerouting at `raw` priority (-300) sees packets before
    /// conntrack, so an already established UDP "flow" is cut off too.
    public var hook: Hook
    /// Chain priority (default -300, `raw`).
    public var priority: Int
    /// Shortest IPv4 prefix a ban may cover (a guard against banning the whole Internet).
    public var minimumPrefixLengthV4: Int
    /// Shortest IPv6 prefix a ban may cover.
    public var minimumPrefixLengthV6: Int
    /// Longest timeout accepted (the kernel refuses much longer ones); use a permanent
    /// ban (`nil`) beyond that.
    public var maximumTimeout: Duration
    /// Per-source rate ceiling on the SIP ports, in a table of its own (`<table>_guard`);
    /// nil = no guard (its table is removed at set-up).
    public var floodGuard: FloodGuard?
    /// Whether `setUp()` builds (or, when `floodGuard` is nil, removes) the guard table.
    /// One-shot commands (`sipwarden bans add`) turn it off so that they never reset the
    /// meters or exemptions of a daemon that is running.
    public var managesFloodGuard = true
    /// Whether the ban sets give every element packet and byte counters of its own (read
    /// by `SetCounterReader`: did a banned source keep sending?). They cost the kernel
    /// call of each ban 10–25 µs (docs/BENCHMARKS.md, "Ban set counters"), so the daemon
    /// turns them on only for what reads them. A table built the other way is rebuilt at
    /// `setUp()` with its elements.
    public var elementCounters = true

    /// Netfilter hooks that make sense for banning sources.
    public enum Hook: String, Hashable, Sendable {
        case prerouting, input, forward
    }

    public init(
        tableName: String = "sipwarden",
        ports: [PortMatch] = [],
        hook: Hook = .prerouting,
        priority: Int = -300,
        minimumPrefixLengthV4: Int = 8,
        minimumPrefixLengthV6: Int = 16,
        maximumTimeout: Duration = .seconds(365 * 86_400),
        floodGuard: FloodGuard? = nil
    ) {
        self.tableName = tableName
        self.ports = ports
        self.hook = hook
        self.priority = priority
        self.minimumPrefixLengthV4 = minimumPrefixLengthV4
        self.minimumPrefixLengthV6 = minimumPrefixLengthV6
        self.maximumTimeout = maximumTimeout
        self.floodGuard = floodGuard
    }

    /// Checks every field; the names and numbers end up in nft commands.
    public func validate() throws(FirewallError) {
        guard NFTSyntax.isIdentifier(tableName) else {
            throw FirewallError(.invalidConfiguration, "table name \"\(tableName)\" must be 1-32 letters, digits or '_' starting with a letter")
        }
        guard (-1_000...1_000).contains(priority) else {
            throw FirewallError(.invalidConfiguration, "chain priority \(priority) is outside -1000...1000")
        }
        guard (0...32).contains(minimumPrefixLengthV4), (0...128).contains(minimumPrefixLengthV6) else {
            throw FirewallError(.invalidConfiguration, "minimum prefix lengths must be 0...32 (IPv4) and 0...128 (IPv6)")
        }
        guard maximumTimeout > .zero, maximumTimeout <= .seconds(365 * 86_400) else {
            throw FirewallError(.invalidConfiguration, "maximum timeout must be positive and at most 365 days")
        }
        guard ports.count <= 1_024 else {
            throw FirewallError(.invalidConfiguration, "too many port ranges (\(ports.count), at most 1024)")
        }
        try floodGuard?.validate()
    }
}
