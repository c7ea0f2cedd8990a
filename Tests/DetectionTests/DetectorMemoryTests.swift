// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import NetworkAddress
import Testing
import WardenCore

private func failure(
    _ address: IPAddress, at seconds: Double, user: String? = "100", callID: String? = nil, kind: EventKind = .authFailed
) -> SecurityEvent {
    SecurityEvent(
        time: Timestamp(microseconds: Int64(seconds * 1_000_000)), source: address, sourcePort: 5060,
        kind: kind, user: user, userAgent: "friendly-scanner", callID: callID, dialect: .asterisk,
        origin: .logLine(file: "/var/log/asterisk/messages", line: 1)
    )
}

/// A spoofed source: 198.18.0.0/15 (IPv4) or 2001:2::/48 (IPv6).
private func spoofed(_ i: Int) -> IPAddress {
    i.isMultiple(of: 2)
        ? .v4(0xC612_0000 | UInt32((i / 2) & 0x1_FFFF))
        : .v6(0x2001_0002_0000_0000 | UInt64((i / 2) >> 32 & 0xFFFF), UInt64(truncatingIfNeeded: i / 2))
}

@Suite struct PerSourceBytesTests {
    @Test func aTrackedSourceIsOneFixedRecord() {
        #expect(DetectorMemory.recordBytes <= 56, "one source = one flat record: \(DetectorMemory.recordBytes) B")
    }

    @Test(arguments: [100_000, 200_000, 1_000_000, 10_000_000])
    func theBoundIsAtMost200BytesPerTrackedSource(maxTrackedSources: Int) {
        var policy = DetectionPolicy()
        policy.maxTrackedSources = maxTrackedSources
        let memory = DetectorMemory(policy: policy)
        #expect(memory.bytesPerSource <= 200, "\(memory.bytesPerSource) B per source at N = \(maxTrackedSources)")
        // The table alone: N × 5/4 slots of one record each.
        #expect(memory.tableSlots * DetectorMemory.recordBytes <= maxTrackedSources * 71 + 16 * 56)
    }

    @Test func theDetectorUsesTheSizesItReports() {
        var policy = DetectionPolicy()
        policy.maxTrackedSources = 5_000
        let d = Detector(policy: policy)
        #expect(d.memory == DetectorMemory(policy: policy))
        #expect(d.heldBytes <= d.memory.boundBytes)
    }

    @Test func heldBytesStayUnderTheBoundThroughAFloodWithLongAttackerText() {
        var policy = DetectionPolicy()
        policy.maxTrackedSources = 2_000
        var d = Detector(policy: policy)
        let long = String(repeating: "x", count: 5_000)
        var t = 0.0
        // One-shot sources, two-shot sources and sources with four failures, all with
        // the longest text an attacker can write.
        for i in 0..<60_000 {
            t += 0.001
            let a = spoofed(i)
            let repeats = i % 10 == 0 ? 4 : (i % 3 == 0 ? 2 : 1)
            for _ in 0..<repeats {
                _ = d.observe(failure(a, at: t, user: long + "\(i)", callID: long), now: Timestamp(microseconds: Int64(t * 1_000_000)))
            }
            if i % 997 == 0 {
                #expect(d.heldBytes <= d.memory.boundBytes)
                #expect(d.trackedSourceCount <= policy.maxTrackedSources)
                #expect(d.detailedSourceCount <= d.memory.detailCapacity)
            }
        }
        #expect(d.heldBytes <= d.memory.boundBytes, "\(d.heldBytes) > \(d.memory.boundBytes)")
        #expect(d.statistics.sourcesEvicted > 0)
    }
}

@Suite struct EvictionSemanticsTests {
    @Test func aTwoShotFloodCannotPushOutASourceAboutToBeBanned() {
        var policy = DetectionPolicy()
        policy.maxTrackedSources = 1_000
        var d = Detector(policy: policy)
        let attacker = IPAddress("198.19.255.1")!
        for i in 0..<4 { #expect(d.observe(failure(attacker, at: Double(i)), now: Timestamp(seconds: Int64(i))) == nil) }
        // Spoofed sources with two failures each fill the detail pool many times over.
        for i in 0..<20_000 {
            let e = failure(spoofed(i), at: 10)
            _ = d.observe(e, now: e.time)
            _ = d.observe(e, now: e.time)
        }
        #expect(d.statistics.sourcesEvicted > 0)
        let v = d.observe(failure(attacker, at: 11), now: Timestamp(seconds: 11))
        #expect(v?.network == IPNetwork("198.19.255.1"))
        #expect(v?.evidence.count == 5, "the ban still carries all five failures")
        #expect(v?.evidence.allSatisfy { $0.source == attacker } == true)
    }

    @Test func theFirstFailureIsEvidenceAtTheBanWhenItWaitedInTheRing() {
        var policy = DetectionPolicy()
        policy.threshold = Threshold(maxRetry: 3, findTime: .seconds(600))
        var d = Detector(policy: policy)
        let attacker = IPAddress("2001:2::bad")!
        _ = d.observe(failure(attacker, at: 0, user: "first"), now: Timestamp(seconds: 0))
        // Some one-shot noise in between (well inside the ring).
        for i in 0..<100 { _ = d.observe(failure(spoofed(i), at: 1), now: Timestamp(seconds: 1)) }
        _ = d.observe(failure(attacker, at: 2, user: "second"), now: Timestamp(seconds: 2))
        let v = d.observe(failure(attacker, at: 3, user: "third"), now: Timestamp(seconds: 3))
        #expect(v?.evidence.map(\.user) == ["first", "second", "third"])
        #expect(d.detailedSourceCount == 0, "a ban frees the detail")
    }

    @Test func aSingleFailureNeedsNoDetail() {
        var d = Detector(policy: DetectionPolicy())
        for i in 0..<1_000 { _ = d.observe(failure(spoofed(i), at: 1), now: Timestamp(seconds: 1)) }
        #expect(d.trackedSourceCount == 1_000)
        #expect(d.detailedSourceCount == 0)
    }

    @Test func perKindWindowsAndEnumerationSurviveThePromotion() {
        var policy = DetectionPolicy()
        policy.threshold = Threshold(maxRetry: 100, findTime: .seconds(600))
        policy.enumeration = EnumerationRule(distinctUsers: 3, findTime: .seconds(60))
        var d = Detector(policy: policy)
        let a = IPAddress("198.18.9.9")!
        // A malformed message (its own window) and then users: the first user was only in
        // the record when the second arrived.
        #expect(d.observe(failure(a, at: 0, user: "u1", kind: .unknownUser), now: Timestamp(seconds: 0)) == nil)
        #expect(d.observe(failure(a, at: 1, user: nil, kind: .malformed), now: Timestamp(seconds: 1)) == nil)
        #expect(d.observe(failure(a, at: 2, user: "u2", kind: .unknownUser), now: Timestamp(seconds: 2)) == nil)
        let v = d.observe(failure(a, at: 3, user: "u3", kind: .unknownUser), now: Timestamp(seconds: 3))
        #expect(v?.rule == .enumeration)
    }
}
