// SPDX-License-Identifier: GPL-2.0-or-later

/// A set of transport ports given as ranges, e.g. `5060,5061,5080-5090`.
///
/// Used by the kernel capture filter and by `PacketDecoder` to keep only SIP traffic: a
/// packet matches when its source OR destination port is in the set, so responses and
/// requests are both seen. At most `maxRanges` ranges, so the generated BPF program stays
/// small.
public struct PortSet: Hashable, Sendable, CustomStringConvertible {
    /// The ranges, sorted, merged, non-overlapping, each `lower <= upper`.
    public private(set) var ranges: [ClosedRange<UInt16>]

    /// The largest number of distinct ranges accepted.
    public static let maxRanges = 64

    /// The usual SIP ports: 5060 (UDP/TCP) and 5061 (TLS; its bytes are encrypted, but its
    /// traffic still shows who connects).
    public static let sipDefault = PortSet(unchecked: [5060...5061])

    /// Every port.
    public static let all = PortSet(unchecked: [0...65535])

    private init(unchecked ranges: [ClosedRange<UInt16>]) { self.ranges = ranges }

    /// Builds a set from ranges (merged and sorted). Returns nil when empty or when more
    /// than `maxRanges` ranges remain after merging.
    public init?(_ input: [ClosedRange<UInt16>]) {
        guard !input.isEmpty else { return nil }
        let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt16>] = []
        for range in sorted {
            if let last = merged.last, Int(range.lowerBound) <= Int(last.upperBound) + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        guard merged.count <= Self.maxRanges else { return nil }
        ranges = merged
    }

    /// Parses `5060`, `5060-5070`, or a comma-separated list of those. Port 0 and
    /// reversed ranges are refused. Returns nil for anything malformed.
    public init?(parsing text: some StringProtocol) {
        var list: [ClosedRange<UInt16>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 1 || parts.count == 2 else { return nil }
            var bounds: [UInt16] = []
            for part in parts {
                guard !part.isEmpty, part.count <= 5, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                    let value = UInt16(part), value > 0
                else { return nil }
                bounds.append(value)
            }
            let lower = bounds[0]
            let upper = bounds[bounds.count - 1]
            guard lower <= upper else { return nil }
            list.append(lower...upper)
            guard list.count <= Self.maxRanges * 4 else { return nil }
        }
        self.init(list)
    }

    /// True when `port` is in the set.
    @inline(__always)
    public func contains(_ port: UInt16) -> Bool {
        for range in ranges {
            if port < range.lowerBound { return false }
            if port <= range.upperBound { return true }
        }
        return false
    }

    /// True when either port is in the set.
    @inline(__always)
    public func matches(_ a: UInt16, _ b: UInt16) -> Bool { contains(a) || contains(b) }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}
