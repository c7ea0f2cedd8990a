// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation

/// What a mail answering a report is.
public enum AnswerKind: String, Sendable, Hashable, Codable {
    /// The contact is unreachable (RFC 3464 delivery status or an MTA's own bounce text):
    /// try the next contact.
    case bounce
    /// An abuse desk's automatic acknowledgement (usually with a ticket ID).
    case acknowledgement
    /// A vacation or out-of-office notice: no one has read the report.
    case outOfOffice = "out-of-office"
    /// A feedback report (RFC 5965 ARF) — someone's complaint, not an answer to ours.
    case feedbackReport = "feedback-report"
    /// A person wrote.
    case human
}

/// The classification of one answer, with what was taken out of it.
public struct AnswerClassification: Sendable, Hashable {
    public var kind: AnswerKind
    /// The abuse desk's ticket ID, where one was found.
    public var ticket: String?
    /// For a bounce: the DSN's status code (`5.1.1`) and whether it is permanent.
    public var deliveryStatus: String?
    public var permanent: Bool
    /// For a bounce: the recipient that failed, where the DSN names it.
    public var failedRecipient: String?
    /// Why it was classified so (the rule that decided), for the case's history.
    public var reason: String
}

/// Classifies answers to abuse reports. Pure.
///
/// Order matters, because the signals overlap in real mail: a delivery status
/// notification is a bounce even when it also carries `Auto-Submitted: auto-replied`
/// (Postfix, Office 365 do); an MTA's non-DSN bounce (Exim, qmail, Gmail) is recognised by
/// its sender and subject before the auto-reply headers are looked at; only then is an
/// automatic message an acknowledgement (with a ticket) or an out-of-office notice
/// (vacation words, or no ticket and no desk wording); everything else a person wrote.
public enum AnswerClassifier {
    public static func classify(_ mail: MailMessage) -> AnswerClassification {
        let subject = mail.subject
        let from = (mail.header("From") ?? "").lowercased()
        let returnPath = (mail.header("Return-Path") ?? "").trimmingCharacters(in: .whitespaces)
        let parts = mail.allParts

        // 1. RFC 3464 delivery status (declared, or a delivery-status part anywhere).
        let declaredDSN = mail.contentType == "multipart/report" && mail.contentTypeParameter("report-type")?.lowercased() == "delivery-status"
        if let status = parts.first(where: { $0.contentType == "message/delivery-status" }) {
            return bounce(fromDSN: status, reason: "delivery status notification (RFC 3464)", mail: mail)
        }
        if declaredDSN {
            return bounce(text: mail.text, reason: "declared a delivery status report (no status part)", mail: mail)
        }
        // 2. RFC 5965 feedback report.
        if mail.contentType == "multipart/report", mail.contentTypeParameter("report-type")?.lowercased() == "feedback-report" {
            return AnswerClassification(
                kind: .feedbackReport, ticket: nil, deliveryStatus: nil, permanent: false, failedRecipient: nil, reason: "feedback report (RFC 5965)")
        }
        // 3. An MTA's own bounce without a DSN.
        let daemon = ["mailer-daemon@", "postmaster@", "mail delivery", "mailer daemon"].contains { from.contains($0) }
        let bounceSubject = Self.matches(
            subject.lowercased(),
            [
                "undeliver", "delivery failed", "delivery status notification", "failure notice",
                "returned mail", "returned to sender", "delivery failure", "bounce", "non remis",
                "unzustellbar", "could not be delivered",
            ])
        if daemon && (bounceSubject || returnPath == "<>") || (returnPath == "<>" && bounceSubject) {
            return bounce(
                text: mail.text, reason: "bounce from \(daemon ? "a mail system" : "the null sender") without a delivery status part", mail: mail)
        }
        // 4. Automatic messages.
        let text = subject + "\n" + mail.text
        let ticket = TicketID.find(in: text)
        let autoSubmitted = (mail.header("Auto-Submitted") ?? "no").lowercased()
        let automatic =
            !autoSubmitted.hasPrefix("no") || mail.header("X-Autoreply") != nil || mail.header("X-Autorespond") != nil
            || mail.header("X-Auto-Response-Suppress") != nil
            || ["bulk", "junk", "auto_reply", "list"].contains((mail.header("Precedence") ?? "").lowercased().trimmingCharacters(in: .whitespaces))
            || returnPath == "<>"
            || Self.matches(
                subject.lowercased(),
                [
                    "automatic reply", "auto reply", "auto-reply", "autoreply", "autorespon", "out of office",
                    "out of the office", "abwesenheit", "vacation", "away until", "away from",
                ])
        let vacation = Self.matches(
            text.lowercased(),
            [
                "out of office", "out of the office", "on vacation", "on holiday", "away until",
                "away from", "on leave", "abwesend", "abwesenheit", "absent until", "back on", "return on",
                "returning on", "limited access to", "annual leave", "away:",
            ])
        if automatic {
            if let ticket {
                return AnswerClassification(
                    kind: .acknowledgement, ticket: ticket, deliveryStatus: nil, permanent: false, failedRecipient: nil,
                    reason: "automatic message with ticket \(ticket)")
            }
            if vacation {
                return AnswerClassification(
                    kind: .outOfOffice, ticket: nil, deliveryStatus: nil, permanent: false, failedRecipient: nil,
                    reason: "automatic message with vacation wording")
            }
            let desk = Self.matches(
                text.lowercased(),
                [
                    "abuse", "received your", "has been received", "we have received", "thank you for your report",
                    "will be investigated", "will investigate", "case", "ticket",
                ])
            return AnswerClassification(
                kind: desk ? .acknowledgement : .outOfOffice, ticket: nil, deliveryStatus: nil, permanent: false, failedRecipient: nil,
                reason: desk ? "automatic message with an abuse desk's wording" : "automatic message without a ticket")
        }
        // 5. A vacation notice without any automatic marker (some Exchange setups).
        if vacation, Self.matches(subject.lowercased(), ["automatic", "auto", "away", "out of office", "abwesen"]) {
            return AnswerClassification(
                kind: .outOfOffice, ticket: nil, deliveryStatus: nil, permanent: false, failedRecipient: nil,
                reason: "vacation wording in subject and body")
        }
        return AnswerClassification(
            kind: .human, ticket: ticket, deliveryStatus: nil, permanent: false, failedRecipient: nil,
            reason: "no automatic marker")
    }

