// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import ReportDelivery
import Storage
import Synchronization
import Testing
import WardenCore

private let t0 = Timestamp(seconds: 1_800_000_000)

/// A transport that records what it was given and answers from a script.
final class ScriptedTransport: ReportTransport {
    let kind: TransportKind
    let script: Mutex<[HandoverOutcome]>
    let handed = Mutex<[String]>([])
    let stage: HandoverStage?

    init(kind: TransportKind = .sendmail, stage: HandoverStage? = nil, _ outcomes: [HandoverOutcome]) {
        self.kind = kind
        self.stage = stage
        script = Mutex(outcomes)
    }

    func handOver(_ entry: OutboxEntry, progress: @escaping @Sendable (HandoverStage, Int32?) throws -> Void) async -> HandoverOutcome {
        if let stage { try? progress(stage, nil) }
        handed.withLock { $0.append(entry.messageID) }
        return script.withLock { $0.isEmpty ? .accepted("250 ok") : $0.removeFirst() }
    }
}

/// A clock the test moves.
final class TestClock: Sendable {
    let now = Mutex(t0)
    func advance(_ d: Duration) { now.withLock { $0 = $0 + d } }
    var source: TimeSource { { self.now.withLock { $0 } } }
}

struct FixedCheck: HandoverCheck {
    var answer: HandoverEvidence
    func evidence(for entry: OutboxEntry) async -> HandoverEvidence { answer }
}

@Suite struct OutboxDelivererTests {
    func setUp(_ entries: Int, policy: DeliveryPolicy = DeliveryPolicy(mode: .auto)) throws -> (CaseStore, AbuseCase) {
        let store = CaseStore(ledger: try Ledger(inMemory: ()))
        let c = sampleCase()
        try store.save(c, at: t0)
        for i in 0..<entries { try store.enqueue(sampleEntry(c.id, sequence: i + 1, state: OutboxSchedule.initialState(policy.mode))) }
        return (store, c)
    }

    @Test func dueReportsAreSentOnceAndNotAgain() async throws {
        let (store, _) = try setUp(3)
        let transport = ScriptedTransport([])
        let clock = TestClock()
        let deliverer = OutboxDeliverer(store: store, transport: transport, policy: DeliveryPolicy(mode: .auto), check: nil, clock: clock.source)
        let pass = try await deliverer.deliverDue()
        #expect(pass.sent == 3)
        clock.advance(.seconds(10))
        #expect(try await deliverer.deliverDue().handedOver.isEmpty)
        #expect(transport.handed.withLock { $0.count } == 3)
        #expect(try store.outbox(states: [.sent]).count == 3)
    }

    @Test func reviewModeSendsNothingUntilApproved() async throws {
        let policy = DeliveryPolicy(mode: .review)
        let (store, c) = try setUp(2, policy: policy)
        let transport = ScriptedTransport([])
        let clock = TestClock()
        let deliverer = OutboxDeliverer(store: store, transport: transport, policy: policy, check: nil, clock: clock.source)
        clock.advance(.seconds(86_400))
        #expect(try await deliverer.deliverDue().handedOver.isEmpty)
        #expect(try deliverer.approve(caseID: c.id) == 2)
        #expect(try await deliverer.deliverDue().sent == 2)
    }

    @Test func aTemporaryFailureWaitsItsBackoffAndAPermanentOneStops() async throws {
        let (store, _) = try setUp(2)
        let transport = ScriptedTransport([.temporaryFailure("sendmail exit 75"), .permanentFailure("550 unknown user")])
        let clock = TestClock()
        let policy = DeliveryPolicy(mode: .auto, initialBackoff: .seconds(30))
        let deliverer = OutboxDeliverer(store: store, transport: transport, policy: policy, check: nil, clock: clock.source)
        let first = try await deliverer.deliverDue()
        #expect(first.retrying == 1 && first.failed == 1)
        clock.advance(.seconds(29))
        #expect(try await deliverer.deliverDue().handedOver.isEmpty)
        clock.advance(.seconds(1))
        let second = try await deliverer.deliverDue()
        #expect(second.sent == 1 && second.handedOver[0].attempts == 2)
        #expect(transport.handed.withLock { $0.count } == 3)
    }

    @Test func thePerRecipientLimitHoldsAcrossPasses() async throws {
        let (store, _) = try setUp(5)
        let transport = ScriptedTransport([])
        let clock = TestClock()
        let policy = DeliveryPolicy(mode: .auto, perRecipientLimit: 2, recipientWindow: .seconds(3600))
        let deliverer = OutboxDeliverer(store: store, transport: transport, policy: policy, check: nil, clock: clock.source)
        let pass = try await deliverer.deliverDue()
        #expect(pass.sent == 2 && pass.postponed.count == 3)
        clock.advance(.seconds(1800))
        #expect(try await deliverer.deliverDue().handedOver.isEmpty)
        clock.advance(.seconds(1800))
        #expect(try await deliverer.deliverDue().sent == 2)
        clock.advance(.seconds(3600))
        #expect(try await deliverer.deliverDue().sent == 1)
        #expect(transport.handed.withLock { Set($0).count } == 5)
    }

    @Test func afterACrashTheMTAsWordDecides() async throws {
        for (evidence, expected, resent) in [
            (HandoverEvidence.seen("postfix log"), OutboxState.sent, 0), (.notSeen("not in the log"), .sent, 1), (.unknown, .sent, 0),
        ] {
            let (store, _) = try setUp(1)
            // The crash: marked handing-over, sendmail started, never finished.
            let id = try #require(try store.dueEntries(at: t0).first?.id)
            _ = try store.beginHandover(id: id, transport: .sendmail, at: t0)
            try store.recordStage(id: id, .spawned, pid: 999_999)
            let transport = ScriptedTransport([])
            let deliverer = OutboxDeliverer(
                store: store, transport: transport, policy: DeliveryPolicy(mode: .auto), check: FixedCheck(answer: evidence),
                clock: TestClock().source)
            let recovered = try await deliverer.recover()
            #expect(recovered.count == 1)
            _ = try await deliverer.deliverDue()
            #expect(try store.outboxEntry(id: id)?.state == expected)
            #expect(transport.handed.withLock { $0.count } == resent, "\(evidence)")
            #expect(try store.interruptedHandovers().isEmpty)
        }
    }

    @Test func anSMTPHandoverCutBeforeTheFinalDotIsSentAgain() async throws {
        let (store, _) = try setUp(1)
        let id = try #require(try store.dueEntries(at: t0).first?.id)
        _ = try store.beginHandover(id: id, transport: .smtp, at: t0)
        let transport = ScriptedTransport(kind: .smtp, [])
        let deliverer = OutboxDeliverer(
            store: store, transport: transport, policy: DeliveryPolicy(mode: .auto), check: nil, clock: TestClock().source)
        _ = try await deliverer.recover()
        #expect(try await deliverer.deliverDue().sent == 1)
        #expect(try store.outboxEntry(id: id)?.attempts == 2)
    }

    @Test func anInterruptedOutcomeAsksTheCheck() async throws {
        let (store, _) = try setUp(1)
        let transport = ScriptedTransport(stage: .spawned, [.interrupted("sendmail did not finish")])
        let deliverer = OutboxDeliverer(
            store: store, transport: transport, policy: DeliveryPolicy(mode: .auto), check: FixedCheck(answer: .seen("queue file")),
            clock: TestClock().source)
        let pass = try await deliverer.deliverDue()
        #expect(pass.sent == 1 && pass.handedOver[0].confirmation?.contains("queue file") == true)
    }
}
