// SPDX-License-Identifier: GPL-2.0-or-later

import BanFanOut
import Dispatch
import Foundation
import Glibc
import NetworkAddress
import Synchronization
import Testing
import WardenCore

private func enforced(_ n: Int) -> EnforcedBan {
    let ban = Ban(
        network: IPNetwork("198.18.1.\(n)")!, rule: .failures, origin: .detector,
        created: Timestamp(seconds: 1_764_072_000 + Int64(n)), duration: .seconds(600), reason: "test \(n)")
    return EnforcedBan(ban: ban, applied: true, latency: .microseconds(100), kernelLatency: .microseconds(40))
}

/// Collects what a consumer received, from its thread.
private final class Received: Sendable {
    let bans = Mutex<[EnforcedBan]>([])
    let lifts = Mutex<[EnforcedLift]>([])
    let gaps = Mutex<[Int]>([])
    var all: [EnforcedBan] { bans.withLock { $0 } }

    func add(_ change: BanChange) {
        switch change {
        case .ban(let ban): bans.withLock { $0.append(ban) }
        case .lift(let lift): lifts.withLock { $0.append(lift) }
        }
    }
}

@Suite struct BanFanOutTests {
    @Test func everyConsumerGetsEveryBanInOrder() throws {
        let fanOut = try BanFanOut()
        defer { fanOut.stop() }
        let a = Received()
        let b = Received()
        try fanOut.subscribe("a", capacity: 64) { change in a.add(change) }
        try fanOut.subscribe("b", capacity: 64) { change in b.add(change) }
        let published = (1...20).map(enforced)
        for ban in published { fanOut.publish(ban) }
        fanOut.flush()
        #expect(a.all == published)
        #expect(b.all == published)
        #expect(fanOut.statistics.map(\.name) == ["a", "b"])
        #expect(fanOut.statistics.allSatisfy { $0.delivered == 20 && $0.dropped == 0 && $0.depth == 0 })
    }

    @Test func aStuckConsumerDropsAndCountsWithoutBlockingThePublisherOrTheOthers() throws {
        let fanOut = try BanFanOut()
        defer { fanOut.stop() }
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let slow = Received()
        let fast = Received()
        let first = Atomic<Bool>(true)
        try fanOut.subscribe("slow", capacity: 2, onGap: { lost in slow.gaps.withLock { $0.append(lost) } }) { change in
            if first.exchange(false, ordering: .relaxed) {
                entered.signal()
                release.wait()
            }
            slow.add(change)
        }
        try fanOut.subscribe("fast", capacity: 64) { change in fast.add(change) }

        fanOut.publish(enforced(1))
        entered.wait() // the slow consumer holds ban 1 and is stuck in its handler
        // Nine more: two fit in the slow queue, seven are dropped; publishing never waits.
        for n in 2...10 { fanOut.publish(enforced(n)) }
        let stuck = try #require(fanOut.statistics.first { $0.name == "slow" })
        #expect(stuck.depth == 2)
        #expect(stuck.dropped == 7)

        release.signal()
        fanOut.flush()
        #expect(slow.all.map(\.ban.reason) == ["test 1", "test 2", "test 3"])
        #expect(slow.gaps.withLock { $0 } == [7], "the consumer is told once how many it lost")
        #expect(fast.all.count == 10, "the stuck consumer cost the others nothing")
        let after = try #require(fanOut.statistics.first { $0.name == "slow" })
        #expect(after.delivered == 3 && after.dropped == 7 && after.depth == 0)
    }

