// SPDX-License-Identifier: GPL-2.0-or-later

import WardenCore

/// The last `maxRetry` failure times of one window, in a ring.
struct FailureWindow: Sendable {
    private(set) var times: [Int64] = []
    private var next = 0

    /// Records a failure; true when it is the `maxRetry`-th within `findTime`.
    mutating func record(_ now: Timestamp, threshold: Threshold) -> Bool {
        let n = threshold.maxRetry
        if times.count < n {
            times.append(now.microseconds)
            if times.count < n { return false }
            next = 0
        } else {
            times[next] = now.microseconds
            next = (next + 1) % n
        }
        // The oldest of the last n failures sits at `next`.
        let oldest = times[next]
        return now.microseconds - oldest <= threshold.findTime.microsecondsClamped
    }

    var count: Int { times.count }

    /// A window holding at most the `limit` most recent failures, oldest first.
    func keepingMostRecent(_ limit: Int) -> FailureWindow {
        // Oldest first: the ring starts at `next` once full (and `next` is 0 until then).
        let ordered = Array(times[next...]) + Array(times[..<next])
        var window = FailureWindow()
        window.times = Array(ordered.suffix(max(0, limit)))
        return window
    }
}

/// Distinct users tried (as 32-bit hashes), with the time each was last tried.
struct UserWindow: Sendable {
    private(set) var users: [(hash: UInt32, time: Int64)] = []

    /// Records a user; returns how many distinct users fall inside the rule's window.
    mutating func record(hash h: UInt32, at now: Timestamp, rule: EnumerationRule) -> Int {
        let horizon = now.microseconds - rule.findTime.microsecondsClamped
        users.removeAll { $0.time < horizon }
        if let i = users.firstIndex(where: { $0.hash == h }) {
            users[i].time = now.microseconds
        } else {
            if users.count >= rule.distinctUsers { users.removeFirst() }
            users.append((h, now.microseconds))
        }
        return users.count
    }
}

/// The counting state of a source with more than one failure: one ring of times per
/// window, the users it tried, and its most recent evidence.
struct SourceDetail: Sendable {
    var owner: NetworkKey
    var windows: [FailureWindow]
    var users = UserWindow()
    var evidence: [SecurityEvent] = []
    /// Attacker-written bytes held in `evidence` (accounted against the store's budget).
    var textBytes = 0

    init(owner: NetworkKey, windowCount: Int) {
        self.owner = owner
        windows = Array(repeating: FailureWindow(), count: windowCount)
    }

    /// Appends `event`, dropping the oldest beyond `capacity`; returns the change in
    /// held text bytes.
    mutating func remember(_ event: SecurityEvent, capacity: Int) -> Int {
        var delta = event.textBytes
        while evidence.count >= capacity {
            delta -= evidence.removeFirst().textBytes
        }
        evidence.append(event)
        textBytes += delta
        return delta
    }

    var threatScore: Int { windows.reduce(0) { $0 + $1.count } }

    /// Heap bytes this detail holds: its arrays at their allocated capacity (with 48 bytes
    /// of header and allocator overhead each) and the evidence's text.
    var heapBytes: Int {
        var b = Self.allocation(windows.capacity, MemoryLayout<FailureWindow>.stride)
        for w in windows { b += Self.allocation(w.times.capacity, MemoryLayout<Int64>.stride) }
        b += Self.allocation(users.users.capacity, MemoryLayout<(hash: UInt32, time: Int64)>.stride)
        b += Self.allocation(evidence.capacity, MemoryLayout<SecurityEvent>.stride)
        return b + textBytes
    }

    static func allocation(_ capacity: Int, _ stride: Int) -> Int {
        capacity > 0 ? 48 + capacity * stride : 0
    }
}

/// The bounded pool of ``SourceDetail``s: at most `capacity` of them, holding at most
/// about `byteBudget` heap bytes together (the owner evicts when ``overBudget``).
struct DetailStore: Sendable {
    private(set) var details: [SourceDetail?] = []
    private var free: [Int] = []
    private(set) var count = 0
    /// Heap bytes held by the details (``SourceDetail/heapBytes``), kept up to date.
    private(set) var bytes = 0
    let capacity: Int
    let byteBudget: Int

