// SPDX-License-Identifier: GPL-2.0-or-later

/// Sorted, non-overlapping inclusive ranges in parallel arrays, searched by bisection.
struct RangeTable<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    var starts: [Key] = []
    var ends: [Key] = []
    var values: [UInt32] = []

    var count: Int { starts.count }

    /// For tables of 64 ranges or more: `bucketStart[b]` is the number of ranges that start
    /// before bucket `b` (the top 16 bits of the key), 65,537 entries — so a lookup bisects
    /// only the few ranges of its bucket.
    var bucketStart: [UInt32] = []

    static var bucketShift: Key { Key(Key.bitWidth - 16) }

    /// Builds `bucketStart` (call once the ranges are final).
    mutating func buildIndex() {
        guard starts.count >= 64 else {
            bucketStart = []
            return
        }
        var index = [UInt32](repeating: 0, count: 65_537)
        var i = 0
        for b in 0...65_536 {
            // Ranges whose start's bucket is below b.
            while i < starts.count, Int(truncatingIfNeeded: starts[i] >> Self.bucketShift) < b { i += 1 }
            index[b] = UInt32(i)
        }
        bucketStart = index
    }

    /// Index of the range that holds `key`, if any.
    @inline(__always)
    func find(_ key: Key) -> Int? {
        starts.withUnsafeBufferPointer { s -> Int? in
            var lo = 0
            var n = s.count
            if !bucketStart.isEmpty {
                let b = Int(truncatingIfNeeded: key >> Self.bucketShift)
                let (first, end) = bucketStart.withUnsafeBufferPointer { (Int($0[b]), Int($0[b + 1])) }
                // The holder starts in this bucket, or is the last range before it.
                lo = first
                n = end - first
            }
            // Last index with start <= key.
            while n > 0 {
                let half = n >> 1
                let mid = lo + half
                if s[mid] <= key {
                    lo = mid + 1
                    n -= half + 1
                } else {
                    n = half
                }
            }
            guard lo > 0 else { return nil }
            let i = lo - 1
            return ends.withUnsafeBufferPointer { $0[i] >= key } ? i : nil
        }
    }

    mutating func append(_ start: Key, _ end: Key, _ value: UInt32) {
        starts.append(start)
        ends.append(end)
        values.append(value)
    }

    mutating func reserve(_ n: Int) {
        starts.reserveCapacity(n)
        ends.reserveCapacity(n)
        values.reserveCapacity(n)
    }
}

/// An input range for flattening: inclusive bounds and the entry it belongs to.
struct RangeEntry<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    var start: Key
    var end: Key
    var entry: UInt32
}

struct FlattenEvent<Key: FixedWidthInteger & UnsignedInteger & Sendable> {
    var at: Key
    var add: Bool
    var entry: UInt32
}

enum RangeFlattener {
    /// Cuts possibly overlapping ranges into disjoint segments; `resolve` maps the set of
    /// entries active over a segment to the segment's value (nil: leave it out). Adjacent
    /// segments with the same value are merged.
    static func flatten<Key>(
        _ entries: [RangeEntry<Key>],
        resolve: ([UInt32]) -> UInt32?
    ) -> RangeTable<Key> {
        var events: [FlattenEvent<Key>] = []
        events.reserveCapacity(entries.count * 2)
        for e in entries {
            events.append(FlattenEvent(at: e.start, add: true, entry: e.entry))
            if e.end < Key.max { events.append(FlattenEvent(at: e.end + 1, add: false, entry: e.entry)) }
        }
        events.sort { $0.at < $1.at }
        var table = RangeTable<Key>()
        var active: [UInt32] = []
        var i = 0
        while i < events.count {
            let at = events[i].at
            while i < events.count, events[i].at == at {
                let e = events[i]
                if e.add {
                    active.append(e.entry)
                } else if let k = active.firstIndex(of: e.entry) {
                    active.remove(at: k)
                }
                i += 1
            }
            guard !active.isEmpty, let value = resolve(active) else { continue }
            let end: Key = i < events.count ? events[i].at - 1 : Key.max
            if let last = table.values.last, last == value, let lastEnd = table.ends.last, lastEnd < Key.max, lastEnd + 1 == at {
                table.ends[table.ends.count - 1] = end
            } else {
                table.append(at, end, value)
            }
        }
        table.buildIndex()
        return table
    }
}

/// CIDR decomposition of inclusive integer ranges.
enum CIDRSplit {
    /// The fewest CIDR blocks covering exactly `start...end` in a `width`-bit space, as (base, prefix length).
    static func split<Key: FixedWidthInteger & UnsignedInteger>(_ start: Key, _ end: Key, width: Int) -> [(Key, Int)] {
        var out: [(Key, Int)] = []
        var s = start
        while true {
            // Largest block aligned at s that does not pass end.
            var size = s == 0 ? width : min(s.trailingZeroBitCount, width)
            while size > 0 {
                let span: Key = size >= Key.bitWidth ? Key.max : (Key(1) << Key(size)) - 1
                if span <= end - s { break }
                size -= 1
            }
            out.append((s, width - size))
            let span: Key = size >= Key.bitWidth ? Key.max : (Key(1) << Key(size)) - 1
            if end - s == span { break }
            s += span + 1
        }
        return out
    }

    /// The shortest prefix length whose block around `key` lies inside `start...end`.
    static func widestBlock<Key: FixedWidthInteger & UnsignedInteger>(around key: Key, in start: Key, _ end: Key, width: Int) -> Int {
        for length in 0...width {
            let host: Key = length == 0 ? Key.max : (length >= width ? 0 : Key.max >> Key(length + Key.bitWidth - width))
            let base = key & ~host
            if base >= start, base | host <= end { return length }
        }
        return width
    }
}
