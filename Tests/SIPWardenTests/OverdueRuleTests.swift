// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import Logging
import NetworkAddress
import RangePolicy
import Storage
import Testing
import WardenCore

@testable import SIPWarden

/// Abuse cases driven by the real lifecycle, with deadlines in seconds: a case goes
/// overdue a minute after its report and is mitigated after ten silent minutes.
enum OverdueCases {
    static let policy = CasePolicy(review: false, acknowledgeWithin: .seconds(60), mitigateWithin: .seconds(300), silenceForMitigated: .seconds(600))

    /// A case of `asn` (source `source`) reported at `at` and overdue a minute later.
    static func overdue(_ asn: UInt32?, source: String = "198.51.100.7", at: Timestamp) -> AbuseCase {
        var c = AbuseCase(
            id: UUID(), sources: [IPAddress(source)!], asn: asn, organisation: "Example Cloud", contacts: ["abuse@net.example"],
            openedAt: at, lastTrafficAt: at)
        _ = c.handle(.open, at: at, policy: policy)
        _ = c.handle(.delivered(contactIndex: 0), at: at, policy: policy)
        _ = c.handle(.tick, at: at + .seconds(61), policy: policy)
        return c
    }

    /// A case of `asn` reported at `at`, not overdue (no deadline passed yet).
    static func sent(_ asn: UInt32?, at: Timestamp) -> AbuseCase {
        var c = AbuseCase(
            id: UUID(), sources: [IPAddress("198.51.100.8")!], asn: asn, organisation: "Example Cloud", contacts: ["abuse@net.example"],
            openedAt: at, lastTrafficAt: at)
        _ = c.handle(.open, at: at, policy: policy)
        _ = c.handle(.delivered(contactIndex: 0), at: at, policy: policy)
        return c
    }

    /// `c` after its sources stayed silent: mitigated.
    static func mitigated(_ c: AbuseCase, at: Timestamp) -> AbuseCase {
        var c = c
        _ = c.handle(.tick, at: at, policy: policy)
        return c
    }
}

@Suite("overdue-block: the rule in the daemon (real case store, clock injected, no kernel)")
struct OverdueRuleTests {
    struct Fixture {
        let clock: ManualClock
        let directory: String
        let blocks: RangeBlocks
        let store: CaseStore
        let rule: OverdueRule
    }

    private func make(_ rule: OverdueBlockRule?, withCases: Bool = true) throws -> Fixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("overdue-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var settings = RangesSettings()
        settings.policy.overdueRule = rule
        let clock = ManualClock()
        let blocks = try RangeBlocks(
            settings: settings, stateDirectory: directory, allowlist: [], firewall: nil,
            source: NetworkKnowledge.rangeSource(holder: try asnRuleTestStore(), settings: settings), clock: clock.clock,
            logger: Logger(label: "test"))
        let store = CaseStore(ledger: try Ledger(inMemory: ()))
        let overdue = OverdueRule(
            rule: rule, blocks: blocks, cases: withCases ? store : nil, stateDirectory: directory, clock: clock.clock, logger: Logger(label: "test"))
        return Fixture(clock: clock, directory: directory, blocks: blocks, store: store, rule: overdue)
    }

