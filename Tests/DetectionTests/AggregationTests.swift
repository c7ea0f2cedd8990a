// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import NetworkAddress
import Testing
import WardenCore

private func event(_ source: String, _ kind: EventKind = .authFailed, at seconds: Double) -> SecurityEvent {
    SecurityEvent(
        time: Timestamp(microseconds: Int64(seconds * 1_000_000)), source: IPAddress(source)!,
        kind: kind, user: "100", dialect: .kamailio, origin: .logLine(file: "t.log", line: 1)
    )
}

/// A policy whose host threshold is out of reach, so only aggregation can ban.
private func policy(
    failures: Int = 10, hosts: Int = 3, findTime: Duration = .seconds(60), wider: [AggregationStep] = [],
    allow: [String] = [], protected: [ProtectedNetwork] = []
) -> DetectionPolicy {
    var p = DetectionPolicy()
    p.threshold = Threshold(maxRetry: 1000, findTime: .seconds(600))
    p.enumeration = nil
    p.allowlist = IPNetworkSet(allow.map { IPNetwork($0)! })
    p.aggregation = AggregationPolicy(
        steps: [AggregationStep(scope: .prefix(ipv4: 24, ipv6: 48), failures: failures, distinctHosts: hosts, findTime: findTime)] + wider,
        protected: protected
    )
    return p
}

/// Feeds `events`; returns every verdict and blocked aggregation, in order.
private func run(_ d: inout Detector, _ events: [SecurityEvent]) -> (verdicts: [Verdict], blocked: [BlockedAggregation]) {
    var out: ([Verdict], [BlockedAggregation]) = ([], [])
    for e in events {
        let j = d.judge(e, now: e.time)
        out.0 += j.verdicts
        out.1 += j.blocked
    }
    return out
}

/// `n` failures from hosts .1 … .hosts of 198.18.1.0/24 in turn, 0.1 s apart from `start`.
private func spread(_ n: Int, hosts: Int, prefix: String = "198.18.1.", start: Double = 0) -> [SecurityEvent] {
    (0..<n).map { event("\(prefix)\($0 % hosts + 1)", at: start + Double($0) / 10) }
}

@Suite struct AggregationThresholdTests {
    @Test func prefixBannedAtItsThresholdNotBefore() {
        var d = Detector(policy: policy())
        let r = run(&d, spread(9, hosts: 3))
        #expect(r.verdicts.isEmpty)
        let v = d.judge(event("198.18.1.2", at: 1), now: Timestamp(microseconds: 1_000_000)).verdicts
        #expect(v.count == 1)
        #expect(v.first?.network == IPNetwork("198.18.1.0/24"))
        #expect(v.first?.rule == .aggregate)
        #expect(v.first?.origin == .detector)
        #expect(v.first?.duration == .seconds(600))
        #expect(v.first?.reason.contains("198.18.1.0/24") == true)
        #expect(d.statistics.prefixVerdicts == 1)
    }

    @Test func tooFewDistinctHostsNeverBan() {
        var d = Detector(policy: policy())
        // 40 failures, but from two hosts only: a matter for the host windows.
        #expect(run(&d, spread(40, hosts: 2)).verdicts.isEmpty)
        // A third host joins: the next 10 in the window span three hosts.
        let r = run(&d, spread(10, hosts: 3, start: 5))
        #expect(r.verdicts.map(\.network) == [IPNetwork("198.18.1.0/24")!])
    }

    @Test func failuresOutsideFindTimeDoNotBan() {
        var d = Detector(policy: policy(findTime: .seconds(10)))
        // 10 failures from 5 hosts, 2 s apart: never 10 within 10 s.
        let events = (0..<30).map { event("198.18.1.\($0 % 5 + 1)", at: Double($0) * 2) }
        #expect(run(&d, events).verdicts.isEmpty)
    }

    @Test func differentPrefixesCountApart() {
        var d = Detector(policy: policy())
        var events: [SecurityEvent] = []
        for i in 0..<9 {
            events.append(event("198.18.1.\(i % 3 + 1)", at: Double(i)))
            events.append(event("198.18.2.\(i % 3 + 1)", at: Double(i)))
        }
        #expect(run(&d, events).verdicts.isEmpty)
        #expect(d.statistics.trackedPrefixes == 2)
    }

    @Test func hostAndPrefixVerdictsFromOneEvent() {
        var p = policy()
        p.threshold = Threshold(maxRetry: 4, findTime: .seconds(600))
        var d = Detector(policy: p)
        // .1 .2 .3 fail three times each (9), then .1 a 4th time: its host ban and the /24.
        _ = run(&d, spread(9, hosts: 3))
        let j = d.judge(event("198.18.1.1", at: 2), now: Timestamp(microseconds: 2_000_000))
        #expect(j.verdicts.map(\.network) == [IPNetwork("198.18.1.1")!, IPNetwork("198.18.1.0/24")!])
    }

