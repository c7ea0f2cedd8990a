// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import AbuseMail
import Foundation
import Logging
import NetworkAddress
import Storage
import Synchronization
import Testing
import WardenCore

@testable import SIPWarden

/// A clock the test moves.
final class MovedClock: Sendable {
    let now = Mutex(Timestamp(seconds: 1_764_748_800))
    func advance(_ d: Duration) { now.withLock { $0 = $0 + d } }
    var source: TimeSource { { self.now.withLock { $0 } } }
}

private let server = IPAddress("198.19.0.1")!

/// The addresses the contact look-up was asked about.
final class Recorded: Sendable {
    let addresses = Mutex<[String]>([])
    /// While set, the look-up fails (a registry that is down).
    let down = Mutex(false)
}

/// A ledger with detector bans (and their events) of `sources`, the engine over it.
struct Bench {
    let clock = MovedClock()
    let ledger: Ledger
    let engine: CaseEngine
    let lookups: Recorded

    init(
        mode: DeliveryMode, contacts: [String] = ["abuse@net-a.example", "noc@net-a.example"], approveEscalations: Bool = true,
        certs: CERTDirectory? = nil
    ) throws {
        ledger = try Ledger(inMemory: ())
        var settings = AbuseSettings()
        settings.mode = mode
        settings.reporter = "abuse-reports@op.example"
        settings.acknowledgeWithin = .seconds(60)
        settings.mitigateWithin = .seconds(300)
        settings.quietTime = .seconds(30)
        settings.approveEscalations = approveEscalations
        settings.certDirectory = certs
        let lookups = Recorded()
        self.lookups = lookups
        engine = CaseEngine(
            store: CaseStore(ledger: ledger), ledger: ledger, settings: settings,
            redaction: RedactionPolicy(ownNetworks: IPNetworkSet([IPNetwork(host: server)])),
            stateDirectory: NSTemporaryDirectory() + "sipwarden-cases-\(UUID().uuidString)",
            lookup: { address in
                lookups.addresses.withLock { $0.append(address.description) }
                if lookups.down.withLock({ $0 }) { return .failure(.bootstrap(URL(string: "http://rdap.test/")!, "HTTP 503")) }
                return .success(AbuseContact(email: contacts.first, alternatives: Array(contacts.dropFirst()), source: .networkAbuseRole, asn: 64500))
            }, clock: clock.source, logger: Logger(label: "test"))
    }

    /// Records a detector ban of `source` with five failures, returns its record.
    func ban(_ source: String, origin: BanOrigin = .detector, country: String? = nil) throws -> BanRecord {
        let address = IPAddress(source)!
        let now = clock.now.withLock { $0 }
        let events = (0..<5).map { n in
            SecurityEvent(
                time: now - .seconds(5 - n), source: address, sourcePort: 5062, destination: server, destinationPort: 5060, transport: .udp,
                kind: .authFailed, user: "10\(n)", userAgent: "friendly-scanner", dialect: .kamailio,
                origin: .logLine(file: "/var/log/k.log", line: n))
        }
        var b = Ban(network: IPNetwork(host: address), rule: .failures, origin: origin, created: now, duration: .seconds(3600), reason: "5 failures")
        if let country { b.enrichment = IntelEnrichment(asn: 64500, country: country) }
        let row = try ledger.recordBan(BanRecord(b), evidence: origin == .detector ? events : [])
        return try #require(try ledger.ban(id: row))
    }

    var store: CaseStore { engine.store }

    /// `rounds` times: the mitigation deadline (300 s) passes while `source` keeps sending
    /// into its ban, and the deadlines are checked (each round one escalation step).
    func pastMitigationDeadline(_ rounds: Int, case id: UUID, source: String) throws {
        for _ in 0..<rounds {
            clock.advance(.seconds(301))
            engine.traffic([.traffic(case: id, source: IPAddress(source)!, at: clock.source() - .seconds(1), evidence: .intoBan)])
            try engine.tick()
        }
    }

