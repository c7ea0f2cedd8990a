// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing

@testable import Abuse

@Suite("Answers matched to their case: thread, returned message, ticket, addresses; ambiguity is never a guess")
struct AnswerMatcherTests {
    static func mail(_ file: String) throws -> MailMessage { MailMessage(parsing: try Corpus.data("mail/\(file)")) }

    static func message(_ headers: [String], _ body: String) -> MailMessage {
        MailMessage(parsing: Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8))
    }

    static func id(_ n: Int) -> UUID {
        UUID(uuidString: "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - String(n).count) + String(n))!
    }

    /// Every file of ../shared/corpus/mail: its kind, and the Message-ID of the message it
    /// answers or returns where the file carries one (nil: it names no message of ours).
    /// The index below says each of those messages was a report of its own case.
    static let corpus: [(file: String, kind: AnswerKind, original: String?)] = [
        ("arf-feedback-report.eml", .feedbackReport, nil),
        ("autoreply-exchange-automatic-reply.eml", .outOfOffice, nil),
        ("autoreply-icloud-vacation.eml", .outOfOffice, "25203A4E-F90F-4A14-BF51-3E7B9D39BE8E@libsisimai.org"),
        ("autoreply-multipart-precedence-bulk.eml", .outOfOffice, nil),
        ("autoreply-vacation-plain.eml", .outOfOffice, nil),
        ("bounce-dsn-amazonses.eml", .bounce, "000001321defbd2a-788e31c8-2be1-422f-a8d4-cf7765cc9ed7-000000@email.amazonses.com"),
        ("bounce-dsn-office365.eml", .bounce, "FFFFFFFF.EEEEEEEE@example.ed.jp"),
        // Its message/rfc822 part is empty in this capture: nothing names our message.
        ("bounce-dsn-postfix-user-unknown.eml", .bounce, nil),
        ("bounce-dsn-sendmail.eml", .bounce, "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org"),
        ("bounce-nondsn-autoreplied-postmaster.eml", .bounce, "68e0b7e3615cd_1dc7010592ed@7cf4d87f87-9r5w2.mail"),
        ("bounce-nondsn-exim.eml", .bounce, "E1P1ce6-000Egt-GZ@e1.example.org"),
        ("bounce-nondsn-gmail.eml", .bounce, "D992C2C3-F175-4C4D-97E2-53A90E4E5BF5@gmail.com"),
        ("bounce-nondsn-qmail.eml", .bounce, "000000000.9999999999999.JavaMail.postmaster@mailhub"),
        ("human-message-not-automatic.eml", .human, nil),
    ]

    /// What we "sent": each original above for case N (its row), plus decoys — the answers'
    /// own Message-IDs and an open case whose source appears in a returned message's
    /// Received lines — that must never be matched.
    static let corpusIndex: InMemoryAnswerIndex = {
        var index = InMemoryAnswerIndex()
        for (n, row) in corpus.enumerated() { if let o = row.original { index.sent(o, for: id(n)) } }
        index.sent("<047d7bdca0c250c6c004fe72bd32@google.com>", for: id(900)) // the Gmail bounce's own ID
        index.sent("<E1P1ceB-000FL1-4q@e1.example.org>", for: id(901)) // the Exim bounce's own ID
        index.open(id(902), sources: [IPAddress("192.0.2.135")!]) // in the Gmail bounce's returned Received
        return index
    }()

    @Test("every file of the real mail corpus: classified, and matched only to the report it names")
    func corpusMatches() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Corpus.root.appending(path: "mail").path).filter { $0.hasSuffix(".eml") }
        #expect(Set(files) == Set(Self.corpus.map(\.file)), "a corpus file without an expectation, or the reverse")
        for (n, row) in Self.corpus.enumerated() {
            let m = AnswerMatcher.match(try Self.mail(row.file), index: Self.corpusIndex)
            #expect(m.classification.kind == row.kind, "\(row.file): \(m.classification.reason)")
            if let original = row.original {
                #expect(m.caseID == Self.id(n), "\(row.file): \(m.match)")
                let how: AnswerMatch = row.kind == .bounce ? .returnedMessage(original) : .reference(original)
                #expect(m.match == how, "\(row.file)")
            } else {
                #expect(m.caseID == nil, "\(row.file): \(m.match)")
                #expect(m.match == .unmatched, "\(row.file)")
            }
        }
    }

    @Test func bouncesNameTheirFailedRecipients() throws {
        let postfix = AnswerMatcher.match(try Self.mail("bounce-dsn-postfix-user-unknown.eml"), index: InMemoryAnswerIndex())
        // The address we wrote to (Original-Recipient) and where it expanded to.
        #expect(postfix.failedRecipients == ["kijitora@example.org", "r@p351355.pool.example.ne.jp"])
        let exim = AnswerMatcher.match(try Self.mail("bounce-nondsn-exim.eml"), index: InMemoryAnswerIndex())
        #expect(exim.failedRecipients == ["kijitora@example.ed.jp"])
        #expect(exim.classification.failedRecipient == "kijitora@example.ed.jp")
        let human = AnswerMatcher.match(try Self.mail("human-message-not-automatic.eml"), index: InMemoryAnswerIndex())
        #expect(human.failedRecipients.isEmpty)
    }

    // MARK: Matching order

    static let caseA = id(1)
    static let caseB = id(2)
    static let caseC = id(3)
    static let orderIndex: InMemoryAnswerIndex = {
        var index = InMemoryAnswerIndex()
        index.sent("<sipwarden.\(caseA.uuidString.lowercased()).1@reports.example>", for: caseA)
        index.ticket("abuse #48213", for: caseB)
        index.open(caseC, sources: [IPAddress("198.51.100.7")!])
        return index
    }()

    @Test func theThreadComesFirst() {
        let m = AnswerMatcher.match(
            Self.message(
                [
                    "From: abuse@cloud.example", "Subject: Re: [abuse #48213] brute force from 198.51.100.7",
                    "In-Reply-To: <sipwarden.\(Self.caseA.uuidString.lowercased()).1@reports.example>", "Message-ID: <r1@cloud.example>",
                ], "We are looking into 198.51.100.7."), index: Self.orderIndex)
        #expect(m.caseID == Self.caseA)
        #expect(m.match == .reference("sipwarden.\(Self.caseA.uuidString.lowercased()).1@reports.example"))
        #expect(m.messageID == "r1@cloud.example")
    }

    @Test func thenATicketTheCaseHas() {
        let m = AnswerMatcher.match(
            Self.message(
                ["From: abuse@cloud.example", "Subject: Re: [abuse #48213] brute force from 198.51.100.7", "In-Reply-To: <unknown@elsewhere>"],
                "We are looking into 198.51.100.7."), index: Self.orderIndex)
        #expect(m.caseID == Self.caseB)
        #expect(m.match == .ticket("abuse #48213"))
    }

    @Test func thenTheAddressesNamed() {
        let m = AnswerMatcher.match(
            Self.message(["From: noc@cloud.example", "Subject: your complaint"], "The instance at 198.51.100.7:5060 was stopped."),
            index: Self.orderIndex)
        #expect(m.caseID == Self.caseC)
        #expect(m.match == .address(IPAddress("198.51.100.7")!))
        #expect(m.classification.kind == .human)
    }

    @Test func aLaterReferenceInReferencesCounts() {
        let m = AnswerMatcher.match(
            Self.message(
                ["From: a@b.example", "References: <sipwarden.\(Self.caseA.uuidString.lowercased()).1@reports.example> <their-ack@b.example>"],
                "ok"), index: Self.orderIndex)
        #expect(m.caseID == Self.caseA)
    }

    // MARK: Ambiguity

    @Test func anAddressOfTwoOpenCasesIsUnmatched() {
        var index = InMemoryAnswerIndex()
        index.open(Self.caseA, sources: [IPAddress("2001:db8::7")!])
        index.open(Self.caseB, sources: [IPAddress("2001:db8::7")!])
        let m = AnswerMatcher.match(Self.message(["From: noc@x.example"], "About [2001:db8::7]: done."), index: index)
        #expect(m.caseID == nil)
        #expect(m.match == .ambiguous(by: "address", cases: [Self.caseA, Self.caseB].sorted { $0.uuidString < $1.uuidString }))
    }

    @Test func addressesOfTwoDifferentCasesAreUnmatched() {
        var index = InMemoryAnswerIndex()
        index.open(Self.caseA, sources: [IPAddress("198.51.100.7")!])
        index.open(Self.caseB, sources: [IPAddress("203.0.113.9")!])
        let m = AnswerMatcher.match(Self.message(["From: noc@x.example"], "198.51.100.7 and 203.0.113.9 were stopped."), index: index)
        #expect(m.caseID == nil)
        if case .ambiguous(by: "address", let cases) = m.match { #expect(cases.count == 2) } else { Issue.record("\(m.match)") }
    }

    @Test func aTicketOfTwoCasesIsUnmatchedEvenWithAnAddress() {
        var index = InMemoryAnswerIndex()
        index.ticket("48213", for: Self.caseA)
        index.ticket("48213", for: Self.caseB)
        index.open(Self.caseA, sources: [IPAddress("198.51.100.7")!])
        let m = AnswerMatcher.match(Self.message(["From: noc@x.example", "Subject: Ticket 48213"], "198.51.100.7"), index: index)
        #expect(m.caseID == nil)
        if case .ambiguous(by: "ticket", _) = m.match {} else { Issue.record("\(m.match)") }
    }

    @Test func onlyOpenCasesAreMatchedByAddress() {
        // The index holds the sources of open cases only: a closed case's address is no match.
        var index = InMemoryAnswerIndex()
        index.open(Self.caseA, sources: [IPAddress("198.51.100.8")!])
        let m = AnswerMatcher.match(Self.message(["From: noc@x.example"], "198.51.100.7 was stopped."), index: index)
        #expect(m.match == .unmatched)
        #expect(m.caseID == nil)
    }

    // MARK: Bounces (RFC 3464) by the returned message

    @Test func aDSNWithReturnedHeadersIsMatchedByTheOriginalMessageID() {
        let ours = "sipwarden.\(Self.caseB.uuidString.lowercased()).2@reports.example"
        var index = InMemoryAnswerIndex()
        index.sent("<\(ours)>", for: Self.caseB)
        let dsn = """
            From: MAILER-DAEMON@mx.reports.example
            To: abuse-replies@reports.example
            Subject: Undelivered Mail Returned to Sender
            Message-ID: <dsn-1@mx.reports.example>
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

            --b1
            Content-Type: text/plain

            Your message could not be delivered.

            --b1
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.reports.example

            Original-Recipient: rfc822;abuse@cloud.example
            Final-Recipient: rfc822;abuse@cloud.example
            Action: failed
            Status: 5.1.1
            Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable

            --b1
            Content-Type: text/rfc822-headers

            From: Reports <reports@reports.example>
            To: abuse@cloud.example
            Subject: Abuse report: SIP brute force from 198.51.100.7
            Message-ID: <\(ours)>

            --b1--

            """
        let m = AnswerMatcher.match(MailMessage(parsing: Array(dsn.utf8)), index: index)
        #expect(m.classification.kind == .bounce)
        #expect(m.classification.permanent)
        #expect(m.classification.deliveryStatus == "5.1.1")
        #expect(m.caseID == Self.caseB)
        #expect(m.match == .returnedMessage(ours))
        #expect(m.failedRecipients == ["abuse@cloud.example"])
    }

    @Test func aPersonQuotingAMessageIDLineIsNotMatchedByIt() {
        // Only bounces and feedback reports are matched by the message they return.
        var index = InMemoryAnswerIndex()
        index.sent("<x1@reports.example>", for: Self.caseA)
        let m = AnswerMatcher.match(Self.message(["From: jane@cloud.example"], "Hello,\n> Message-ID: <x1@reports.example>\n"), index: index)
        #expect(m.classification.kind == .human)
        #expect(m.caseID == nil)
    }

    // MARK: Acknowledgements with tickets (written for these tests: none is public)

    @Test(
        "acknowledgements in the shapes abuse desks use give their ticket",
        arguments: [
            (
                ["From: Abuse Team <abuse@hoster.example>", "Subject: [Ticket#2026120312345] Your abuse report", "Auto-Submitted: auto-replied"],
                "Thank you. Your report was received and a ticket was created.", "2026120312345"
            ),
            (
                ["From: no-reply@cloud.example", "Subject: We received your report", "X-Auto-Response-Suppress: All"],
                "Hello,\n\nCase ID: ABC-123456\nStatus: open\nWe investigate every report.", "ABC-123456"
            ),
            (
                ["From: abuse@transit.example", "Subject: [abuse #12345] AutoReply: Abuse report: SIP brute force", "Precedence: bulk"],
                "Greetings,\nThis message has been automatically generated in response to your abuse report.", "abuse #12345"
            ),
            (
                ["From: abuse-desk@isp.example", "Subject: Re: Abuse report", "Auto-Submitted: auto-generated"],
                "Your report concerning 198.51.100.7 has been assigned ticket number 7781234. Please keep it in the subject.",
                "7781234"
            ),
        ])
    func acknowledgements(headers: [String], body: String, ticket: String) {
        let m = AnswerMatcher.match(Self.message(headers, body), index: InMemoryAnswerIndex())
        #expect(m.classification.kind == .acknowledgement, "\(m.classification.reason)")
        #expect(m.classification.ticket == ticket)
    }

    @Test func anAcknowledgementThenAReplyByItsTicket() throws {
        var index = Self.orderIndex
        let ack = AnswerMatcher.match(
            Self.message(
                [
                    "From: abuse@cloud.example", "Subject: [Ticket#2026120398765] Abuse report received", "Auto-Submitted: auto-replied",
                    "In-Reply-To: <sipwarden.\(Self.caseA.uuidString.lowercased()).1@reports.example>",
                ], "Your report has been received."), index: index)
        #expect(ack.caseID == Self.caseA)
        #expect(ack.classification.kind == .acknowledgement)
        let ticket = try #require(ack.classification.ticket)
        index.ticket(ticket, for: Self.caseA)
        let reply = AnswerMatcher.match(
            Self.message(["From: jane@cloud.example", "Subject: [Ticket#2026120398765] update"], "The customer's VM was suspended."), index: index)
        #expect(reply.caseID == Self.caseA)
        #expect(reply.match == .ticket("2026120398765"))
        #expect(reply.classification.kind == .human)
    }

    @Test("addresses are not tickets", arguments: ["Report 198.51.100.7 received", "ref 203.0.113.9"])
    func addressesAreNotTickets(text: String) {
        #expect(TicketID.find(in: text) == nil)
    }

    // MARK: Addresses in text

    @Test func addressesInText() {
        let text = "from 198.51.100.7:5060, [2001:db8::7] and 2001:db8::8. Not 1.2.3, 10:00:01, 999.1.1.1 or cafe; again 198.51.100.7."
        #expect(AnswerMatcher.addresses(in: text) == ["198.51.100.7", "2001:db8::7", "2001:db8::8"].map { IPAddress($0)! })
        let many = (0..<200).map { "198.51.100.\($0 % 250)" }.joined(separator: " ")
        #expect(AnswerMatcher.addresses(in: many).count == AnswerMatcher.maxLookups)
    }

    // MARK: The intake gate

    @Test func intakeAcceptsEveryCorpusMessage() throws {
        for row in Self.corpus {
            let bytes = [UInt8](try Corpus.data("mail/\(row.file)"))
            if case .failure(let why) = MailIntake.read(bytes) { Issue.record("\(row.file): \(why)") }
        }
    }

    @Test(
        "intake refuses what is not mail",
        arguments: [
            ([UInt8](), MailRejection.empty),
            (Array("From: a@b\r\nSubj\u{0}ect: x\r\n\r\nbody".utf8), .nulInHeader),
            (Array("just some text\nwithout fields\n".utf8), .noHeaderFields),
            (Array("Subject: hello\n\nbody".utf8), .noOriginator),
            (
                Array(("From: a@b\n" + String(repeating: "X-Pad: " + String(repeating: "a", count: 990) + "\n", count: 300)).utf8),
                .headerTooLarge(limit: MailIntake.maxHeaderBytes)
            ),
        ])
    func intakeRefuses(bytes: [UInt8], why: MailRejection) {
        #expect(throws: why) { try MailIntake.read(bytes).get() }
    }

    @Test func nestedMultipartsCannotMultiply() {
        // 64 multiparts of 64 multiparts of 64 empty parts: 266 304 parts without a total bound.
        func level(_ depth: Int) -> String {
            let b = "b\(depth)"
            let inner = depth == 2 ? "" : level(depth + 1)
            return "Content-Type: multipart/mixed; boundary=\(b)\n\n" + String(repeating: "--\(b)\n" + inner + "\n", count: 64) + "--\(b)--\n"
        }
        let text = "From: a@b.example\n" + level(0)
        #expect(text.utf8.count < MailMessage.maxBytes)
        let m = MailMessage(parsing: Array(text.utf8))
        #expect(m.allParts.count <= 1 + MailMessage.maxTotalParts)
        #expect(m.allParts.count > 64 * 4, "the budget is spent on the first parts, depth first")
        _ = AnswerMatcher.match(m, index: InMemoryAnswerIndex())
    }

    @Test func aNULInTheBodyIsAccepted() {
        if case .failure(let why) = MailIntake.read(Array("From: a@b\n\nbin\u{0}ary".utf8)) { Issue.record("\(why)") }
    }
}