    @Test func aggregationOffNeverBansAPrefix() {
        var p = policy()
        p.aggregation = .off
        var d = Detector(policy: p)
        #expect(run(&d, spread(100, hosts: 20)).verdicts.isEmpty)
    }

    @Test func observeStillReturnsTheFirstVerdict() {
        var d = Detector(policy: policy())
        var last: Verdict?
        for e in spread(10, hosts: 3) { last = d.observe(e, now: e.time) ?? last }
        #expect(last?.network == IPNetwork("198.18.1.0/24"))
    }
}

@Suite struct AggregationSuccessTests {
    @Test func aSucceedingHostsFailuresNeverCount() {
        var d = Detector(policy: policy())
        // .9 makes typos and logs in; its failures are taken back and never count again.
        var events = [event("198.18.1.9", at: 0), event("198.18.1.9", at: 0.1), event("198.18.1.9", .authSucceeded, at: 0.2)]
        events += (0..<20).map { event("198.18.1.9", at: 0.3 + Double($0) / 100) }
        // Two other hosts: 8 failures. Were .9's 22 failures counted, the window would
        // hold 10 failures of 3 hosts and reach its threshold (blocked by the shield).
        events += spread(8, hosts: 2, start: 1)
        let r = run(&d, events)
        #expect(r.verdicts.isEmpty)
        #expect(r.blocked.isEmpty)
        #expect(d.statistics.prefixBansBlocked == 0)
        #expect(d.statistics.successes == 1)
    }

    @Test func aPrefixHoldingASucceedingHostIsNotBannedAndSaysWhy() {
        var d = Detector(policy: policy())
        _ = run(&d, [event("198.18.1.50", at: 0), event("198.18.1.50", .authSucceeded, at: 0.1)])
        let r = run(&d, spread(30, hosts: 5, start: 1))
        #expect(r.verdicts.isEmpty)
        #expect(r.blocked.count == 1, "reported once per find-time")
        #expect(r.blocked.first?.reason == .succeeded)
        #expect(r.blocked.first?.network == IPNetwork("198.18.1.0/24"))
        #expect(d.statistics.prefixBansBlocked == 3)
    }

    @Test func theShieldEndsAfterSuccessMemory() {
        var p = policy()
        p.aggregation.successMemory = .seconds(30)
        var d = Detector(policy: p)
        _ = run(&d, [event("198.18.1.50", .authSucceeded, at: 0)])
        #expect(run(&d, spread(10, hosts: 3, start: 1)).blocked.first?.reason == .succeeded)
        #expect(run(&d, spread(10, hosts: 3, start: 40)).verdicts.map(\.network) == [IPNetwork("198.18.1.0/24")!])
    }

    @Test func successIsNeverCountedAsAFailure() {
        var p = policy()
        p.threshold = Threshold(maxRetry: 2, findTime: .seconds(600))
        var d = Detector(policy: p)
        let r = run(&d, (0..<10).map { event("198.18.1.7", .authSucceeded, at: Double($0)) })
        #expect(r.verdicts.isEmpty)
    }
}

@Suite struct AggregationProtectionTests {
    @Test func anAllowlistedAddressInsideBlocksThePrefixWithItsReason() throws {
        var d = Detector(policy: policy(allow: ["198.18.1.100"]))
        let r = run(&d, spread(10, hosts: 5))
        #expect(r.verdicts.isEmpty)
        let b = try #require(r.blocked.first)
        #expect(b.reason == .allowlist)
        #expect(b.protected == IPNetwork("198.18.1.100"))
        #expect(b.description.contains("allowlisted 198.18.1.100"))
        // The allowlisted host itself is never judged.
        #expect(run(&d, (0..<50).map { event("198.18.1.100", at: 5 + Double($0)) }).verdicts.isEmpty)
    }

    @Test(arguments: [AggregationBlock.trunk, .ownAddress, .peer])
    func protectedNetworksBlockWithTheirRule(reason: AggregationBlock) {
        var d = Detector(policy: policy(protected: [ProtectedNetwork(IPNetwork("198.18.1.200")!, reason: reason)]))
        let r = run(&d, spread(10, hosts: 5))
        #expect(r.verdicts.isEmpty)
        #expect(r.blocked.map(\.reason) == [reason])
    }

