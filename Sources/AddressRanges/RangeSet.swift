// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// A set of addresses kept as sorted, disjoint, non-adjacent ranges per family: the form
/// an nftables interval set accepts (it refuses overlapping elements), with overlapping
/// and adjacent input prefixes merged.
///
/// Pure and deterministic. Building from n prefixes costs O(n log n); subtraction and
/// difference are linear merges of two sorted lists.
public struct RangeSet: Hashable, Sendable {
    /// IPv4 ranges, sorted, disjoint and never adjacent.
    public private(set) var v4: [AddressRange]
    /// IPv6 ranges, sorted, disjoint and never adjacent.
    public private(set) var v6: [AddressRange]

    /// The empty set.
    public init() {
        v4 = []
        v6 = []
    }

    /// The union of `networks`; IPv4-mapped IPv6 prefixes (`::ffff:0:0/96` and longer)
    /// count as the IPv4 prefixes they map.
    public init(_ networks: some Sequence<IPNetwork>) {
        self.init(ranges: networks.map { AddressRange(Self.unmapped($0)) })
    }

    /// The union of `ranges` (any order, overlaps and adjacency allowed).
    public init(ranges: some Sequence<AddressRange>) {
        var four: [AddressRange] = []
        var six: [AddressRange] = []
        for range in ranges {
            if range.family == .v4 { four.append(range) } else { six.append(range) }
        }
        v4 = Self.normalized(four)
        v6 = Self.normalized(six)
    }

    /// The ranges of one family.
    public func ranges(_ family: IPAddress.Family) -> [AddressRange] {
        family == .v4 ? v4 : v6
    }

    /// Every range, IPv4 first.
    public var ranges: [AddressRange] { v4 + v6 }

    /// True when the set holds no address.
    public var isEmpty: Bool { v4.isEmpty && v6.isEmpty }

    /// Number of ranges (what the kernel stores as intervals).
    public var count: Int { v4.count + v6.count }

    /// The set as the fewest CIDR prefixes (sorted), for display and for files.
    public var networks: [IPNetwork] { ranges.flatMap(\.networks) }

    /// True when `address` (IPv4-mapped IPv6 counts as IPv4) is in the set: binary search.
    public func contains(_ address: IPAddress) -> Bool {
        let probe = address.unmapped
        let list = probe.family == .v4 ? v4 : v6
        let value = probe.rangeInteger
        var lower = 0
        var upper = list.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if list[middle].high < value { lower = middle + 1 } else { upper = middle }
        }
        return lower < list.count && list[lower].low <= value
    }

    /// The union of two sets.
    public func union(_ other: RangeSet) -> RangeSet {
        RangeSet(ranges: ranges + other.ranges)
    }

    /// The addresses of this set that are not in `other` (interval subtraction).
    public func subtracting(_ other: RangeSet) -> RangeSet {
        var result = RangeSet()
        result.v4 = Self.subtract(v4, other.v4)
        result.v6 = Self.subtract(v6, other.v6)
        return result
    }

    /// The addresses of this set outside every one of `networks` (the allowlist carved out).
    public func subtracting(_ networks: some Sequence<IPNetwork>) -> RangeSet {
        subtracting(RangeSet(networks))
    }

    /// What changes from `old` to this set, range by range: the ranges of `old` that are
    /// not ranges of this set (to delete) and the ranges of this set that are not ranges of
    /// `old` (to add). Applying both gives exactly this set; ranges in both stay untouched.
    public func changes(from old: RangeSet) -> (removed: [AddressRange], added: [AddressRange]) {
        var removed: [AddressRange] = []
        var added: [AddressRange] = []
        for family in [IPAddress.Family.v4, .v6] {
            let (r, a) = Self.difference(old.ranges(family), ranges(family))
            removed += r
            added += a
        }
        return (removed, added)
    }

    // MARK: Internals

    static func unmapped(_ network: IPNetwork) -> IPNetwork {
        guard network.family == .v6, network.prefixLength >= 96, network.address.unmapped.family == .v4 else { return network }
        return IPNetwork(address: network.address.unmapped, prefixLength: network.prefixLength - 96) ?? network
    }

    /// Sorts and merges overlapping and adjacent ranges (all of one family).
    static func normalized(_ ranges: [AddressRange]) -> [AddressRange] {
        guard ranges.count > 1 else { return ranges }
        let sorted = ranges.sorted()
        var result: [AddressRange] = []
        result.reserveCapacity(sorted.count)
        var current = sorted[0]
        for range in sorted.dropFirst() {
            // Overlapping or adjacent (current.high + 1 == range.low), without overflow.
            if range.low <= current.high || range.low - current.high == 1 {
                if range.high > current.high {
                    current = AddressRange(family: current.family, low: current.low, high: range.high) ?? current
                }
            } else {
                result.append(current)
                current = range
            }
        }
        result.append(current)
        return result
    }

    /// `minuend − subtrahend`, both normalized lists of one family.
    static func subtract(_ minuend: [AddressRange], _ subtrahend: [AddressRange]) -> [AddressRange] {
        guard !subtrahend.isEmpty else { return minuend }
        var result: [AddressRange] = []
        var cut = 0
        for range in minuend {
            var low = range.low
            var exhausted = false
            // Skip holes that end before this range.
            while cut < subtrahend.count, subtrahend[cut].high < low { cut += 1 }
            var index = cut
            while index < subtrahend.count, subtrahend[index].low <= range.high {
                let hole = subtrahend[index]
                if hole.low > low, let piece = AddressRange(family: range.family, low: low, high: hole.low - 1) {
                    result.append(piece)
                }
                if hole.high >= range.high {
                    exhausted = true
                    break
                }
                low = max(low, hole.high + 1)
                index += 1
            }
            if !exhausted, let piece = AddressRange(family: range.family, low: low, high: range.high) {
                result.append(piece)
            }
        }
        return result
    }

    /// Ranges only in `old`, and ranges only in `new` (both sorted).
    static func difference(_ old: [AddressRange], _ new: [AddressRange]) -> ([AddressRange], [AddressRange]) {
        var removed: [AddressRange] = []
        var added: [AddressRange] = []
        var i = 0
        var j = 0
        while i < old.count || j < new.count {
            if j == new.count || (i < old.count && old[i] < new[j]) {
                removed.append(old[i])
                i += 1
            } else if i == old.count || new[j] < old[i] {
                added.append(new[j])
                j += 1
            } else {
                i += 1
                j += 1
            }
        }
        return (removed, added)
    }
}
