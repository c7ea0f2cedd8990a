// SPDX-License-Identifier: GPL-2.0-or-later

import Inline
import NetworkAddress
import Testing
import WardenCore

/// A provider rule as the daemon hands it over: a lower max-retry for the addresses of
/// some networks (`aws:EC2: { max-retry: 1 }`).
private struct NetworkLimits: AdmissionMaxRetryLookup {
    var rules: [(IPNetwork, Int)]
    func maxRetry(for address: IPAddress) -> Int? { rules.filter { $0.0.contains(address) }.map(\.1).min() }
}

/// Lower max-retries of provider, AS and list rules applied to inline admission's budget.
@Suite("AdmissionController: per-source max-retry of provider rules")
struct AdmissionSourceLimitsTests {
    private func burst(_ c: inout AdmissionController, from source: IPAddress, tag: String, at time: Double) throws -> [SIPFixture] {
        var admitted: [SIPFixture] = []
        for i in 0..<50 {
            let f = SIPFixture(branch: "\(tag)\(i)", credentials: true)
            if try c.request(f.request, from: source, at: at(time)).isAdmitted { admitted.append(f) }
        }
        return admitted
    }

    @Test func aCoveredSourceGetsItsRulesTriesAndOthersThePolicys() throws {
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 5), seed: 7)
        c.replaceSourceLimits(NetworkLimits(rules: [(IPNetwork("198.19.252.2/32")!, 1)]))
        // One credentialed request in flight for the covered source, five for the other.
        let covered = try burst(&c, from: attacker, tag: "a", at: 0)
        #expect(covered.count == 1)
        #expect(try burst(&c, from: legit, tag: "l", at: 0).count == 5)
        // Its one failure exhausts it.
        let events = try c.response(covered[0].response(401), to: attacker, at: at(0.1))
        guard case .exhausted(_, let failures, _, _) = try #require(events.first) else {
            Issue.record("the first failure did not exhaust the covered source: \(events)")
            return
        }
        #expect(failures == 1)
        #expect(try c.request(SIPFixture(branch: "late", credentials: true).request, from: attacker, at: at(1)) == .drop(.exhausted))
    }

    @Test func aRuleHigherThanThePolicyChangesNothing() throws {
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 3), seed: 7)
        c.replaceSourceLimits(NetworkLimits(rules: [(IPNetwork("198.19.252.0/24")!, 10)]))
        #expect(try burst(&c, from: attacker, tag: "a", at: 0).count == 3)
        #expect(c.maxRetry(of: attacker) == 3)
    }

    @Test func replacingTheRulesReachesTrackedSourcesAndAPolicyReloadKeepsThem() throws {
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 5), seed: 7)
        let first = SIPFixture(branch: "first", credentials: true)
        #expect(try c.request(first.request, from: attacker, at: at(0)) == .admit(.credentialed))
        #expect(try c.response(first.response(403), to: attacker, at: at(0.1)).count == 1)
        // Tracked with one failure; a rule of 2 now leaves it one request in flight.
        c.replaceSourceLimits(NetworkLimits(rules: [(IPNetwork("198.19.252.0/24")!, 2)]))
        let admitted = try burst(&c, from: attacker, tag: "b", at: 1)
        #expect(admitted.count == 1)
        // A reload of the policy (max-retry 8) keeps the rule: still at most 2.
        var policy = c.policy
        policy.maxRetry = 8
        c.reconfigure(with: policy)
        #expect(c.maxRetry(of: attacker) == 2)
        #expect(c.maxRetry(of: IPAddress("198.19.253.9")!) == 8)
        // Its second failure exhausts it.
        let events = try c.response(admitted[0].response(401), to: attacker, at: at(1.1))
        guard case .exhausted(_, let failures, _, _) = try #require(events.first) else {
            Issue.record("the second failure did not exhaust: \(events)")
            return
        }
        #expect(failures == 2)
        // Rules removed: the policy's budget again for a fresh source.
        c.replaceSourceLimits(nil)
        #expect(try burst(&c, from: legit, tag: "l", at: 2).count == 8)
    }
}