    @Test func kOverdueCasesOfOneASBlockItsRangesUntilTheyAreMitigated() throws {
        let f = try make(OverdueBlockRule(threshold: 2))
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        let now = f.clock.clock()
        let first = OverdueCases.overdue(64500, at: now - .seconds(120))
        try f.store.save(first, at: now)
        // Overdue but without an AS, and reported but not overdue: neither counts.
        try f.store.save(OverdueCases.overdue(nil, at: now - .seconds(120)), at: now)
        try f.store.save(OverdueCases.overdue(nil, at: now - .seconds(120)), at: now)
        try f.store.save(OverdueCases.sent(64500, at: now - .seconds(10)), at: now)
        #expect(f.rule.evaluate() == OverdueRule.Evaluation())
        #expect(f.blocks.list().isEmpty, "K-1 overdue cases blocked the AS")

        let second = OverdueCases.overdue(64500, source: "198.51.100.9", at: now - .seconds(100))
        try f.store.save(second, at: now)
        #expect(f.rule.evaluate().blocked == [.asn(64500)])
        let block = try #require(f.blocks.list().first)
        #expect(block.selector == .asn(64500) && block.origin == .overdueRule && block.scope == .sip)
        #expect(block.expires == nil, "without block-time the block lasts while the cases are overdue")
        #expect(block.intervals == 3)
        let reason = try #require(block.reason)
        #expect(reason.hasPrefix("overdue-block: 2 abuse cases of AS64500 overdue ("), "\(reason)")
        for c in [first, second] { #expect(reason.contains(String(CaseEngine.key(c.id).prefix(8)))) }
        // Evaluated again: nothing changes, nothing stacks.
        f.clock.advance(.seconds(10))
        #expect(f.rule.evaluate() == OverdueRule.Evaluation())
        #expect(f.blocks.list() == [block])

        // One case mitigated: below K, the rule's block goes.
        f.clock.advance(.seconds(600))
        try f.store.save(OverdueCases.mitigated(first, at: f.clock.clock()), at: f.clock.clock())
        #expect(f.rule.evaluate().lifted == [.asn(64500)])
        #expect(f.blocks.list().isEmpty)
    }

    @Test func rangesListShowsTheBlockWithItsOriginAndReason() throws {
        // Permanent: `ranges list` reads the state file with the system clock.
        let f = try make(OverdueBlockRule(threshold: 1, block: RangeBlockAction(scope: .all, duration: nil)))
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        let c = OverdueCases.overdue(64501, at: f.clock.clock() - .seconds(120))
        try f.store.save(c, at: f.clock.clock())
        #expect(f.rule.evaluate().blocked == [.asn(64501)])
        var configuration = Configuration()
        configuration.stateDirectory = f.directory
        configuration.firewall = .dryRun
        let administration = RangesAdministration(configuration: configuration, logger: Logger(label: "test"))
        let text = try administration.list(json: false)
        let key = String(CaseEngine.key(c.id).prefix(8))
        #expect(text.hasPrefix("AS64501  everything  1 intervals  overdue-rule  since "), "\(text)")
        #expect(text.hasSuffix("permanent  (overdue-block: 1 abuse case of AS64501 overdue (\(key)))"), "\(text)")
        let json = try administration.list(json: true)
        #expect(json.contains(#""origin":"overdue-rule""#), "\(json)")
        #expect(json.contains(#""reason":"overdue-block: 1 abuse case of AS64501 overdue (\#(key))""#), "\(json)")
    }

    @Test func aBlockOfAnotherOriginIsKeptAndNotStackedOn() throws {
        let f = try make(OverdueBlockRule(threshold: 1))
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        let manual = try f.blocks.block(.asn(64500), scope: .all, duration: nil)
        let c = OverdueCases.overdue(64500, at: f.clock.clock() - .seconds(120))
        try f.store.save(c, at: f.clock.clock())
        let evaluation = f.rule.evaluate()
        #expect(evaluation.blocked.isEmpty && evaluation.blockedByOthers == [64500])
        #expect(f.blocks.list() == [manual])
        f.clock.advance(.seconds(700))
        try f.store.save(OverdueCases.mitigated(c, at: f.clock.clock()), at: f.clock.clock())
        #expect(f.rule.evaluate().lifted.isEmpty)
        #expect(f.blocks.list() == [manual], "the rule lifted the operator's block")
    }

    @Test func aReloadChangesTheThresholdAndTurningItOffLiftsItsBlocks() throws {
        let f = try make(OverdueBlockRule(threshold: 3))
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        for i in 0..<2 {
            try f.store.save(OverdueCases.overdue(64500, source: "198.51.100.\(10 + i)", at: f.clock.clock() - .seconds(120)), at: f.clock.clock())
        }
        #expect(f.rule.evaluate().blocked.isEmpty)
        f.rule.replace(rule: OverdueBlockRule(threshold: 2))
        #expect(f.rule.evaluate().blocked == [.asn(64500)])
        _ = try f.blocks.block(.asn(64501), scope: .sip, duration: nil)
        f.rule.replace(rule: nil)
        #expect(f.rule.rule == nil)
        #expect(f.rule.evaluate().lifted == [.asn(64500)])
        #expect(f.blocks.list().map(\.selector) == [.asn(64501)], "a manual block went with the rule")
    }

    @Test func aBlockThatRanOutIsNotMadeAgainAfterARestartForTheSameCases() throws {
        let bounded = OverdueBlockRule(threshold: 1, block: RangeBlockAction(scope: .sip, duration: .seconds(3_600)))
        let f = try make(bounded)
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        try f.store.save(OverdueCases.overdue(64500, at: f.clock.clock() - .seconds(120)), at: f.clock.clock())
        #expect(f.rule.evaluate().blocked == [.asn(64500)])
        f.clock.advance(.seconds(3_601))
        #expect(f.blocks.list().isEmpty, "block-time did not bound the block")
        #expect(f.rule.evaluate() == OverdueRule.Evaluation())
        // A restart: a new rule object on the same state directory remembers the case.
        let restarted = OverdueRule(
            rule: bounded, blocks: f.blocks, cases: f.store, stateDirectory: f.directory, clock: f.clock.clock, logger: Logger(label: "test"))
        #expect(restarted.evaluate() == OverdueRule.Evaluation())
        // Without that memory it would have blocked again.
        let forgetful = OverdueRule(
            rule: bounded, blocks: f.blocks, cases: f.store, stateDirectory: nil, clock: f.clock.clock, logger: Logger(label: "test"))
        #expect(forgetful.evaluate().blocked == [.asn(64500)])
    }

    @Test func withoutTheCaseServiceTheRuleDoesNothing() throws {
        let f = try make(OverdueBlockRule(threshold: 1), withCases: false)
        defer { try? FileManager.default.removeItem(atPath: f.directory) }
        try f.store.save(OverdueCases.overdue(64500, at: f.clock.clock() - .seconds(120)), at: f.clock.clock())
        #expect(f.rule.evaluate().noCases)
        #expect(f.blocks.list().isEmpty)
    }
}

@Suite("overdue-block: configuration")
struct OverdueBlockSettingsTests {
    static let abuse = "abuse: { reporter: abuse-reports@example.net }\n"

