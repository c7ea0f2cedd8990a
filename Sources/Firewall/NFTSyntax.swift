// SPDX-License-Identifier: GPL-2.0-or-later

import AddressRanges
import NetworkAddress

/// Text building blocks for nft commands. Every address that reaches a command is printed
/// from `IPAddress` (canonical numeric text), every name is checked by `isIdentifier`, and
/// every number is printed from an integer: no outside text is ever pasted into a command
/// (nft resolves anything that is not a numeric address through DNS).
enum NFTSyntax {
    /// The four sets of the table.
    enum SetName: String, CaseIterable, Sendable {
        case host4, host6, ban4, ban6

        var family: IPAddress.Family { self == .host4 || self == .ban4 ? .v4 : .v6 }
        var isInterval: Bool { self == .ban4 || self == .ban6 }
        var typeName: String { family == .v4 ? "ipv4_addr" : "ipv6_addr" }

        static func forNetwork(_ network: IPNetwork) -> SetName {
            switch (network.family, network.isHost) {
            case (.v4, true): .host4
            case (.v4, false): .ban4
            case (.v6, true): .host6
            case (.v6, false): .ban6
            }
        }
    }

    static let counterV4 = "dropped4"
    static let counterV6 = "dropped6"
    static let chainName = "sources"

    /// nft identifiers we accept: `[A-Za-z][A-Za-z0-9_]{0,31}`.
    static func isIdentifier(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 32 else { return false }
        func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
        guard isLetter(first) else { return false }
        return bytes.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }

    /// `NNNs` when whole seconds, else `NNNms` (rounded up to the next millisecond).
    /// Nil for zero, negative or absurdly large durations (the kernel would read a zero
    /// timeout as "use the set default", which for our sets is: never expire).
    ///
    /// Seconds and milliseconds are written as separate units (`2591999s948ms`), never as
    /// one millisecond count: nft parses each unit's number into 32 bits of milliseconds,
    /// so `2591999948ms` (a 30-day ban's remaining time at a restart) is refused as
    /// "value too large", while seconds reach far beyond any ban.
    static func format(timeout: Duration) -> String? {
        guard timeout > .zero else { return nil }
        var (seconds, attoseconds) = timeout.components
        guard seconds < 1_000_000_000_000 else { return nil }
        // Rounded up to the millisecond: never shorter than asked, never 0.
        var millis = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        if millis == 1_000 {
            seconds += 1
            millis = 0
        }
        if millis == 0 { return "\(seconds)s" }
        return seconds == 0 ? "\(millis)ms" : "\(seconds)s\(millis)ms"
    }

    /// One set element in nft syntax, with its timeout when it has one.
    static func element(_ interval: AddressInterval, timeout: Duration?) -> String {
        var text = interval.nftKey
        if let timeout {
            // Never let a tiny or zero lifetime turn into "no timeout" (= permanent).
            text += " timeout "
            text += format(timeout: max(timeout, .milliseconds(1))) ?? "1ms"
        }
        return text
    }

    /// `VERB element inet TABLE SET { a, b, c }` — nil when there is nothing to say.
    static func elementCommand(_ verb: String, table: String, set: SetName, _ items: [String]) -> String? {
        guard !items.isEmpty else { return nil }
        var text = "\(verb) element inet \(table) \(set.rawValue) { "
        text += items.joined(separator: ", ")
        text += " }\n"
        return text
    }

