// SPDX-License-Identifier: GPL-2.0-or-later

import DedicatedThreads
import Dispatch
import Glibc
import Synchronization
import WardenCore

/// One consumer of the fan-out: a bounded queue drained by its own thread.
///
/// `offer` (the publisher's side) appends under a short lock and never waits: when the
/// queue holds `capacity` changes, a `.drop` subscription drops the change and counts it;
/// a `.spill` subscription (the ledger: the durable record must lose nothing) appends it,
/// in order, to an overflow list that grows only while the consumer is behind, and counts
/// it as spilled. The consumer's thread
/// hands each ban to `handler`, in publication order, and whenever its queue is empty
/// reports the bans it lost since the last report to `onGap` — a consumer that must lose nothing
/// catches up from the ledger there (see `LedgerCatchUp` in Storage).
public final class BanSubscription: Sendable {
    /// The consumer's name (`ledger`, `log`, `metrics`, …), for statistics.
    public let name: String
    /// Most changes waiting in the preallocated ring (past it: `overflow`).
    public let capacity: Int
    /// What happens to a change offered when the ring is full.
    public let overflow: BanOverflow
    private let core: SubscriptionCore
    private let thread: PosixThread

    init(
        name: String, capacity: Int, overflow: BanOverflow, handler: @escaping @Sendable (BanChange) -> Void,
        onGap: @escaping @Sendable (Int) -> Void
    ) throws(BanFanOutError) {
        precondition(capacity > 0, "a subscription holds at least one ban")
        self.name = name
        self.capacity = capacity
        self.overflow = overflow
        let core = SubscriptionCore(capacity: capacity, spills: overflow == .spill, handler: handler, onGap: onGap)
        self.core = core
        do throws(PosixThread.StartFailure) {
            thread = try PosixThread(name: "sw-fan-\(name)", scheduling: .background) { core.run() }
        } catch {
            throw BanFanOutError(subscription: name, errno: error.code)
        }
    }

    deinit { stop() }

    /// Queues `ban` for the consumer (counted in `dropped` when the queue is full — unless
    /// it spills — or stopped). Never blocks beyond a short lock and makes no system call: when the
    /// consumer sleeps, the result says so and the fan-out's doorbell thread wakes it.
    func offer(_ ban: BanChange) -> Offer { core.offer(ban) }

    /// Wakes the consumer's thread if an `offer` found it asleep (the doorbell's side).
    func wakeIfNeeded() { core.wakeIfNeeded() }

    /// Waits until every ban queued before this call has been handled (tests, catch-up).
    /// Returns at once on the consumer's own thread and after `stop`.
    public func flush() {
        guard !thread.isCurrent else { return }
        core.flush()
    }

    /// Hands what is queued to the consumer, then ends its thread. Idempotent.
    public func stop() {
        guard core.requestStop() else { return }
        if thread.isCurrent { thread.detach() } else { thread.join() }
    }

    /// Depth, drops and deliveries now.
    public var statistics: BanSubscriptionStatistics {
        BanSubscriptionStatistics(
            name: name, capacity: capacity, depth: core.depth,
            delivered: core.delivered.load(ordering: .relaxed), dropped: core.dropped.load(ordering: .relaxed),
            spilled: core.spilled.load(ordering: .relaxed))
    }
}

/// What one subscription has done since it started.
public struct BanSubscriptionStatistics: Hashable, Sendable {
    /// The consumer's name.
    public var name: String
    /// Most bans its queue holds.
    public var capacity: Int
    /// Changes waiting now (ring and overflow).
    public var depth: Int
    /// Changes handed to the consumer.
    public var delivered: Int
    /// Changes lost because the queue was full (or the consumer stopped).
    public var dropped: Int
    /// Changes that found the ring full and were kept in the overflow list (`.spill`
    /// subscriptions only; they are delivered, not lost).
    public var spilled: Int

    public init(name: String, capacity: Int, depth: Int, delivered: Int, dropped: Int, spilled: Int = 0) {
        self.name = name
        self.capacity = capacity
        self.depth = depth
        self.delivered = delivered
        self.dropped = dropped
        self.spilled = spilled
    }
}

/// What a subscription does with a change offered while its ring is full.
public enum BanOverflow: Hashable, Sendable {
    /// Drop it and count it (`dropped`); the consumer catches up from the ledger if it
    /// must see every ban.
    case drop
    /// Keep it, in order, in an overflow list that grows while the consumer is behind
    /// (`spilled`): nothing is lost, at the cost of memory during the overload. The
    /// publisher still never waits.
    case spill
}

/// A consumer's thread could not be started.
public struct BanFanOutError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The subscription's name.
    public var subscription: String
    /// `pthread_create`'s error.
    public var errno: Int32

    public var description: String { "cannot start the '\(subscription)' ban consumer's thread: errno \(errno)" }
}