    @Test func parsesTheRuleWithAbuseConfigured() throws {
        let plain = try ConfigurationFile.parse(Self.abuse + "ranges:\n  overdue-block: { threshold: 3 }\n", file: "t.yaml")
        #expect(plain.ranges.policy.overdueRule == OverdueBlockRule(threshold: 3, block: RangeBlockAction(scope: .sip, duration: nil)))
        let full = try ConfigurationFile.parse(
            Self.abuse + "ranges:\n  overdue-block: { threshold: 2, block: all, block-time: 7d }\n", file: "t.yaml")
        #expect(
            full.ranges.policy.overdueRule == OverdueBlockRule(threshold: 2, block: RangeBlockAction(scope: .all, duration: .seconds(604_800))))
    }

    @Test func refusedWithoutAbuseAndErrorsNameTheKey() {
        let cases: [(String, String, String)] = [
            ("ranges:\n  overdue-block: { threshold: 3 }\n", "ranges.overdue-block", "abuse"),
            (Self.abuse + "ranges:\n  overdue-block: { block: sip }\n", "ranges.overdue-block", "threshold"),
            (Self.abuse + "ranges:\n  overdue-block: { threshold: 0 }\n", "ranges.overdue-block.threshold", "1 to 100000"),
            (Self.abuse + "ranges:\n  overdue-block: { threshold: 2, window: 1h }\n", "ranges.overdue-block.window", "unknown key"),
            (Self.abuse + "ranges:\n  overdue-block: { threshold: 2, block-time: 0s }\n", "ranges.overdue-block.block-time", "positive"),
        ]
        for (yaml, key, words) in cases {
            do {
                _ = try ConfigurationFile.parse(yaml, file: "t.yaml")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.location.contains(key), "\(error)")
                #expect(error.message.contains(words), "\(error)")
            }
        }
    }

    @Test func theRuleIsLiveTheRestOfTheSectionIsNot() throws {
        let running = try ConfigurationFile.parse(Self.abuse + "ranges:\n  overdue-block: { threshold: 3 }\n", file: "t.yaml")
        var next = try ConfigurationFile.parse(Self.abuse + "ranges:\n  overdue-block: { threshold: 5 }\n  refresh: 2h\n", file: "t.yaml")
        let setting = try #require(ConfigurationSchema.setting("ranges"))
        #expect(setting.differs(next, running), "refresh changed: restart-only")
        setting.restore(&next, running)
        #expect(next.ranges.policy.refreshInterval == running.ranges.policy.refreshInterval)
        #expect(next.ranges.policy.overdueRule == OverdueBlockRule(threshold: 5), "the rule was not handed on")
        let onlyRule = try ConfigurationFile.parse(Self.abuse + "ranges:\n  overdue-block: { threshold: 4 }\n", file: "t.yaml")
        #expect(!setting.differs(onlyRule, running), "a changed overdue-block asked for a restart")
    }
}

@Suite("overdue-block: woken by the case service (as the daemon wires it; dry run)")
struct OverdueRuleWiringTests {
    @Test func aPassOfTheCaseServiceAppliesTheRule() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("overdue-w-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = try ConfigurationFile.parse(
            "abuse: { reporter: abuse-reports@example.net, tick: 1h }\nranges:\n  overdue-block: { threshold: 1 }\n", file: "t.yaml")
        config.stateDirectory = directory
        config.firewall = .dryRun
        let logger = Logger(label: "test")
        let ledger = try Ledger(inMemory: ())
        let store = CaseStore(ledger: ledger)
        let ranges = try RangeBlocksService(
            configuration: config, ownAddresses: [], source: NetworkKnowledge.rangeSource(holder: try asnRuleTestStore(), settings: config.ranges),
            cases: store, logger: logger)
        let consumers = try LedgeredConsumers(ledger: ledger, logger: logger)
        defer { consumers.stop() }
        let cases = try #require(
            try CasesService(configuration: config, ledger: ledger, consumers: consumers.consumers, ownAddresses: [], logger: logger))
        cases.afterEachPass { ranges.evaluateOverdueRule() }
        _ = try ranges.start()
        // Overdue now (the lifecycle's own times), before the service starts: its first pass blocks.
        try store.save(OverdueCases.overdue(64501, at: systemClock() - .seconds(120)), at: systemClock())
        _ = try cases.start()
        defer { cases.stop() }
        var waited = 0
        while ranges.blocks.list().isEmpty, waited < 100 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        let block = try #require(ranges.blocks.list().first, "no pass of the case service applied the rule")
        #expect(block.selector == .asn(64501) && block.origin == .overdueRule)
    }
}
