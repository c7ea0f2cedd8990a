// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import WardenCore

/// A ban prefix packed into two words and a tag (the table's key).
struct NetworkKey: Hashable, Sendable {
    var hi: UInt64
    var lo: UInt64
    /// 4 or 6; 0 marks an empty table slot.
    var family: UInt8
    var prefix: UInt8

    init(_ network: IPNetwork) {
        switch network.address {
        case .v4(let v):
            hi = 0
            lo = UInt64(v)
            family = 4
        case .v6(let h, let l):
            hi = h
            lo = l
            family = 6
        }
        prefix = UInt8(network.prefixLength)
    }

    var network: IPNetwork {
        let address: IPAddress = family == 4 ? .v4(UInt32(truncatingIfNeeded: lo)) : .v6(hi, lo)
        return IPNetwork(address: address, prefixLength: Int(prefix)) ?? IPNetwork(host: address)
    }

    /// A total order, so that eviction never depends on table layout or hash seed.
    static func precedes(_ a: NetworkKey, _ b: NetworkKey) -> Bool {
        if a.family != b.family { return a.family < b.family }
        if a.hi != b.hi { return a.hi < b.hi }
        if a.lo != b.lo { return a.lo < b.lo }
        return a.prefix < b.prefix
    }
}

/// Everything the detector keeps for every tracked source: a fixed-size record (56 bytes),
/// no pointer, no heap allocation. A source with a single failure is judged from this
/// record alone; the second failure moves its counting into a ``SourceDetail``.
struct SourceRecord: Sendable {
    var hi: UInt64 = 0
    var lo: UInt64 = 0
    var lastSeen: Int64 = 0
    /// The ban's end when `banned`, else the time of the single inline failure when
    /// `hasFirst`.
    var stamp: Int64 = 0
    /// Hash of the inline failure's user (0: none, or not an enumeration kind).
    var firstUser: UInt32 = 0
    /// 1-based index into the detail store, 0 for none.
    var detail: UInt32 = 0
    /// The inline failure's slot tag in the first-evidence ring.
    var evidenceTag: UInt32 = 0
    /// The table slot this key hashes to (kept so deletion never rehashes).
    var home: UInt32 = 0
    /// Failures held in the windows: the eviction rank.
    var score: UInt16 = 0
    var family: UInt8 = 0
    var prefix: UInt8 = 0
    var firstWindow: UInt8 = 0
    var flags: UInt8 = 0

    static let bannedFlag: UInt8 = 1
    static let firstFlag: UInt8 = 2
    static let evidenceFlag: UInt8 = 4
    static let succeededFlag: UInt8 = 8

    var key: NetworkKey {
        NetworkKey(hi: hi, lo: lo, family: family, prefix: prefix)
    }

    var isEmpty: Bool { family == 0 }
    var banned: Bool {
        get { flags & Self.bannedFlag != 0 }
        set { flags = newValue ? flags | Self.bannedFlag : flags & ~Self.bannedFlag }
    }
    var hasFirst: Bool {
        get { flags & Self.firstFlag != 0 }
        set { flags = newValue ? flags | Self.firstFlag : flags & ~Self.firstFlag }
    }
    /// The host authenticated successfully (its failures never count towards a prefix).
    var succeeded: Bool {
        get { flags & Self.succeededFlag != 0 }
        set { flags = newValue ? flags | Self.succeededFlag : flags & ~Self.succeededFlag }
    }
    var hasEvidence: Bool {
        get { flags & Self.evidenceFlag != 0 }
        set { flags = newValue ? flags | Self.evidenceFlag : flags & ~Self.evidenceFlag }
    }

    /// Forgets every failure (after a ban, or on a new ban noted from outside).
    mutating func clearFailures() {
        hasFirst = false
        hasEvidence = false
        firstUser = 0
        score = 0
        if !banned { stamp = 0 }
    }
}

extension NetworkKey {
    init(hi: UInt64, lo: UInt64, family: UInt8, prefix: UInt8) {
        self.hi = hi
        self.lo = lo
        self.family = family
        self.prefix = prefix
    }
}

/// A flat open-addressing hash table of ``SourceRecord``s (linear probing, deletion by
/// backward shift, no tombstones). Its storage is allocated once, at `slotCount` =
/// capacity × 5/4 records, and never grows while it holds at most `capacity` entries.
/// Hashing is seeded per process (`Hasher`), so chosen addresses cannot build long probe
/// chains; nothing that depends on the layout leaks into decisions.
struct SourceTable: Sendable {
    private(set) var slots: [SourceRecord]
    private(set) var count = 0

    init(capacity: Int) {
        let n = max(16, capacity + capacity / 4 + 1)
        slots = Array(repeating: SourceRecord(), count: n)
    }

    var slotCount: Int { slots.count }

    private func home(of key: NetworkKey) -> Int {
        var h = Hasher()
        h.combine(key.hi)
        h.combine(key.lo)
        h.combine(key.prefix)
        let v = UInt64(bitPattern: Int64(h.finalize()))
        return Int(v.multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    /// The slot holding `key`, if any.
    func find(_ key: NetworkKey) -> Int? {
        var i = home(of: key)
        while true {
            let r = slots[i]
            if r.isEmpty { return nil }
            if r.hi == key.hi && r.lo == key.lo && r.family == key.family && r.prefix == key.prefix { return i }
            i += 1
            if i == slots.count { i = 0 }
        }
    }

    /// Inserts a fresh record for `key` (which must be absent) and returns its slot. The
    /// table doubles only when it is full of entries that must not be dropped (bans).
    mutating func insert(_ key: NetworkKey) -> Int {
        if (count + 1) * 5 > slots.count * 4 { grow() }
        let h = home(of: key)
        var i = h
        while !slots[i].isEmpty {
            i += 1
            if i == slots.count { i = 0 }
        }
        var r = SourceRecord()
        r.hi = key.hi
        r.lo = key.lo
        r.family = key.family
        r.prefix = key.prefix
        r.home = UInt32(h)
        slots[i] = r
        count += 1
        return i
    }

    subscript(slot: Int) -> SourceRecord {
        get { slots[slot] }
        set { slots[slot] = newValue }
    }

    /// Removes the record in `slot`, shifting back the records that probed past it.
    mutating func remove(at slot: Int) {
        let n = slots.count
        var hole = slot
        var j = slot
        while true {
            j += 1
            if j == n { j = 0 }
            let r = slots[j]
            if r.isEmpty { break }
            let h = Int(r.home)
            // Move r into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !stays {
                slots[hole] = r
                hole = j
            }
        }
        slots[hole] = SourceRecord()
        count -= 1
    }

    @discardableResult
    mutating func remove(_ key: NetworkKey) -> SourceRecord? {
        guard let slot = find(key) else { return nil }
        let r = slots[slot]
        remove(at: slot)
        return r
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: SourceRecord(), count: old.count * 2)
        count = 0
        for r in old where !r.isEmpty {
            let slot = insert(r.key)
            var moved = r
            moved.home = slots[slot].home
            slots[slot] = moved
        }
    }
}
