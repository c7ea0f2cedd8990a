// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import NetworkAddress
import Testing
import WardenCore

private func event(
    _ source: String, _ kind: EventKind = .authFailed, at seconds: Double, user: String? = "100"
) -> SecurityEvent {
    SecurityEvent(
        time: Timestamp(microseconds: Int64(seconds * 1_000_000)), source: IPAddress(source)!,
        kind: kind, user: user, dialect: .kamailio, origin: .logLine(file: "t.log", line: 1)
    )
}

private func feed(_ detector: inout Detector, _ e: SecurityEvent) -> Verdict? {
    detector.observe(e, now: e.time)
}

@Suite struct SlidingWindowTests {
    @Test func bansExactlyAtMaxRetry() {
        var d = Detector(policy: DetectionPolicy())
        for i in 0..<4 {
            #expect(feed(&d, event("198.18.0.2", at: Double(i))) == nil, "failure \(i + 1) must not ban")
        }
        let v = feed(&d, event("198.18.0.2", at: 4))
        #expect(v?.network == IPNetwork("198.18.0.2"))
        #expect(v?.rule == .failures)
        #expect(v?.evidence.count == 5)
        #expect(v?.duration == .seconds(600))
        #expect(v?.offence == 1)
    }

    @Test func failuresOutsideFindTimeDoNotBan() {
        var policy = DetectionPolicy()
        policy.threshold = Threshold(maxRetry: 3, findTime: .seconds(10))
        var d = Detector(policy: policy)
        // 3 failures spread over 11 s: never 3 inside 10 s.
        #expect(feed(&d, event("198.18.0.2", at: 0)) == nil)
        #expect(feed(&d, event("198.18.0.2", at: 5.5)) == nil)
        #expect(feed(&d, event("198.18.0.2", at: 11)) == nil)
        // The window slides: failures at 5.5, 11, 12 are inside 10 s.
        #expect(feed(&d, event("198.18.0.2", at: 12)) != nil)
    }

    @Test func sourcesAreCountedSeparately() {
        var d = Detector(policy: DetectionPolicy())
        for i in 0..<4 {
            #expect(feed(&d, event("198.18.0.2", at: Double(i))) == nil)
            #expect(feed(&d, event("198.18.0.3", at: Double(i))) == nil)
        }
        #expect(feed(&d, event("198.18.0.3", at: 5))?.network == IPNetwork("198.18.0.3"))
    }

