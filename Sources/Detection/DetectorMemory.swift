// SPDX-License-Identifier: GPL-2.0-or-later

import WardenCore

/// The sizes of the detector's per-source state, all derived from
/// `DetectionPolicy.maxTrackedSources` (N), and the byte bound they add up to.
///
/// - every tracked source: one ``recordBytes``-byte record in a flat table of N × 5/4 slots;
/// - the evidence of single failures: a ring of N/16 events holding at most N × 8 bytes of
///   attacker text;
/// - sources with more than one failure: at most N/8 details, whose arrays and evidence
///   text hold at most N × 80 bytes together (the least threatening are evicted beyond).
///
/// ``boundBytes`` is a structural bound (strides × capacities, 48 bytes of header and
/// allocator overhead per array), not a measurement; `Detector.heldBytes` never exceeds it.
public struct DetectorMemory: Sendable, Hashable {
    public let maxTrackedSources: Int
    /// Slots of the source table.
    public let tableSlots: Int
    /// Events the single-failure evidence ring holds.
    public let ringCapacity: Int
    /// Attacker-text bytes the ring holds at most (beyond its newest event).
    public let ringTextBudget: Int
    /// Most sources with a detail at once.
    public let detailCapacity: Int
    /// Heap bytes the details hold together at most (beyond the one being updated).
    public let detailByteBudget: Int

    /// Bytes of one source record (its stride in the table).
    public static var recordBytes: Int { MemoryLayout<SourceRecord>.stride }
    /// Bytes of one slot of the evidence ring.
    public static var ringSlotStride: Int { MemoryLayout<SecurityEvent?>.stride }
    /// Bytes of one slot of the detail pool, with its free-list entry.
    public static var detailSlotStride: Int { MemoryLayout<SourceDetail?>.stride + MemoryLayout<Int>.stride }
    /// Attacker text one event can hold: four fields (user, user agent, reason, Call-ID) of
    /// at most `Detector.maxEvidenceFieldBytes` (+ the 3-byte ellipsis), each in its own
    /// allocation.
    public static var maxEventTextBytes: Int { 4 * (32 + Detector.maxEvidenceFieldBytes + 3) }
    /// Most heap bytes one detail can reach: every window ring, the users and the evidence
    /// at twice their element bound (array growth), and full evidence text.
    public static func maxDetailBytes(windowMaxRetries: [Int], distinctUsers: Int, evidenceCapacity: Int) -> Int {
        var b = SourceDetail.allocation(windowMaxRetries.count, MemoryLayout<FailureWindow>.stride)
        for n in windowMaxRetries { b += SourceDetail.allocation(2 * n, MemoryLayout<Int64>.stride) }
        b += SourceDetail.allocation(2 * distinctUsers, MemoryLayout<(hash: UInt32, time: Int64)>.stride)
        b += SourceDetail.allocation(2 * evidenceCapacity, MemoryLayout<SecurityEvent>.stride)
        return b + evidenceCapacity * maxEventTextBytes
    }

    /// The most one detail can exceed the budget by (it is never evicted while judged).
    public let detailOvershoot: Int
    /// Prefix windows tracked at once (aggregation; 0 when it is off).
    public let prefixCapacity: Int
    /// Hits one prefix window holds at most (the largest step's failures).
    public let prefixRingCapacity: Int

    /// The sizes a detector under `policy` uses (computed, nothing allocated).
    public init(policy: DetectionPolicy) {
        let retries = [policy.threshold.maxRetry] + policy.overrides.values.map(\.maxRetry)
        self.init(
            maxTrackedSources: policy.maxTrackedSources, windowMaxRetries: retries,
            distinctUsers: policy.enumeration?.distinctUsers ?? 0,
            evidenceCapacity: Detector.evidenceCapacity(maxRetries: retries, policy: policy),
            prefixCapacity: policy.aggregation.steps.isEmpty ? 0 : (policy.aggregation.maxTrackedPrefixes ?? max(16, policy.maxTrackedSources / 32)),
            prefixRingCapacity: policy.aggregation.steps.map(\.failures).max() ?? 0
        )
    }

    init(
        maxTrackedSources n: Int, windowMaxRetries: [Int], distinctUsers: Int, evidenceCapacity: Int,
        prefixCapacity: Int = 0, prefixRingCapacity: Int = 0
    ) {
        self.prefixCapacity = prefixCapacity
        self.prefixRingCapacity = prefixRingCapacity
        let n = max(1, n)
        maxTrackedSources = n
        tableSlots = max(16, n + n / 4 + 1)
        ringCapacity = max(16, n / 16)
        ringTextBudget = max(64 << 10, n * 8)
        detailCapacity = max(16, n / 8)
        detailByteBudget = max(256 << 10, n * 80)
        detailOvershoot = Self.maxDetailBytes(
            windowMaxRetries: windowMaxRetries, distinctUsers: distinctUsers, evidenceCapacity: evidenceCapacity
        )
    }

    func tableBytes(slots: Int) -> Int { 48 + slots * Self.recordBytes }
    var ringSlotBytes: Int { 48 + ringCapacity * Self.ringSlotStride }
    var detailSlotBytes: Int { 96 + detailCapacity * Self.detailSlotStride }

    /// Bytes of one bucket of the prefix table (key, value, one bit of occupancy).
    static var prefixBucketBytes: Int { MemoryLayout<PrefixKey>.stride + MemoryLayout<PrefixEntry>.stride + 1 }

    /// The prefix table's storage with `buckets` buckets (with its header).
    func prefixTableBytes(buckets: Int) -> Int { buckets == 0 ? 0 : 64 + buckets * Self.prefixBucketBytes }

    /// The most bytes the prefix windows hold: the dictionary's buckets (at most twice its
    /// capacity, a power of two) and every entry's ring at twice its element bound (the
    /// allocator may round up).
    public var prefixBoundBytes: Int {
        guard prefixCapacity > 0 else { return 0 }
        var buckets = 1
        while buckets * 3 < prefixCapacity * 4 { buckets <<= 1 }
        return prefixTableBytes(buckets: buckets)
            + prefixCapacity * SourceDetail.allocation(2 * prefixRingCapacity, MemoryLayout<PrefixHit>.stride)
    }

    /// The most bytes the per-source state can hold with at most N sources tracked.
    public var boundBytes: Int {
        tableBytes(slots: tableSlots) + ringSlotBytes + ringTextBudget + Self.maxEventTextBytes
            + detailSlotBytes + detailByteBudget + detailOvershoot + prefixBoundBytes
    }

    /// ``boundBytes`` per tracked source.
    public var bytesPerSource: Double { Double(boundBytes) / Double(maxTrackedSources) }
}
