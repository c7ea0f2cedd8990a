// SPDX-License-Identifier: GPL-2.0-or-later

import Inline
import NetworkAddress
import Testing
import WardenCore

/// A configuration reload reaches the admission core: the budget, the allowlist and the
/// source keys follow the new policy, and what still applies is kept.
@Suite("AdmissionController: reconfiguration")
struct AdmissionReconfigurationTests {
    func policy(maxRetry: Int, allowlist: [String] = [], ipv4Prefix: Int = 32, maxSources: Int = 100_000) -> AdmissionPolicy {
        AdmissionPolicy(
            maxRetry: maxRetry, findTime: .seconds(600), banTime: .seconds(600), maxSources: maxSources,
            ipv4PrefixLength: ipv4Prefix, allowlist: IPNetworkSet(allowlist.map { IPNetwork($0)! })
        )
    }

    /// Admits credentialed requests until the first drop; returns how many were admitted.
    func admittedBurst(_ c: inout AdmissionController, from source: IPAddress, tag: String, at time: Double) throws -> Int {
        var admitted = 0
        for i in 0..<50 where try c.request(SIPFixture(branch: "\(tag)\(i)", credentials: true).request, from: source, at: at(time)).isAdmitted {
            admitted += 1
        }
        return admitted
    }

    @Test func aLowerMaxRetryShrinksTheBudgetOfKnownSources() throws {
        var c = AdmissionController(policy: policy(maxRetry: 5), seed: 1)
        let first = SIPFixture(branch: "f", credentials: true)
        #expect(try c.request(first.request, from: attacker, at: at(0)).isAdmitted)
        #expect(try c.response(first.response(401), to: attacker, at: at(0.1)).count == 1)
        c.reconfigure(with: policy(maxRetry: 2))
        #expect(c.policy.maxRetry == 2)
        // One failure kept in the window: one more may be outstanding, not four.
        #expect(try admittedBurst(&c, from: attacker, tag: "a", at: 1) == 1)
        #expect(c.state(of: attacker, at: at(1))?.failures == 1)
    }

    @Test func aMaxRetryBelowTheFailuresAlreadySeenAdmitsNothingCredentialed() throws {
        var c = AdmissionController(policy: policy(maxRetry: 5), seed: 2)
        for i in 0..<3 {
            let f = SIPFixture(branch: "x\(i)", credentials: true)
            #expect(try c.request(f.request, from: attacker, at: at(Double(i))).isAdmitted)
            #expect(try c.response(f.response(403), to: attacker, at: at(Double(i) + 0.1)).count == 1)
        }
        c.reconfigure(with: policy(maxRetry: 2))
        #expect(try c.request(SIPFixture(branch: "late", credentials: true).request, from: attacker, at: at(5)) == .drop(.budget))
        // Requests without credentials still pass (they cannot fail an authentication).
        #expect(try c.request(SIPFixture(branch: "plain").request, from: attacker, at: at(5)).isAdmitted)
    }

    @Test func aHigherMaxRetryGrowsTheBudget() throws {
        var c = AdmissionController(policy: policy(maxRetry: 2), seed: 3)
        #expect(try admittedBurst(&c, from: attacker, tag: "a", at: 0) == 2)
        c.reconfigure(with: policy(maxRetry: 6))
        // Two still outstanding, four more fit.
        #expect(try admittedBurst(&c, from: attacker, tag: "b", at: 1) == 4)
    }

    @Test func aNewlyAllowlistedSourceIsForgottenAndUntracked() throws {
        var c = AdmissionController(policy: policy(maxRetry: 1), seed: 4)
        let f = SIPFixture(branch: "f", credentials: true)
        #expect(try c.request(f.request, from: legit, at: at(0)).isAdmitted)
        _ = try c.response(f.response(401), to: legit, at: at(0.1))
        #expect(try c.request(SIPFixture(branch: "g", credentials: true).request, from: legit, at: at(1)) == .drop(.exhausted))
        c.reconfigure(with: policy(maxRetry: 1, allowlist: ["\(legit)/32"]))
        #expect(c.state(of: legit, at: at(1)) == nil)
        #expect(try admittedBurst(&c, from: legit, tag: "h", at: 2) == 50)
        #expect(c.state(of: legit, at: at(2)) == nil)
    }

    @Test func aPrefixLengthChangeRekeysEverySource() throws {
        var c = AdmissionController(policy: policy(maxRetry: 3), seed: 5)
        #expect(try admittedBurst(&c, from: attacker, tag: "a", at: 0) == 3)
        c.reconfigure(with: policy(maxRetry: 3, ipv4Prefix: 24))
        #expect(c.statistics.trackedSources == 0)
        #expect(c.network(of: attacker).prefixLength == 24)
        #expect(try admittedBurst(&c, from: attacker, tag: "b", at: 1) == 3)
    }

    @Test func aLowerSourceCapEvictsAtOnce() throws {
        var c = AdmissionController(policy: policy(maxRetry: 3), seed: 6)
        for i in 0..<40 {
            let source = IPAddress("198.18.7.\(i + 1)")!
            #expect(try c.request(SIPFixture(branch: "s\(i)", credentials: true).request, from: source, at: at(Double(i))).isAdmitted)
        }
        #expect(c.statistics.trackedSources == 40)
        c.reconfigure(with: policy(maxRetry: 3, maxSources: 16))
        #expect(c.statistics.trackedSources == 16)
    }
}
