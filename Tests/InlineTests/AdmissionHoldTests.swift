// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import TestSupport
import Testing
import WardenCore

@testable import Inline

/// Holding: a request that finds no room in flight waits (its verdict deferred) for the
/// PBX's answers to make room, instead of being dropped — and is admitted only when it
/// fits, so the failure budget's guarantee is unchanged.
@Suite("AdmissionController: held requests")
struct AdmissionHoldTests {
    func controller(
        maxRetry: Int = 5, successCredit: Int = 256, holdTime: Duration = .seconds(1), maxHeldPerSource: Int = 8_192,
        maxHeldTotal: Int = 32_768, maxSources: Int = 100_000
    ) -> AdmissionController {
        AdmissionController(
            policy: AdmissionPolicy(
                maxRetry: maxRetry, successCredit: successCredit, holdTime: holdTime, maxHeldPerSource: maxHeldPerSource,
                maxHeldTotal: maxHeldTotal, maxSources: maxSources
            ), seed: 7)
    }

    /// Sends `count` credentialed requests from `source` at `time`, ticket = index + base.
    private func burst(
        _ c: inout AdmissionController, _ tag: String, count: Int, from source: IPAddress, at time: Double,
        ticketBase: UInt32 = 0, credentials: Bool = true
    ) throws -> [AdmissionDecision] {
        try (0..<count).map { i in
            try c.request(
                SIPFixture(branch: "\(tag)\(i)", credentials: credentials).request, from: source, at: at(time),
                ticket: ticketBase + UInt32(i))
        }
    }

    @Test func aStormWaitsForRoomInsteadOfBeingDropped() throws {
        var c = controller(successCredit: 0)
        let decisions = try burst(&c, "s", count: 50, from: legit, at: 0)
        #expect(decisions.prefix(5).allSatisfy { $0 == .admit(.credentialed) })
        #expect(decisions.dropFirst(5).allSatisfy { $0 == .hold })
        #expect(c.heldRequests == 45)
        // Each 200 makes room for exactly one more, oldest first.
        var admittedOrder: [UInt32] = Array(0..<5)
        var answered = 0
        var t = 0.001
        while answered < admittedOrder.count {
            let i = Int(admittedOrder[answered])
            #expect(try c.response(SIPFixture(branch: "s\(i)", credentials: true).response(200), to: legit, at: at(t)).isEmpty)
            answered += 1
            t += 0.001
            let released = c.releases()
            #expect(released.count <= 1)
            for r in released {
                #expect(r.decision == .admit(.credentialed))
                admittedOrder.append(r.ticket)
            }
            #expect(try #require(c.state(of: legit, at: at(t))).credentialedOutstanding <= 5, "never more in flight than the budget")
        }
        #expect(admittedOrder == Array(0..<50), "every request admitted, in arrival order")
        #expect(c.heldRequests == 0)
        let s = c.statistics
        #expect(s.held == 45 && s.heldAdmitted == 45 && s.heldDropped == 0 && s.droppedBudget == 0 && s.heldNow == 0)
    }

