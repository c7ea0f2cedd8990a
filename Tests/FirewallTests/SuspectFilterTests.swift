// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Testing

@testable import Firewall

@Suite("SuspectFilter: one kernel add per newly failing source, bounded")
struct SuspectFilterTests {
    private let second: Int64 = 1_000_000

    private func address(_ text: String) -> IPAddress {
        guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
        return address
    }

    @Test func aSourceIsMarkedAtItsFirstFailureOnly() {
        var filter = SuspectFilter(timeout: .seconds(600), capacity: 100, marksPerSecond: 100, prefixLengthV6: 64)
        #expect(filter.mark(address("198.18.0.2"), now: 0) == address("198.18.0.2"))
        for t in 1...50 { #expect(filter.mark(address("198.18.0.2"), now: Int64(t) * second) == nil) }
        #expect(filter.counters == SuspectCounters(marked: 1, recent: 50))
    }

    @Test func aSourceThatKeepsFailingIsRefreshedBeforeTheKernelForgetsIt() {
        // Timeout 600 s: a mark is trusted for at most half of it, so the kernel element
        // (600 s) is renewed long before it expires while the failures go on.
        var filter = SuspectFilter(timeout: .seconds(600), capacity: 100, marksPerSecond: 100, prefixLengthV6: 64)
        var marks: [Int64] = []
        for t in stride(from: Int64(0), through: 1_800, by: 10) where filter.mark(address("198.18.0.2"), now: t * second) != nil {
            marks.append(t)
        }
        #expect(marks.first == 0)
        #expect(marks.count >= 7 && marks.count <= 13, "\(marks)")
        for (a, b) in zip(marks, marks.dropFirst()) { #expect(b - a <= 300, "re-marked within half the timeout: \(marks)") }
    }

    @Test func ipv6SourcesAreKeyedByTheGuardPrefixAndMappedIPv4AsIPv4() {
        var filter = SuspectFilter(timeout: .seconds(60), capacity: 100, marksPerSecond: 100, prefixLengthV6: 64)
        #expect(filter.mark(address("2001:2:0:7::1"), now: 0) == address("2001:2:0:7::"))
        #expect(filter.mark(address("2001:2:0:7::ffff"), now: 1) == nil, "the same /64 is the same suspect")
        #expect(filter.mark(address("::ffff:198.18.0.9"), now: 2) == address("198.18.0.9"))
        #expect(filter.mark(address("198.18.0.9"), now: 3) == nil)
    }

    @Test func aSpoofedManySourceFloodIsBoundedInRateAndMemory() {
        var filter = SuspectFilter(timeout: .seconds(60), capacity: 1_000, marksPerSecond: 2_000, prefixLengthV6: 64)
        var marked = 0
        // 100 000 distinct sources in 0.1 s: the burst (2 000) and 0.1 s of refill (200).
        for i in 0..<100_000 where filter.mark(.v4(0xC612_0000 &+ UInt32(i)), now: Int64(i)) != nil { marked += 1 }
        #expect(marked >= 2_000 && marked <= 2_201, "\(marked)")
        #expect(filter.counters.overRate == 100_000 - marked)
        // The next second refills the bucket: marks go on at the bounded rate.
        var later = 0
        for i in 0..<10_000 where filter.mark(.v4(0xC613_0000 &+ UInt32(i)), now: 2 * second + Int64(i) * 100) != nil { later += 1 }
        #expect(later >= 2_000 && later <= 4_100, "\(later)")
        #expect(filter.storedKeys <= 2 * 1_000, "never more than two generations of capacity keys")
    }

    @Test func aFailedAddIsTriedAgainAtTheNextFailure() {
        var filter = SuspectFilter(timeout: .seconds(60), capacity: 10, marksPerSecond: 10, prefixLengthV6: 64)
        let key = filter.mark(address("198.18.0.5"), now: 0)
        #expect(key == address("198.18.0.5"))
        if let key { filter.forget(key) }
        #expect(filter.mark(address("198.18.0.5"), now: 1) == address("198.18.0.5"))
    }

    @Test func resetForgetsEveryMark() {
        var filter = SuspectFilter(timeout: .seconds(60), capacity: 10, marksPerSecond: 10, prefixLengthV6: 64)
        _ = filter.mark(address("198.18.0.5"), now: 0)
        filter.reset()
        #expect(filter.mark(address("198.18.0.5"), now: 1) == address("198.18.0.5"), "the rebuilt kernel set is empty")
    }
}