    static func bounce(fromDSN part: MailMessage, reason: String, mail: MailMessage) -> AnswerClassification {
        // The delivery-status body: per-message fields, then per-recipient blocks.
        let fields = part.parts.first.map { [$0] } ?? []
        let blocks = fields + Self.recipientBlocks(part.parts.first?.body ?? part.body)
        let status = blocks.lazy.compactMap { $0.header("Status") }.first.map { String($0.prefix(while: { !$0.isWhitespace && $0 != "(" })) }
        let action = blocks.lazy.compactMap { $0.header("Action") }.first?.lowercased()
        let recipient = blocks.lazy.compactMap { $0.header("Final-Recipient") ?? $0.header("Original-Recipient") }.first
            .map { $0.split(separator: ";", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? $0 }
        let permanent = status.map { $0.hasPrefix("5") } ?? (action == "failed")
        return AnswerClassification(
            kind: .bounce, ticket: nil, deliveryStatus: status, permanent: permanent || action == "failed",
            failedRecipient: recipient, reason: reason)
    }

    static func bounce(text: String, reason: String, mail: MailMessage) -> AnswerClassification {
        // An enhanced status code in the text (5.1.1) or an SMTP reply code (550).
        let status = firstMatch(in: text, pattern: #"\b[245]\.[0-9]{1,3}\.[0-9]{1,3}\b"#)
        let smtp = firstMatch(in: text, pattern: #"\b5[0-9]{2}\b"#)
        let temporary = status?.hasPrefix("4") == true
        return AnswerClassification(
            kind: .bounce, ticket: nil, deliveryStatus: status ?? smtp, permanent: !temporary,
            // Exim and Gmail name the failed recipient in a header of their own.
            failedRecipient: mail.header("X-Failed-Recipients").flatMap { $0.split(separator: ",").first }.map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: " \t<>"))
            }, reason: reason)
    }