    /// The commands that create (or complete) the table. `add` is idempotent for objects
    /// that already exist with the same definition; the chain is flushed and refilled in
    /// the same transaction, so there is never a moment without the drop rules.
    static func setUpCommands(_ configuration: NFTablesConfiguration) -> String {
        let t = configuration.tableName
        var text = "add table inet \(t)\n"
        text += "add counter inet \(t) \(counterV4)\n"
        text += "add counter inet \(t) \(counterV6)\n"
        for set in SetName.allCases {
            let flags = set.isInterval ? "interval, timeout" : "timeout"
            // `counter`: every element gets packet and byte counters of its own when added
            // (no change to the add message), read back by `SetCounterReader`.
            let counter = configuration.elementCounters ? " counter;" : ""
            text += "add set inet \(t) \(set.rawValue) { type \(set.typeName); flags \(flags);\(counter) }\n"
        }
        text +=
            "add chain inet \(t) \(chainName) { type filter hook \(configuration.hook.rawValue) priority \(configuration.priority); policy accept; }\n"
        text += "flush chain inet \(t) \(chainName)\n"
        var match = ""
        if !configuration.ports.isEmpty {
            match = "meta l4proto { tcp, udp } th dport { \(configuration.ports.map(\.description).joined(separator: ", ")) } "
        }
        for set in SetName.allCases {
            let selector = set.family == .v4 ? "ip saddr" : "ip6 saddr"
            let counter = set.family == .v4 ? counterV4 : counterV6
            text += "add rule inet \(t) \(chainName) \(match)\(selector) @\(set.rawValue) counter name \(counter) drop\n"
        }
        if configuration.managesFloodGuard { text += guardCommands(configuration) }
        return text
    }
}

/// An inclusive address range inside one family; prefixes are the common case.
struct AddressInterval: Hashable, Sendable {
    let family: IPAddress.Family
    let low: UInt128
    let high: UInt128

    init(_ network: IPNetwork) {
        family = network.family
        low = network.address.integer
        let hostBits = network.family.bitWidth - network.prefixLength
        high = low | Self.mask(hostBits: hostBits)
    }

    /// Nil when `low > high` or either value does not fit the family.
    init?(family: IPAddress.Family, low: UInt128, high: UInt128) {
        guard low <= high, high <= Self.mask(hostBits: family.bitWidth) else { return nil }
        self.family = family
        self.low = low
        self.high = high
    }

    static func mask(hostBits: Int) -> UInt128 {
        hostBits >= 128 ? .max : hostBits <= 0 ? 0 : (UInt128(1) << UInt128(hostBits)) - 1
    }

    func overlaps(_ other: AddressInterval) -> Bool {
        family == other.family && low <= other.high && other.low <= high
    }

    func contains(_ other: AddressInterval) -> Bool {
        family == other.family && low <= other.low && other.high <= high
    }

    func hull(_ other: AddressInterval) -> AddressInterval {
        AddressInterval(family: family, low: min(low, other.low), high: max(high, other.high)) ?? self
    }

    /// The prefix this interval is exactly, if it is one.
    var network: IPNetwork? {
        let span = high - low
        // A prefix spans 2^k - 1 above an address aligned on 2^k.
        guard span & (span &+ 1) == 0, low & span == 0 else { return nil }
        let hostBits = span == .max ? 128 : 128 - (span &+ 1).leadingZeroBitCount - 1
        return IPNetwork(address: IPAddress(family: family, integer: low), prefixLength: family.bitWidth - hostBits)
    }

    /// The interval as a list of prefixes (at most 2 × bit width of them).
    var networks: [IPNetwork] {
        AddressRange(family: family, low: low, high: high)?.networks ?? []
    }

    /// How nft writes the element: `a`, `a/len` or `a-b`.
    var nftKey: String {
        if let network { return network.description }
        return "\(IPAddress(family: family, integer: low))-\(IPAddress(family: family, integer: high))"
    }
}

extension IPAddress {
    /// The address as an unsigned integer (IPv4 in the low 32 bits).
    var integer: UInt128 {
        switch self {
        case .v4(let v): UInt128(v)
        case .v6(let hi, let lo): UInt128(hi) << 64 | UInt128(lo)
        }
    }

    init(family: Family, integer: UInt128) {
        switch family {
        case .v4: self = .v4(UInt32(truncatingIfNeeded: integer))
        case .v6: self = .v6(UInt64(truncatingIfNeeded: integer >> 64), UInt64(truncatingIfNeeded: integer))
        }
    }
}
