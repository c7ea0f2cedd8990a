// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// Decides which failing sources go to the kernel's `suspects` sets, and when.
///
/// The flood guard meters a source per address only while it is a suspect (see
/// `FloodGuard`). A source becomes one at its first failure; this filter keeps that to one
/// netlink element add per newly failing source, a refresh while it keeps failing, and a
/// bounded rate under a spoofed many-source flood:
///
/// - a source marked less than `refreshAfter` ago is not marked again. Two generations of
///   keys, swapped every `refreshAfter` (or when the current one holds `capacity` keys),
///   so a key found is at most 2 × `refreshAfter` old — less than the kernel's timeout —
///   and memory stays below 2 × `capacity` keys whatever the flood;
/// - at most `marksPerSecond` marks per second (a token bucket with as large a burst):
///   beyond it a newly failing source is simply not marked (the guard fails open for it:
///   the per-socket ceiling still applies, and the detector still bans it).
///
/// Pure and deterministic: the caller passes the time (µs, any monotonic origin).
struct SuspectFilter: Sendable {
    /// Keys are re-marked after this long (a quarter of the kernel's suspect timeout).
    let refreshAfterMicroseconds: Int64
    /// Keys per generation at most.
    let capacity: Int
    /// Marks per second at most (also the burst).
    let marksPerSecond: Int
    /// IPv6 sources are keyed by this prefix, as the kernel rule looks them up.
    let prefixLengthV6: Int

    private var current: Set<IPAddress> = []
    private var previous: Set<IPAddress> = []
    private var generationStart: Int64?
    private var tokens: Double
    private var lastRefill: Int64?

    /// Keys held (both generations): at most 2 × `capacity`.
    var storedKeys: Int { current.count + previous.count }

    /// What the filter did so far.
    private(set) var counters = SuspectCounters()

    /// - Parameters:
    ///   - timeout: the kernel's suspect timeout; keys are refreshed after a quarter of it.
    ///   - capacity: keys per generation (the kernel set's size is a sensible value).
    ///   - marksPerSecond: the most netlink adds per second a flood of new sources can cause.
    init(timeout: Duration, capacity: Int, marksPerSecond: Int, prefixLengthV6: Int) {
        let micros = timeout.components.seconds &* 1_000_000 &+ timeout.components.attoseconds / 1_000_000_000_000
        refreshAfterMicroseconds = max(micros / 4, 1)
        self.capacity = max(capacity, 1)
        self.marksPerSecond = max(marksPerSecond, 1)
        self.prefixLengthV6 = prefixLengthV6
        tokens = Double(self.marksPerSecond)
    }

    /// The key the kernel rule looks up for `source`: IPv4 (also IPv4-mapped IPv6) as
    /// itself, IPv6 masked to `prefixLengthV6`.
    func key(_ source: IPAddress) -> IPAddress {
        let plain = source.unmapped
        return plain.family == .v6 ? plain.masked(to: prefixLengthV6) : plain
    }

    /// The key to add to the kernel set for a failure of `source` at `now`, or nil when
    /// it needs no add (marked recently, or over the rate).
    mutating func mark(_ source: IPAddress, now: Int64) -> IPAddress? {
        rotate(now: now)
        let key = key(source)
        if current.contains(key) {
            counters.recent += 1
            return nil
        }
        if previous.contains(key) {
            // Marked in the previous generation: still fresh in the kernel. Not carried
            // over, so it is marked again once that generation is dropped.
            counters.recent += 1
            return nil
        }
        refill(now: now)
        guard tokens >= 1 else {
            counters.overRate += 1
            return nil
        }
        tokens -= 1
        if current.count >= capacity { startGeneration(now: now) }
        current.insert(key)
        counters.marked += 1
        return key
    }

    /// Forgets every mark (the kernel set was rebuilt empty); the rate bound starts full.
    mutating func reset() {
        current.removeAll()
        previous.removeAll()
        generationStart = nil
        lastRefill = nil
        tokens = Double(marksPerSecond)
    }

    /// Forgets that `key` was marked (its kernel add failed): the next failure tries again.
    mutating func forget(_ key: IPAddress) {
        current.remove(key)
        previous.remove(key)
    }

    private mutating func rotate(now: Int64) {
        guard let start = generationStart else {
            generationStart = now
            return
        }
        if now &- start >= refreshAfterMicroseconds || now < start {
            // Two periods idle: nothing in the older generation may be trusted either.
            if now &- start >= 2 * refreshAfterMicroseconds || now < start { current.removeAll(keepingCapacity: true) }
            startGeneration(now: now)
        }
    }

    private mutating func startGeneration(now: Int64) {
        swap(&current, &previous)
        current.removeAll(keepingCapacity: true)
        generationStart = now
    }

    private mutating func refill(now: Int64) {
        guard let last = lastRefill, now > last else {
            lastRefill = lastRefill ?? now
            return
        }
        tokens = min(Double(marksPerSecond), tokens + Double(now &- last) * Double(marksPerSecond) / 1_000_000)
        lastRefill = now
    }
}

/// What the suspect marking did since start.
public struct SuspectCounters: Hashable, Sendable {
    /// Sources added (or refreshed) in the kernel's suspect sets.
    public var marked = 0
    /// Failures of sources marked recently enough: no kernel call.
    public var recent = 0
    /// Newly failing sources not marked because of the rate bound (a spoofed flood).
    public var overRate = 0
    /// Adds the kernel refused or that could not be sent.
    public var failed = 0

    public init(marked: Int = 0, recent: Int = 0, overRate: Int = 0, failed: Int = 0) {
        self.marked = marked
        self.recent = recent
        self.overRate = overRate
        self.failed = failed
    }
}
