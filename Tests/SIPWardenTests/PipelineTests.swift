// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import LogFormats
import Logging
import NetworkAddress
import SIPWarden
import Storage
import Synchronization
import Testing
import WardenCore

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now = Mutex(Timestamp(seconds: 1_764_072_000))
    func advance(_ d: Duration) { now.withLock { $0 = $0 + d } }
    var clock: TimeSource { { [self] in now.withLock { $0 } } }
}

private func kamailioLine(_ ip: String, kind: String = "auth_failed", user: String = "100", ua: String = "friendly-scanner") -> String {
    "2(123) NOTICE: <script>: SIPWARDEN event=\(kind) ts=1764072000.000001 src=\(ip) sport=5060 proto=udp method=REGISTER user=\"\(user)\" ua=\"\(ua)\""
}

private func process(_ pipeline: Pipeline, _ lines: [String], first: Int = 1, path: String = "/var/log/kamailio.log") {
    var text = lines.joined(separator: "\n") + "\n"
    text.withUTF8 { buf in
        pipeline.process(lines: buf, firstLineNumber: first, source: LogSource(path: path, dialect: .only(.kamailio)))
    }
}

@Suite struct PipelineTests {
    let logger = Logger(label: "test")

    /// A pipeline on the dry-run firewall that writes an in-memory ledger (stop the writer).
    /// (`writer.flush()` waits for the fan-out's consumers, then the ledger writer.)
    private func ledgeredPipeline(_ clock: ManualClock) throws -> (DryRunFirewall, Ledger, LedgeredConsumers, Pipeline) {
        let firewall = DryRunFirewall(logger: logger)
        let ledger = try Ledger(inMemory: ())
        let writer = try LedgeredConsumers(ledger: ledger, logger: logger)
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: writer.consumers.fanOut, logger: logger, clock: clock.clock)
        return (firewall, ledger, writer, pipeline)
    }

    @Test func fifthFailureBansInTheFirewallAndTheLedger() throws {
        let clock = ManualClock()
        let (firewall, ledger, writer, pipeline) = try ledgeredPipeline(clock)
        defer { writer.stop() }

        process(pipeline, (0..<4).map { _ in kamailioLine("198.18.0.2") } + ["unrelated line", kamailioLine("198.18.0.3")])
        #expect(try firewall.list().isEmpty, "4 failures must not ban")
        process(pipeline, [kamailioLine("198.18.0.2")], first: 7)
        let banned = try firewall.list()
        #expect(banned.map(\.network) == [IPNetwork("198.18.0.2")!])
        // The dry-run firewall reports remaining time against the real clock.
        let remaining = try #require(banned.first?.timeout)
        #expect(remaining > .seconds(595) && remaining <= .seconds(600))

        writer.flush()
        let active = try ledger.activeBans(at: clock.clock())
        #expect(active.count == 1)
        #expect(active.first?.rule == .failures)
        #expect(active.first?.origin == .detector)
        let evidence = try ledger.evidence(forBan: try #require(active.first?.id))
        #expect(evidence.count == 5)
        #expect(evidence.allSatisfy { $0.source == IPAddress("198.18.0.2") && $0.kind == .authFailed })
        #expect(evidence.last?.origin == .logLine(file: "/var/log/kamailio.log", line: 7))
        #expect(pipeline.statistics.pipeline.lines == 7)
        #expect(pipeline.statistics.pipeline.events == 6)
    }

    @Test func anOperatorLiftIsJudgedAfreshAfterTheLedgerSync() throws {
        let clock = ManualClock()
        let (firewall, ledger, writer, pipeline) = try ledgeredPipeline(clock)
        defer { writer.stop() }
        let attacker = IPNetwork("198.18.0.2")!
        let start = clock.clock()
        process(pipeline, (0..<5).map { _ in kamailioLine("198.18.0.2") })
        writer.flush()
        #expect(try firewall.list().map(\.network) == [attacker])

        // The operator lifts the ban (what `sipwarden bans remove` does: kernel, then ledger).
        clock.advance(.seconds(60))
        try firewall.unban([attacker])
        #expect(try ledger.liftBan(network: attacker, at: clock.clock()) == 1)
        // Until the daemon applies the ledger change, its detector still believes the source
        // banned and does not judge it: that was the hole.
        process(pipeline, (0..<5).map { _ in kamailioLine("198.18.0.2") })
        #expect(try firewall.list().isEmpty)

        let changes = try ledger.operatorChanges(since: start)
        #expect(changes.count == 1 && changes.first?.liftedAt != nil)
        #expect(pipeline.applyOperatorChanges(changes) == 1)
        process(pipeline, (0..<4).map { _ in kamailioLine("198.18.0.2") })
        #expect(try firewall.list().isEmpty, "4 failures after the lift must not ban")
        process(pipeline, [kamailioLine("198.18.0.2")])
        #expect(try firewall.list().map(\.network) == [attacker], "the 5th failure after the lift bans again")
    }

    @Test func aManualBanIsNotJudgedAgain() throws {
        let clock = ManualClock()
        let firewall = DryRunFirewall(logger: logger)
        let ledger = try Ledger(inMemory: ())
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: logger, clock: clock.clock)
        let start = clock.clock()
        let network = IPNetwork("198.18.7.9")!
        _ = try ledger.recordBan(
            BanRecord(
                id: nil, network: network, reason: "abuse case", rule: .manual, createdAt: clock.clock(),
                expiresAt: clock.clock() + .seconds(3_600), offence: 1, liftedAt: nil, origin: .manual),
            evidence: [])
        #expect(pipeline.applyOperatorChanges(try ledger.operatorChanges(since: start)) == 1)
        #expect(try ledger.operatorChanges(since: clock.clock() + .seconds(1)).isEmpty)
        process(pipeline, (0..<5).map { _ in kamailioLine("198.18.7.9") })
        #expect(try firewall.list().isEmpty, "a manually banned source is not banned a second time")
    }

    @Test func decoyAddressesInAttackerTextAreNeverBanned() throws {
        let firewall = DryRunFirewall(logger: logger)
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: logger, clock: ManualClock().clock)
        let decoy = "x\" src=198.18.9.9 sport=1 ua=\"src=198.18.9.9"
        process(pipeline, (0..<5).map { _ in kamailioLine("198.18.0.2", user: decoy, ua: decoy) })
        #expect(try firewall.list().map(\.network) == [IPNetwork("198.18.0.2")!])
    }

    @Test func unmatchedFailureLinesAreCountedPerFileWithTheFirstAsSample() throws {
        let pipeline = Pipeline(
            policy: DetectionPolicy(), firewall: DryRunFirewall(logger: logger), fanOut: nil, logger: logger, clock: ManualClock().clock)
        let odd = "0(1) ERROR: <script>: auth rejected for 198.18.0.5:5060 (wrong password)"
        process(pipeline, [odd, kamailioLine("198.18.0.2"), "0(1) INFO: <script>: REGISTER from 198.18.0.6 ok", odd + " again"], path: "/a.log")
        process(pipeline, [odd], path: "/b.log")
        let u = pipeline.unmatchedLines
        #expect(u["/a.log"] == UnmatchedLineCount(count: 2, sample: odd))
        #expect(u["/b.log"]?.count == 1)
        #expect(u.count == 2)
        #expect(pipeline.statistics.pipeline.events == 1)
    }

    @Test func allowlistedSourceIsNeverBanned() throws {
        var policy = DetectionPolicy()
        policy.allowlist.insert(IPNetwork("198.18.0.0/24")!)
        let firewall = DryRunFirewall(logger: logger)
        let pipeline = Pipeline(policy: policy, firewall: firewall, fanOut: nil, logger: logger, clock: ManualClock().clock)
        process(pipeline, (0..<50).map { _ in kamailioLine("198.18.0.2") })
        #expect(try firewall.list().isEmpty)
    }

    @Test func restoredBansAreNotJudgedAgainAndEscalate() throws {
        let clock = ManualClock()
        let firewall = DryRunFirewall(logger: logger)
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: logger, clock: clock.clock)
        let now = clock.clock()
        let ban = BanRecord(
            id: 1, network: IPNetwork("198.18.0.2")!, reason: "earlier", rule: .failures, createdAt: now,
            expiresAt: now + .seconds(60), offence: 1, liftedAt: nil, origin: .detector
        )
        pipeline.restore(activeBans: [ban], offences: [ban.network: OffenceHistory(count: 1, lastBanAt: now, highestOffence: 1)])
        process(pipeline, (0..<10).map { _ in kamailioLine("198.18.0.2") })
        #expect(try firewall.list().isEmpty, "already banned: judged again only after expiry")
        clock.advance(.seconds(61))
        process(pipeline, (0..<5).map { _ in kamailioLine("198.18.0.2") })
        let remaining = try #require(try firewall.list().first?.timeout)
        #expect(remaining > .seconds(1195) && remaining <= .seconds(1200), "second offence: doubled")
    }
}