    /// Bans `source`, opens its case and marks its first report sent (as a delivery pass would).
    func openedAndSent(_ source: String, country: String? = nil) async throws -> (UUID, OutboxEntry) {
        guard case .opened(let id) = try await engine.take(try ban(source, country: country)) else { throw CaseTestFailure.notOpened }
        var entry = try #require(try store.outbox(caseID: id).first)
        entry.state = .sent
        entry.sentAt = clock.source()
        try engine.delivered([entry])
        return (id, entry)
    }
}

enum CaseTestFailure: Error { case notOpened }

@Suite struct CaseEngineTests {
    @Test func autoModeOpensACaseAndQueuesOneReportPerSourceOnce() async throws {
        let bench = try Bench(mode: .auto)
        let record = try bench.ban("198.18.7.9")
        guard case .opened(let id) = try await bench.engine.take(record) else {
            Issue.record("not opened")
            return
        }
        let c = try #require(try bench.store.abuseCase(id: id))
        #expect(c.contacts == ["abuse@net-a.example", "noc@net-a.example"])
        #expect(c.asn == 64500)
        let outbox = try bench.store.outbox(caseID: id)
        #expect(outbox.count == 1)
        #expect(outbox.first?.state == .queued)
        #expect(outbox.first?.recipient == "abuse@net-a.example")
        #expect(outbox.first?.messageID.hasPrefix("<sipwarden.\(id.uuidString.lowercased()).1@op.example>") == true)
        // The same ban again (a restart before the cursor moved): traffic, no second case, no second report.
        #expect(try await bench.engine.take(record) == .traffic(id, IPAddress("198.18.7.9")!))
        #expect(try bench.store.cases().count == 1)
        #expect(try bench.store.outbox().count == 1)
        // The report names the source, never this host's address (redacted).
        let text = String(decoding: try #require(outbox.first).message, as: UTF8.self)
        #expect(text.contains("198.18.7.9"))
        #expect(!text.contains("198.19.0.1"))
    }

    @Test func reviewModeHoldsTheReportUntilApproved() async throws {
        let bench = try Bench(mode: .review)
        guard case .opened(let id) = try await bench.engine.take(try bench.ban("198.18.7.9")) else {
            Issue.record("not opened")
            return
        }
        #expect(try bench.store.abuseCase(id: id)?.state == .review)
        #expect(try bench.store.outbox(caseID: id).map(\.state) == [.pendingApproval])
        #expect(try bench.store.dueEntries(at: bench.clock.source()).isEmpty)
        // A second host of the same AS joins the case and gets its own report (its own Message-ID).
        #expect(try await bench.engine.take(try bench.ban("198.18.7.10")) == .joined(id))
        let held = try bench.store.outbox(caseID: id)
        #expect(held.count == 2 && Set(held.map(\.messageID)).count == 2)
        #expect(try bench.engine.approve(id) == 2)
        #expect(try bench.store.outbox(caseID: id).allSatisfy { $0.state == .queued })
        #expect(try bench.store.outbox().count == 2)
    }

    @Test func bansThatAreNoAttackSeenHereOpenNothing() async throws {
        let bench = try Bench(mode: .auto)
        let manual = try await bench.engine.take(try bench.ban("198.18.7.9", origin: .manual))
        let private10 = try await bench.engine.take(try bench.ban("10.1.2.3"))
        for outcome in [manual, private10] {
            guard case .ignored = outcome else {
                Issue.record("not ignored: \(outcome)")
                continue
            }
        }
        #expect(try bench.store.cases().isEmpty)
        #expect(bench.lookups.addresses.withLock { $0 }.isEmpty)
    }

    @Test func aSentCaseGoesOverdueThenEscalatesToTheNextContactWhenApproved() async throws {
        let bench = try Bench(mode: .auto)
        let (id, _) = try await bench.openedAndSent("198.18.7.9")
        #expect(try bench.store.abuseCase(id: id)?.state == .sent)
        // Traffic keeps the case from being mitigated; the acknowledgement deadline passes.
        bench.clock.advance(.seconds(25))
        bench.engine.traffic([.traffic(case: id, source: IPAddress("198.18.7.9")!, at: bench.clock.source(), evidence: .intoBan)])
        bench.clock.advance(.seconds(25))
        try bench.engine.tick()
        #expect(try bench.store.abuseCase(id: id)?.state == .sent)
        bench.clock.advance(.seconds(15))
        bench.engine.traffic([.traffic(case: id, source: IPAddress("198.18.7.9")!, at: bench.clock.source(), evidence: .intoBan)])
        try bench.engine.tick()
        let overdue = try #require(try bench.store.abuseCase(id: id))
        #expect(overdue.state == .overdue)
        #expect(overdue.pendingEscalation == .nextContact)
        #expect(try bench.store.outbox(caseID: id).count == 1) // nothing sent before approval
        _ = try bench.engine.approve(id)
        let escalated = try #require(try bench.store.abuseCase(id: id))
        #expect(escalated.state == .escalated)
        #expect(escalated.currentContact == 1)
        let second = try bench.store.outbox(caseID: id).filter { $0.recipient == "noc@net-a.example" }
        #expect(second.count == 1)
        #expect(second.first?.messageID.hasPrefix("<sipwarden.\(id.uuidString.lowercased()).101@") == true)
    }

    @Test func silentSourcesMakeTheCaseMitigatedAndTrafficResumesIt() async throws {
        let bench = try Bench(mode: .auto)
        let (id, _) = try await bench.openedAndSent("198.18.7.9")
        bench.clock.advance(.seconds(29))
        try bench.engine.tick()
        #expect(try bench.store.abuseCase(id: id)?.state == .sent)
        bench.clock.advance(.seconds(2))
        try bench.engine.tick()
        #expect(try bench.store.abuseCase(id: id)?.state == .mitigated)
        bench.clock.advance(.seconds(5))
        bench.engine.traffic([.resumed(case: id, source: IPAddress("198.18.7.9")!, at: bench.clock.source(), evidence: .sensor)])
        #expect(try bench.store.abuseCase(id: id)?.state == .resumed)
    }

    @Test func theCERTStepReportsToTheCERTOfTheSourcesCountry() async throws {
        let certs = try CERTDirectory(parsing: "DE cert@cert-de.example\nNL https://cert.example.nl/report\n")
        let bench = try Bench(mode: .auto, contacts: ["abuse@net-a.example"], approveEscalations: false, certs: certs)
        let (id, _) = try await bench.openedAndSent("198.18.7.9", country: "de")
        try bench.pastMitigationDeadline(2, case: id, source: "198.18.7.9")
        let c = try #require(try bench.store.abuseCase(id: id))
        #expect(c.escalations == [.nextContact, .nationalCERT])
        #expect(c.contacts == ["abuse@net-a.example", "cert@cert-de.example"])
        #expect(c.currentContact == 1)
        let toCERT = try bench.store.outbox(caseID: id).filter { $0.recipient == "cert@cert-de.example" }
        #expect(toCERT.count == 1)
        let report = String(decoding: toCERT.first?.message ?? [], as: UTF8.self)
        #expect(report.contains("198.18.7.9"))
        #expect(c.history.contains { $0.note.contains("national CERT (DE): report queued to cert@cert-de.example") })

        // A country the directory has only a web form for: named, with the command for the text.
        let nl = try Bench(mode: .auto, contacts: ["abuse@net-b.example"], approveEscalations: false, certs: certs)
        let (nlID, _) = try await nl.openedAndSent("198.18.8.9", country: "NL")
        try nl.pastMitigationDeadline(2, case: nlID, source: "198.18.8.9")
        let nlCase = try #require(try nl.store.abuseCase(id: nlID))
        #expect(nlCase.contacts == ["abuse@net-b.example"])
        #expect(nlCase.history.contains { $0.note.contains("submit at https://cert.example.nl/report") && $0.note.contains("--format text") })
    }

    @Test func theThirdEscalationWritesAnEvidencePackWithChecksums() async throws {
        let bench = try Bench(mode: .auto, contacts: ["abuse@net-a.example"], approveEscalations: false)
        let (id, _) = try await bench.openedAndSent("198.18.7.9")
        try bench.pastMitigationDeadline(4, case: id, source: "198.18.7.9")
        let c = try #require(try bench.store.abuseCase(id: id))
        #expect(c.escalations == [.nextContact, .nationalCERT, .lawEnforcement])
        let pack = bench.engine.casesDirectory + "/\(id.uuidString.lowercased())/evidence-pack"
        defer { try? FileManager.default.removeItem(atPath: (bench.engine.casesDirectory as NSString).deletingLastPathComponent) }
        let sums = try String(contentsOfFile: pack + "/SHA256SUMS", encoding: .utf8)
        #expect(sums.contains("README.txt"))
        #expect(c.history.contains { $0.note.contains("evidence pack for law enforcement") })
    }

    @Test func answersInTheMaildirAreMatchedRecordedOnceAndABounceMovesToTheNextContact() async throws {
        let bench = try Bench(mode: .auto)
        let (id, entry) = try await bench.openedAndSent("198.18.7.9")
        let (maildir, watcher) = try answersWatcher(for: bench.engine)
        defer {
            watcher.stop()
            try? FileManager.default.removeItem(atPath: maildir.root)
        }
        let root = maildir.root
        let bare = entry.bareMessageID
        let bounce = bounceMail(returning: bare)
        _ = try maildir.deliver(Array(bounce.utf8))
        #expect(watcher.scan().recorded == 1)
        let afterBounce = try #require(try bench.store.abuseCase(id: id))
        #expect(afterBounce.currentContact == 1)
        #expect(try bench.store.outbox(caseID: id).contains { $0.recipient == "noc@net-a.example" && $0.state == .queued })
        let ack = """
            From: abuse@net-a.example\r
            To: abuse-reports@op.example\r
            Subject: [Ticket#2026120312345] Re: abuse report\r
            Message-ID: <ack-1@net-a.example>\r
            In-Reply-To: <\(bare)>\r
            Auto-Submitted: auto-replied\r
            \r
            Thank you for your report. It has been assigned ticket number 2026120312345.\r

            """
        let name = try maildir.deliver(Array(ack.utf8))
        #expect(watcher.scan().recorded == 1)
        let acked = try #require(try bench.store.abuseCase(id: id))
        #expect(acked.state == .acknowledged)
        #expect(acked.ticket == "2026120312345")
        // The same answer again (a crash before the file moved): recorded once.
        let copy = try Data(contentsOf: URL(fileURLWithPath: root + "/cur/" + name + ":2,S"))
        _ = try maildir.deliver(Array(copy))
        _ = watcher.scan()
        #expect(try bench.store.messages(caseID: id).filter { $0.direction == .incoming }.count == 2)
    }

    @Test(arguments: [DeliveryMode.review, .auto])
    func theOperatorGivesAContactlessCaseItsContactAndTheReportIsMade(mode: DeliveryMode) async throws {
        let bench = try Bench(mode: mode)
        bench.lookups.down.withLock { $0 = true }
        guard case .opened(let id) = try await bench.engine.take(try bench.ban("198.18.7.9")) else { throw CaseTestFailure.notOpened }
        #expect(try bench.store.outbox().isEmpty)
        let c = try bench.engine.setContacts(id, ["abuse@by-hand.example"], replace: true)
        #expect(c.contacts == ["abuse@by-hand.example"] && c.currentContact == 0)
        #expect(c.history.last?.note == "contacts set by the operator: abuse@by-hand.example")
        let outbox = try bench.store.outbox(caseID: id)
        #expect(outbox.map(\.recipient) == ["abuse@by-hand.example"])
        #expect(outbox.map(\.state) == [mode == .review ? .pendingApproval : .queued])
    }

    @Test func addedContactsComeAfterTheCurrentOneAndAMadeReportKeepsItsRecipient() async throws {
        let bench = try Bench(mode: .auto)
        let (id, _) = try await bench.openedAndSent("198.18.7.9")
        let c = try bench.engine.setContacts(id, ["upstream@transit.example", "noc@net-a.example"], replace: false)
        #expect(c.contacts == ["abuse@net-a.example", "noc@net-a.example", "upstream@transit.example"], "appended once, in order")
        #expect(c.currentContact == 0)
        #expect(try bench.store.outbox(caseID: id).count == 1, "adding sends nothing by itself")
        #expect(throws: CaseEngine.ContactsError.self) { try bench.engine.setContacts(id, ["other@net-a.example"], replace: true) }
        #expect(throws: CaseEngine.ContactsError.self) { try bench.engine.setContacts(id, ["not a mailbox"], replace: false) }
        #expect(throws: CaseEngine.ContactsError.self) { try bench.engine.setContacts(id, [], replace: false) }
        #expect(try bench.store.abuseCase(id: id)?.contacts.count == 3, "a refused change changes nothing")
    }

    @Test func aCaseOpenedWhileTheRegistryWasDownGetsItsContactLater() async throws {
        let bench = try Bench(mode: .auto)
        bench.lookups.down.withLock { $0 = true }
        guard case .opened(let id) = try await bench.engine.take(try bench.ban("198.18.7.9")) else { throw CaseTestFailure.notOpened }
        #expect(try bench.store.abuseCase(id: id)?.contacts == [])
        #expect(try bench.store.outbox().isEmpty)
        // Too soon: not asked again.
        bench.lookups.down.withLock { $0 = false }
        bench.clock.advance(.seconds(60))
        #expect(try await bench.engine.retryContacts().isEmpty)
        #expect(bench.lookups.addresses.withLock { $0.count } == 1)
        // Ten minutes on, the registry answers: the report is made and queued.
        bench.clock.advance(CaseEngine.contactRetryInterval)
        #expect(try await bench.engine.retryContacts() == [id])
        #expect(try bench.store.abuseCase(id: id)?.contacts.first == "abuse@net-a.example")
        #expect(try bench.store.outbox(caseID: id).map(\.state) == [.queued])
        // A day after it opened, a case is not asked about any more.
        bench.lookups.down.withLock { $0 = true }
        guard case .opened(let other) = try await bench.engine.take(try bench.ban("198.18.8.9")) else { throw CaseTestFailure.notOpened }
        bench.clock.advance(CaseEngine.contactRetryFor)
        let asked = bench.lookups.addresses.withLock { $0.count }
        #expect(try await bench.engine.retryContacts().isEmpty)
        #expect(bench.lookups.addresses.withLock { $0.count } == asked)
        #expect(try bench.store.abuseCase(id: other)?.contacts == [])
    }

    @Test func anAnswerThatOvertakesTheDeliveryPassStillCounts() async throws {
        let bench = try Bench(mode: .review)
        guard case .opened(let id) = try await bench.engine.take(try bench.ban("198.18.7.9")) else { throw CaseTestFailure.notOpened }
        _ = try bench.engine.approve(id)
        // The MTA took the report (the outbox says sent) but the pass has not fed it to the case yet.
        let queued = try #require(try bench.store.outbox(caseID: id).first)
        let row = try #require(queued.id)
        var sent = try #require(try bench.store.beginHandover(id: row, transport: .sendmail, at: bench.clock.source()))
        sent.state = .sent
        sent.sentAt = bench.clock.source()
        try bench.store.finishHandover(sent)
        let (maildir, watcher) = try answersWatcher(for: bench.engine)
        defer {
            watcher.stop()
            try? FileManager.default.removeItem(atPath: maildir.root)
        }
        _ = try maildir.deliver(Array(bounceMail(returning: sent.bareMessageID).utf8))
        #expect(watcher.scan().recorded == 1)
        let c = try #require(try bench.store.abuseCase(id: id))
        #expect(c.state == .sent)
        #expect(c.bounces == 1 && c.currentContact == 1)
        // The pass catches up: the report is not counted again.
        try bench.engine.delivered([sent])
        let after = try #require(try bench.store.abuseCase(id: id))
        #expect(after.history.filter { $0.note == "report sent to abuse@net-a.example" }.count == 1)
    }
}

/// A postfix-style DSN: abuse@net-a.example does not exist; the headers of our report
/// (`<bare>`) come back with it.
private func bounceMail(returning bare: String) -> String {
    """
    From: MAILER-DAEMON@mx.net-a.example\r
    To: abuse-reports@op.example\r
    Subject: Undelivered Mail Returned to Sender\r
    Message-ID: <bounce-1@mx.net-a.example>\r
    Auto-Submitted: auto-replied\r
    MIME-Version: 1.0\r
    Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r
    \r
    --B\r
    Content-Type: text/plain\r
    \r
    The mail could not be delivered.\r
    --B\r
    Content-Type: message/delivery-status\r
    \r
    Reporting-MTA: dns; mx.net-a.example\r
    \r
    Original-Recipient: rfc822; abuse@net-a.example\r
    Final-Recipient: rfc822; abuse@net-a.example\r
    Action: failed\r
    Status: 5.1.1\r
    \r
    --B\r
    Content-Type: text/rfc822-headers\r
    \r
    Message-ID: <\(bare)>\r
    Subject: abuse report\r
    --B--\r

    """
}

/// A `MaildirWatcher` over a fresh Maildir whose answers go to `engine`.
private func answersWatcher(for engine: CaseEngine) throws -> (Maildir, MaildirWatcher) {
    let maildir = Maildir(root: NSTemporaryDirectory() + "sipwarden-maildir-\(UUID().uuidString)")
    try maildir.create()
    let store = engine.store
    let watcher = try MaildirWatcher(
        maildir: maildir, handler: MatchingHandler(index: { store }, record: { try engine.record($0, $1) }), logger: Logger(label: "test"))
    return (maildir, watcher)
}

@Suite struct AbuseSettingsTests {
    private func load(_ yaml: String) throws -> Configuration {
        let path = NSTemporaryDirectory() + "sipwarden-abuse-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConfigurationFile.load(path: path, onto: Configuration())
    }

