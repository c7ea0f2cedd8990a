// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import Abuse

@Suite("Answers to reports: real bounces, auto-replies, a human, an ARF report; acknowledgements with tickets")
struct AnswerClassifierTests {
    static func mail(_ file: String) throws -> MailMessage { MailMessage(parsing: try Corpus.data("mail/\(file)")) }

    @Test(
        "real mail of every kind in ../shared/corpus/mail",
        arguments: [
            ("bounce-dsn-postfix-user-unknown.eml", AnswerKind.bounce), ("bounce-dsn-sendmail.eml", .bounce), ("bounce-dsn-office365.eml", .bounce),
            ("bounce-dsn-amazonses.eml", .bounce), ("bounce-nondsn-exim.eml", .bounce), ("bounce-nondsn-gmail.eml", .bounce),
            ("bounce-nondsn-qmail.eml", .bounce), ("bounce-nondsn-autoreplied-postmaster.eml", .bounce),
            ("autoreply-exchange-automatic-reply.eml", .outOfOffice), ("autoreply-icloud-vacation.eml", .outOfOffice),
            ("autoreply-multipart-precedence-bulk.eml", .outOfOffice), ("autoreply-vacation-plain.eml", .outOfOffice),
            ("human-message-not-automatic.eml", .human), ("arf-feedback-report.eml", .feedbackReport),
        ])
    func corpus(file: String, kind: AnswerKind) throws {
        let c = AnswerClassifier.classify(try Self.mail(file))
        #expect(c.kind == kind, "\(file): \(c.reason)")
    }

    @Test func postfixDSNDetails() throws {
        let c = AnswerClassifier.classify(try Self.mail("bounce-dsn-postfix-user-unknown.eml"))
        #expect(c.deliveryStatus == "5.1.1")
        #expect(c.permanent)
        #expect(c.failedRecipient == "r@p351355.pool.example.ne.jp")
        #expect(c.reason.contains("RFC 3464"))
    }

    @Test func sesStatusWithFreeTextAfterTheCode() throws {
        let c = AnswerClassifier.classify(try Self.mail("bounce-dsn-amazonses.eml"))
        #expect(c.deliveryStatus == "5.0.0")
        #expect(c.permanent)
    }

    @Test func dsnWinsOverAutoSubmitted() throws {
        // Postfix and Office 365 bounces carry Auto-Submitted: auto-replied as well.
        let m = try Self.mail("bounce-dsn-office365.eml")
        #expect(m.header("Auto-Submitted") == "auto-replied")
        #expect(AnswerClassifier.classify(m).kind == .bounce)
    }

    static func message(_ headers: [String], _ body: String) -> MailMessage {
        MailMessage(parsing: Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8))
    }

    /// Acknowledgements in the shapes abuse desks use (written for this test: none is public).
    @Test(
        "automatic acknowledgements give their ticket",
        arguments: [
            (
                [
                    "From: Abuse Desk <abuse@cloud.example>", "Subject: [Ticket#2026120212345] Abuse report: brute force from 198.51.100.7",
                    "Auto-Submitted: auto-replied",
                ],
                "Thank you for your report. It has been received and will be investigated.", "2026120212345"
            ),
            (
                ["From: noreply@hoster.example", "Subject: Re: Abuse report [6f1c2b0e-1b7a-4f47-9a39-2d0e5c1a7b11]", "X-Autoreply: yes"],
                "Dear reporter,\nyour abuse complaint has been registered as Case 01234567.\nPlease do not reply to this message.", "01234567"
            ),
            (
                ["From: abuse@isp.example", "Subject: Incident: INC0012345 created", "Precedence: bulk"],
                "We have received your report regarding 198.51.100.7.", "INC0012345"
            ),
            (
                ["From: abuse@transit.example", "Subject: Your abuse report", "Return-Path: <>"],
                "Your reference: ABUSE-2026-000123\nOur team will review it.", "ABUSE-2026-000123"
            ),
            (
                ["From: support@vps.example", "Subject: [#483920] Abuse report received", "Auto-Submitted: auto-generated"],
                "A ticket was opened.", "483920"
            ),
        ])
    func acknowledgements(headers: [String], body: String, ticket: String) {
        let c = AnswerClassifier.classify(Self.message(headers, body))
        #expect(c.kind == .acknowledgement, "\(c.reason)")
        #expect(c.ticket == ticket)
    }

    @Test func aPersonWhoQuotesTheirTicketIsAPerson() {
        let c = AnswerClassifier.classify(
            Self.message(
                ["From: Jane <jane@cloud.example>", "Subject: Re: [Ticket#2026120212345] Abuse report", "In-Reply-To: <case-1@reports.example>"],
                "Hello, we have suspended the instance. Regards, Jane"))
        #expect(c.kind == .human)
        #expect(c.ticket == "2026120212345")
    }

    @Test func anAutomaticDeskMessageWithoutATicketIsAnAcknowledgement() {
        let c = AnswerClassifier.classify(
            Self.message(
                ["From: abuse@x.example", "Subject: Re: report", "Auto-Submitted: auto-replied"],
                "We have received your abuse report and will investigate."))
        #expect(c.kind == .acknowledgement)
        #expect(c.ticket == nil)
    }

    @Test(
        "dates, times and our own report IDs are not tickets",
        arguments: [
            "Report ID: 6f1c2b0e-1b7a-4f47-9a39-2d0e5c1a7b11", "reported on 2026-12-02 10:00:01", "see the case", "ticket number follows",
        ])
    func notTickets(text: String) {
        #expect(TicketID.find(in: text) == nil)
    }

    @Test func headersUnfoldAndEncodedWordsDecode() {
        let m = Self.message(
            ["Subject: =?UTF-8?B?44Gr44KD44KT44GT?= =?UTF-8?Q?_and_more?=", "References: <a@x>", " <b@y>", "In-Reply-To: <c@z>"], "")
        #expect(m.subject == "にゃんこ and more")
        #expect(Set(m.referencedMessageIDs) == ["a@x", "b@y", "c@z"])
    }

    @Test(
        "hostile mail never traps",
        arguments: [
            "", "\r\n\r\n", "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
            "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n--b--",
            "Subject: =?utf-8?B?!!!?= =?x?Q?=ZZ?=\r\n\r\n=", "Content-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=4", ":\r\n :\r\n\r\n",
            String(repeating: "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n", count: 20),
        ])
    func hostile(text: String) {
        let m = MailMessage(parsing: Array(text.utf8))
        _ = AnswerClassifier.classify(m)
        _ = m.text
        #expect(m.allParts.count <= 1 + 64 * 5)
    }
}