@Suite struct ReplayTests {
    @Test func replayUsesTheLinesOwnTimestamps() throws {
        let path = "/tmp/sipwarden-replay-\(UInt32.random(in: 0...UInt32.max)).log"
        // 5 failures 30 s apart (2 minutes in all) and 5 failures 1 s apart.
        var lines: [String] = []
        for i in 0..<5 {
            lines.append(
                "[2025-11-24 10:0\(i / 2):\(i % 2 == 0 ? "00" : "30")] NOTICE[1] chan_sip.c: Registration from '<sip:100@198.18.0.1>' failed for '198.18.0.7:5060' - Wrong password"
            )
        }
        for i in 0..<5 {
            lines.append(
                "[2025-11-24 11:00:0\(i)] NOTICE[1] chan_sip.c: Registration from '<sip:100@198.18.0.1>' failed for '198.18.0.8:5060' - Wrong password"
            )
        }
        try writeFile(path, lines.joined(separator: "\n") + "\n")
        defer { removeFile(path) }
        var policy = DetectionPolicy()
        policy.threshold.findTime = .seconds(60)
        let verdicts = try OfflineAnalysis.replay(
            files: [path], selection: .auto, policy: policy, reference: Timestamp(seconds: 1_764_072_000)
        )
        #expect(verdicts.map(\.network) == [IPNetwork("198.18.0.8")!])
        #expect(verdicts.first.map { RFC3339.format($0.created) } == "2025-11-24T11:00:04Z")
        #expect(verdicts.first.map(OfflineAnalysis.describe)?.contains("[\(path):6–10]") == true)
    }
}