    @Test func absentTheServiceIsOff() throws {
        let c = try load("state: /tmp/x\n")
        #expect(c.abuse == nil)
        // Nothing reads the ban sets' counters then: they are not declared (each costs the kernel call).
        #expect(!c.nftablesConfiguration.elementCounters)
        #expect(try load("abuse: { reporter: a@b.example }\n").nftablesConfiguration.elementCounters)
    }

    @Test func theSectionIsRead() throws {
        let c = try load(
            """
            abuse:
              mode: auto
              reporter: abuse-reports@op.example
              rdap-bootstrap: http://198.19.250.1:8080/rdap
              transport: smtp
              relay: 127.0.0.1:25
              relay-tls: none
              acknowledge-within: 20s
              mitigate-within: 1m
              quiet-time: 15s
              maildir: /var/lib/sipwarden/mail/Maildir
              counter-interval: 2s
            """)
        let a = try #require(c.abuse)
        #expect(a.mode == .auto)
        #expect(a.rdapBootstrap.absoluteString == "http://198.19.250.1:8080/rdap/")
        #expect(a.transport == .smtp && a.relayEndpoint?.port == 25 && a.relayWithoutTLS)
        #expect(a.casePolicy.acknowledgeWithin == .seconds(20) && a.casePolicy.silenceForMitigated == .seconds(15) && !a.casePolicy.review)
        #expect(a.counterInterval == .seconds(2))
    }

