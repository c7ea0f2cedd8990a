// SPDX-License-Identifier: GPL-2.0-or-later

import Inline
import NetworkAddress
import Testing
import WardenCore

@Suite("AdmissionController: the failure budget")
struct AdmissionControllerTests {
    func controller(maxRetry: Int = 5, findTime: Int64 = 600, banTime: Int64 = 600, maxSources: Int = 100_000, ipv6Prefix: Int = 128)
        -> AdmissionController
    {
        AdmissionController(
            policy: AdmissionPolicy(
                maxRetry: maxRetry, findTime: .seconds(findTime), banTime: .seconds(banTime), maxSources: maxSources, ipv6PrefixLength: ipv6Prefix
            ), seed: 42)
    }

    @Test func burstAdmitsExactlyMaxRetryAndFailuresExhaust() throws {
        var c = controller()
        var admitted: [SIPFixture] = []
        for i in 0..<200 {
            let f = SIPFixture(branch: "b\(i)", credentials: true)
            let d = try c.request(f.request, from: attacker, at: at(0))
            if d.isAdmitted { admitted.append(f) } else { #expect(d == .drop(.budget)) }
        }
        #expect(admitted.count == 5)
        var events: [AdmissionEvent] = []
        for f in admitted { events += try c.response(f.response(401), to: attacker, at: at(0.01)) }
        #expect(events.count == 5)
        guard case .exhausted(let network, let failures, let until, let event) = try #require(events.last) else {
            Issue.record("the fifth failure does not exhaust: \(events)")
            return
        }
        #expect(network == IPNetwork(host: attacker))
        #expect(failures == 5)
        #expect(until == at(600.01))
        #expect(event.kind == .authFailed)
        #expect(events.dropLast().allSatisfy { if case .failure = $0 { true } else { false } })
        // Cut off, whatever it sends.
        #expect(try c.request(SIPFixture(branch: "late", credentials: true).request, from: attacker, at: at(1)) == .drop(.exhausted))
        #expect(try c.request(SIPFixture(branch: "late2").request, from: attacker, at: at(1)) == .drop(.exhausted))
        let s = c.statistics
        #expect(s.admittedCredentialed == 5 && s.droppedBudget == 195 && s.failures == 5 && s.exhaustions == 1 && s.droppedExhausted == 2)
    }

    @Test func failuresShrinkTheBudget() throws {
        var c = controller()
        let first = SIPFixture(branch: "first", credentials: true)
        #expect(try c.request(first.request, from: attacker, at: at(0)) == .admit(.credentialed))
        #expect(try c.response(first.response(403), to: attacker, at: at(0.1)).count == 1)
        // One failure: four may be outstanding now.
        var admitted = 0
        for i in 0..<10 where try c.request(SIPFixture(branch: "n\(i)", credentials: true).request, from: attacker, at: at(1)).isAdmitted {
            admitted += 1
        }
        #expect(admitted == 4)
        let state = try #require(c.state(of: attacker, at: at(1)))
        #expect(state.failures == 1 && state.credentialedOutstanding == 4 && state.exhaustedUntil == nil)
    }

    @Test func successAndOtherFinalsReleaseWithoutFailure() throws {
        var c = controller(maxRetry: 2)
        for (i, status) in [200, 404, 500, 486, 200, 302].enumerated() {
            let f = SIPFixture(branch: "s\(i)", credentials: true)
            #expect(try c.request(f.request, from: legit, at: at(Double(i))).isAdmitted)
            #expect(try c.response(f.response(status), to: legit, at: at(Double(i) + 0.1)).isEmpty)
        }
        #expect(c.state(of: legit, at: at(10))?.failures == 0)
        #expect(c.statistics.failures == 0)
    }