    init(capacity: Int, byteBudget: Int) {
        self.capacity = max(1, capacity)
        self.byteBudget = byteBudget
    }

    var isFull: Bool { count >= capacity }
    var overBudget: Bool { bytes > byteBudget }

    /// Stores `detail`; returns its 1-based handle. The store must not be full.
    mutating func add(_ detail: SourceDetail) -> UInt32 {
        count += 1
        bytes += detail.heapBytes
        if let i = free.popLast() {
            details[i] = detail
            return UInt32(i + 1)
        }
        if details.isEmpty { details.reserveCapacity(capacity) }
        details.append(detail)
        return UInt32(details.count)
    }

    /// Removes and returns the detail behind `handle`.
    @discardableResult
    mutating func remove(_ handle: UInt32) -> SourceDetail? {
        let i = Int(handle) - 1
        guard i >= 0, i < details.count, let d = details[i] else { return nil }
        details[i] = nil
        free.append(i)
        count -= 1
        bytes -= d.heapBytes
        return d
    }

    /// Mutates the detail behind `handle` in place, keeping the byte accounting.
    mutating func update<R>(_ handle: UInt32, _ body: (inout SourceDetail) -> R) -> R {
        let i = Int(handle) - 1
        var d = details[i].take()!
        let before = d.heapBytes
        let result = body(&d)
        bytes += d.heapBytes - before
        details[i] = d
        return result
    }

    subscript(handle: UInt32) -> SourceDetail? { details[Int(handle) - 1] }

    /// Handles of every detail held.
    var handles: [UInt32] {
        details.indices.compactMap { details[$0] == nil ? nil : UInt32($0 + 1) }
    }
}

/// The evidence of sources' single failures, in arrival order: a ring of `capacity`
/// events holding at most `textBudget` bytes of attacker text. Under a spoofed flood the
/// oldest go first; a source's evidence moves out of the ring into its detail at its
/// second failure.
struct EvidenceRing: Sendable {
    private(set) var slots: [SecurityEvent?]
    private var head: UInt64 = 0
    private var next: UInt64 = 0
    private(set) var textBytes = 0
    let textBudget: Int

    init(capacity: Int, textBudget: Int) {
        slots = Array(repeating: nil, count: max(1, capacity))
        self.textBudget = textBudget
    }

    /// Stores `event`; returns its tag.
    mutating func push(_ event: SecurityEvent) -> UInt32 {
        if next - head == UInt64(slots.count) { dropOldest() }
        let tag = UInt32(truncatingIfNeeded: next)
        slots[Int(next % UInt64(slots.count))] = event
        textBytes += event.textBytes
        next += 1
        while textBytes > textBudget, head < next - 1 { dropOldest() }
        return tag
    }

    /// Takes the event stored under `tag` out of the ring, if it is still there.
    mutating func take(_ tag: UInt32) -> SecurityEvent? {
        let distance = UInt64(UInt32(truncatingIfNeeded: next) &- tag)
        guard distance >= 1, distance <= next - head else { return nil }
        let i = Int((next - distance) % UInt64(slots.count))
        guard let e = slots[i] else { return nil }
        slots[i] = nil
        textBytes -= e.textBytes
        return e
    }

    private mutating func dropOldest() {
        let i = Int(head % UInt64(slots.count))
        if let e = slots[i] { textBytes -= e.textBytes }
        slots[i] = nil
        head += 1
    }
}

extension SecurityEvent {
    /// Bytes of text this event holds outside its fixed-size layout (strings longer than
    /// the 15 bytes Swift stores inline, each in its own allocation).
    var textBytes: Int {
        func cost(_ s: String?) -> Int {
            guard let s else { return 0 }
            let n = s.utf8.count
            return n <= 15 ? 0 : 32 + n
        }
        return cost(user) + cost(userAgent) + cost(reason) + cost(callID)
    }
}