    /// The per-recipient field blocks of a delivery-status body (blank-line separated).
    static func recipientBlocks(_ body: [UInt8]) -> [MailMessage] {
        let text = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        return text.components(separatedBy: "\n\n").prefix(32).map { MailMessage(parsing: Array($0.utf8)) }
    }

    static func matches(_ text: String, _ needles: [String]) -> Bool { needles.contains { text.contains($0) } }

    static func firstMatch(in text: String, pattern: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        let range = NSRange(text.startIndex..., in: text)
        return regex.firstMatch(in: text, range: range).flatMap { Range($0.range, in: text) }.map { String(text[$0]) }
    }
}

/// Ticket IDs as abuse desks write them: `[Ticket#2026120212345]`, `Case 01234567`,
/// `Case ID: ABC-123456`, `Incident: INC0012345`, `Your reference: ABUSE-2026-000123`,
/// `[#123456]`, `SR 1-234567`, Request Tracker's subject tag `[abuse #12345]` (kept whole,
/// queue name and number), "has been assigned ticket number 7781234".
public enum TicketID {
    static let patterns: [String] = [
        // A label, optional "id/number/no/#", a separator, then an ID with a digit.
        #"(?i)\b(?:ticket|case|incident|reference|ref|tracking|request|complaint|abuse report|report|sr)\s*(?:id|number|no\.?|nr\.?|#)?\s*[:#]?\s*\[?#?([A-Z0-9][A-Z0-9._-]{2,40})"#,
        #"\[#?([A-Z]{0,12}[#-]?[0-9]{4,20})\]"#,
        #"\b(INC[0-9]{6,12})\b"#,
        // Request Tracker and OTRS-style subject tags: `[abuse #12345]`, `[rt.example.net #12345]`.
        #"\[([A-Za-z][A-Za-z0-9._-]{0,40} #[0-9]{3,20})\]"#,
    ]

    /// The first ticket ID in `text` that contains a digit (a word like "number" is none).
    public static func find(in text: String) -> String? { all(in: text).first }

    /// Every ticket ID candidate in `text`, in the order written, each once (at most 64;
    /// only the first 64 KiB of text are searched).
    public static func all(in text: String) -> [String] {
        let text = text.utf8.count > 65_536 ? String(decoding: text.utf8.prefix(65_536), as: UTF8.self) : text
        let range = NSRange(text.startIndex..., in: text)
        var found: [(location: Int, id: String)] = []
        for regex in compiled {
            for match in regex.matches(in: text, range: range).prefix(64) where match.numberOfRanges > 1 {
                guard let r = Range(match.range(at: 1), in: text) else { continue }
                var id = String(text[r])
                while let last = id.last, ".-_".contains(last) { id.removeLast() }
                guard id.contains(where: \.isNumber), id.count >= 3, !Self.isDateOrUUIDPiece(id) else { continue }
                found.append((match.range.location, id))
            }
        }
        var seen = Set<String>()
        return found.sorted { $0.location < $1.location }.map(\.id).filter { seen.insert($0).inserted }.prefix(64).map { $0 }
    }

    static let compiled: [NSRegularExpression] = patterns.compactMap { try? NSRegularExpression(pattern: $0) }

    /// Parts of dates, times or our own report IDs are not tickets.
    static func isDateOrUUIDPiece(_ id: String) -> Bool {
        // An address ("Report 198.51.100.7 received") is what was reported, not a ticket.
        id.range(of: #"^[0-9]{1,3}(\.[0-9]{1,3}){3}$"#, options: .regularExpression) != nil
            || id.range(of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}"#, options: .regularExpression) != nil
            || id.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-"#, options: [.regularExpression, .caseInsensitive]) != nil
    }
}
