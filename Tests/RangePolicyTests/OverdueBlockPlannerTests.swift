// SPDX-License-Identifier: GPL-2.0-or-later

import RangePolicy
import Testing
import WardenCore

/// `n` case ids of one AS (`AS-n` style, distinct per AS and index).
private func ids(_ asn: UInt32, _ count: Int, from first: Int = 0) -> [String] {
    (first..<(first + count)).map { "\(asn)-case-\($0)" }
}

private let t0 = Timestamp(seconds: 1_764_072_000)

private func record(
    _ asn: UInt32, _ origin: RangeBlockRecord.Origin, created: Timestamp = t0, expires: Timestamp? = nil
) -> RangeBlockRecord {
    RangeBlockRecord(selector: .asn(asn), scope: .sip, origin: origin, created: created, expires: expires, refreshed: created)
}

@Suite("overdue-block: the planner (pure)")
struct OverdueBlockPlannerTests {
    let rule = OverdueBlockRule(threshold: 3, block: RangeBlockAction(scope: .sip, duration: nil))

    @Test func belowTheThresholdNothingIsBlocked() {
        var planner = OverdueBlockPlanner(rule: rule)
        let plan = planner.plan(overdue: [64500: ids(64500, 2), 64501: ids(64501, 1)], inForce: [], now: t0)
        #expect(plan.block.isEmpty && plan.lift.isEmpty && plan.blockedByOthers.isEmpty)
    }

    @Test func reachingTheThresholdBlocksThatASOnly() throws {
        var planner = OverdueBlockPlanner(rule: OverdueBlockRule(threshold: 3, block: RangeBlockAction(scope: .all, duration: .seconds(7_200))))
        let plan = planner.plan(overdue: [64500: ids(64500, 3), 64501: ids(64501, 2)], inForce: [], now: t0)
        #expect(plan.block.map(\.selector) == [.asn(64500)])
        let block = try #require(plan.block.first)
        #expect(block.asn == 64500)
        #expect(block.action == RangeBlockAction(scope: .all, duration: .seconds(7_200)))
        #expect(block.cases == ids(64500, 3))
        #expect(block.reason == "overdue-block: 3 abuse cases of AS64500 overdue (64500-ca, 64500-ca, 64500-ca)")
        #expect(plan.lift.isEmpty)
        // Its own block in force: planned once, not again.
        let again = planner.plan(overdue: [64500: ids(64500, 4)], inForce: [record(64500, .overdueRule)], now: t0 + .seconds(10))
        #expect(again.block.isEmpty && again.lift.isEmpty)
    }

    @Test func aBlockOfAnotherOriginIsNeitherStackedOnNorLifted() {
        var planner = OverdueBlockPlanner(rule: rule)
        for origin in [RangeBlockRecord.Origin.manual, .policy, .asnRule] {
            let inForce = [record(64500, origin)]
            let plan = planner.plan(overdue: [64500: ids(64500, 5)], inForce: inForce, now: t0)
            #expect(plan.block.isEmpty, "stacked on a \(origin) block")
            #expect(plan.blockedByOthers == [64500])
            // The cases are answered: the other origin's block stays.
            let below = planner.plan(overdue: [64500: ids(64500, 1)], inForce: inForce, now: t0 + .seconds(10))
            #expect(below.lift.isEmpty, "lifted a \(origin) block")
        }
        // Once the other block is gone (the AS rule's expired), this rule takes over.
        let expired = record(64500, .asnRule, expires: t0 + .seconds(60))
        let plan = planner.plan(overdue: [64500: ids(64500, 3)], inForce: [expired], now: t0 + .seconds(61))
        #expect(plan.block.map(\.selector) == [.asn(64500)])
    }

