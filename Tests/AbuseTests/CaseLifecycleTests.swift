// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing
import WardenCore

@testable import Abuse

@Suite("Case lifecycle: every transition and deadline, with an injected clock")
struct CaseLifecycleTests {
    static let h: Int64 = 3600
    static func t(_ hours: Double) -> Timestamp { Timestamp(microseconds: Int64(hours * 3600 * 1_000_000)) }
    static func newCase(contacts: [String] = ["abuse@net.example", "noc@net.example"]) -> AbuseCase {
        AbuseCase(
            id: UUID(uuidString: "00000000-0000-4000-8000-000000000001")!, sources: [IPAddress("198.51.100.7")!], asn: 64_500,
            organisation: "Example Cloud", contacts: contacts, openedAt: t(0), lastTrafficAt: t(0))
    }
    static let ack = AnswerClassification(
        kind: .acknowledgement, ticket: "T-1234", deliveryStatus: nil, permanent: false, failedRecipient: nil, reason: "test")
    static let bounce = AnswerClassification(
        kind: .bounce, ticket: nil, deliveryStatus: "5.1.1", permanent: true, failedRecipient: nil, reason: "test")
    static let softBounce = AnswerClassification(
        kind: .bounce, ticket: nil, deliveryStatus: "4.2.2", permanent: false, failedRecipient: nil, reason: "test")
    static let vacation = AnswerClassification(
        kind: .outOfOffice, ticket: nil, deliveryStatus: nil, permanent: false, failedRecipient: nil, reason: "test")

    /// A case in `sent` at hour 0 under `policy`.
    static func sent(_ policy: CasePolicy, contacts: [String] = ["abuse@net.example", "noc@net.example"]) -> AbuseCase {
        var c = newCase(contacts: contacts)
        _ = c.handle(.open, at: t(0), policy: policy)
        _ = c.handle(.approve, at: t(0), policy: policy)
        _ = c.handle(.delivered(contactIndex: 0), at: t(0), policy: policy)
        return c
    }

