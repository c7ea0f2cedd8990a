// SPDX-License-Identifier: GPL-2.0-or-later

public import BanFanOut
public import Logging
public import Storage
import Synchronization
public import WardenCore

/// The daemon's consumers of enforced bans, subscribed to the `BanFanOut` in one place.
///
/// The ledger subscribes first (its queue receives every ban before any other consumer's),
/// so a consumer that lost bans can wait for the ledger and catch up from it
/// (`subscribeFollowingLedger`). The ledger's own queue never loses a ban: past its ring
/// it spills (`BanOverflow.spill`), so the durable record is complete even when its
/// thread falls behind, and the publisher still never waits.
public struct BanConsumers: Sendable {
    /// The preallocated ring in front of the ledger writer: bans waiting to be recorded
    /// (past it they spill into an overflow list, never dropped).
    public static let ledgerCapacity = 65_536
    /// The queue in front of the `ban …` log line.
    public static let logCapacity = 4_096

    /// The fan-out the consumers are subscribed to.
    public let fanOut: BanFanOut
    /// The ledger's subscription (nil without a ledger).
    public let ledgerSubscription: BanSubscription?
    private let writer: LedgerWriter?

    /// Subscribes the ledger (when given: the durable record) and the log line to a new
    /// fan-out.
    /// - Parameter ledgerCapacity: the ledger's ring (tests make it small to flood it).
    public init(ledger writer: LedgerWriter?, logger: Logger, ledgerCapacity: Int = Self.ledgerCapacity) throws(BanFanOutError) {
        let fanOut = try BanFanOut()
        self.fanOut = fanOut
        self.writer = writer
        if let writer {
            let log = logger
            ledgerSubscription = try fanOut.subscribe(
                "ledger", capacity: ledgerCapacity, overflow: .spill,
                onGap: { lost in
                    // Only after `stop` (a spilling queue drops nothing while it runs).
                    log.error(
                        "ledger stopped: bans not recorded (they stand in the kernel but will not survive a restart)",
                        metadata: ["lost": "\(lost)"])
                }
            ) { change in
                switch change {
                case .ban(let enforced): writer.enqueue(enforced.ban)
                case .lift(let lift): writer.enqueueLift(network: lift.network, at: lift.at)
                }
            }
        } else {
            ledgerSubscription = nil
        }
        let log = logger
        try fanOut.subscribe(
            "log", capacity: Self.logCapacity,
            onGap: { lost in
                log.warning("ban log queue full: ban lines not written (the ledger has the bans)", metadata: ["lost": "\(lost)"])
            }
        ) { change in
            Self.logLine(change, logger: log)
        }
    }

    /// Waits until every consumer, and then the ledger writer, has handled what was
    /// published before this call.
    public func flush() {
        fanOut.flush()
        writer?.flush()
    }

    /// Waits until the ledger has committed every change published before this call (the
    /// control plane answers only once a change is durable).
    public func flushLedger() {
        ledgerSubscription?.flush()
        writer?.flush()
    }

    /// Drains and stops every consumer (the ledger writer itself is stopped by its owner).
    public func stop() { fanOut.stop() }

    /// What a consumer following the ledger receives.
    public enum Delivery: Sendable {
        /// A ban handed over by the fan-out.
        case live(EnforcedBan)
        /// A lift handed over by the fan-out (lifts are not caught up: a lift lost by a
        /// full queue is found in the ledger's `liftedAt`, not by the cursor).
        case lift(EnforcedLift)
        /// A ban the consumer's queue lost, read back from the ledger.
        case caughtUp(BanRecord)
    }

    /// Subscribes a consumer that must not lose bans: when its queue overflows it waits
    /// until the ledger has recorded what was published so far, then receives from the
    /// ledger, in recorded order, every ban it did not get live.
    /// - Parameter failed: called (on the consumer's thread) when the ledger cannot be read.
    public func subscribeFollowingLedger(
        _ name: String, capacity: Int, ledger: Ledger,
        failed: @escaping @Sendable (LedgerError) -> Void = { _ in },
        handler: @escaping @Sendable (Delivery) -> Void
    ) throws(BanFanOutError) -> BanSubscription {
        let start: Int64
        do { start = try ledger.lastRow() } catch {
            failed(error)
            start = 0
        }
        let follower = Mutex(LedgerFollower(cursor: start))
        let ledgerSubscription = ledgerSubscription
        let writer = writer
        return try fanOut.subscribe(
            name, capacity: capacity,
            onGap: { _ in
                // What was lost was queued for the ledger first: wait for it to be committed.
                ledgerSubscription?.flush()
                writer?.flush()
                let result = follower.withLock { f -> Result<[BanRecord], LedgerError> in
                    do throws(LedgerError) { return .success(try f.catchUp(from: ledger)) } catch { return .failure(error) }
                }
                switch result {
                case .success(let missed): for record in missed { handler(.caughtUp(record)) }
                case .failure(let error): failed(error)
                }
            }
        ) { change in
            switch change {
            case .ban(let enforced):
                if follower.withLock({ $0.admitLive(enforced.ban.id) }) { handler(.live(enforced)) }
            case .lift(let lift):
                handler(.lift(lift))
            }
        }
    }

    /// The `ban …` notice (its `latency_us` is what bench/latency reads), or the `lift …`
    /// notice, with the origin of either.
    static func logLine(_ change: BanChange, logger: Logger) {
        switch change {
        case .ban(let enforced):
            let ban = enforced.ban
            let span = ban.duration.map { "for \(DurationParser.format($0))" } ?? "permanently"
            var metadata: Logger.Metadata = [
                "rule": "\(ban.rule)", "offence": "\(ban.offence)", "origin": "\(ban.origin.rawValue)",
                "ban_id": "\(ban.id)", "latency_us": "\(enforced.latency.microsecondsClamped)",
                "kernel_us": "\(enforced.kernelLatency.microsecondsClamped)", "enforced": "\(enforced.applied)",
            ]
            // Who the network belongs to, as the intelligence store knew it.
            if let e = ban.enrichment {
                if let asn = e.asn { metadata["asn"] = "\(asn)" }
                if let v = e.asName { metadata["as_name"] = "\(v)" }
                if let v = e.country { metadata["country"] = "\(v)" }
                if let v = e.provider { metadata["provider"] = "\(v)" }
                if let v = e.service { metadata["service"] = "\(v)" }
                if let v = e.region { metadata["region"] = "\(v)" }
            }
            logger.notice("ban \(ban.network) \(span): \(ban.reason)", metadata: metadata)
        case .lift(let lift):
            logger.notice(
                "lift \(lift.network): \(lift.reason)",
                metadata: [
                    "origin": "\(lift.origin.rawValue)", "enforced": "\(lift.applied)",
                ])
        }
    }
}
