// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import Testing
import WardenCore

private let t0 = Timestamp(seconds: 1_800_000_000)

private func entry(_ recipient: String = "abuse@example.net", state: OutboxState = .queued, attempts: Int = 0, at: Timestamp = t0) -> OutboxEntry {
    OutboxEntry(
        id: 1, caseID: UUID(), messageID: "<sipwarden.x.1@example.org>", sender: "reports@example.org", recipient: recipient,
        message: Array("hello\r\n".utf8), state: state, attempts: attempts, nextAttemptAt: at, createdAt: at)
}

@Suite struct OutboxScheduleTests {
    @Test func reviewModeHoldsAndAutoModeQueues() {
        #expect(OutboxSchedule.initialState(.review) == .pendingApproval)
        #expect(OutboxSchedule.initialState(.auto) == .queued)
    }

    @Test func backoffDoublesFromTheInitialWaitUpToTheCap() {
        let policy = DeliveryPolicy(initialBackoff: .seconds(60), maxBackoff: .seconds(1000))
        let waits = (0...6).map { OutboxSchedule.backoff(afterAttempts: $0, policy: policy).components.seconds }
        #expect(waits == [0, 60, 120, 240, 480, 960, 1000])
        #expect(OutboxSchedule.backoff(afterAttempts: 500, policy: policy) == .seconds(1000), "no overflow after many attempts")
    }

    @Test func aTemporaryFailureIsRetriedAfterTheBackoffThenGivenUp() {
        let policy = DeliveryPolicy(initialBackoff: .seconds(10), maxAttempts: 3)
        var e = entry(state: .handingOver, attempts: 2)
        e = OutboxSchedule.afterHandover(e, .temporaryFailure("451 try later"), at: t0, policy: policy)
        #expect(e.state == .queued && e.nextAttemptAt == t0 + .seconds(20) && e.lastError == "451 try later")
        var last = entry(state: .handingOver, attempts: 3)
        last = OutboxSchedule.afterHandover(last, .temporaryFailure("451 try later"), at: t0, policy: policy)
        #expect(last.state == .failed)
        #expect(last.lastError?.contains("gave up after 3 attempts") == true)
    }

    @Test func acceptedIsSentAndPermanentIsFailed() {
        let policy = DeliveryPolicy()
        let sent = OutboxSchedule.afterHandover(entry(state: .handingOver, attempts: 1), .accepted("250 ok"), at: t0, policy: policy)
        #expect(sent.state == .sent && sent.sentAt == t0 && sent.confirmation == "250 ok")
        let failed = OutboxSchedule.afterHandover(
            entry(state: .handingOver, attempts: 1), .permanentFailure("550 no such user"), at: t0, policy: policy)
        #expect(failed.state == .failed && failed.sentAt == nil && failed.lastError == "550 no such user")
    }

    @Test func thePerRecipientLimitDefersTheRestUntilTheWindowHasRoom() {
        let policy = DeliveryPolicy(perRecipientLimit: 3, recipientWindow: .seconds(3600))
        let recent = ["ABUSE@example.net": [t0 - .seconds(3000), t0 - .seconds(4000)]] // the second is outside the window
        let due = (0..<4).map { _ in entry("abuse@EXAMPLE.net") } + [entry("noc@example.com")]
        let plan = OutboxSchedule.plan(due: due, recent: recent, at: t0, policy: policy)
        #expect(plan.send.map(\.recipient) == ["abuse@EXAMPLE.net", "abuse@EXAMPLE.net", "noc@example.com"])
        #expect(plan.deferred.count == 2)
        // Three in the window (t0−3000, t0, t0): the first leaves it at t0 + 600.
        #expect(plan.deferred.allSatisfy { $0.nextAttemptAt == t0 + .seconds(600) })
    }

    @Test func onlyDueQueuedEntriesArePlanned() {
        let plan = OutboxSchedule.plan(
            due: [entry(state: .pendingApproval), entry(at: t0 + .seconds(1)), entry(state: .sent)], recent: [:], at: t0, policy: DeliveryPolicy())
        #expect(plan.send.isEmpty && plan.deferred.isEmpty)
    }

    @Test func approvalReleasesOnlyThatCasesPendingEntries() {
        let mine = entry(state: .pendingApproval, at: t0 - .seconds(100))
        var other = entry(state: .pendingApproval)
        other.caseID = UUID()
        let released = OutboxSchedule.approve([mine, other, entry(state: .queued)], caseID: mine.caseID, at: t0)
        #expect(released.count == 1 && released[0].state == .queued && released[0].nextAttemptAt == t0 && released[0].caseID == mine.caseID)
    }

    @Test(arguments: [
        (TransportKind.sendmail, HandoverStage.started, HandoverEvidence.seen("log"), OutboxState.sent),
        (.sendmail, .spawned, .notSeen("not in log"), .queued),
        (.sendmail, .spawned, .unknown, .sent),
        (.sendmail, .started, .unknown, .sent),
        (.smtp, .started, .unknown, .queued),
        (.smtp, .finalDot, .unknown, .sent),
        (.smtp, .finalDot, .notSeen("asked"), .queued),
    ])
    func theRestartRule(transport: TransportKind, stage: HandoverStage, evidence: HandoverEvidence, expected: OutboxState) {
        var e = entry(state: .handingOver, attempts: 1)
        e.handoverTransport = transport
        e.handoverStage = stage
        e.handoverStartedAt = t0 - .seconds(5)
        e.handoverPID = 42
        let resolved = OutboxSchedule.resolveInterrupted(e, evidence: evidence, at: t0)
        #expect(resolved.state == expected)
        #expect(resolved.handoverStage == nil && resolved.handoverPID == nil)
        if expected == .sent {
            #expect(resolved.sentAt == t0 - .seconds(5))
            #expect(resolved.confirmation?.isEmpty == false)
        } else {
            #expect(resolved.nextAttemptAt == t0 && resolved.lastError?.hasPrefix("interrupted hand-over") == true)
        }
    }

    @Test func anInterruptedOutcomeFollowsTheRestartRuleWithoutEvidence() {
        var e = entry(state: .handingOver, attempts: 1)
        e.handoverTransport = .smtp
        e.handoverStage = .finalDot
        let after = OutboxSchedule.afterHandover(e, .interrupted("connection reset after the final dot"), at: t0, policy: DeliveryPolicy())
        #expect(after.state == .sent && after.confirmation?.hasPrefix("unconfirmed") == true)
        e.handoverStage = .started
        #expect(OutboxSchedule.afterHandover(e, .interrupted("reset"), at: t0, policy: DeliveryPolicy()).state == .queued)
    }
}