/// What became of an offered ban.
enum Offer {
    /// Queued; the consumer is awake or already due to be woken.
    case queued
    /// Queued; the consumer sleeps and must be woken (`wakeIfNeeded`).
    case queuedAsleep
    /// Dropped (queue full or stopped) and counted.
    case dropped
}

/// The queue shared by a subscription and its thread (apart, so the thread does not keep
/// the subscription alive).
final class SubscriptionCore: Sendable {
    /// A ring of `capacity` slots.
    private struct Ring {
        var slots: [BanChange?]
        var head = 0
        var count = 0
        /// Changes past a full ring (`.spill`): all newer than the ring's.
        var spill: [BanChange] = []
        /// The consumer waits on the semaphore (a producer must signal it).
        var sleeping = false
        var stopping = false
    }

    let delivered = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)
    let spilled = Atomic<Int>(0)
    private let spills: Bool
    /// Bans handled plus bans lost and reported to `onGap` (its catch-up done), for `flush`.
    private let settled = Atomic<Int>(0)
    /// Bans accepted into the ring (for `flush`).
    private let accepted = Atomic<Int>(0)
    private let ring: Mutex<Ring>
    private let wakeup = DispatchSemaphore(value: 0)
    /// An offer found the consumer asleep; the doorbell has not woken it yet.
    private let wakeDue = Atomic<Bool>(false)
    private let handler: @Sendable (BanChange) -> Void
    private let onGap: @Sendable (Int) -> Void

    init(capacity: Int, spills: Bool, handler: @escaping @Sendable (BanChange) -> Void, onGap: @escaping @Sendable (Int) -> Void) {
        ring = Mutex(Ring(slots: Array(repeating: nil, count: capacity)))
        self.spills = spills
        self.handler = handler
        self.onGap = onGap
    }

    var depth: Int { ring.withLock { $0.count + $0.spill.count } }

    func offer(_ ban: BanChange) -> Offer {
        let spills = spills
        let (ok, spilt, wake) = ring.withLock { r -> (Bool, Bool, Bool) in
            guard !r.stopping else { return (false, false, false) }
            var spilt = false
            if r.count < r.slots.count, r.spill.isEmpty {
                var tail = r.head + r.count
                if tail >= r.slots.count { tail -= r.slots.count }
                r.slots[tail] = ban
                r.count += 1
            } else if spills {
                // Order is kept: while the overflow holds anything, newer changes go after it.
                r.spill.append(ban)
                spilt = true
            } else {
                return (false, false, false)
            }
            let wake = r.sleeping
            r.sleeping = false
            return (true, spilt, wake)
        }
        guard ok else {
            dropped.add(1, ordering: .relaxed)
            return .dropped
        }
        if spilt { spilled.add(1, ordering: .relaxed) }
        accepted.add(1, ordering: .relaxed)
        guard wake else { return .queued }
        wakeDue.store(true, ordering: .releasing)
        return .queuedAsleep
    }

    func wakeIfNeeded() {
        if wakeDue.exchange(false, ordering: .acquiringAndReleasing) { wakeup.signal() }
    }

    func flush() {
        let target = accepted.load(ordering: .relaxed) + dropped.load(ordering: .relaxed)
        // Off the hot path: poll, bounded by the thread's end.
        while settled.load(ordering: .acquiring) < target, !ring.withLock({ $0.stopping && $0.count == 0 }) {
            usleep(200)
        }
    }

    func requestStop() -> Bool {
        let first = ring.withLock { r -> Bool in
            guard !r.stopping else { return false }
            r.stopping = true
            return true
        }
        if first { wakeup.signal() }
        return first
    }

    /// The consumer's thread.
    func run() {
        var batch: [BanChange] = []
        var reportedDrops = 0
        while true {
            let (stop, wait) = ring.withLock { r -> (Bool, Bool) in
                while r.count > 0 {
                    if let ban = r.slots[r.head] { batch.append(ban) }
                    r.slots[r.head] = nil
                    r.head = r.head + 1 == r.slots.count ? 0 : r.head + 1
                    r.count -= 1
                }
                if !r.spill.isEmpty {
                    batch.append(contentsOf: r.spill)
                    r.spill = []
                }
                if !batch.isEmpty { return (false, false) }
                if r.stopping { return (true, false) }
                r.sleeping = true
                return (false, true)
            }
            for ban in batch { handler(ban) }
            if !batch.isEmpty { delivered.add(batch.count, ordering: .releasing) }
            batch.removeAll(keepingCapacity: true)
            if stop || wait {
                // The queue is empty: everything queued before the losses was handled live,
                // so the consumer can look up what it lost.
                let drops = dropped.load(ordering: .relaxed)
                if drops > reportedDrops {
                    onGap(drops - reportedDrops)
                    reportedDrops = drops
                }
            }
            settled.store(delivered.load(ordering: .relaxed) + reportedDrops, ordering: .releasing)
            if stop { return }
            if wait { wakeup.wait() }
        }
    }
}
