// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import SIPMessage
import WardenCore

/// A map holding at most `capacity` entries, forgetting the least recently used ones a
/// whole generation at a time: entries live in `current` until it holds half the
/// capacity, then `current` becomes `previous` and the old `previous` is dropped. A hit
/// in `previous` moves the entry back to `current`, so an active key survives any number
/// of new keys (a spoofed-source flood only churns the generations).
///
/// O(1) amortised, no timer, no iteration order dependence (deterministic whatever the
/// hash seed), and after warm-up the two dictionaries reuse their storage.
struct GenerationalMap<Key: Hashable, Value> {
    private(set) var current: [Key: Value] = [:]
    private(set) var previous: [Key: Value] = [:]
    /// Entries per generation.
    let generationCapacity: Int

    init(capacity: Int) {
        generationCapacity = max(1, capacity / 2)
    }

    var count: Int { current.count + previous.count }

    /// Removes and returns the entry for `key` (use with ``put(_:_:)`` to mutate a value
    /// without a copy-on-write of what it owns).
    mutating func take(_ key: Key) -> Value? {
        if let v = current.removeValue(forKey: key) { return v }
        return previous.removeValue(forKey: key)
    }

    /// Whether `key` is present (does not refresh it).
    func contains(_ key: Key) -> Bool { current[key] != nil || previous[key] != nil }

    /// The value for `key`, if present (does not refresh it).
    func value(_ key: Key) -> Value? { current[key] ?? previous[key] }

    /// Inserts (or replaces) `key` in the current generation; returns the entries dropped
    /// to make room (the whole previous generation, when the current one was full).
    @discardableResult
    mutating func put(_ key: Key, _ value: Value) -> [Key: Value]? {
        var dropped: [Key: Value]?
        if current.count >= generationCapacity, current[key] == nil {
            dropped = rotate()
        }
        current[key] = value
        return dropped
    }

    /// Moves `current` to `previous`, returning what `previous` held.
    mutating func rotate() -> [Key: Value] {
        let old = previous
        previous = current
        current = [:]
        current.reserveCapacity(min(generationCapacity, 1 << 16))
        return old
    }

    /// Runs `body` on the value for `key`, inserting `makeDefault()` first when absent.
    /// Returns the result and the number of entries evicted to make room.
    mutating func update<R>(_ key: Key, default makeDefault: () -> Value, _ body: (inout Value) -> R) -> (R, Int) {
        if let index = current.index(forKey: key) {
            return (body(&current.values[index]), 0)
        }
        var value = previous.removeValue(forKey: key) ?? makeDefault()
        let result = body(&value)
        let dropped = put(key, value)
        return (result, dropped?.count ?? 0)
    }
}

/// The key RFC 3261 §17.1.3 matches a response to its client transaction with: the top
/// Via branch and the CSeq method (or, for an RFC 2543 request without the magic cookie,
/// Call-ID, From tag, CSeq number and method), hashed to 128 bits, plus the client's IP
/// address from the IP header so that one source can never complete another's transaction.
struct TransactionKey: Hashable {
    var client: IPAddress
    var h1: UInt64
    var h2: UInt64
}

/// Two independent 64-bit hashes over a sequence of byte strings (FNV-1a and a
/// multiply-rotate hash), with a separator between the parts.
struct KeyHasher {
    var h1: UInt64 = 0xcbf2_9ce4_8422_2325
    var h2: UInt64 = 0x9e37_79b9_7f4a_7c15

    @inline(__always)
    mutating func addByte(_ b: UInt8) {
        h1 = (h1 ^ UInt64(b)) &* 0x0000_0100_0000_01b3
        h2 = ((h2 ^ UInt64(b)) &* 0xff51_afd7_ed55_8ccd)
        h2 = (h2 << 29) | (h2 >> 35)
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { addByte(b) }
        addByte(0xff) // separator: never a byte of a SIP token
        addByte(UInt8(truncatingIfNeeded: bytes.count))
    }

    mutating func addNumber(_ v: UInt32) {
        addByte(UInt8(truncatingIfNeeded: v >> 24))
        addByte(UInt8(truncatingIfNeeded: v >> 16))
        addByte(UInt8(truncatingIfNeeded: v >> 8))
        addByte(UInt8(truncatingIfNeeded: v))
    }
}

/// What the correlator remembers of a request until its final response or its timeout.
struct OpenTransaction {
    /// The request's IP destination: the response must come from there.
    var server: IPAddress
    /// The request's destination port (the server's), for the events' destination.
    var serverPort: UInt16
    var clientPort: UInt16
    var transport: WardenCore.Transport
    var method: UInt8 // SIPMethod raw value
    var hasCredentials: Bool
    var completed = false
    /// Some response (provisional or final) came back.
    var answered = false
    /// The final response was a digest challenge to a request without (fresh) credentials:
    /// productive only once a credentialed retry in the same exchange is accepted.
    var challenged = false
    /// Already counted as unproductive towards the flood rule (at most once).
    var counted = false
    /// The capture-file frame of the request (-1 when live), for the origin of a later `flood` event.
    var frame = -1
    /// Hash of Call-ID and From tag: the exchange a challenge and its retry share (RFC 3261 §22.2).
    var exchange: UInt64 = 0
    /// How the request departs from the strict grammar (it parsed leniently): `malformed`
    /// if the server answers that it is broken.
    var deviation: SIPParseError?
    /// Only for requests that can produce an event (REGISTER, INVITE, or with credentials).
    var user: String?
    var userAgent: String?
}

