// SPDX-License-Identifier: GPL-2.0-or-later

import Crypto
import Foundation
public import WardenCore

/// The evidence pack of a case for law enforcement: everything a police or CERT online
/// crime-report form asks for, as files (pure: the shell writes them under
/// `STATE/cases/ID/evidence-pack/`).
///
/// - `README.txt` — the summary in the order such forms ask: what happened (the offence in
///   words: unauthorised access attempts to a telephone system), when (first and last seen,
///   UTC), from where (source addresses, ports, networks, AS, country), against what (the
///   targeted service; the operator's own address only when not redacted), the harm or
///   risk, what was done (blocked, reported to whom and when, what they answered), and the
///   list of attached files with their SHA-256;
/// - `timeline.txt` — every step of the case in time order (history, messages in and out);
/// - `incidents/N-ADDRESS.txt` and `.json` — each source's incident: the text report and
///   the XARF document as sent;
/// - `messages/N-out.eml`, `messages/N-in.eml` — every message exactly as sent or received;
/// - `evidence/N-ADDRESS-K.EXT` — the evidence items (log lines; captures where kept);
/// - `SHA256SUMS` — `sha256sum -c` compatible, over every other file.
///
/// File names are built from sanitised parts only (never from a header or an attacker's
/// text), so nothing can escape the pack's folder.
public enum EvidencePack {
    /// A message of the case, as sent or received.
    public struct Message: Sendable, Hashable {
        public enum Direction: String, Sendable, Hashable {
            case outgoing = "out"
            case incoming = "in"
        }
        public var direction: Direction
        public var time: Timestamp
        /// The counterpart: the recipient of an outgoing message, the sender of an answer.
        public var counterpart: String
        public var subject: String
        /// The classification of an answer (`acknowledgement`, `bounce`, …), if any.
        public var classification: String?
        public var raw: [UInt8]

        public init(direction: Direction, time: Timestamp, counterpart: String, subject: String, classification: String? = nil, raw: [UInt8]) {
            self.direction = direction
            self.time = time
            self.counterpart = counterpart
            self.subject = subject
            self.classification = classification
            self.raw = raw
        }
    }

    /// One file of the pack: a path relative to the pack's folder and its bytes.
    public struct File: Sendable, Hashable {
        public var path: String
        public var bytes: [UInt8]
    }

    /// The pack of `abuseCase`. `incidents` are the (redacted) incidents as reported;
    /// `xarf` the XARF documents sent, per source address (may be empty).
    public static func files(
        for abuseCase: AbuseCase, incidents: [AbuseIncident], xarf: [String: [UInt8]] = [:], messages: [Message], reporter: Reporter, now: Timestamp
    ) -> [File] {
        var files: [File] = []
        let sortedIncidents = incidents.sorted { $0.source < $1.source }
        for (n, incident) in sortedIncidents.enumerated() {
            let stem = "incidents/\(n + 1)-\(safe(incident.source.description))"
            files.append(File(path: stem + ".txt", bytes: Array(AbuseReportText.body(incident, reporter: reporter).utf8)))
            if let document = xarf[incident.source.description] { files.append(File(path: stem + ".json", bytes: document)) }
            for (k, item) in incident.evidence.enumerated() {
                let ext = item.contentType.contains("pcap") ? "pcap" : item.contentType.hasPrefix("text/") ? "txt" : "bin"
                files.append(File(path: "evidence/\(n + 1)-\(safe(incident.source.description))-\(k + 1).\(ext)", bytes: item.bytes))
            }
        }
        let sortedMessages = messages.sorted { $0.time < $1.time }
        for (n, message) in sortedMessages.enumerated() {
            files.append(File(path: "messages/\(n + 1)-\(message.direction.rawValue).eml", bytes: message.raw))
        }
        files.append(File(path: "timeline.txt", bytes: Array(timeline(abuseCase, messages: sortedMessages).utf8)))
        let readme = summary(abuseCase, incidents: sortedIncidents, messages: sortedMessages, reporter: reporter, now: now, files: files)
        files.insert(File(path: "README.txt", bytes: Array(readme.utf8)), at: 0)
        let sums = files.map { "\(hex(SHA256.hash(data: $0.bytes)))  \($0.path)\n" }.joined()
        files.append(File(path: "SHA256SUMS", bytes: Array(sums.utf8)))
        return files
    }