    @Test func droppingBelowTheThresholdLiftsOnlyItsOwnBlock() {
        var planner = OverdueBlockPlanner(rule: rule)
        _ = planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0)
        let inForce = [record(64500, .overdueRule), record(64501, .manual), record(64502, .overdueRule)]
        // AS64500: two cases mitigated; AS64501 (manual) has none; AS64502 still at 3.
        let plan = planner.plan(overdue: [64500: ids(64500, 1), 64502: ids(64502, 3)], inForce: inForce, now: t0 + .seconds(30))
        #expect(plan.lift == [.asn(64500)])
        #expect(plan.block.isEmpty)
        // Back at the threshold after dropping below it: blocked again.
        let back = planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0 + .seconds(60))
        #expect(back.block.map(\.selector) == [.asn(64500)])
    }

    @Test func aReloadWithAnotherThresholdBlocksAndLiftsAtTheNextPlan() {
        var planner = OverdueBlockPlanner(rule: rule)
        let overdue: [UInt32: [String]] = [64500: ids(64500, 2), 64501: ids(64501, 3)]
        let first = planner.plan(overdue: overdue, inForce: [], now: t0)
        #expect(first.block.map(\.selector) == [.asn(64501)])
        // K 3 → 2: AS64500 is at it now.
        planner.replace(rule: OverdueBlockRule(threshold: 2))
        let lower = planner.plan(overdue: overdue, inForce: [record(64501, .overdueRule)], now: t0 + .seconds(10))
        #expect(lower.block.map(\.selector) == [.asn(64500)])
        #expect(lower.lift.isEmpty)
        // K 2 → 4: both are below it; both of this rule's blocks go.
        planner.replace(rule: OverdueBlockRule(threshold: 4))
        let higher = planner.plan(overdue: overdue, inForce: [record(64500, .overdueRule), record(64501, .overdueRule)], now: t0 + .seconds(20))
        #expect(higher.lift == [.asn(64500), .asn(64501)])
        #expect(higher.block.isEmpty)
        #expect(planner.rule == OverdueBlockRule(threshold: 4))
    }

    @Test func turningTheRuleOffLiftsItsBlocksOnly() {
        var planner = OverdueBlockPlanner(rule: rule)
        planner.replace(rule: nil)
        let plan = planner.plan(
            overdue: [64500: ids(64500, 9)], inForce: [record(64500, .overdueRule), record(64501, .manual), record(64502, .asnRule)],
            now: t0)
        #expect(plan.lift == [.asn(64500)])
        #expect(plan.block.isEmpty)
    }

    @Test func aBlockThatEndedWhileStillOverdueIsRenewedOnlyByAFurtherCase() {
        let bounded = OverdueBlockRule(threshold: 3, block: RangeBlockAction(scope: .sip, duration: .seconds(3_600)))
        var planner = OverdueBlockPlanner(rule: bounded)
        #expect(planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0).block.count == 1)
        let own = record(64500, .overdueRule, expires: t0 + .seconds(3_600))
        #expect(planner.plan(overdue: [64500: ids(64500, 3)], inForce: [own], now: t0 + .seconds(1_800)).block.isEmpty)
        // A fourth case goes overdue while the block is in force: covered by it.
        #expect(planner.plan(overdue: [64500: ids(64500, 4)], inForce: [own], now: t0 + .seconds(3_000)).block.isEmpty)
        // block-time ran out (the record is expired), the same four cases: not again.
        let after = planner.plan(overdue: [64500: ids(64500, 4)], inForce: [own], now: t0 + .seconds(3_601))
        #expect(after.block.isEmpty && after.lift.isEmpty)
        // One of them answered, no new one: still not.
        #expect(planner.plan(overdue: [64500: ids(64500, 3, from: 1)], inForce: [], now: t0 + .seconds(4_000)).block.isEmpty)
        // A further case goes overdue: a new block.
        let renewed = planner.plan(overdue: [64500: ids(64500, 4, from: 1)], inForce: [], now: t0 + .seconds(5_000))
        #expect(renewed.block.map(\.selector) == [.asn(64500)])
        #expect(renewed.block.first?.reason.hasPrefix("overdue-block: 4 abuse cases of AS64500 overdue") == true)
    }

    @Test func theMemoryOfPastBlocksSurvivesARestart() {
        var planner = OverdueBlockPlanner(rule: rule)
        #expect(planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0).block.count == 1)
        #expect(planner.memory == [64500: ids(64500, 3)])
        var restarted = OverdueBlockPlanner(rule: rule, memory: planner.memory)
        #expect(restarted.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0 + .seconds(60)).block.isEmpty)
        // Below K: forgotten.
        _ = restarted.plan(overdue: [:], inForce: [], now: t0 + .seconds(70))
        #expect(restarted.memory.isEmpty)
        #expect(OverdueBlockPlanner(rule: nil, memory: planner.memory).memory.isEmpty, "a rule that is off remembers nothing")
    }

    @Test func aBlockTheOperatorLiftedIsNotForcedBackForTheSameCases() {
        var planner = OverdueBlockPlanner(rule: rule)
        #expect(planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0).block.count == 1)
        #expect(planner.plan(overdue: [64500: ids(64500, 3)], inForce: [record(64500, .overdueRule)], now: t0 + .seconds(10)).block.isEmpty)
        // `ranges unblock AS64500`: the record is gone.
        #expect(planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0 + .seconds(20)).block.isEmpty)
        #expect(planner.plan(overdue: [64500: ids(64500, 4)], inForce: [], now: t0 + .seconds(30)).block.count == 1)
    }

    @Test func aFailedBlockIsTriedAgainAfterTheRetryInterval() {
        var planner = OverdueBlockPlanner(rule: rule)
        #expect(planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0).block.count == 1)
        planner.failed(asn: 64500, at: t0)
        #expect(planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0 + .seconds(10)).block.isEmpty)
        let retried = planner.plan(overdue: [64500: ids(64500, 3)], inForce: [], now: t0 + OverdueBlockPlanner.retryInterval)
        #expect(retried.block.map(\.selector) == [.asn(64500)])
    }

    @Test func theReasonNamesTheCountAndAtMostFiveCases() {
        #expect(
            OverdueBlockPlanner.reason(asn: 64500, cases: ["0f3c2a1b-aaaa"])
                == "overdue-block: 1 abuse case of AS64500 overdue (0f3c2a1b)")
        let seven = (1...7).map { "0000000\($0)-tail" }
        #expect(
            OverdueBlockPlanner.reason(asn: 7, cases: seven)
                == "overdue-block: 7 abuse cases of AS7 overdue (00000001, 00000002, 00000003, 00000004, 00000005, …)")
    }

    @Test func theRuleIsValidated() {
        #expect(throws: RangePolicyError.self) { try RangePolicy(overdueRule: OverdueBlockRule(threshold: 0)).validate() }
        #expect(throws: RangePolicyError.self) {
            try RangePolicy(overdueRule: OverdueBlockRule(threshold: 2, block: RangeBlockAction(scope: .sip, duration: .zero))).validate()
        }
        #expect(throws: Never.self) { try RangePolicy(overdueRule: OverdueBlockRule(threshold: 1)).validate() }
    }
}