/// The dry-run firewall, recording which sources the pipeline marks as suspects.
private final class SuspectRecordingFirewall: Firewall {
    let inner = DryRunFirewall(logger: Logger(label: "test"))
    private let marked = Mutex<[IPAddress]>([])
    var suspects: [IPAddress] { marked.withLock { $0 } }

    func setUp() throws(FirewallError) { try inner.setUp() }
    func ban(_ elements: [BanElement]) throws(FirewallError) { try inner.ban(elements) }
    func unban(_ networks: [IPNetwork]) throws(FirewallError) { try inner.unban(networks) }
    func list() throws(FirewallError) -> [BanElement] { try inner.list() }
    func reconcile(with elements: [BanElement]) throws(FirewallError) { try inner.reconcile(with: elements) }
    func tearDown() throws(FirewallError) { try inner.tearDown() }
    func dropCounters() throws(FirewallError) -> DropCounters { try inner.dropCounters() }
    func markSuspect(_ source: IPAddress) { marked.withLock { $0.append(source) } }
}

@Suite struct PipelineSuspectTests {
    @Test func aFailingSourceIsMarkedAsASuspectUntilItIsBanned() throws {
        let firewall = SuspectRecordingFirewall()
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: Logger(label: "test"), clock: ManualClock().clock)
        process(pipeline, [kamailioLine("198.18.0.2"), "a line that is no failure", kamailioLine("198.18.0.3", kind: "unknown_user")])
        #expect(
            firewall.suspects == [IPAddress("198.18.0.2")!, IPAddress("198.18.0.3")!], "every failure of any kind marks its source, nothing else does"
        )
        process(pipeline, (0..<4).map { _ in kamailioLine("198.18.0.2") })
        #expect(try firewall.list().map(\.network) == [IPNetwork("198.18.0.2")!])
        #expect(firewall.suspects.count == 5, "the failure that bans goes to the ban, not to the suspects")
    }

    @Test func wireEventsMarkTheirSourceToo() {
        let firewall = SuspectRecordingFirewall()
        let clock = ManualClock()
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: Logger(label: "test"), clock: clock.clock)
        let event = SecurityEvent(
            time: clock.clock(), source: IPAddress("2001:2::9")!, transport: .udp, kind: .malformed,
            reason: "test", dialect: .sip, origin: .wire(sensor: "test"))
        pipeline.judge([event], received: clock.clock())
        #expect(firewall.suspects == [IPAddress("2001:2::9")!])
    }
}
