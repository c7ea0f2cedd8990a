// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import NetworkAddress
import Storage
import Testing
import WardenCore

private let t0 = Timestamp(seconds: 1_800_000_000)

func sampleCase(_ id: UUID = UUID(), contacts: [String] = ["abuse@example.net", "noc@example.net"]) -> AbuseCase {
    AbuseCase(
        id: id, sources: [IPAddress("198.18.0.7")!, IPAddress("2001:2::7")!], asn: 64_500, organisation: "Example Cloud", contacts: contacts,
        openedAt: t0, lastTrafficAt: t0)
}

func sampleEntry(_ caseID: UUID, recipient: String = "abuse@example.net", sequence: Int = 1, state: OutboxState = .queued, at: Timestamp = t0)
    -> OutboxEntry
{
    OutboxEntry(
        caseID: caseID, messageID: MIMEReport.messageID(caseID: caseID, sequence: sequence, domain: "example.org"), sender: "reports@example.org",
        recipient: recipient, message: Array("Subject: report\r\n\r\nbody\r\n".utf8), state: state, nextAttemptAt: at, createdAt: at)
}

/// A fresh state directory.
func temporaryState() throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sipwarden-outbox-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.path
}

@Suite struct CaseStoreTests {
    @Test func aCaseRoundTripsWithItsHistoryAndIsListedByState() throws {
        let store = CaseStore(ledger: try Ledger(inMemory: ()))
        var c = sampleCase()
        _ = c.handle(.open, at: t0, policy: CasePolicy(review: false))
        _ = c.handle(.delivered(contactIndex: 0), at: t0 + .seconds(5), policy: CasePolicy(review: false))
        c.ticket = "INC0012345"
        try store.save(c, at: t0 + .seconds(5))
        let read = try #require(try store.abuseCase(id: c.id))
        #expect(read == c)
        #expect(read.state == .sent && read.history.count == 2)
        #expect(try store.cases(states: [.sent]).map(\.id) == [c.id])
        #expect(try store.cases(states: [.review, .closed]).isEmpty)
        // An update replaces it.
        _ = c.handle(.close(reason: "test"), at: t0 + .seconds(9), policy: CasePolicy())
        try store.save(c, at: t0 + .seconds(9))
        #expect(try store.abuseCase(id: c.id)?.state == .closed)
        #expect(try store.cases().count == 1)
    }

    @Test func messagesAreKeptWithTheirCaseAndAnswersWithTheirClassification() throws {
        let store = CaseStore(ledger: try Ledger(inMemory: ()))
        let c = sampleCase()
        try store.save(c, at: t0)
        let out = try store.enqueue(sampleEntry(c.id))
        let answer = CaseMessage.Classification(
            kind: .acknowledgement, ticket: "[Ticket#2026120212345]", deliveryStatus: nil, permanent: false, failedRecipient: nil, reason: "auto ack")
        try store.appendMessage(
            CaseMessage(
                caseID: c.id, direction: .incoming, messageID: "<ack-1@example.net>", time: t0 + .seconds(60), peer: "abuse@example.net",
                path: "/var/mail/x", classification: answer))
        let messages = try store.messages(caseID: c.id)
        #expect(messages.map(\.direction) == [.outgoing, .incoming])
        #expect(messages[0].messageID == out.messageID && messages[0].raw == out.message && messages[0].peer == "abuse@example.net")
        #expect(messages[1].classification?.kind == .acknowledgement && messages[1].classification?.ticket == "[Ticket#2026120212345]")
        #expect(try store.caseID(forMessageID: out.messageID) == c.id)
        #expect(try store.caseID(forMessageID: "<ack-1@example.net>") == nil, "only our own messages lead to a case")
    }

    @Test func enqueueingIsIdempotentByMessageID() throws {
        let store = CaseStore(ledger: try Ledger(inMemory: ()))
        let c = sampleCase()
        try store.save(c, at: t0)
        let first = try store.enqueue(sampleEntry(c.id))
        let again = try store.enqueue(sampleEntry(c.id, at: t0 + .seconds(30)))
        #expect(first.id == again.id && again.createdAt == t0)
        #expect(try store.outbox().count == 1)
        #expect(try store.messages(caseID: c.id).count == 1)
        _ = try store.enqueue(sampleEntry(c.id, recipient: "noc@example.net", sequence: 2))
        #expect(try store.outbox(caseID: c.id).count == 2)
    }

