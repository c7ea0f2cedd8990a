// SPDX-License-Identifier: GPL-2.0-or-later

import WardenCore

/// The human-readable report: what an abuse desk needs to act in one read — which of its
/// addresses, what it did, when (UTC), how much, what we ask — then the evidence. Plain
/// text, lines under 78 characters where the data allows, no marketing, no threats.
public enum AbuseReportText {
    /// The report's subject line.
    public static func subject(_ incident: AbuseIncident) -> String {
        "Abuse report: \(incident.pattern.rawValue.replacingOccurrences(of: "_", with: " ")) from \(incident.source.unmapped) [\(incident.caseID.uuidString.lowercased())]"
    }

    /// The body. `incident` must already be redacted.
    public static func body(_ incident: AbuseIncident, reporter: Reporter) -> String {
        var lines: [String] = []
        let source = incident.source.unmapped.description + (incident.sourcePort.map { " (source port \($0))" } ?? "")
        lines.append("Hello,")
        lines.append("")
        lines.append("a host in your network attacked our SIP (VoIP) server:")
        lines.append("")
        lines.append("  Source address:  \(source)")
        lines.append("  Activity:        \(incident.pattern.phrase)")
        lines.append("  Attempts:        \(incident.attempts) failed, 0 successful")
        lines.append("  First seen:      \(incident.firstSeen.rfc3339)")
        lines.append("  Last seen:       \(incident.lastSeen.rfc3339)")
        let target = (incident.destination.map { "\($0.unmapped)" } ?? "our server") + (incident.destinationPort.map { ", port \($0)" } ?? "")
        lines.append("  Target:          \(target), \(incident.transport.rawValue.uppercased())")
        if !incident.usersTried.isEmpty {
            let shown = incident.usersTried.prefix(10).map { "\"\(Self.printable($0))\"" }.joined(separator: ", ")
            lines.append("  Accounts tried:  \(shown)\(incident.usersTried.count > 10 ? " and \(incident.usersTried.count - 10) more" : "")")
        }
        if let agent = incident.userAgents.first {
            lines.append("  User-Agent:      \"\(Self.printable(agent))\"")
        }
        lines.append("  Report ID:       \(incident.caseID.uuidString.lowercased())")
        lines.append("")
        lines.append("All times are UTC. The source was blocked here at \(incident.thresholdExceeded.rfc3339);")
        lines.append("it is probably attacking others too. Please stop the activity and check")
        lines.append("the host for compromise. If you reply, please keep the report ID in the")
        lines.append("subject. We watch whether the traffic stops; no reply is needed for that.")
        lines.append("")
        if !incident.evidence.isEmpty {
            lines.append("Evidence (also attached in machine-readable XARF v4 form, with hashes):")
            for item in incident.evidence where item.contentType.hasPrefix("text/") {
                lines.append("")
                lines.append("--- \(Self.printable(item.description)) ---")
                for line in String(decoding: item.bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).prefix(40) {
                    lines.append(Self.printable(String(line)))
                }
            }
            lines.append("")
        }
        lines.append("Regards,")
        lines.append(reporter.organisation)
        lines.append(reporter.contact)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Attacker-written text made safe to show: control characters (terminal escapes,
    /// line breaks that would forge lines of the report) become `?`, and it is clipped.
    public static func printable(_ text: String, limit: Int = 200) -> String {
        let cleaned = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { s in
                    s.value < 0x20 || (0x7F...0x9F).contains(s.value) || s.properties.generalCategory == .format ? "?" : s
                }))
        return cleaned.count > limit ? String(cleaned.prefix(limit)) + "…" : cleaned
    }
}
