// SPDX-License-Identifier: GPL-2.0-or-later

import DedicatedThreads
import Dispatch
import Synchronization
public import WardenCore

/// Hands every enforced ban and lift (`BanChange`) to each consumer (ledger, log, metrics,
/// cases, fleet…) without letting any of them slow the ban path.
///
/// The enforcer calls `publish` on the sensor's thread right after the kernel call
/// returns. Each consumer has its own bounded queue and thread (`BanSubscription`): a slow
/// or stuck consumer fills its own queue and loses bans (counted per consumer), never
/// delaying the sensor or another consumer. The ledger is the durable record; a consumer
/// that must see every ban catches up from it by cursor when it loses some.
///
/// Subscribe before the sensors start; a later subscriber sees only later bans.
public final class BanFanOut: Sendable {
    private let core: FanOutCore
    private let doorbellThread: PosixThread

    /// Starts the doorbell thread (it wakes sleeping consumers, so that publishing makes
    /// no system call per consumer: at most one semaphore signal per ban).
    public init() throws(BanFanOutError) {
        let core = FanOutCore()
        self.core = core
        do throws(PosixThread.StartFailure) {
            doorbellThread = try PosixThread(name: "sw-doorbell", scheduling: .background) { core.ringDoorbells() }
        } catch {
            throw BanFanOutError(subscription: "doorbell", errno: error.code)
        }
    }

    deinit { stop() }

    /// Adds a consumer with its own queue of `capacity` changes and thread.
    /// - Parameters:
    ///   - overflow: `.drop` (default: a full queue loses the change and counts it) or
    ///     `.spill` (a full queue keeps it in an overflow list: the durable record).
    ///   - handler: called on the consumer's thread for each ban, in publication order.
    ///   - onGap: called on the consumer's thread when its queue is empty (every ban
    ///     queued was handled), with how many were lost since the last call (queue full).
    @discardableResult
    public func subscribe(
        _ name: String, capacity: Int, overflow: BanOverflow = .drop, onGap: @escaping @Sendable (Int) -> Void = { _ in },
        handler: @escaping @Sendable (BanChange) -> Void
    ) throws(BanFanOutError) -> BanSubscription {
        let subscription = try BanSubscription(name: name, capacity: capacity, overflow: overflow, handler: handler, onGap: onGap)
        core.subscriptions.withLock { $0.append(subscription) }
        return subscription
    }

    /// Queues `ban` for every consumer (`publish(.ban(ban))`).
    public func publish(_ ban: EnforcedBan) { publish(.ban(ban)) }

    /// Queues `ban` for every consumer, in subscription order. Never blocks beyond one
    /// short lock per consumer; signals the doorbell once when a consumer sleeps.
    public func publish(_ ban: BanChange) {
        let current = core.subscriptions.withLock { $0 }
        var asleep = false
        for subscription in current where subscription.offer(ban) == .queuedAsleep { asleep = true }
        if asleep { core.doorbell.signal() }
    }

    /// Per consumer: queue depth, deliveries and drops.
    public var statistics: [BanSubscriptionStatistics] {
        core.subscriptions.withLock { $0 }.map(\.statistics)
    }

    /// Waits until every consumer has handled what was published before this call.
    public func flush() {
        for subscription in core.subscriptions.withLock({ $0 }) { subscription.flush() }
    }

    /// Drains and stops every consumer, in subscription order. Idempotent.
    public func stop() {
        for subscription in core.subscriptions.withLock({ $0 }) { subscription.stop() }
        if core.stopping.exchange(true, ordering: .acquiringAndReleasing) == false {
            core.doorbell.signal()
            doorbellThread.join()
        }
    }
}

/// The subscriptions and the doorbell, shared with the doorbell thread.
final class FanOutCore: Sendable {
    let subscriptions = Mutex<[BanSubscription]>([])
    let doorbell = DispatchSemaphore(value: 0)
    let stopping = Atomic<Bool>(false)

    /// The doorbell thread: wakes the consumers that publishing found asleep.
    func ringDoorbells() {
        while true {
            doorbell.wait()
            if stopping.load(ordering: .acquiring) { return }
            for subscription in subscriptions.withLock({ $0 }) { subscription.wakeIfNeeded() }
        }
    }
}
