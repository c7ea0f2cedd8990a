// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// An inclusive range of addresses of one family, `low...high`, as unsigned integers
/// (IPv4 in the low 32 bits). Prefixes are the common case; a merged run of adjacent
/// prefixes is an arbitrary range.
public struct AddressRange: Hashable, Sendable, Comparable {
    /// The family both ends belong to.
    public let family: IPAddress.Family
    /// The first address of the range.
    public let low: UInt128
    /// The last address of the range (inclusive).
    public let high: UInt128

    /// The addresses of `network`.
    public init(_ network: IPNetwork) {
        family = network.family
        low = network.address.rangeInteger
        high = low | Self.mask(hostBits: network.family.bitWidth - network.prefixLength)
    }

    /// Nil when `low > high` or either end does not fit the family.
    public init?(family: IPAddress.Family, low: UInt128, high: UInt128) {
        guard low <= high, high <= Self.largest(family) else { return nil }
        self.family = family
        self.low = low
        self.high = high
    }

    /// The largest address of `family` as an integer.
    public static func largest(_ family: IPAddress.Family) -> UInt128 {
        mask(hostBits: family.bitWidth)
    }

    /// `2^hostBits − 1`, saturating at `UInt128.max`.
    static func mask(hostBits: Int) -> UInt128 {
        hostBits >= 128 ? .max : hostBits <= 0 ? 0 : (UInt128(1) << UInt128(hostBits)) - 1
    }

    /// The first address.
    public var lowAddress: IPAddress { IPAddress(rangeFamily: family, integer: low) }
    /// The last address.
    public var highAddress: IPAddress { IPAddress(rangeFamily: family, integer: high) }

    /// True when `address` (IPv4-mapped IPv6 counts as IPv4) lies in the range.
    public func contains(_ address: IPAddress) -> Bool {
        let probe = address.unmapped
        guard probe.family == family else { return false }
        let value = probe.rangeInteger
        return low <= value && value <= high
    }

    /// The range as the fewest CIDR prefixes that cover exactly it (at most 2 × bit width).
    public var networks: [IPNetwork] {
        var result: [IPNetwork] = []
        var current = low
        let width = family.bitWidth
        for _ in 0..<(2 * width + 2) {
            var hostBits = current == 0 ? width : min(current.trailingZeroBitCount, width)
            while hostBits > 0, high - current < Self.mask(hostBits: hostBits) { hostBits -= 1 }
            if let network = IPNetwork(address: IPAddress(rangeFamily: family, integer: current), prefixLength: width - hostBits) {
                result.append(network)
            }
            let last = current + Self.mask(hostBits: hostBits)
            if last >= high { break }
            current = last + 1
        }
        return result
    }

    /// IPv4 ranges sort before IPv6 ones, then by start, then by end.
    public static func < (lhs: AddressRange, rhs: AddressRange) -> Bool {
        if lhs.family != rhs.family { return lhs.family == .v4 }
        return lhs.low == rhs.low ? lhs.high < rhs.high : lhs.low < rhs.low
    }
}

extension AddressRange: CustomStringConvertible {
    /// `a/len` when the range is one prefix, else `a-b`.
    public var description: String {
        let prefixes = networks
        if prefixes.count == 1 { return prefixes[0].description }
        return "\(lowAddress)-\(highAddress)"
    }
}

extension IPAddress {
    /// The address as an unsigned integer (IPv4 in the low 32 bits).
    public var rangeInteger: UInt128 {
        switch self {
        case .v4(let v): UInt128(v)
        case .v6(let hi, let lo): UInt128(hi) << 64 | UInt128(lo)
        }
    }

    /// The address of `family` whose integer is `integer` (truncated to the family's width).
    public init(rangeFamily family: Family, integer: UInt128) {
        switch family {
        case .v4: self = .v4(UInt32(truncatingIfNeeded: integer))
        case .v6: self = .v6(UInt64(truncatingIfNeeded: integer >> 64), UInt64(truncatingIfNeeded: integer))
        }
    }
}
