// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Detection
import Dispatch
import Firewall
import Logging
import NetworkAddress
import Storage
import Synchronization
import Telemetry
import Testing
import WardenCore

@testable import SIPWarden

/// A ban numbered `n` (distinct hosts up to 65,536), with one event of evidence.
private func detectorBan(_ n: Int) -> EnforcedBan {
    let source = IPAddress("198.18.\(n / 256 % 256).\(n % 256)")!
    let time = Timestamp(seconds: 1_764_072_000 + Int64(n))
    let evidence = SecurityEvent(
        time: time, source: source, sourcePort: 5060, transport: .udp, kind: .authFailed,
        user: "u\(n)", dialect: .kamailio, origin: .logLine(file: "/var/log/k.log", line: n))
    let ban = Ban(
        network: IPNetwork(host: source), rule: .failures, origin: .detector, created: time,
        duration: .seconds(600), reason: "ban \(n)", evidence: [evidence])
    return EnforcedBan(ban: ban, applied: true, latency: .microseconds(90), kernelLatency: .microseconds(30))
}

private func sample(_ text: String, _ series: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
}

/// Every ban and lift, whoever decides it, takes one path (`Pipeline.enforce`/`lift`
/// through `OperatorBans`), and the ledger — the durable record — loses nothing.
@Suite struct OneBanPathTests {
    let logger = Logger(label: "test")

    @Test func aFloodedLedgerQueueSpillsAndLosesNothingAndAFollowerCatchesUpOnEveryBan() throws {
        let ledger = try Ledger(inMemory: ())
        // The ledger's ring holds 1 ban: a burst of 3,000 can only be kept by spilling.
        let rig = try LedgeredConsumers(ledger: ledger, logger: logger, ledgerCapacity: 1)
        defer { rig.stop() }
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let stuckOnce = Atomic<Bool>(true)
        let seen = Mutex<[BanID]>([])
        let follower = try rig.consumers.subscribeFollowingLedger(
            "cases", capacity: 2, ledger: ledger, failed: { Issue.record("ledger read failed: \($0)") }
        ) { delivery in
            switch delivery {
            case .live(let enforced):
                if stuckOnce.exchange(false, ordering: .relaxed) {
                    entered.signal()
                    release.wait()
                }
                seen.withLock { $0.append(enforced.ban.id) }
            case .caughtUp(let record): seen.withLock { $0.append(record.banID) }
            case .lift: Issue.record("no lift was published")
            }
        }
        let published = (1...3_000).map(detectorBan)
        rig.consumers.fanOut.publish(published[0])
        entered.wait()
        for ban in published.dropFirst() { rig.consumers.fanOut.publish(ban) }
        let ledgerQueue = try #require(rig.consumers.ledgerSubscription?.statistics)
        #expect(ledgerQueue.dropped == 0)
        #expect(ledgerQueue.spilled > 0, "the burst overflowed the ledger's ring")
        #expect(follower.statistics.dropped > 2_900, "the stuck consumer lost most of the burst live")

        release.signal()
        rig.flush()
        let recorded = try ledger.bans(afterRow: 0, limit: 10_000)
        #expect(recorded.map(\.banID) == published.map(\.ban.id), "every ban in the ledger, in order")
        let got = seen.withLock { $0 }
        #expect(got.count == 3_000 && Set(got) == Set(published.map(\.ban.id)), "the follower has every ban exactly once")
        #expect(rig.consumers.ledgerSubscription?.statistics.delivered == 3_000)
    }

    @Test func aManualBanAndItsLiftTakeTheFanOutWithTheirOrigin() throws {
        let ledger = try Ledger(inMemory: ())
        let rig = try LedgeredConsumers(ledger: ledger, logger: logger)
        defer { rig.stop() }
        let firewall = DryRunFirewall(logger: logger)
        let metrics = WardenMetrics()
        let clock = ManualClock()
        let pipeline = Pipeline(
            policy: DetectionPolicy(), firewall: firewall, fanOut: rig.consumers.fanOut, logger: logger, clock: clock.clock,
            metrics: metrics)
        let changes = Mutex<[BanChange]>([])
        try rig.consumers.fanOut.subscribe("observer", capacity: 16) { change in changes.withLock { $0.append(change) } }
        let bans = OperatorBans(pipeline: pipeline, ledger: ledger, consumers: rig.consumers)
        let network = IPNetwork("198.18.7.0/24")!

        let record = try bans.ban(network, duration: .seconds(3_600), reason: "abuse case 1", allowlist: IPNetworkSet([]))
        #expect(record.id != nil && record.origin == .manual && record.rule == .manual && record.liftedAt == nil)
        #expect(try firewall.list().map(\.network) == [network])
        #expect(
            sample(metrics.exposition(), #"sipwarden_bans_total{rule="manual",origin="manual"}"#) == 1
                || sample(metrics.exposition(), #"sipwarden_bans_total{origin="manual",rule="manual"}"#) == 1)

        clock.advance(.seconds(5))
        let lifted = try bans.lift(network)
        #expect(lifted.map(\.banID) == [record.banID])
        #expect(try firewall.list().isEmpty)
        #expect(try ledger.activeBans(at: clock.clock()).isEmpty)
        rig.flush()
        let seen = changes.withLock { $0 }
        #expect(seen.count == 2)
        #expect(seen.first?.enforcedBan?.ban.id == record.banID)
        if case .lift(let lift)? = seen.last {
            #expect(lift.network == network && lift.origin == .manual && lift.at == clock.clock())
        } else {
            Issue.record("the lift was not published: \(seen)")
        }
        // Lifting what is not banned lifts nothing and is no error.
        #expect(try bans.lift(network).isEmpty)
    }

    @Test func anAllowlistedOrKernelRefusedBanChangesNothing() throws {
        let ledger = try Ledger(inMemory: ())
        let rig = try LedgeredConsumers(ledger: ledger, logger: logger)
        defer { rig.stop() }
        let firewall = DryRunFirewall(logger: logger)
        let pipeline = Pipeline(
            policy: DetectionPolicy(), firewall: firewall, fanOut: rig.consumers.fanOut, logger: logger, clock: ManualClock().clock)
        let bans = OperatorBans(pipeline: pipeline, ledger: ledger, consumers: rig.consumers)
        #expect(throws: AdministrationError.self) {
            try bans.ban(IPNetwork("198.18.9.4")!, duration: nil, reason: "r", allowlist: IPNetworkSet([IPNetwork("198.18.9.0/24")!]))
        }
        // The kernel refuses a /0 before anything is sent.
        #expect(throws: AdministrationError.self) {
            try bans.ban(IPNetwork("0.0.0.0/0")!, duration: nil, reason: "r", allowlist: IPNetworkSet([]))
        }
        rig.flush()
        #expect(try firewall.list().isEmpty)
        #expect(try ledger.bans(afterRow: 0, limit: 10).isEmpty)
        #expect(pipeline.statistics.pipeline.bans == 0)
    }
}
