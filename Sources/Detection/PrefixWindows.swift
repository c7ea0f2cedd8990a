// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import WardenCore

/// A prefix of one aggregation step (the same network may be counted by two steps).
struct PrefixKey: Hashable, Sendable {
    var network: NetworkKey
    var step: UInt8
}

/// One failure counted towards a prefix: when, and a keyed hash of the host.
struct PrefixHit: Sendable {
    var time: Int64
    /// 0: an empty slot (or a hit taken back after the host succeeded).
    var host: UInt64
}

/// The window of one prefix: its last `failures` hits in a ring allocated once, and the
/// marks that bound what it may do.
struct PrefixEntry: Sendable {
    var hits: [PrefixHit]
    var next = 0
    var lastSeen: Int64 = 0
    /// Banned (by this detector or noted) until then.
    var bannedUntil: Int64 = .min
    /// A host inside authenticated successfully: no ban until then.
    var shieldedUntil: Int64 = .min
    /// A blocked ban was reported; not again until then.
    var reportedUntil: Int64 = .min

    init(capacity: Int) {
        hits = []
        hits.reserveCapacity(capacity)
    }

    /// Hits currently held (the eviction rank).
    var score: Int { hits.reduce(0) { $0 + ($1.host == 0 ? 0 : 1) } }

    /// Records a hit; returns whether the step's threshold is reached: `failures` hits
    /// within `findTime` from at least `distinctHosts` hosts.
    mutating func record(_ hit: PrefixHit, step: AggregationStep) -> (fired: Bool, hosts: Int, span: Int64) {
        let n = step.failures
        if hits.count < n {
            hits.append(hit)
            next = hits.count % n
        } else {
            hits[next] = hit
            next = (next + 1) % n
        }
        guard hits.count == n else { return (false, 0, 0) }
        let horizon = hit.time - step.findTime.microsecondsClamped
        var oldest = Int64.max
        var distinct: [UInt64] = []
        for h in hits {
            guard h.host != 0, h.time >= horizon else { return (false, 0, 0) }
            oldest = min(oldest, h.time)
            if distinct.count < step.distinctHosts, !distinct.contains(h.host) { distinct.append(h.host) }
        }
        return (distinct.count >= step.distinctHosts, distinct.count, hit.time - oldest)
    }

    /// Takes back every hit of `host` (it authenticated successfully).
    mutating func remove(host: UInt64) {
        for i in hits.indices where hits[i].host == host { hits[i].host = 0 }
    }

    mutating func clear() {
        hits.removeAll(keepingCapacity: true)
        next = 0
    }

    /// Heap bytes of the ring (48 bytes of header and allocator overhead).
    var heapBytes: Int { SourceDetail.allocation(hits.capacity, MemoryLayout<PrefixHit>.stride) }
}

/// The bounded table of prefix windows: at most `capacity` entries in a dictionary
/// reserved once; past it the least threatening (not banned nor shielded, fewest hits,
/// oldest) are evicted down to 90 %.
struct PrefixTable: Sendable {
    private(set) var entries: [PrefixKey: PrefixEntry] = [:]
    let capacity: Int
    private(set) var evicted = 0

    /// - Parameter capacity: 0 when aggregation is off (nothing is ever stored).
    init(capacity: Int) {
        self.capacity = capacity
        if capacity > 0 { entries.reserveCapacity(capacity) }
    }

    var count: Int { entries.count }

    /// Buckets the dictionary's storage holds (a power of two; at most 3/4 of them used).
    var bucketCount: Int {
        guard entries.capacity > 0 else { return 0 }
        var b = 1
        while b * 3 < entries.capacity * 4 { b <<= 1 }
        return b
    }

    /// Mutates the entry of `key`, creating it (after an eviction when full).
    mutating func update<R>(_ key: PrefixKey, ringCapacity: Int, now: Int64, _ body: (inout PrefixEntry) -> R) -> R {
        if entries[key] == nil, entries.count >= capacity { evict(now: now) }
        return body(&entries[key, default: PrefixEntry(capacity: ringCapacity)])
    }

    subscript(key: PrefixKey) -> PrefixEntry? {
        get { entries[key] }
        set { entries[key] = newValue }
    }

    /// Drops entries that can decide nothing any more: no ban, no shield, nothing seen
    /// within `horizon`.
    mutating func expire(now: Int64, horizon: Int64) {
        // Removed in place: the storage reserved once is kept, never reallocated.
        let stale = entries.compactMap { key, e in
            e.bannedUntil > now || e.shieldedUntil > now || now - e.lastSeen <= horizon ? nil : key
        }
        for key in stale { entries[key] = nil }
    }

    /// Removes every entry of `network` (operator lifted its ban).
    mutating func remove(network: NetworkKey) {
        for key in entries.keys.filter({ $0.network == network }) { entries[key] = nil }
    }

    private mutating func evict(now: Int64) {
        let target = capacity * 9 / 10
        var ranked = entries.map { (key: $0.key, rank: Self.rank($0.value, now: now), seen: $0.value.lastSeen) }
        ranked.sort { a, b in
            if a.rank != b.rank { return a.rank < b.rank }
            if a.seen != b.seen { return a.seen < b.seen }
            return NetworkKey.precedes(a.key.network, b.key.network) || (a.key.network == b.key.network && a.key.step < b.key.step)
        }
        for entry in ranked.prefix(entries.count - target) {
            entries[entry.key] = nil
            evicted += 1
        }
    }

    /// Banned entries last, shielded ones before them, the others by hits held.
    private static func rank(_ e: PrefixEntry, now: Int64) -> Int {
        if e.bannedUntil > now { return 1 << 22 }
        if e.shieldedUntil > now { return 1 << 21 }
        return e.score
    }
}
