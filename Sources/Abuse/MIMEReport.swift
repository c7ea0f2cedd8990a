// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import WardenCore

/// The report as one Internet message: `multipart/report` (RFC 6522) with the text for a
/// person first, the XARF v4 JSON second (the machine-readable part), then the evidence as
/// attachments. One case per message; its Message-ID carries the case ID, so an answer's
/// `In-Reply-To`/`References` leads back to the case. Lines end in CRLF; attachments are
/// base64 in 76-character lines; attacker-written text never reaches a header.
public enum MIMEReport {
    /// A message ready for `sendmail -i -t` or SMTP `DATA` (before dot-stuffing).
    public struct Message: Sendable, Hashable {
        public var messageID: String
        public var recipients: [String]
        public var bytes: [UInt8]
    }

    /// The Message-ID of report number `sequence` of case `caseID` (a resend after a
    /// crash reuses it: receivers and our outbox see the same message).
    public static func messageID(caseID: UUID, sequence: Int, domain: String) -> String {
        "<sipwarden.\(caseID.uuidString.lowercased()).\(sequence)@\(domain)>"
    }

    /// The case a Message-ID of ours names (nil for any other).
    public static func caseID(fromMessageID id: String) -> UUID? {
        let bare = id.trimmingCharacters(in: CharacterSet(charactersIn: "<> "))
        guard bare.hasPrefix("sipwarden.") else { return nil }
        let rest = bare.dropFirst("sipwarden.".count)
        return UUID(uuidString: String(rest.prefix(36)))
    }

    /// Builds the message. `incident` must already be redacted; `date` is the Date header.
    public static func build(
        _ incident: AbuseIncident, to recipients: [String], reporter: Reporter, sequence: Int, date: Timestamp, xarf: Data
    ) -> Message {
        let id = messageID(caseID: incident.caseID, sequence: sequence, domain: reporter.domain)
        let boundary = "sipwarden-\(incident.caseID.uuidString.lowercased())-\(sequence)"
        var out = ""
        func header(_ name: String, _ value: String) { out += "\(name): \(value)\r\n" }
        header("From", "\(encodedPhrase(reporter.organisation)) <\(reporter.contact)>")
        header("To", recipients.joined(separator: ", "))
        header("Subject", encodedPhrase(AbuseReportText.subject(incident)))
        header("Date", rfc5322Date(date))
        header("Message-ID", id)
        header("MIME-Version", "1.0")
        header("Auto-Submitted", "auto-generated")
        header("X-XARF", "PLAIN")
        header("Content-Type", "multipart/report; report-type=\"xarf\"; boundary=\"\(boundary)\"")
        out += "\r\nThis is an abuse report in MIME format (RFC 6522): a text part, an XARF v4 part, evidence.\r\n"
        func part(_ headers: [(String, String)], _ body: String) {
            out += "\r\n--\(boundary)\r\n"
            for (n, v) in headers { out += "\(n): \(v)\r\n" }
            out += "\r\n" + body
        }
        let text = AbuseReportText.body(incident, reporter: reporter)
        part([("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "base64")], base64Lines(Array(text.utf8)))
        part(
            [
                ("Content-Type", "application/json; name=\"xarf-report.json\""), ("Content-Disposition", "attachment; filename=\"xarf-report.json\""),
                ("Content-Transfer-Encoding", "base64"),
            ], base64Lines(Array(xarf)))
        for (i, item) in incident.evidence.enumerated() {
            let type =
                item.contentType.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/.+-".contains($0)) }
                ? item.contentType : "application/octet-stream"
            let name = "evidence-\(i + 1)\(type == "application/vnd.tcpdump.pcap" ? ".pcap" : type.hasPrefix("text/") ? ".txt" : ".bin")"
            part(
                [
                    ("Content-Type", "\(type); name=\"\(name)\""), ("Content-Disposition", "attachment; filename=\"\(name)\""),
                    ("Content-Description", encodedPhrase(item.description)), ("Content-Transfer-Encoding", "base64"),
                ], base64Lines(item.bytes))
        }
        out += "\r\n--\(boundary)--\r\n"
        return Message(messageID: id, recipients: recipients, bytes: Array(out.utf8))
    }

    /// `bytes` in base64, 76 characters a line, CRLF after each.
    static func base64Lines(_ bytes: [UInt8]) -> String {
        let encoded = Data(bytes).base64EncodedString()
        var out = ""
        var i = encoded.startIndex
        while i < encoded.endIndex {
            let j = encoded.index(i, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            out += encoded[i..<j] + "\r\n"
            i = j
        }
        return out
    }

    /// A header phrase: printable ASCII as is, anything else (or any control character)
    /// as an RFC 2047 UTF-8 encoded word, so no text can break out of its header.
    static func encodedPhrase(_ text: String) -> String {
        let clean = AbuseReportText.printable(text, limit: 300)
        if clean.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) { return clean }
        return "=?utf-8?B?\(Data(clean.utf8).base64EncodedString())?="
    }

    /// RFC 5322 date in UTC: `Wed, 02 Dec 2026 23:41:52 +0000`.
    static func rfc5322Date(_ t: Timestamp) -> String {
        let days = t.seconds >= 0 ? t.seconds / 86_400 : (t.seconds - 86_399) / 86_400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let iso = t.rfc3339 // yyyy-mm-ddThh:mm:ssZ
        let parts = iso.split(separator: "T")
        let ymd = parts[0].split(separator: "-")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = months[(Int(ymd[1]) ?? 1) - 1]
        return "\(weekday), \(ymd[2]) \(month) \(ymd[0]) \(parts[1].dropLast()) +0000"
    }
}