    @Test func redactionIsOnByDefaultAndConfigurable() throws {
        let own = [IPNetwork("198.19.0.1/32")!]
        let defaults = try #require(try load("abuse: { reporter: a@b.example }\n").abuse).redact.policy(ownNetworks: own, hostName: "pbx1.op.example")
        #expect(defaults.redactOwnAddresses && defaults.redactHostNames && defaults.redactAccountNames && defaults.redactAccountsTheServerKnows)
        #expect(defaults.ownHostNames == ["pbx1.op.example", "pbx1"])
        #expect(defaults.redact("REGISTER from pbx1.op.example to 198.19.0.1") == "REGISTER from [redacted] to [redacted]")
        let c = try load(
            """
            abuse:
              reporter: a@b.example
              redact: { addresses: false, host-names: false, names: [sip.op.example], accounts: false, account-names: [alice] }
            """)
        let p = try #require(c.abuse).redact.policy(ownNetworks: own, hostName: "pbx1.op.example")
        #expect(!p.redactOwnAddresses && !p.redactHostNames && !p.redactAccountsTheServerKnows)
        #expect(p.ownHostNames == ["sip.op.example"], "this host's name is added only while host names are redacted")
        #expect(p.accountNames == ["alice"])
        #expect(p.redact("pbx1 198.19.0.1 user=\"alice\"") == "pbx1 198.19.0.1 user=\"alice\"", "account-names alone do not turn accounts back on")
    }

