// SPDX-License-Identifier: GPL-2.0-or-later

import BanFanOut
import Detection
import Dispatch
import Firewall
import Foundation
import Logging
import NetworkAddress
import SIPWarden
import Storage
import Synchronization
import Testing
import WardenCore

private func enforcedBan(_ n: Int) -> EnforcedBan {
    let source = IPAddress("198.18.5.\(n)")!
    let time = Timestamp(seconds: 1_764_072_000 + Int64(n))
    let evidence = SecurityEvent(
        time: time, source: source, sourcePort: 5060, transport: .udp, kind: .authFailed,
        user: "10\(n)", dialect: .kamailio, origin: .logLine(file: "/var/log/k.log", line: n))
    let ban = Ban(
        network: IPNetwork(host: source), rule: .failures, origin: .detector, created: time,
        duration: .seconds(600), reason: "ban \(n)", evidence: [evidence])
    return EnforcedBan(ban: ban, applied: true, latency: .microseconds(90), kernelLatency: .microseconds(30))
}

@Suite struct BanConsumersTests {
    let logger = Logger(label: "test")

    @Test func aConsumerWhoseQueueIsFullLosesNothingDurable() throws {
        let ledger = try Ledger(inMemory: ())
        let rig = try LedgeredConsumers(ledger: ledger, logger: logger)
        defer { rig.stop() }
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let stuckOnce = Atomic<Bool>(true)
        let live = Mutex<[BanID]>([])
        let caughtUp = Mutex<[BanRecord]>([])
        let slow = try rig.consumers.subscribeFollowingLedger(
            "cases", capacity: 3, ledger: ledger, failed: { Issue.record("ledger read failed: \($0)") }
        ) { delivery in
            switch delivery {
            case .live(let enforced):
                if stuckOnce.exchange(false, ordering: .relaxed) {
                    entered.signal()
                    release.wait()
                }
                live.withLock { $0.append(enforced.ban.id) }
            case .caughtUp(let record):
                caughtUp.withLock { $0.append(record) }
            case .lift:
                Issue.record("no lift was published")
            }
        }

        let published = (1...40).map(enforcedBan)
        rig.consumers.fanOut.publish(published[0])
        entered.wait() // the consumer is stuck in its first ban
        for ban in published.dropFirst() { rig.consumers.fanOut.publish(ban) }
        #expect(slow.statistics.dropped == 36, "3 fit in its queue, 36 are lost")
        #expect(rig.consumers.ledgerSubscription?.statistics.dropped == 0)

        release.signal()
        rig.flush()
        let liveIDs = live.withLock { $0 }
        let caught = caughtUp.withLock { $0 }
        #expect(liveIDs == published.prefix(4).map(\.ban.id))
        #expect(caught.map(\.banID) == published.dropFirst(4).map(\.ban.id), "the lost bans, from the ledger, in order")
        #expect(caught.first.map { $0.ban.network } == published[4].ban.network)
        let evidence = try ledger.evidence(forBan: try #require(caught.first?.id))
        #expect(evidence == published[4].ban.evidence)

        // Nothing is delivered twice when the next gap comes.
        let again = (41...50).map(enforcedBan)
        for ban in again { rig.consumers.fanOut.publish(ban) }
        rig.flush()
        let all = live.withLock { $0 } + caughtUp.withLock { $0.map(\.banID) }
        #expect(all.count == 50 && Set(all).count == 50)
    }

    @Test func theLedgerAndTheLogLineAreSubscribersOfThePipeline() throws {
        let ledger = try Ledger(inMemory: ())
        let rig = try LedgeredConsumers(ledger: ledger, logger: logger)
        defer { rig.stop() }
        let firewall = DryRunFirewall(logger: logger)
        let clock = ManualClock()
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: rig.consumers.fanOut, logger: logger, clock: clock.clock)
        let events = (0..<5).map { i in
            SecurityEvent(
                time: clock.clock(), source: IPAddress("198.18.6.1")!, sourcePort: 5060, transport: .udp,
                kind: .authFailed, user: "u\(i)", dialect: .kamailio, origin: .wire(sensor: "lo"))
        }
        pipeline.judge(events, received: clock.clock())
        rig.flush()
        let recorded = try ledger.bans(afterRow: 0, limit: 10)
        #expect(recorded.map(\.network) == [IPNetwork("198.18.6.1")!])
        #expect(recorded.first?.origin == .detector && recorded.first?.rule == .failures)
        #expect(try ledger.evidence(forBan: try #require(recorded.first?.id)) == events)
        let stats = rig.consumers.fanOut.statistics
        #expect(stats.map(\.name) == ["ledger", "log"])
        #expect(stats.allSatisfy { $0.delivered == 1 && $0.dropped == 0 })
    }

    @Test func aBanFromOutsideTheDetectorTakesTheSamePath() throws {
        let ledger = try Ledger(inMemory: ())
        let rig = try LedgeredConsumers(ledger: ledger, logger: logger)
        defer { rig.stop() }
        let firewall = DryRunFirewall(logger: logger)
        let clock = ManualClock()
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: rig.consumers.fanOut, logger: logger, clock: clock.clock)
        let ban = Ban(
            network: IPNetwork("198.18.6.9")!, rule: .manual, origin: .manual, created: clock.clock(),
            duration: .seconds(3_600), reason: "abuse case 7")
        try pipeline.enforce(ban)
        rig.flush()
        #expect(try firewall.list().map(\.network) == [ban.network])
        #expect(try ledger.ban(banID: ban.id)?.ban == ban)
        // Its events are not judged again while it stands.
        let events = (0..<5).map { i in
            SecurityEvent(
                time: clock.clock(), source: IPAddress("198.18.6.9")!, kind: .authFailed, user: "u\(i)",
                dialect: .kamailio, origin: .wire(sensor: "lo"))
        }
        pipeline.judge(events, received: clock.clock())
        rig.flush()
        #expect(try ledger.bans(afterRow: 0, limit: 10).count == 1)
    }

    @Test func aStateDirectoryOf94142ecIsReconciledIntoTheKernelSets() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../StorageTests/Fixtures/state-94142ec/ledger.sqlite")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sipwarden-reconcile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: fixtures, to: directory.appendingPathComponent("ledger.sqlite"))

        // What Daemon.run does at start: open, read the active bans, reconcile the kernel.
        let ledger = try Ledger(directory: directory.path)
        let written = try #require(try ledger.bans(limit: 1, includeInactive: true).first?.createdAt)
        let now = written + .seconds(3_600)
        let active = try ledger.activeBans(at: now)
        let firewall = DryRunFirewall(logger: logger)
        try firewall.reconcile(with: active.map { BanElement(network: $0.network, timeout: $0.expiresAt.map { $0 - now }) })
        #expect(
            Set(try firewall.list().map(\.network.description))
                == ["198.18.3.1", "198.18.3.2", "198.18.7.0/24", "2001:2::3", "2001:2::66"])
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: logger, clock: { now })
        pipeline.restore(activeBans: active, offences: try ledger.offenceHistory(since: now - .seconds(86_400)))
        #expect(pipeline.statistics.detector.trackedSources == 5)
    }
}