    @Test func aSpillingConsumerLosesNothingAndKeepsTheOrderWhileThePublisherNeverWaits() throws {
        let fanOut = try BanFanOut()
        defer { fanOut.stop() }
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let durable = Received()
        let first = Atomic<Bool>(true)
        let subscription = try fanOut.subscribe("ledger", capacity: 2, overflow: .spill) { change in
            if first.exchange(false, ordering: .relaxed) {
                entered.signal()
                release.wait()
            }
            durable.add(change)
        }
        fanOut.publish(enforced(1))
        entered.wait() // stuck in ban 1: its ring holds 2, the rest spills
        let lift = EnforcedLift(network: enforced(4).ban.network, origin: .manual, reason: "lifted", at: Timestamp(seconds: 1), applied: true)
        for n in 2...6 { fanOut.publish(enforced(n)) }
        fanOut.publish(.lift(lift))
        for n in 7...50 { fanOut.publish(enforced(n)) }
        let stuck = subscription.statistics
        #expect(stuck.depth == 50 && stuck.dropped == 0)
        #expect(stuck.spilled == 48, "2 fit in the ring, 47 bans and the lift spill")
        // New changes keep going after the overflow, never ahead of it, even once the ring has room.
        release.signal()
        fanOut.publish(enforced(51))
        fanOut.flush()
        #expect(durable.all.map(\.ban.reason) == (1...51).map { "test \($0)" })
        #expect(durable.lifts.withLock { $0 } == [lift])
        let after = subscription.statistics
        #expect(after.delivered == 52 && after.dropped == 0 && after.depth == 0)
    }

    @Test func stopHandsOverWhatIsQueuedThenRefuses() throws {
        let fanOut = try BanFanOut()
        let got = Received()
        let subscription = try fanOut.subscribe("c", capacity: 8) { change in got.add(change) }
        for n in 1...5 { fanOut.publish(enforced(n)) }
        fanOut.stop()
        #expect(got.all.count == 5)
        fanOut.publish(enforced(6))
        #expect(subscription.statistics.dropped == 1, "a ban published after stop is counted as lost")
        fanOut.stop() // idempotent
    }

    @Test func banIdentityTravelsWithTheBan() {
        let a = enforced(1)
        let b = enforced(1)
        #expect(a.ban.id != b.ban.id, "each decision gets its own id")
        #expect(a.ban.expires == a.ban.created + .seconds(600))
        #expect(BanRule("auth_failed") == .kind(.authFailed))
        #expect(BanRule("enumeration") == .enumeration && BanRule("nonsense") == nil)
        for rule in [BanRule.failures, .enumeration, .manual, .kind(.scanner)] { #expect(BanRule(rule.description) == rule) }
    }
}

/// How the kernel schedules the calling thread: policy and nice value.
private func currentScheduling() -> (policy: Int32, nice: Int32) {
    var policy: Int32 = 0
    var parameters = sched_param()
    _ = pthread_getschedparam(pthread_self(), &policy, &parameters)
    return (policy, getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
}

@Suite struct ConsumerSchedulingTests {
    /// A consumer's work follows a ban and must not take a CPU from the ban path: its thread
    /// runs under SCHED_BATCH (3) five nice steps below the publisher.
    @Test func consumersRunBelowThePublisher() throws {
        let publisher = currentScheduling()
        let fanOut = try BanFanOut()
        defer { fanOut.stop() }
        let seen = Mutex<(policy: Int32, nice: Int32)?>(nil)
        let threadName = Mutex("")
        let subscription = try fanOut.subscribe("probe", capacity: 4) { _ in
            seen.withLock { $0 = currentScheduling() }
            let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            threadName.withLock { $0 = comm.trimmingCharacters(in: .newlines) }
        }
        fanOut.publish(enforced(1))
        subscription.flush()
        let consumer = try #require(seen.withLock { $0 })
        #expect(consumer.policy == 3)
        #expect(consumer.nice == min(19, publisher.nice + 5))
        // Named, so `top -H` and `perf` tell the consumers apart.
        #expect(threadName.withLock { $0 } == "sw-fan-probe")
        // The publisher's own thread is untouched.
        #expect(currentScheduling().policy == publisher.policy)
        #expect(currentScheduling().nice == publisher.nice)
    }
}