    @Test func aProtectedNetworkWiderThanThePrefixBlocksIt() {
        var d = Detector(policy: policy(allow: ["198.18.0.0/16"]))
        // Every host is allowlisted itself: nothing is even counted.
        #expect(run(&d, spread(10, hosts: 5)).verdicts.isEmpty)
        var d2 = Detector(policy: policy(protected: [ProtectedNetwork(IPNetwork("198.18.0.0/20")!, reason: .trunk)]))
        #expect(run(&d2, spread(10, hosts: 5)).blocked.map(\.reason) == [.trunk])
    }

    @Test func aWiderStepBlockedByTheAllowlistIsReported() {
        let wider = AggregationStep(scope: .prefix(ipv4: 20, ipv6: 44), failures: 12, distinctHosts: 3, findTime: .seconds(60))
        var d = Detector(policy: policy(wider: [wider], allow: ["198.18.2.1"]))
        let r = run(&d, spread(12, hosts: 4))
        #expect(r.verdicts.map(\.network) == [IPNetwork("198.18.1.0/24")!])
        #expect(r.blocked.map(\.network) == [IPNetwork("198.18.0.0/20")!])
        #expect(r.blocked.map(\.reason) == [.allowlist])
    }

    @Test func aWiderStepBlockedWithTheNarrowerBanIsNamedInItsReason() {
        let wider = AggregationStep(scope: .prefix(ipv4: 20, ipv6: 44), failures: 12, distinctHosts: 3, findTime: .seconds(60))
        var d = Detector(policy: policy(wider: [wider], allow: ["198.18.2.1"]))
        // Two failures elsewhere in the /20 first: the /24's 10th is the /20's 12th.
        let r = run(&d, [event("198.18.3.1", at: 0), event("198.18.3.2", at: 0)] + spread(10, hosts: 4, start: 0.1))
        #expect(r.verdicts.map(\.network) == [IPNetwork("198.18.1.0/24")!])
        #expect(r.verdicts.first?.reason.contains("wider 198.18.0.0/20 not banned") == true)
        #expect(r.verdicts.first?.reason.contains("[allowlist]") == true)
    }

    @Test func widerStepBansUnderItsStrongerThreshold() {
        let wider = AggregationStep(scope: .prefix(ipv4: 16, ipv6: 32), failures: 30, distinctHosts: 6, findTime: .seconds(60))
        var d = Detector(policy: policy(wider: [wider]))
        // 30 failures over six /24s (3 hosts each, below each /24's threshold of 10).
        var events: [SecurityEvent] = []
        for i in 0..<30 { events.append(event("198.18.\(i % 6 + 10).\(i / 6 % 3 + 1)", at: Double(i) / 10)) }
        let r = run(&d, events)
        #expect(r.verdicts.map(\.network) == [IPNetwork("198.18.0.0/16")!])
    }
}

@Suite struct AggregationEscalationTests {
    @Test func aRepeatOffendingPrefixIsBannedLonger() {
        var d = Detector(policy: policy())
        let first = run(&d, spread(10, hosts: 3)).verdicts
        #expect(first.first?.offence == 1)
        // While banned, its failures do not count.
        #expect(run(&d, spread(30, hosts: 3, start: 10)).verdicts.isEmpty)
        // After the ban (600 s), a second offence: twice as long.
        let second = run(&d, spread(10, hosts: 3, start: 700)).verdicts
        #expect(second.first?.offence == 2)
        #expect(second.first?.duration == .seconds(1200))
        #expect(second.first?.reason.contains("repeat offence #2") == true)
    }

    @Test func aPrefixBanNotedFromOutsideStopsCounting() {
        var d = Detector(policy: policy())
        d.noteBan(IPNetwork("198.18.1.0/24")!, until: Timestamp(microseconds: 100_000_000), offence: 1, at: Timestamp(microseconds: 0))
        #expect(run(&d, spread(20, hosts: 5)).verdicts.isEmpty)
        d.forget(IPNetwork("198.18.1.0/24")!)
        #expect(run(&d, spread(10, hosts: 5, start: 10)).verdicts.count == 1)
    }
}

@Suite struct AggregationIPv6Tests {
    @Test func hostsOfOneSlash48CountTogether() {
        var d = Detector(policy: policy())
        let events = (0..<10).map { i in event("2001:2:0:\(i % 4):\(i)::1", at: Double(i) / 10) }
        #expect(run(&d, events).verdicts.map(\.network) == [IPNetwork("2001:2::/48")!])
    }

    @Test func differentSlash48sCountApart() {
        var d = Detector(policy: policy())
        let events = (0..<18).map { i in event("2001:2:\(i % 2):\(i)::1", at: Double(i) / 10) }
        #expect(run(&d, events).verdicts.isEmpty)
    }