    @Test func reviewModeSendsNothingUntilApproved() {
        let policy = CasePolicy(review: true)
        var c = Self.newCase()
        #expect(
            c.handle(.open, at: Self.t(0), policy: policy) == [
                .requestApproval("report case 00000000-0000-4000-8000-000000000001 to abuse@net.example")
            ])
        #expect(c.state == .review)
        #expect(c.handle(.tick, at: Self.t(100), policy: policy).isEmpty)
        #expect(c.state == .review, "no deadline runs before the report is sent")
        #expect(c.handle(.answer(Self.ack), at: Self.t(1), policy: policy).isEmpty)
        #expect(c.state == .review)
        #expect(c.handle(.approve, at: Self.t(2), policy: policy) == [.sendReport(contactIndex: 0)])
        _ = c.handle(.delivered(contactIndex: 0), at: Self.t(2), policy: policy)
        #expect(c.state == .sent)
        #expect(c.reportedAt == Self.t(2))
    }

    @Test func autoModeSendsAtOnce() {
        var c = Self.newCase()
        #expect(c.handle(.open, at: Self.t(0), policy: CasePolicy(review: false)) == [.sendReport(contactIndex: 0)])
        #expect(c.state == .detected)
        var none = Self.newCase(contacts: [])
        #expect(
            none.handle(.open, at: Self.t(0), policy: CasePolicy(review: false)).first.map { if case .notifyOperator = $0 { true } else { false } }
                == true)
    }

    @Test func acknowledgedThenMitigatedByTheTrafficThenResumedThenClosed() {
        let policy = CasePolicy(review: false)
        var c = Self.sent(policy)
        _ = c.handle(.answer(Self.ack), at: Self.t(1), policy: policy)
        #expect(c.state == .acknowledged && c.ticket == "T-1234" && c.acknowledgedAt == Self.t(1))
        _ = c.handle(.traffic, at: Self.t(2), policy: policy) // still attacking at hour 2
        _ = c.handle(.tick, at: Self.t(7.9), policy: policy)
        #expect(c.state == .acknowledged, "5.9 h of silence is not 6")
        _ = c.handle(.tick, at: Self.t(8), policy: policy)
        #expect(c.state == .mitigated && c.mitigatedAt == Self.t(8))
        #expect(
            c.handle(.traffic, at: Self.t(30), policy: policy) == [
                .notifyOperator("case 00000000-0000-4000-8000-000000000001 resumed: a source is sending again")
            ])
        #expect(c.state == .resumed && c.everResumed)
        _ = c.handle(.tick, at: Self.t(36), policy: policy)
        #expect(c.state == .mitigated)
        _ = c.handle(.tick, at: Self.t(36 + 14 * 24 - 1), policy: policy)
        #expect(c.state == .mitigated)
        _ = c.handle(.tick, at: Self.t(36 + 14 * 24), policy: policy)
        #expect(c.state == .closed)
        #expect(c.history.map(\.state) == [.detected, .sent, .acknowledged, .mitigated, .resumed, .mitigated, .closed])
    }

    @Test func noAcknowledgementWithin24HoursIsOverdueThenTheLadderWithApproval() {
        let policy = CasePolicy(review: false)
        var c = Self.sent(policy)
        for hour in stride(from: 1.0, through: 23.0, by: 1) { _ = c.handle(.traffic, at: Self.t(hour), policy: policy) }
        #expect(c.handle(.tick, at: Self.t(23.99), policy: policy).isEmpty)
        #expect(c.state == .sent)
        #expect(
            c.handle(.tick, at: Self.t(24), policy: policy) == [
                .requestApproval("escalate case 00000000-0000-4000-8000-000000000001 to next-contact")
            ])
        #expect(c.state == .overdue && c.pendingEscalation == .nextContact)
        #expect(c.handle(.tick, at: Self.t(25), policy: policy).isEmpty, "asked once")
        #expect(c.handle(.approve, at: Self.t(26), policy: policy) == [.escalate(.nextContact)])
        #expect(c.state == .escalated)
        // The attack goes on; 72 h after the escalation the next step is due.
        for hour in stride(from: 27.0, through: 97.0, by: 2) { _ = c.handle(.traffic, at: Self.t(hour), policy: policy) }
        #expect(c.handle(.tick, at: Self.t(26 + 71.9), policy: policy).isEmpty)
        #expect(
            c.handle(.tick, at: Self.t(26 + 72), policy: policy) == [
                .requestApproval("escalate case 00000000-0000-4000-8000-000000000001 to national-cert")
            ])
        #expect(c.handle(.approve, at: Self.t(99), policy: policy) == [.escalate(.nationalCERT)])
        _ = c.handle(.traffic, at: Self.t(170), policy: policy)
        _ = c.handle(.tick, at: Self.t(99 + 72), policy: policy)
        #expect(
            c.handle(.approve, at: Self.t(172), policy: policy) == [
                .escalate(.lawEnforcement), .notifyOperator("case 00000000-0000-4000-8000-000000000001: evidence pack for law enforcement written"),
            ])
        _ = c.handle(.traffic, at: Self.t(240), policy: policy)
        let last = c.handle(.tick, at: Self.t(172 + 72), policy: policy)
        #expect(c.state == .overdue)
        #expect(last == [.notifyOperator("case 00000000-0000-4000-8000-000000000001: overdue, nothing left to escalate to")])
        #expect(c.escalations == [.nextContact, .nationalCERT, .lawEnforcement])
    }

    @Test func withoutApprovalEscalationsAreTakenAtOnce() {
        let policy = CasePolicy(review: false, approveEscalations: false)
        var c = Self.sent(policy)
        _ = c.handle(.traffic, at: Self.t(20), policy: policy)
        #expect(c.handle(.tick, at: Self.t(24), policy: policy) == [.escalate(.nextContact)])
        #expect(c.state == .escalated)
    }

    @Test func acknowledgedButTheAttackGoesOnFor72Hours() {
        let policy = CasePolicy(review: false)
        var c = Self.sent(policy)
        _ = c.handle(.answer(Self.ack), at: Self.t(1), policy: policy)
        for hour in stride(from: 2.0, through: 71.0, by: 3) { _ = c.handle(.traffic, at: Self.t(hour), policy: policy) }
        _ = c.handle(.tick, at: Self.t(71.9), policy: policy)
        #expect(c.state == .acknowledged)
        _ = c.handle(.tick, at: Self.t(72), policy: policy)
        #expect(c.state == .overdue)
        #expect(c.history.first(where: { $0.state == .overdue })?.note == "the attack went on for 3 d after the report")
    }

    @Test func aLateAcknowledgementOfAnOverdueCaseWithdrawsTheEscalation() {
        let policy = CasePolicy(review: false)
        var c = Self.sent(policy)
        _ = c.handle(.traffic, at: Self.t(20), policy: policy)
        _ = c.handle(.tick, at: Self.t(24), policy: policy)
        _ = c.handle(.answer(Self.ack), at: Self.t(25), policy: policy)
        #expect(c.state == .acknowledged && c.pendingEscalation == nil)
        #expect(c.handle(.approve, at: Self.t(26), policy: policy).isEmpty)
    }

    @Test func aDeadContactMovesToTheNextThenUpTheLadder() {
        let policy = CasePolicy(review: false)
        var c = Self.sent(policy)
        #expect(c.handle(.answer(Self.softBounce), at: Self.t(0.1), policy: policy).isEmpty)
        #expect(c.currentContact == 0)
        #expect(c.handle(.answer(Self.bounce), at: Self.t(0.2), policy: policy) == [.sendReport(contactIndex: 1)])
        _ = c.handle(.delivered(contactIndex: 1), at: Self.t(0.3), policy: policy)
        #expect(
            c.handle(.answer(Self.bounce), at: Self.t(0.4), policy: policy) == [
                .requestApproval("escalate case 00000000-0000-4000-8000-000000000001 to next-contact")
            ])
        #expect(c.bounces == 3)
    }

    @Test func outOfOfficeAndFeedbackReportsChangeNothing() {
        let policy = CasePolicy(review: false)
        var c = Self.sent(policy)
        _ = c.handle(.answer(Self.vacation), at: Self.t(1), policy: policy)
        #expect(c.state == .sent && c.acknowledgedAt == nil)
        #expect(c.history.last?.note == "out of office: nobody read it yet")
    }

    @Test func closedIsFinal() {
        let policy = CasePolicy(review: false)
        var c = Self.sent(policy)
        _ = c.handle(.close(reason: "operator"), at: Self.t(1), policy: policy)
        for input in [CaseInput.tick, .traffic, .answer(Self.ack), .approve, .open] { _ = c.handle(input, at: Self.t(500), policy: policy) }
        #expect(c.state == .closed)
    }

    @Test func randomSequencesKeepTheInvariants() {
        var rng = SystemRandomNumberGenerator()
        let inputs: [CaseInput] = [
            .open, .approve, .delivered(contactIndex: 0), .answer(Self.ack), .answer(Self.bounce), .answer(Self.vacation), .traffic, .tick, .tick,
            .tick,
        ]
        for round in 0..<300 {
            let policy = CasePolicy(review: round % 2 == 0, approveEscalations: round % 3 != 0)
            var c = Self.newCase()
            var now = 0.0
            for _ in 0..<60 {
                now += Double.random(in: 0...30, using: &rng)
                _ = c.handle(inputs.randomElement(using: &rng)!, at: Self.t(now), policy: policy)
                #expect(c.escalations.count <= EscalationStep.allCases.count)
                #expect(Set(c.escalations).count == c.escalations.count)
                #expect(c.currentContact < max(c.contacts.count, 1))
                if c.state == .mitigated { #expect(c.mitigatedAt != nil) }
                if [.sent, .acknowledged, .overdue, .escalated, .mitigated, .resumed].contains(c.state) { #expect(c.reportedAt != nil) }
                #expect(zip(c.history, c.history.dropFirst()).allSatisfy { $0.time <= $1.time })
            }
        }
    }

    @Test func scorecardOfThreeProviders() {
        let policy = CasePolicy(review: false)
        // A acknowledges in 1 h and its attacker stops at 2 h.
        var a = Self.sent(policy)
        _ = a.handle(.answer(Self.ack), at: Self.t(1), policy: policy)
        _ = a.handle(.traffic, at: Self.t(2), policy: policy)
        _ = a.handle(.tick, at: Self.t(8), policy: policy)
        // B bounces (one contact only), its attacker stops on its own later.
        var b = AbuseCase(
            id: UUID(), sources: [IPAddress("203.0.113.9")!], asn: 64_501, organisation: "Bouncing", contacts: ["dead@b.example"],
            openedAt: Self.t(0), lastTrafficAt: Self.t(0))
        _ = b.handle(.open, at: Self.t(0), policy: policy)
        _ = b.handle(.delivered(contactIndex: 0), at: Self.t(0), policy: policy)
        _ = b.handle(.answer(Self.bounce), at: Self.t(0.1), policy: policy)
        // C stays silent while its attacker keeps sending into the ban.
        var c = AbuseCase(
            id: UUID(), sources: [IPAddress("192.0.2.50")!], asn: 64_502, organisation: "Silent", contacts: ["abuse@c.example"],
            openedAt: Self.t(0), lastTrafficAt: Self.t(0))
        _ = c.handle(.open, at: Self.t(0), policy: policy)
        _ = c.handle(.delivered(contactIndex: 0), at: Self.t(0), policy: policy)
        for hour in stride(from: 1.0, through: 80.0, by: 1) {
            _ = c.handle(.traffic, at: Self.t(hour), policy: policy)
            _ = c.handle(.tick, at: Self.t(hour), policy: policy)
        }
        let scores = Scorecard.compute([a, b, c], now: Self.t(80), policy: policy)
        let byAS = Dictionary(uniqueKeysWithValues: scores.map { ($0.asn!, $0) })
        #expect(byAS[64_500]?.acknowledged == 1 && byAS[64_500]?.medianSecondsToAcknowledge == 3600)
        let stopped: Int64? = byAS[64_500]?.medianSecondsUntilStopped
        #expect(stopped == 7_200)
        #expect(byAS[64_500]?.neverActedShare == 0)
        #expect(byAS[64_501]?.bounced == 1 && byAS[64_501]?.acknowledged == 0)
        #expect(byAS[64_502]?.neverActedShare == 1 && byAS[64_502]?.overdueNow == 1)
        #expect(scores.first?.asn == 64_502, "the worst first")
    }
}