    @Test func retransmissionsAreAdmittedAndCostNothing() throws {
        var c = controller(maxRetry: 1)
        let f = SIPFixture(branch: "rt", credentials: true)
        #expect(try c.request(f.request, from: legit, at: at(0)) == .admit(.credentialed))
        #expect(try c.request(f.request, from: legit, at: at(0.5)) == .admit(.retransmission))
        #expect(try c.request(f.request, from: legit, at: at(1.5)) == .admit(.retransmission))
        // A different transaction does not fit in a budget of one.
        #expect(try c.request(SIPFixture(branch: "other", credentials: true).request, from: legit, at: at(1.6)) == .drop(.budget))
        // Same branch but another CSeq is another transaction, not a retransmission.
        #expect(try c.request(SIPFixture(branch: "rt", cseq: 2, credentials: true).request, from: legit, at: at(1.7)) == .drop(.budget))
        // The same branch from another address is someone else's transaction.
        #expect(try c.request(f.request, from: attacker, at: at(1.8)) == .admit(.credentialed))
        #expect(c.state(of: legit, at: at(2))?.credentialedOutstanding == 1)
    }

    @Test func provisionalKeepsTheRequestOutstanding() throws {
        var c = controller(maxRetry: 1)
        let invite = SIPFixture(method: "INVITE", branch: "inv", credentials: true)
        #expect(try c.request(invite.request, from: legit, at: at(0)) == .admit(.credentialed))
        #expect(try c.response(invite.response(100), to: legit, at: at(0.01)).isEmpty)
        #expect(try c.response(invite.response(180), to: legit, at: at(20)).isEmpty)
        // Still outstanding at 40 s: the 180 restarted its timeout.
        #expect(c.state(of: legit, at: at(40))?.credentialedOutstanding == 1)
        #expect(try c.request(SIPFixture(method: "INVITE", branch: "inv2", credentials: true).request, from: legit, at: at(40)) == .drop(.budget))
        #expect(try c.response(invite.response(200), to: legit, at: at(41)).isEmpty)
        #expect(
            try c.request(SIPFixture(method: "INVITE", branch: "inv3", credentials: true).request, from: legit, at: at(42)) == .admit(.credentialed))
    }

    @Test func unansweredRequestsExpireWithoutFailure() throws {
        var c = controller()
        for i in 0..<5 { #expect(try c.request(SIPFixture(branch: "x\(i)", credentials: true).request, from: attacker, at: at(0)).isAdmitted) }
        #expect(try c.request(SIPFixture(branch: "x5", credentials: true).request, from: attacker, at: at(31)) == .drop(.budget))
        #expect(try c.request(SIPFixture(branch: "x6", credentials: true).request, from: attacker, at: at(32.5)) == .admit(.credentialed))
        #expect(c.statistics.expired == 5)
        #expect(c.state(of: attacker, at: at(33))?.failures == 0)
        // A late 401 to an expired request matches nothing and counts nothing.
        #expect(try c.response(SIPFixture(branch: "x0", credentials: true).response(401), to: attacker, at: at(34)).isEmpty)
        #expect(c.statistics.unmatchedResponses == 1)
    }

    @Test func exhaustionEndsAfterBanTimeWithAFreshBudget() throws {
        var c = controller(maxRetry: 2, banTime: 60)
        for i in 0..<2 {
            let f = SIPFixture(branch: "e\(i)", credentials: true)
            #expect(try c.request(f.request, from: attacker, at: at(0)).isAdmitted)
            _ = try c.response(f.response(401), to: attacker, at: at(0.1))
        }
        #expect(try c.request(SIPFixture(branch: "e9", credentials: true).request, from: attacker, at: at(59)) == .drop(.exhausted))
        #expect(try c.request(SIPFixture(branch: "e10", credentials: true).request, from: attacker, at: at(61)) == .admit(.credentialed))
        #expect(try c.request(SIPFixture(branch: "e11", credentials: true).request, from: attacker, at: at(61)) == .admit(.credentialed))
        #expect(try c.request(SIPFixture(branch: "e12", credentials: true).request, from: attacker, at: at(61)) == .drop(.budget))
    }

    @Test func failuresOutsideTheWindowAreForgotten() throws {
        var c = controller(maxRetry: 3, findTime: 60)
        for (i, t) in [0.0, 10, 20].enumerated() where i < 2 {
            let f = SIPFixture(branch: "w\(i)", credentials: true)
            _ = try c.request(f.request, from: attacker, at: at(t))
            #expect(try c.response(f.response(401), to: attacker, at: at(t + 0.1)).count == 1)
        }
        #expect(c.state(of: attacker, at: at(30))?.failures == 2)
        #expect(c.state(of: attacker, at: at(65))?.failures == 1)
        // At 71 s both failures have left the window: three may be outstanding again.
        var admitted = 0
        for i in 0..<5 where try c.request(SIPFixture(branch: "late\(i)", credentials: true).request, from: attacker, at: at(71)).isAdmitted {
            admitted += 1
        }
        #expect(admitted == 3)
    }

    @Test func legitimateClientWithOneInFlightIsNeverDropped() throws {
        var c = controller()
        var cseq: UInt32 = 0
        var t = 0.0
        for round in 0..<2_000 {
            // Meanwhile an attacker hammers from another address.
            for k in 0..<3 {
                let a = SIPFixture(branch: "a\(round)-\(k)", credentials: true)
                if try c.request(a.request, from: attacker, at: at(t)).isAdmitted {
                    _ = try c.response(a.response(401), to: attacker, at: at(t))
                }
            }
            cseq += 1
            let challenge = SIPFixture(branch: "l\(round)a", cseq: cseq, callID: "legit-call")
            #expect(try c.request(challenge.request, from: legit, at: at(t)) == .admit(.uncredentialed))
            #expect(try c.response(challenge.response(401), to: legit, at: at(t + 0.001)).isEmpty)
            cseq += 1
            let answer = SIPFixture(branch: "l\(round)b", cseq: cseq, callID: "legit-call", credentials: true)
            #expect(try c.request(answer.request, from: legit, at: at(t + 0.002)) == .admit(.credentialed))
            #expect(try c.request(answer.request, from: legit, at: at(t + 0.5)) == .admit(.retransmission))
            #expect(try c.response(answer.response(200), to: legit, at: at(t + 0.6)).isEmpty)
            t += 1
        }
        #expect(c.state(of: legit, at: at(t))?.failures == 0)
        // The attacker made exactly five failures per ban period (bans of 600 s over 2000 s: 4 periods).
        #expect(c.statistics.failures == 5 * 4)
    }

    @Test func uncredentialedRequestsAreCappedButCostNoBudget() throws {
        var c = controller(maxRetry: 1)
        var fixtures: [SIPFixture] = []
        var admitted = 0
        for i in 0..<40 {
            let f = SIPFixture(method: "OPTIONS", branch: "u\(i)")
            fixtures.append(f)
            let d = try c.request(f.request, from: attacker, at: at(0))
            if d.isAdmitted { admitted += 1 } else { #expect(d == .drop(.uncredentialedLimit)) }
        }
        #expect(admitted == AdmissionPolicy().maxUncredentialedOutstanding)
        // 401s to requests without credentials are challenges, not failures.
        for f in fixtures.prefix(admitted) { #expect(try c.response(f.response(401), to: attacker, at: at(0.1)).isEmpty) }
        #expect(c.state(of: attacker, at: at(1))?.uncredentialedOutstanding == 0)
        #expect(try c.request(SIPFixture(branch: "cred", credentials: true).request, from: attacker, at: at(1)) == .admit(.credentialed))
    }

    /// One registration of a storm behind `nat`: credentialed request, 200.
    private func succeed(_ c: inout AdmissionController, _ name: String, from nat: IPAddress, at t: Double, user: String? = nil) throws {
        let f = SIPFixture(branch: name, user: user ?? name, credentials: true)
        #expect(try c.request(f.request, from: nat, at: at(t)) == .admit(.credentialed))
        #expect(try c.response(f.response(200), to: nat, at: at(t + 0.001)).isEmpty)
    }

    @Test func successesEarnABoundedCreditOfRequestsInFlight() throws {
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 5, successCredit: 20), seed: 42)
        // Without a success: exactly the failure budget in flight.
        var inFlight = 0
        for i in 0..<100 where try c.request(SIPFixture(branch: "a\(i)", user: "a\(i)", credentials: true).request, from: legit, at: at(0)).isAdmitted
        {
            inFlight += 1
        }
        #expect(inFlight == 5)
        for i in 0..<5 { _ = try c.response(SIPFixture(branch: "a\(i)", credentials: true).response(200), to: legit, at: at(0.01)) }
        // Five accounts succeeded: 5 + 5 in flight; thirty more: capped at 5 + 20.
        inFlight = 0
        for i in 0..<100 where try c.request(SIPFixture(branch: "b\(i)", user: "b\(i)", credentials: true).request, from: legit, at: at(1)).isAdmitted
        {
            inFlight += 1
        }
        #expect(inFlight == 10)
        for i in 0..<10 { _ = try c.response(SIPFixture(branch: "b\(i)", credentials: true).response(200), to: legit, at: at(1.01)) }
        for i in 0..<30 { try succeed(&c, "c\(i)", from: legit, at: 2 + Double(i) * 0.01) }
        inFlight = 0
        for i in 0..<100 where try c.request(SIPFixture(branch: "d\(i)", credentials: true).request, from: legit, at: at(3)).isAdmitted {
            inFlight += 1
        }
        #expect(inFlight == 25)
        // Requests without credentials (the first REGISTER of each phone) get the credit too.
        var first = 0
        for i in 0..<100 where try c.request(SIPFixture(branch: "e\(i)").request, from: legit, at: at(3)).isAdmitted { first += 1 }
        #expect(first == AdmissionPolicy().maxUncredentialedOutstanding + 20)
    }

    @Test func oneAccountEarnsOneRequestInFlightHoweverOftenItSucceeds() throws {
        // An attacker with one stolen password registers with it over and over.
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 5, successCredit: 100), seed: 42)
        for i in 0..<50 { try succeed(&c, "same\(i)", from: attacker, at: Double(i) * 0.01, user: "stolen") }
        var inFlight = 0
        for i in 0..<100
        where try c.request(SIPFixture(branch: "g\(i)", user: "guess\(i)", credentials: true).request, from: attacker, at: at(1)).isAdmitted {
            inFlight += 1
        }
        #expect(inFlight == 5 + 1)
    }

    @Test func withACreditFailuresStillStopAtMaxRetryPlusTheCredit() throws {
        // Someone behind the address holds a valid password and guesses others in parallel.
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 5, successCredit: 8), seed: 42)
        for i in 0..<8 { try succeed(&c, "ok\(i)", from: attacker, at: Double(i) * 0.01) }
        var admitted: [SIPFixture] = []
        for i in 0..<200 {
            let f = SIPFixture(branch: "g\(i)", credentials: true)
            if try c.request(f.request, from: attacker, at: at(1)).isAdmitted { admitted.append(f) }
        }
        #expect(admitted.count == 5 + 8, "at most maxRetry + credit guesses can reach the PBX")
        var events: [AdmissionEvent] = []
        for f in admitted { events += try c.response(f.response(401), to: attacker, at: at(1.01)) }
        #expect(events.count == 5)
        guard case .exhausted = try #require(events.last) else {
            Issue.record("the 5th failure does not exhaust: \(events)")
            return
        }
        #expect(try c.request(SIPFixture(branch: "after", credentials: true).request, from: attacker, at: at(2)) == .drop(.exhausted))
        // The credit is gone with the exhaustion: after the ban, the plain budget again.
        var later = 0
        for i in 0..<20 where try c.request(SIPFixture(branch: "h\(i)", credentials: true).request, from: attacker, at: at(602)).isAdmitted {
            later += 1
        }
        #expect(later == 5)
    }

    @Test func theCreditLapsesFindTimeAfterTheLastSuccess() throws {
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 3, findTime: .seconds(60), successCredit: 10), seed: 42)
        for i in 0..<10 { try succeed(&c, "s\(i)", from: legit, at: Double(i)) }
        var inFlight = 0
        for i in 0..<50 where try c.request(SIPFixture(branch: "x\(i)", credentials: true).request, from: legit, at: at(20)).isAdmitted {
            inFlight += 1
        }
        #expect(inFlight == 13)
        for i in 0..<13 { _ = try c.response(SIPFixture(branch: "x\(i)", credentials: true).response(486), to: legit, at: at(20.5)) }
        inFlight = 0
        for i in 0..<50 where try c.request(SIPFixture(branch: "y\(i)", credentials: true).request, from: legit, at: at(70)).isAdmitted {
            inFlight += 1
        }
        #expect(inFlight == 3, "no success in the last 60 s: no credit")
    }

    @Test func ackIsNeverTracked() throws {
        var c = controller(maxRetry: 1)
        for i in 0..<100 {
            #expect(
                try c.request(SIPFixture(method: "ACK", branch: "ack\(i)", credentials: i.isMultiple(of: 2)).request, from: attacker, at: at(0))
                    == .admit(.untracked))
        }
        #expect(c.state(of: attacker, at: at(0))?.credentialedOutstanding == 0)
    }

    @Test func failureEventCarriesThePacketSourceAndRequestFacts() throws {
        var c = controller()
        let f = SIPFixture(branch: "ev", user: "alice", credentials: true, userAgent: "friendly-scanner")
        _ = try c.request(f.request, from: attacker, at: at(5))
        let events = try c.response(f.response(407), to: attacker, at: at(5.25))
        let event = try #require(events.first?.securityEvent)
        #expect(event.source == attacker)
        #expect(event.sourcePort == 5070)
        #expect(event.transport == .udp)
        #expect(event.kind == .authFailed)
        #expect(event.user == "alice")
        #expect(event.userAgent == "friendly-scanner")
        #expect(event.dialect == .sip)
        #expect(event.origin == .wire(sensor: "inline"))
        #expect(event.time == at(5.25))
        #expect(event.reason == "407 to a credentialed REGISTER")
    }

    @Test func prefixSharesOneBudget() throws {
        var c = controller(ipv6Prefix: 64)
        let a = IPAddress("2001:2:0:1::a")!
        let b = IPAddress("2001:2:0:1::b")!
        let other = IPAddress("2001:2:0:2::a")!
        var admitted = 0
        for i in 0..<10
        where try c.request(SIPFixture(branch: "p\(i)", credentials: true).request, from: i.isMultiple(of: 2) ? a : b, at: at(0)).isAdmitted {
            admitted += 1
        }
        #expect(admitted == 5)
        #expect(try c.request(SIPFixture(branch: "q", credentials: true).request, from: other, at: at(0)) == .admit(.credentialed))
        #expect(c.network(of: a) == IPNetwork("2001:2:0:1::/64"))
    }

    @Test func allowlistedSourcesAreNotAccounted() throws {
        var c = controller(maxRetry: 1)
        for i in 0..<20 {
            #expect(
                try c.request(SIPFixture(branch: "lo\(i)", credentials: true).request, from: IPAddress("127.0.0.1")!, at: at(0)) == .admit(.untracked)
            )
        }
        #expect(c.statistics.trackedSources == 0)
    }

    @Test func spoofedFloodStaysBoundedAndKeepsTheAttackersFailures() throws {
        var c = controller(maxSources: 1_000)
        // The real attacker: four failures, one left.
        for i in 0..<4 {
            let f = SIPFixture(branch: "real\(i)", credentials: true)
            _ = try c.request(f.request, from: attacker, at: at(0))
            _ = try c.response(f.response(401), to: attacker, at: at(0.01))
        }
        // 50 000 spoofed sources, each with one unanswered request (half with credentials).
        let request = SIPFixture(branch: "spoof", credentials: false).request
        let credentialed = SIPFixture(branch: "spoof", credentials: true).request
        for i in 0..<50_000 {
            let source = IPAddress.v4(0xC613_0000 | UInt32(i)) // 198.19.x.y
            #expect(try c.request(i.isMultiple(of: 2) ? request : credentialed, from: source, at: at(1 + Double(i) / 100_000)).isAdmitted)
        }
        #expect(c.statistics.trackedSources <= 1_000)
        #expect(c.statistics.evictions >= 49_000)
        let state = try #require(c.state(of: attacker, at: at(2)))
        #expect(state.failures == 4)
        var admitted = 0
        for i in 0..<10 where try c.request(SIPFixture(branch: "after\(i)", credentials: true).request, from: attacker, at: at(2)).isAdmitted {
            admitted += 1
        }
        #expect(admitted == 1)
    }

    @Test func idleSourcesAreSweptAway() throws {
        var c = controller()
        for i in 0..<100 {
            let f = SIPFixture(branch: "i\(i)")
            let source = IPAddress.v4(0xC613_0100 | UInt32(i))
            _ = try c.request(f.request, from: source, at: at(0))
            _ = try c.response(f.response(200), to: source, at: at(0.1))
        }
        #expect(c.statistics.trackedSources == 100)
        // Each request sweeps one slot; entries idle for a transaction timeout go.
        for i in 0..<200 { _ = try c.request(SIPFixture(method: "ACK", branch: "k\(i)").request, from: legit, at: at(100)) }
        #expect(c.statistics.trackedSources == 1)
    }

    @Test func policyValidation() {
        #expect(AdmissionPolicy().validationErrors().isEmpty)
        #expect(!AdmissionPolicy(maxRetry: 0).validationErrors().isEmpty)
        #expect(!AdmissionPolicy(findTime: .zero).validationErrors().isEmpty)
        #expect(!AdmissionPolicy(maxSources: 1).validationErrors().isEmpty)
        #expect(!AdmissionPolicy(ipv6PrefixLength: 8).validationErrors().isEmpty)
    }
}