    @Test func anEntryNeedsItsCase() throws {
        let store = CaseStore(ledger: try Ledger(inMemory: ()))
        #expect(throws: LedgerError.self) { try store.enqueue(sampleEntry(UUID())) }
    }

    @Test func handOverIsACompareAndSetAndFinishingNeedsHandingOver() throws {
        let store = CaseStore(ledger: try Ledger(inMemory: ()))
        let c = sampleCase()
        try store.save(c, at: t0)
        let id = try #require(try store.enqueue(sampleEntry(c.id)).id)
        #expect(try store.dueEntries(at: t0 - .seconds(1)).isEmpty)
        #expect(try store.dueEntries(at: t0).map(\.id) == [id])
        let marked = try #require(try store.beginHandover(id: id, transport: .sendmail, at: t0))
        #expect(marked.state == .handingOver && marked.attempts == 1 && marked.handoverStage == .started && marked.handoverTransport == .sendmail)
        #expect(try store.beginHandover(id: id, transport: .sendmail, at: t0) == nil, "a second deliverer cannot take it")
        try store.recordStage(id: id, .spawned, pid: 4242)
        #expect(try store.interruptedHandovers().map(\.handoverPID) == [4242])
        var done = marked
        done.state = .sent
        done.sentAt = t0 + .seconds(1)
        #expect(try store.finishHandover(done))
        #expect(try !store.finishHandover(done), "only a hand-over in progress is finished")
        #expect(try store.outboxEntry(id: id)?.state == .sent)
        #expect(try store.handoverTimes(recipients: ["ABUSE@example.net"], since: t0) == ["abuse@example.net": [t0 + .seconds(1)]])
    }

    @Test func approvalReleasesTheCasesHeldReports() throws {
        let store = CaseStore(ledger: try Ledger(inMemory: ()))
        let c = sampleCase()
        let other = sampleCase()
        try store.save(c, at: t0)
        try store.save(other, at: t0)
        try store.enqueue(sampleEntry(c.id, state: .pendingApproval))
        try store.enqueue(sampleEntry(other.id, state: .pendingApproval))
        #expect(try store.dueEntries(at: t0 + .seconds(3600)).isEmpty, "nothing leaves in review mode")
        #expect(try store.approve(caseID: c.id, at: t0 + .seconds(10)) == 1)
        #expect(try store.dueEntries(at: t0 + .seconds(10)).map(\.caseID) == [c.id])
    }

    @Test func theOutboxSurvivesReopeningTheStateDirectory() throws {
        let state = try temporaryState()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let c = sampleCase()
        do {
            let store = CaseStore(ledger: try Ledger(directory: state))
            try store.save(c, at: t0)
            let id = try #require(try store.enqueue(sampleEntry(c.id)).id)
            _ = try store.beginHandover(id: id, transport: .smtp, at: t0)
        }
        let reopened = CaseStore(ledger: try Ledger(directory: state))
        #expect(try reopened.interruptedHandovers().map(\.caseID) == [c.id])
        #expect(try reopened.abuseCase(id: c.id) == c)
    }

    @Test func aLegacyStateDirectoryGainsTheCaseTablesAndKeepsItsBans() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../StorageTests/Fixtures/state-94142ec/ledger.sqlite").standardizedFileURL
        let state = try temporaryState()
        defer { try? FileManager.default.removeItem(atPath: state) }
        try FileManager.default.copyItem(at: fixture, to: URL(fileURLWithPath: state).appendingPathComponent("ledger.sqlite"))
        let ledger = try Ledger(directory: state)
        #expect(try ledger.bans(limit: 100, includeInactive: true).count == 6)
        let store = CaseStore(ledger: ledger)
        #expect(try store.cases().isEmpty && store.outbox().isEmpty)
        let c = sampleCase()
        try store.save(c, at: t0)
        try store.enqueue(sampleEntry(c.id))
        #expect(try CaseStore(ledger: try Ledger(directory: state)).outbox().count == 1)
    }
}