    /// Every step in time order: the case's history and its messages.
    static func timeline(_ c: AbuseCase, messages: [Message]) -> String {
        var rows: [(Timestamp, Int, String)] = c.history.enumerated().map {
            ($0.element.time, $0.offset, "[\($0.element.state.rawValue)] \(printable($0.element.note))")
        }
        for (n, m) in messages.enumerated() {
            let what =
                m.direction == .outgoing
                ? "sent to \(printable(m.counterpart)): \(printable(m.subject))"
                : "received from \(printable(m.counterpart))\(m.classification.map { " (\($0))" } ?? ""): \(printable(m.subject))"
            rows.append((m.time, c.history.count + n, "\(what) — messages/\(n + 1)-\(m.direction.rawValue).eml"))
        }
        return rows.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { "\($0.0.rfc3339)  \($0.2)" }.joined(separator: "\n") + "\n"
    }

    static func summary(_ c: AbuseCase, incidents: [AbuseIncident], messages: [Message], reporter: Reporter, now: Timestamp, files: [File]) -> String
    {
        let first = incidents.map(\.firstSeen).min()
        let last = incidents.map(\.lastSeen).max()
        let attempts = incidents.reduce(0) { $0 + $1.attempts }
        var lines = [
            "Evidence pack: case \(c.id.uuidString.lowercased())",
            "Prepared \(now.rfc3339) by \(printable(reporter.organisation)) <\(printable(reporter.contact))>", "",
            "WHAT HAPPENED",
            "Unauthorised attempts to access a telephone system (SIP server): \(attempts) failed attempts to log in to or",
            "probe accounts, from \(incidents.count) source address(es). Patterns: \(Set(incidents.map(\.pattern.phrase)).sorted().joined(separator: "; ")).",
            "", "WHEN (UTC)",
            "First seen: \(first?.rfc3339 ?? "unknown"); last seen: \(last?.rfc3339 ?? "unknown"); case opened \(c.openedAt.rfc3339).",
            "", "FROM WHERE",
        ]
        for i in incidents {
            let port = i.sourcePort.map { " port \($0)" } ?? ""
            lines.append(
                "- \(i.source)\(port), \(i.transport.rawValue.uppercased()), \(i.attempts) attempts, \(i.firstSeen.rfc3339) to \(i.lastSeen.rfc3339)")
        }
        lines.append("Network: \(c.asn.map { "AS\($0)" } ?? "AS unknown")\(c.organisation.map { " (\(printable($0)))" } ?? "")")
        lines += ["", "AGAINST WHAT"]
        let targets = Set(
            incidents.map { i in
                "\(i.transport.rawValue.uppercased()) port \(i.destinationPort.map(String.init) ?? "unknown")\(i.destination.map { " on \($0)" } ?? "")"
            })
        lines.append("The SIP service of \(printable(reporter.organisation)): \(targets.sorted().joined(separator: "; ")).")
        lines += [
            "", "HARM OR RISK",
            "Guessing SIP passwords leads to toll fraud (calls to premium-rate numbers billed to the victim) and",
            "to the disclosure of which accounts exist. The attempts were blocked; no successful login was seen.",
            "", "WHAT WAS DONE",
            "The sources were blocked in the firewall when their attempts crossed the threshold.",
        ]
        let outgoing = messages.filter { $0.direction == .outgoing }
        let incoming = messages.filter { $0.direction == .incoming }
        if outgoing.isEmpty { lines.append("No report was sent.") }
        for m in outgoing { lines.append("Reported to \(printable(m.counterpart)) on \(m.time.rfc3339).") }
        for m in incoming {
            lines.append("Answer from \(printable(m.counterpart)) on \(m.time.rfc3339)\(m.classification.map { " (\($0))" } ?? "").")
        }
        if let ticket = c.ticket { lines.append("Their ticket: \(printable(ticket)).") }
        lines.append(
            "Case state now: \(c.state.rawValue); escalations: \(c.escalations.isEmpty ? "none" : c.escalations.map(\.rawValue).joined(separator: ", "))."
        )
        lines += ["", "FILES (SHA-256)"]
        for f in files { lines.append("\(hex(SHA256.hash(data: f.bytes)))  \(f.path)") }
        lines.append("SHA256SUMS lists every file but this one; verify with: sha256sum -c SHA256SUMS")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A file-name part: letters, digits, `.`, `-`; everything else becomes `_`.
    static func safe(_ text: String) -> String {
        String(
            text.unicodeScalars.prefix(64).map { s in
                s.properties.isASCIIHexDigit || ("a"..."z").contains(s) || ("A"..."Z").contains(s) || s == "." || s == "-" ? Character(s) : "_"
            })
    }

    static func printable(_ text: String) -> String { AbuseReportText.printable(text) }

    static func hex(_ digest: some Sequence<UInt8>) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