@Suite("AdmissionController: what a failure event says")
struct AdmissionEventFieldsTests {
    @Test("the failure names the PBX the request went to (the response's IP source) and the Call-ID")
    func destinationAndCallID() throws {
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 5, findTime: .seconds(600), banTime: .seconds(600)), seed: 1)
        let f = SIPFixture(branch: "d1", callID: "call-77@198.19.252.2", credentials: true)
        #expect(try c.request(f.request, from: attacker, at: at(0)) == .admit(.credentialed))
        let events = try c.response(f.response(403), to: attacker, at: at(0.1))
        guard case .failure(let event) = try #require(events.first) else {
            Issue.record("no failure: \(events)")
            return
        }
        #expect(event.source == attacker && event.sourcePort == 5070)
        #expect(event.destination == pbx && event.destinationPort == 5060)
        #expect(event.callID == "call-77@198.19.252.2")
    }

    @Test("a long Call-ID is clipped like the other evidence fields")
    func callIDClipped() throws {
        var c = AdmissionController(policy: AdmissionPolicy(maxRetry: 5, findTime: .seconds(600), banTime: .seconds(600)), seed: 1)
        let f = SIPFixture(branch: "d2", callID: String(repeating: "z", count: 500), credentials: true)
        _ = try c.request(f.request, from: attacker, at: at(0))
        guard case .failure(let event) = try #require(try c.response(f.response(401), to: attacker, at: at(0.1)).first) else {
            Issue.record("no failure")
            return
        }
        #expect(event.callID == String(repeating: "z", count: AdmissionController.maxEvidenceFieldBytes))
    }
}