    @Test func contactOverridesAreRead() throws {
        let c = try load(
            """
            abuse:
              reporter: a@b.example
              contacts:
                AS64500: abuse-desk@provider.example
                as64501: https://provider.example/report-abuse
                198.51.100.0/24: noc@customer.example
                2001:2:0:9::/64: noc6@customer.example
            """)
        let o = try #require(c.abuse).contactOverrides
        #expect(o.byAS[64500]?.email == "abuse-desk@provider.example")
        #expect(o.byAS[64501]?.webForm?.absoluteString == "https://provider.example/report-abuse" && o.byAS[64501]?.email == nil)
        #expect(o.byPrefix[IPNetwork("198.51.100.0/24")!]?.email == "noc@customer.example")
        #expect(o.byPrefix[IPNetwork("2001:2:0:9::/64")!]?.email == "noc6@customer.example")
    }

    @Test(arguments: [
        ("abuse: { mode: auto }", "reporter"),
        ("abuse: { reporter: 'not an address' }", "reporter"),
        ("abuse: { reporter: a@b.example, transport: smtp }", "relay"),
        ("abuse: { reporter: a@b.example, mode: sometimes }", "expected review or auto"),
        ("abuse: { reporter: a@b.example, quiet-time: soon }", "positive duration"),
        ("abuse: { reporter: a@b.example, colour: blue }", "unknown key"),
        ("abuse: { reporter: a@b.example, credentials-file: /etc/x }", "only with transport smtp"),
        ("abuse: { reporter: a@b.example, cert-directory: /nonexistent/certs.txt }", "cannot read '/nonexistent/certs.txt'"),
        ("abuse: { reporter: a@b.example, redact: { accounts: maybe } }", "abuse.redact.accounts"),
        ("abuse: { reporter: a@b.example, redact: { colour: blue } }", "abuse.redact.colour: unknown key"),
        ("abuse: { reporter: a@b.example, redact: { names: ['a b'] } }", "without spaces"),
        ("abuse: { reporter: a@b.example, contacts: { AS1: 'http://form.example/' } }", "https:// web form"),
        ("abuse: { reporter: a@b.example, contacts: { 198.51.100.7/24: a@b.example } }", "host bits set"),
        ("abuse: { reporter: a@b.example, contacts: { provider-x: a@b.example } }", "expected an AS number"),
    ])
    func mistakesAreNamed(yaml: String, message: String) throws {
        do {
            _ = try load(yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }
}