/// One exchange (Call-ID and From tag) of one client address.
struct ExchangeKey: Hashable {
    var client: IPAddress
    var exchange: UInt64
}

/// Open transactions in a dictionary, with two FIFO rings of their keys in arrival
/// order (one for INVITE, which waits longer, one for the rest) for timeout expiry and for
/// evicting the oldest when the table is full. Every dictionary entry has exactly one ring
/// slot and is removed only through its ring.
struct TransactionTable {
    private var table: [TransactionKey: OpenTransaction] = [:]
    private var rings = [KeyRing(), KeyRing()]
    /// Requests waiting for their flood-rule outcome, in arrival order (at most `capacity`).
    private var judgements = KeyRing()
    private var sequence: UInt64 = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { table.count }

    subscript(key: TransactionKey) -> OpenTransaction? {
        get { table[key] }
        set {
            // Only updates of present entries; insertion goes through `insert`.
            if let newValue, table[key] != nil { table[key] = newValue }
        }
    }

    /// Adds a new transaction to ring `lane` (0 or 1); returns whether the oldest
    /// transaction (of either ring) had to be evicted to make room.
    mutating func insert(_ key: TransactionKey, _ value: OpenTransaction, lane: Int, expireAt: Int64) -> Bool {
        if table[key] != nil {
            table[key] = value
            return false
        }
        var evicted = false
        if table.count >= capacity {
            let oldest: Int
            switch (rings[0].front, rings[1].front) {
            case (let a?, let b?): oldest = a.sequence <= b.sequence ? 0 : 1
            case (_?, nil): oldest = 0
            default: oldest = 1
            }
            if let entry = rings[oldest].popFront() {
                table.removeValue(forKey: entry.key)
                evicted = true
            }
        }
        table[key] = value
        sequence &+= 1
        rings[lane & 1].pushBack(RingEntry(key: key, expireAt: expireAt, sequence: sequence))
        return evicted
    }

    /// Queues `key` to have its outcome judged at `due`; returns whether the oldest queued
    /// judgement had to be dropped (the queue holds at most `capacity`).
    mutating func scheduleJudgement(_ key: TransactionKey, at due: Int64) -> Bool {
        var dropped = false
        if judgements.count >= capacity {
            _ = judgements.popFront()
            dropped = true
        }
        judgements.pushBack(RingEntry(key: key, expireAt: due, sequence: 0))
        return dropped
    }

    /// The oldest queued judgement when it is due at `now` (removed from the queue).
    mutating func popDueJudgement(now: Int64) -> (key: TransactionKey, due: Int64)? {
        guard let front = judgements.front, front.expireAt <= now else { return nil }
        _ = judgements.popFront()
        return (front.key, front.expireAt)
    }

    /// Judgements queued.
    var pendingJudgements: Int { judgements.count }

    /// Removes every transaction whose expiry time is at or before `now`; returns how many
    /// were removed and how many of them never completed.
    mutating func expire(now: Int64) -> (removed: Int, neverCompleted: Int) {
        var removed = 0
        var open = 0
        for lane in 0..<2 {
            while let front = rings[lane].front, front.expireAt <= now {
                _ = rings[lane].popFront()
                if let old = table.removeValue(forKey: front.key) {
                    removed += 1
                    if !old.completed { open += 1 }
                }
            }
        }
        return (removed, open)
    }
}

struct RingEntry {
    var key: TransactionKey
    var expireAt: Int64
    var sequence: UInt64
}

/// A FIFO ring buffer growing by doubling up to the table capacity.
struct KeyRing {
    private var storage: [RingEntry] = []
    private var head = 0
    private(set) var count = 0

    var front: RingEntry? { count > 0 ? storage[head] : nil }

    mutating func pushBack(_ entry: RingEntry) {
        if count == storage.count {
            let newSize = max(64, storage.count * 2)
            var grown: [RingEntry] = []
            grown.reserveCapacity(newSize)
            for i in 0..<count { grown.append(storage[(head + i) % storage.count]) }
            grown.append(contentsOf: repeatElement(entry, count: newSize - count))
            storage = grown
            head = 0
        }
        storage[(head + count) % storage.count] = entry
        count += 1
    }

    mutating func popFront() -> RingEntry? {
        guard count > 0 else { return nil }
        let entry = storage[head]
        head = (head + 1) % storage.count
        count -= 1
        if count == 0 { head = 0 }
        return entry
    }
}