    @Test func hostBansAtSlash64AreStillWiderThanTheFortyEight() {
        var p = policy()
        p.ipv6PrefixLength = 64
        var d = Detector(policy: p)
        let events = (0..<10).map { i in event("2001:2:0:\(i % 3)::\(i + 1)", at: Double(i) / 10) }
        #expect(run(&d, events).verdicts.map(\.network) == [IPNetwork("2001:2::/48")!])
    }
}

/// One failure from host .1 of the `i`-th /24 after `base`.
private func oneShot(_ i: Int, base: UInt32, at microseconds: Int64) -> SecurityEvent {
    SecurityEvent(
        time: Timestamp(microseconds: microseconds), source: .v4(base &+ UInt32(i) << 8 | 1),
        kind: .authFailed, user: "1", dialect: .kamailio, origin: .logLine(file: "t.log", line: 1)
    )
}

@Suite struct AggregationBoundsTests {
    @Test func thePrefixTableStaysWithinItsCapacity() {
        var p = policy()
        p.maxTrackedSources = 3200
        p.aggregation.maxTrackedPrefixes = 100
        var d = Detector(policy: p)
        // One failure each from 5,000 distinct /24s (198.18.0.1, 198.18.1.1, …).
        for i in 0..<5000 { _ = d.judge(oneShot(i, base: 0xC612_0000, at: Int64(i) * 1000), now: Timestamp(microseconds: Int64(i) * 1000)) }
        #expect(d.statistics.trackedPrefixes <= 100)
        #expect(d.statistics.prefixesEvicted > 0)
        #expect(d.heldBytes <= d.memory.boundBytes)
    }

    @Test func aPrefixAboutToBeBannedSurvivesAFloodOfOneShotPrefixes() {
        var p = policy()
        p.maxTrackedSources = 3200
        p.aggregation.maxTrackedPrefixes = 100
        var d = Detector(policy: p)
        _ = run(&d, spread(9, hosts: 3, prefix: "198.19.200."))
        // 1,000 one-shot /24s from 198.20.0.0 on (none in 198.19.200.0/24).
        for i in 0..<1000 { _ = d.judge(oneShot(i, base: 0xC614_0000, at: 1_000_000 + Int64(i)), now: Timestamp(microseconds: 1_000_000 + Int64(i))) }
        let v = d.judge(event("198.19.200.1", at: 2), now: Timestamp(microseconds: 2_000_000)).verdicts
        #expect(v.map(\.network) == [IPNetwork("198.19.200.0/24")!])
    }

    @Test func theBoundStaysUnderTwoHundredBytesPerSource() {
        let m = DetectorMemory(policy: DetectionPolicy())
        #expect(m.prefixCapacity == 200_000 / 32)
        #expect(m.prefixBoundBytes > 0)
        #expect(m.bytesPerSource <= 200)
    }

    @Test func invalidAggregationIsRefused() {
        var p = DetectionPolicy()
        p.aggregation.steps[0].distinctHosts = 1
        #expect(!p.validationErrors().isEmpty)
        p = DetectionPolicy()
        p.aggregation.steps.append(AggregationStep(scope: .prefix(ipv4: 20, ipv6: 44), failures: 5, distinctHosts: 3, findTime: .seconds(60)))
        #expect(p.validationErrors().contains { $0.contains("wider step") })
        p = DetectionPolicy()
        p.ipv4PrefixLength = 24
        #expect(p.validationErrors().isEmpty, "the default step adapts to host bans as wide as it")
        p.aggregation.steps[0].failures = 12 // configured: must be wider than the host bans
        #expect(p.validationErrors().contains { $0.contains("ipv4 prefix") })
        p.ipv4PrefixLength = 4 // nonsense host granularity: reported once, never a trap
        #expect(p.validationErrors().count == 1)
        #expect(DetectionPolicy().validationErrors().isEmpty)
    }

    /// Host bans of /24 (`ipv4-prefix: 24`) with the default step: a /24 is already what a
    /// host ban covers, so the step counts nothing for IPv4 and bans no IPv4 prefix — yet
    /// IPv6 hosts still aggregate into their /48.
    @Test func theDefaultStepDoesNotApplyWhereHostBansAreAsWide() {
        var p = DetectionPolicy()
        p.threshold = Threshold(maxRetry: 1000, findTime: .seconds(600))
        p.enumeration = nil
        p.ipv4PrefixLength = 24
        var d = Detector(policy: p)
        let v4 = (0..<30).map { event("198.18.7.\($0 % 10 + 1)", at: Double($0)) }
        #expect(run(&d, v4).verdicts.isEmpty)
        let v6 = (0..<10).map { event("2001:2:0:\($0 % 5 + 1)::1", at: 40 + Double($0)) }
        #expect(run(&d, v6).verdicts.map(\.network) == [IPNetwork("2001:2::/48")!])
    }
}