    @Test func eventsWhileBannedAreCountedNotJudged() {
        var d = Detector(policy: DetectionPolicy())
        for i in 0..<5 { _ = feed(&d, event("198.18.0.2", at: Double(i))) }
        for i in 5..<50 { #expect(feed(&d, event("198.18.0.2", at: Double(i) / 10 + 5)) == nil) }
        #expect(d.statistics.eventsWhileBanned == 45)
        #expect(d.statistics.verdicts == 1)
    }

    @Test func scannerBansAtFirstSighting() {
        var d = Detector(policy: DetectionPolicy())
        let v = feed(&d, event("198.18.0.9", .scanner, at: 1, user: nil))
        #expect(v?.rule == .kind(.scanner))
        #expect(v?.evidence.count == 1)
    }

    @Test func mixedFailureKindsShareTheDefaultWindow() {
        var d = Detector(policy: DetectionPolicy())
        let kinds: [EventKind] = [.authFailed, .unknownUser, .aclDenied, .unauthenticatedCall]
        for (i, k) in kinds.enumerated() { #expect(feed(&d, event("198.18.0.2", k, at: Double(i))) == nil) }
        let v = feed(&d, event("198.18.0.2", .authFailed, at: 5))
        #expect(v?.rule == .failures)
        // The reason names each kind once, in the order of their names.
        let names = Set(kinds.map(\.rawValue)).sorted().joined(separator: "+")
        #expect(v?.reason == "5 failures (\(names)) in 5000 ms")
    }
}

@Suite struct EnumerationAndEscalationTests {
    @Test func distinctUsersTriggerEnumeration() {
        var policy = DetectionPolicy()
        policy.threshold = Threshold(maxRetry: 100, findTime: .seconds(600))
        policy.enumeration = EnumerationRule(distinctUsers: 4, findTime: .seconds(60))
        var d = Detector(policy: policy)
        // The same user again and again is not enumeration.
        for i in 0..<10 { #expect(feed(&d, event("198.18.0.2", .unknownUser, at: Double(i), user: "200")) == nil) }
        #expect(feed(&d, event("198.18.0.2", .unknownUser, at: 11, user: "201")) == nil)
        #expect(feed(&d, event("198.18.0.2", .unknownUser, at: 12, user: "202")) == nil)
        let v = feed(&d, event("198.18.0.2", .unknownUser, at: 13, user: "203"))
        #expect(v?.rule == .enumeration)
        #expect(v?.reason.contains("4 distinct users") == true)
    }

    @Test func repeatOffendersAreBannedLongerUpToTheCap() {
        var policy = DetectionPolicy()
        policy.threshold = Threshold(maxRetry: 1, findTime: .seconds(60))
        policy.banTime = .seconds(100)
        policy.escalation = Escalation(factor: 3, maxBanTime: .seconds(1000), memory: .seconds(86_400))
        var d = Detector(policy: policy)
        var t = 0.0
        var times: [Duration] = []
        for _ in 0..<4 {
            let v = feed(&d, event("198.18.0.2", at: t))
            times.append(v?.duration ?? .zero)
            t += Double(v?.duration?.components.seconds ?? 0) + 1
        }
        #expect(times == [.seconds(100), .seconds(300), .seconds(900), .seconds(1000)])
    }

    @Test func offenceMemoryExpires() {
        var policy = DetectionPolicy()
        policy.threshold = Threshold(maxRetry: 1, findTime: .seconds(60))
        policy.escalation = Escalation(factor: 2, maxBanTime: .seconds(86_400), memory: .seconds(3600))
        var d = Detector(policy: policy)
        #expect(feed(&d, event("198.18.0.2", at: 0))?.offence == 1)
        #expect(feed(&d, event("198.18.0.2", at: 700))?.offence == 2)
        #expect(feed(&d, event("198.18.0.2", at: 700 + 3601 + 1200))?.offence == 1)
    }
}

@Suite struct AllowlistAndGranularityTests {
    @Test func allowlistedSourcesAreNeverBanned() {
        var policy = DetectionPolicy()
        policy.threshold = Threshold(maxRetry: 1, findTime: .seconds(60))
        policy.allowlist.insert(IPNetwork("198.18.4.0/24")!)
        policy.allowlist.insert(IPNetwork("2001:2:0:1::/64")!)
        var d = Detector(policy: policy)
        #expect(feed(&d, event("198.18.4.77", at: 0)) == nil)
        #expect(feed(&d, event("2001:2:0:1::99", at: 0)) == nil)
        #expect(feed(&d, event("127.0.0.1", .scanner, at: 0)) == nil)
        #expect(feed(&d, event("198.18.5.1", at: 0)) != nil)
        #expect(d.statistics.eventsAllowlisted == 3)
    }

    @Test func ipv6CanBeJudgedPerSlash64() {
        var policy = DetectionPolicy()
        policy.ipv6PrefixLength = 64
        var d = Detector(policy: policy)
        // An attacker rotating through its /64 is still one source.
        for i in 1...4 { #expect(feed(&d, event("2001:2::\(i)", at: Double(i))) == nil) }
        let v = feed(&d, event("2001:2::ffff", at: 5))
        #expect(v?.network == IPNetwork("2001:2::/64"))
    }

    @Test func ipv6DefaultsToSingleAddresses() {
        var d = Detector(policy: DetectionPolicy())
        for i in 1...5 { #expect(feed(&d, event("2001:2::\(i)", at: Double(i))) == nil) }
    }

    @Test func mappedIPv4IsTheSameSource() {
        var d = Detector(policy: DetectionPolicy())
        for i in 0..<4 { _ = feed(&d, event("::ffff:198.18.0.2", at: Double(i))) }
        #expect(feed(&d, event("198.18.0.2", at: 4))?.network == IPNetwork("198.18.0.2"))
    }
}

@Suite struct MemoryBoundTests {
    @Test func spoofedFloodCannotExceedTheCap() {
        var policy = DetectionPolicy()
        policy.maxTrackedSources = 1000
        var d = Detector(policy: policy)
        // A real attacker builds up 4 failures first...
        for i in 0..<4 { _ = feed(&d, event("198.18.200.1", at: Double(i))) }
        // ...then 50 000 spoofed one-shot sources arrive.
        for i in 0..<50_000 {
            let a = IPAddress.v4(0xC612_0000 | UInt32(i & 0xFFFF))
            let e = SecurityEvent(time: Timestamp(seconds: 10), source: a, kind: .authFailed, dialect: .sip, origin: .wire(sensor: "t"))
            _ = d.observe(e, now: e.time)
            #expect(d.trackedSourceCount <= 1000)
        }
        #expect(d.statistics.sourcesEvicted > 0)
        // The most threatening source survived eviction: its 5th failure still bans.
        #expect(feed(&d, event("198.18.200.1", at: 11))?.network == IPNetwork("198.18.200.1"))
    }

    @Test func expireDropsIdleSources() {
        var d = Detector(policy: DetectionPolicy())
        _ = feed(&d, event("198.18.0.2", at: 0))
        d.expire(now: Timestamp(seconds: 10_000))
        #expect(d.trackedSourceCount == 0)
    }

    @Test func attackerTextInEvidenceIsBounded() {
        var policy = DetectionPolicy()
        policy.threshold = Threshold(maxRetry: 1, findTime: .seconds(1))
        var d = Detector(policy: policy)
        let v = feed(&d, event("198.18.0.2", at: 0, user: String(repeating: "é", count: 10_000)))
        #expect((v?.evidence.first?.user?.utf8.count ?? .max) <= Detector.maxEvidenceFieldBytes + 3)
    }
}

@Suite struct PolicyTests {
    @Test func validationRejectsNonsense() {
        var p = DetectionPolicy()
        #expect(p.validationErrors().isEmpty)
        p.threshold.maxRetry = 0
        p.ipv6PrefixLength = 12
        #expect(p.validationErrors().count == 2)
    }

    @Test func manualBanSuppressesJudgement() {
        var d = Detector(policy: DetectionPolicy())
        d.noteBan(IPNetwork("198.18.0.2")!, until: Timestamp(seconds: 100), offence: 1, at: Timestamp(seconds: 0))
        for i in 0..<10 { #expect(feed(&d, event("198.18.0.2", at: Double(i))) == nil) }
        // After it expires the source is judged again, as a repeat offender.
        for i in 0..<4 { #expect(feed(&d, event("198.18.0.2", at: 200 + Double(i))) == nil) }
        #expect(feed(&d, event("198.18.0.2", at: 205))?.offence == 2)
    }
}

@Suite struct ReconfigurationTests {
    private func policy(maxRetry: Int, banTime: Duration = .seconds(600)) -> DetectionPolicy {
        var p = DetectionPolicy()
        p.threshold = Threshold(maxRetry: maxRetry, findTime: .seconds(600))
        p.banTime = banTime
        return p
    }

    @Test func bansAndOffenceHistorySurviveAReload() {
        var d = Detector(policy: policy(maxRetry: 5))
        for i in 0..<5 { _ = feed(&d, event("198.18.0.2", at: Double(i))) }
        d = d.reconfigured(with: policy(maxRetry: 3, banTime: .seconds(60)))
        // Still banned: events from it are not judged.
        for i in 0..<10 { #expect(feed(&d, event("198.18.0.2", at: 10 + Double(i))) == nil) }
        #expect(d.statistics.eventsWhileBanned == 10)
        // After the first ban expired (600 s), the next ban is offence 2 under the new policy.
        var verdict: Verdict?
        for i in 0..<3 { verdict = feed(&d, event("198.18.0.2", at: 700 + Double(i))) }
        #expect(verdict?.offence == 2)
        #expect(verdict?.evidence.count == 3)
        #expect(verdict?.duration == .seconds(120), "60 s × escalation factor 2")
    }

    @Test func windowsKeepRecentFailuresButNeverBanOnReload() {
        var d = Detector(policy: policy(maxRetry: 5))
        for i in 0..<4 { #expect(feed(&d, event("198.18.0.3", at: Double(i))) == nil) }
        // Lowered to 3: the 4 failures already counted must not ban by themselves...
        d = d.reconfigured(with: policy(maxRetry: 3))
        #expect(d.trackedSourceCount == 1)
        // ...and at most 2 of them are kept, so the next failure is the 3rd.
        let v = feed(&d, event("198.18.0.3", at: 5))
        #expect(v?.network == IPNetwork("198.18.0.3"))
        #expect(v?.evidence.count == 3)
    }

    @Test func raisingMaxRetryKeepsTheCountSoFar() {
        var d = Detector(policy: policy(maxRetry: 3))
        for i in 0..<2 { _ = feed(&d, event("198.18.0.4", at: Double(i))) }
        d = d.reconfigured(with: policy(maxRetry: 4))
        #expect(feed(&d, event("198.18.0.4", at: 2)) == nil)
        #expect(feed(&d, event("198.18.0.4", at: 3))?.rule == .failures, "2 before + 2 after the reload = 4")
    }

    @Test func aNewGranularityKeepsOnlyBans() {
        var d = Detector(policy: policy(maxRetry: 2))
        _ = feed(&d, event("198.18.0.5", at: 0))
        _ = feed(&d, event("198.18.0.6", at: 0))
        _ = feed(&d, event("198.18.0.6", at: 1)) // banned
        var coarse = policy(maxRetry: 2)
        coarse.ipv4PrefixLength = 24
        d = d.reconfigured(with: coarse)
        #expect(d.trackedSourceCount == 1, "only the ban is carried over")
    }
}

/// Lower max-retries per network (provider and AS policy), through the detector's hook.
@Suite struct SourceThresholdTests {
    /// `aws:EC2` at max-retry 2 over 198.18.9.0/24; `bigger` at 50 over 198.18.10.0/24.
    struct Rules: SourceThresholdLookup {
        func maxRetry(for address: IPAddress) -> (maxRetry: Int, rule: String)? {
            if IPNetwork("198.18.9.0/24")!.contains(address) { return (2, "aws:EC2") }
            if IPNetwork("198.18.10.0/24")!.contains(address) { return (50, "bigger") }
            return nil
        }
    }

    @Test func aCoveredSourceIsBannedAtItsRulesCountAndTheReasonNamesTheRule() {
        var d = Detector(policy: DetectionPolicy())
        d.sourceThresholds = Rules()
        #expect(feed(&d, event("198.18.9.7", at: 0)) == nil)
        let v = feed(&d, event("198.18.9.7", at: 1))
        #expect(v?.network == IPNetwork("198.18.9.7"))
        #expect(v?.evidence.count == 2)
        #expect(v?.reason.contains("max-retry 2 for aws:EC2") == true, "\(v?.reason ?? "no verdict")")
    }

    @Test func uncoveredSourcesAndHigherValuesKeepThePolicysMaxRetry() {
        var d = Detector(policy: DetectionPolicy())
        d.sourceThresholds = Rules()
        for source in ["198.18.11.1", "198.18.10.1"] {
            for i in 0..<4 { #expect(feed(&d, event(source, at: Double(i))) == nil, "\(source): failure \(i + 1)") }
            let v = feed(&d, event(source, at: 4))
            #expect(v?.network == IPNetwork(source))
            #expect(v?.reason.contains("max-retry") == false, "a rule that would raise the count does not apply")
        }
    }

    @Test func aRuleOfOneBansAtTheFirstFailure() {
        struct One: SourceThresholdLookup {
            func maxRetry(for address: IPAddress) -> (maxRetry: Int, rule: String)? { (1, "AS14061") }
        }
        var d = Detector(policy: DetectionPolicy())
        d.sourceThresholds = One()
        #expect(feed(&d, event("2001:2::5", at: 0))?.reason.contains("for AS14061") == true)
    }

    @Test func theHookSurvivesAReload() {
        var d = Detector(policy: DetectionPolicy())
        d.sourceThresholds = Rules()
        var next = DetectionPolicy()
        next.threshold.maxRetry = 8
        d = d.reconfigured(with: next)
        #expect(feed(&d, event("198.18.9.8", at: 0)) == nil)
        #expect(feed(&d, event("198.18.9.8", at: 1)) != nil)
    }
}