    @Test func aBruteForceStillGetsExactlyMaxRetryAndItsHeldRequestsAreDropped() throws {
        var c = controller()
        let decisions = try burst(&c, "b", count: 200, from: attacker, at: 0)
        #expect(decisions.filter(\.isAdmitted).count == 5)
        #expect(decisions.filter { $0 == .hold }.count == 195)
        var events: [AdmissionEvent] = []
        var released: [AdmissionRelease] = []
        for i in 0..<5 {
            events += try c.response(SIPFixture(branch: "b\(i)", credentials: true).response(401), to: attacker, at: at(0.01))
            released += c.releases()
        }
        #expect(events.count == 5)
        guard case .exhausted = try #require(events.last) else {
            Issue.record("no exhaustion: \(events)")
            return
        }
        // A failure frees its slot but also shrinks the budget: nothing held was admitted.
        #expect(released.count == 195)
        #expect(released.allSatisfy { $0.decision == .drop(.exhausted) })
        #expect(Set(released.map(\.ticket)) == Set(5..<200))
        #expect(c.heldRequests == 0)
        #expect(c.statistics.admittedCredentialed == 5 && c.statistics.failures == 5)
    }

    @Test func aHeldRequestWithoutRoomIsDroppedWhenItsHoldTimeEnds() throws {
        var c = controller(maxRetry: 2, holdTime: .milliseconds(500))
        let decisions = try burst(&c, "h", count: 3, from: legit, at: 10)
        #expect(decisions == [.admit(.credentialed), .admit(.credentialed), .hold])
        c.expireHeld(time: at(10.499))
        #expect(c.releases().isEmpty)
        c.expireHeld(time: at(10.5))
        #expect(c.releases() == [AdmissionRelease(ticket: 2, decision: .drop(.holdExpired))])
        #expect(c.statistics.droppedHoldExpired == 1 && c.heldRequests == 0)
    }

    @Test func roomFromAnExpiredTransactionGoesToTheHeldRequestFirst() throws {
        var policy = AdmissionPolicy(maxRetry: 1, transactionTimeout: .seconds(2), holdTime: .seconds(5))
        policy.successCredit = 0
        var c = AdmissionController(policy: policy, seed: 1)
        #expect(try c.request(SIPFixture(branch: "a", credentials: true).request, from: legit, at: at(0), ticket: 1) == .admit(.credentialed))
        #expect(try c.request(SIPFixture(branch: "b", credentials: true).request, from: legit, at: at(1), ticket: 2) == .hold)
        // The first is never answered; at 2 s it is released without a failure. A request
        // arriving then queues behind the held one.
        #expect(try c.request(SIPFixture(branch: "c", credentials: true).request, from: legit, at: at(2.5), ticket: 3) == .hold)
        #expect(c.releases() == [AdmissionRelease(ticket: 2, decision: .admit(.credentialed))])
        #expect(c.heldRequests == 1)
    }

    @Test func aRetransmissionOfAHeldRequestIsAbsorbed() throws {
        var c = controller(maxRetry: 1, successCredit: 0)
        #expect(try c.request(SIPFixture(branch: "a", credentials: true).request, from: legit, at: at(0), ticket: 1) == .admit(.credentialed))
        let waiting = SIPFixture(branch: "w", credentials: true)
        #expect(try c.request(waiting.request, from: legit, at: at(0.1), ticket: 2) == .hold)
        #expect(try c.request(waiting.request, from: legit, at: at(0.6), ticket: 3) == .drop(.retransmissionOfHeld), "the phone retransmits after T1")
        #expect(!AdmissionDropReason.retransmissionOfHeld.isRefusal && AdmissionDropReason.budget.isRefusal)
        _ = try c.response(SIPFixture(branch: "a", credentials: true).response(200), to: legit, at: at(0.7))
        #expect(c.releases() == [AdmissionRelease(ticket: 2, decision: .admit(.credentialed))])
        // Once admitted, further retransmissions pass at once even with others held.
        #expect(try c.request(SIPFixture(branch: "x", credentials: true).request, from: legit, at: at(0.8), ticket: 4) == .hold)
        #expect(try c.request(waiting.request, from: legit, at: at(0.9), ticket: 5) == .admit(.retransmission))
        #expect(c.statistics.absorbedRetransmissions == 1 && c.statistics.held == 2)
    }

    @Test func requestsWithoutCredentialsAreHeldSeparately() throws {
        var policy = AdmissionPolicy(maxUncredentialedOutstanding: 2)
        policy.successCredit = 0
        var c = AdmissionController(policy: policy, seed: 1)
        let plain = try burst(&c, "p", count: 4, from: legit, at: 0, ticketBase: 100, credentials: false)
        #expect(plain == [.admit(.uncredentialed), .admit(.uncredentialed), .hold, .hold])
        // Credentialed requests have their own room: not behind the uncredentialed queue.
        #expect(try c.request(SIPFixture(branch: "c", credentials: true).request, from: legit, at: at(0), ticket: 1) == .admit(.credentialed))
        _ = try c.response(SIPFixture(branch: "p0").response(401), to: legit, at: at(0.01))
        #expect(c.releases() == [AdmissionRelease(ticket: 102, decision: .admit(.uncredentialed))])
    }

    @Test func holdingIsBoundedPerSourceAndInAll() throws {
        var c = controller(maxRetry: 1, maxHeldPerSource: 3, maxHeldTotal: 5)
        let a = try burst(&c, "a", count: 6, from: attacker, at: 0)
        #expect(a == [.admit(.credentialed), .hold, .hold, .hold, .drop(.budget), .drop(.budget)])
        let b = try burst(&c, "b", count: 5, from: legit, at: 0, ticketBase: 100)
        #expect(b == [.admit(.credentialed), .hold, .hold, .drop(.budget), .drop(.budget)], "5 held in all")
        #expect(c.heldRequests == 5)
    }

    @Test func withoutATicketOrAHoldTimeNothingIsHeld() throws {
        var c = controller(maxRetry: 1)
        #expect(try c.request(SIPFixture(branch: "a", credentials: true).request, from: legit, at: at(0)) == .admit(.credentialed))
        #expect(try c.request(SIPFixture(branch: "b", credentials: true).request, from: legit, at: at(0)) == .drop(.budget))
        var d = controller(maxRetry: 1, holdTime: .zero)
        #expect(try d.request(SIPFixture(branch: "a", credentials: true).request, from: legit, at: at(0), ticket: 1) == .admit(.credentialed))
        #expect(try d.request(SIPFixture(branch: "b", credentials: true).request, from: legit, at: at(0), ticket: 2) == .drop(.budget))
    }

    @Test func anAllowlistReloadAdmitsWhatWasHeldAndAnEvictionDropsIt() throws {
        var c = controller(maxRetry: 1)
        _ = try burst(&c, "a", count: 3, from: legit, at: 0)
        var policy = c.policy
        policy.allowlist = IPNetworkSet([IPNetwork(host: legit)])
        c.reconfigure(with: policy)
        #expect(Set(c.releases().map(\.ticket)) == [1, 2])
        #expect(c.heldRequests == 0)

        // A full table evicts the least informative source: one that only has requests in
        // flight or held ranks below sources with failures, and its held requests are dropped.
        var e = controller(maxRetry: 1, maxSources: 16)
        _ = try burst(&e, "h", count: 3, from: attacker, at: 0)
        for n in 0..<64 {
            let source = IPAddress("198.18.9.\(n)")!
            let f = SIPFixture(branch: "f\(n)", credentials: true)
            _ = try e.request(f.request, from: source, at: at(1))
            _ = try e.response(f.response(401), to: source, at: at(1.001))
        }
        #expect(e.state(of: attacker, at: at(1.1)) == nil, "evicted")
        #expect(
            e.releases() == [
                AdmissionRelease(ticket: 1, decision: .drop(.holdExpired)), AdmissionRelease(ticket: 2, decision: .drop(.holdExpired)),
            ])
        #expect(e.heldRequests == 0)
    }

    /// Random traffic from one NAT address mixing phones with the right password and a
    /// guesser: whatever the interleaving, failures never exceed max-retry + the credit
    /// earned, every ticket gets exactly one verdict, and held counts balance.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func heldRequestsNeverBreakTheBudget(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed) // the controller's own generator
        let credit = 8
        var c = controller(maxRetry: 5, successCredit: credit, holdTime: .milliseconds(300))
        var inFlight: [(fixture: SIPFixture, good: Bool)] = []
        var byTicket: [UInt32: (fixture: SIPFixture, good: Bool)] = [:]
        var verdicts: [UInt32: Int] = [:]
        var failures = 0
        var wrongGuessesAdmitted = 0
        var t = 0.0
        var ticket: UInt32 = 0
        var exhausted = false
        func admit(_ r: AdmissionRelease) {
            verdicts[r.ticket, default: 0] += 1
            if r.decision == .admit(.credentialed), let item = byTicket[r.ticket] {
                inFlight.append(item)
                if !item.good { wrongGuessesAdmitted += 1 }
            }
        }
        for step in 0..<3_000 {
            t += Double(rng.next() % 3) / 1_000
            if rng.next() % 3 != 0 || inFlight.isEmpty {
                ticket += 1
                let good = rng.next() % 4 != 0
                let item = (fixture: SIPFixture(branch: "r\(step)", user: good ? "phone\(step % 30)" : "guess\(step)", credentials: true), good: good)
                byTicket[ticket] = item
                let d = try c.request(item.fixture.request, from: legit, at: at(t), ticket: ticket)
                switch d {
                case .admit(.credentialed):
                    verdicts[ticket, default: 0] += 1
                    inFlight.append(item)
                    if !good { wrongGuessesAdmitted += 1 }
                case .hold: break
                default: verdicts[ticket, default: 0] += 1
                }
            } else {
                let i = Int(rng.next() % UInt64(inFlight.count))
                let item = inFlight.remove(at: i)
                let events = try c.response(item.fixture.response(item.good ? 200 : 401), to: legit, at: at(t))
                failures += events.count
                if events.contains(where: { if case .exhausted = $0 { true } else { false } }) {
                    exhausted = true
                    break
                }
            }
            c.expireHeld(time: at(t))
            for r in c.releases() { admit(r) }
        }
        for r in c.releases() { admit(r) }
        c.expireHeld(time: at(t + 10))
        for r in c.releases() { admit(r) }
        // Wrong passwords that reached the PBX: at most max-retry plus the credit earned.
        #expect(wrongGuessesAdmitted <= 5 + credit, "\(wrongGuessesAdmitted) wrong guesses admitted")
        #expect(wrongGuessesAdmitted >= 5 || !exhausted)
        #expect(failures <= 5)
        #expect(verdicts.values.allSatisfy { $0 == 1 }, "one verdict per ticket")
        #expect(verdicts.count == Int(ticket), "every ticket decided")
        let s = c.statistics
        #expect(s.held == s.heldAdmitted + s.heldDropped && s.heldNow == 0)
    }
}
