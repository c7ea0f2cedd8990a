// SPDX-License-Identifier: GPL-2.0-or-later
import Synchronization
public import WardenCore

/// Hands every enforced ban to each consumer (ledger, log, metrics, cases, fleet…) without
/// letting any of them slow the ban path.
///
/// The enforcer calls `publish` on the sensor's thread right after the kernel call
/// returns. Each consumer has its own bounded queue and thread (`BanSubscription`): a slow
/// or stuck consumer fills its own queue and loses bans (counted per consumer), never
/// delaying the sensor or another consumer. The ledger is the durable record; a consumer
/// that must see every ban catches up from it by cursor when it loses some.
///
/// Subscribe before the sensors start; a later subscriber sees only later bans.
public final class BanFanOut: Sendable {
    private let subscriptions = Mutex<[BanSubscription]>([])

    public init() {}

    /// Adds a consumer with its own queue of `capacity` bans and thread.
    /// - Parameters:
    ///   - handler: called on the consumer's thread for each ban, in publication order.
    ///   - onGap: called on the consumer's thread when its queue is empty (every ban
    ///     queued was handled), with how many were lost since the last call (queue full).
    @discardableResult
    public func subscribe(
        _ name: String, capacity: Int, onGap: @escaping @Sendable (Int) -> Void = { _ in },
        handler: @escaping @Sendable (EnforcedBan) -> Void
    ) throws(BanFanOutError) -> BanSubscription {
        let subscription = try BanSubscription(name: name, capacity: capacity, handler: handler, onGap: onGap)
        subscriptions.withLock { $0.append(subscription) }
        return subscription
    }

    /// Queues `ban` for every consumer, in subscription order. Never blocks beyond one
    /// short lock per consumer.
    public func publish(_ ban: EnforcedBan) {
        let current = subscriptions.withLock { $0 }
        for subscription in current { subscription.offer(ban) }
    }

    /// Per consumer: queue depth, deliveries and drops.
    public var statistics: [BanSubscriptionStatistics] {
        subscriptions.withLock { $0 }.map(\.statistics)
    }

    /// Waits until every consumer has handled what was published before this call.
    public func flush() {
        for subscription in subscriptions.withLock({ $0 }) { subscription.flush() }
    }

    /// Drains and stops every consumer, in subscription order. Idempotent.
    public func stop() {
        for subscription in subscriptions.withLock({ $0 }) { subscription.stop() }
    }
}
