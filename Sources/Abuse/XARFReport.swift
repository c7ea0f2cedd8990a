// SPDX-License-Identifier: GPL-2.0-or-later

import Crypto
public import Foundation
public import WardenCore

/// An XARF v4 `connection`/`login_attack` report (xarf.org, schemas/v4): the
/// machine-readable part of an abuse report. Built from an incident that has already been
/// redacted (``RedactionPolicy/apply(to:)``).
///
/// XARF v4 requires the source port for an IP source (fail2ban's v4 attempt failed there:
/// its log lines carry none; SIP logs and packets do). An incident without one is not
/// guessed at: ``render(_:reporter:timestamp:evidenceSource:)`` throws.
public enum XARFReport {
    /// The XARF version written.
    public static let version = "4.2.0"

    /// An incident that cannot be reported in XARF v4.
    public enum RenderError: Error, Hashable, Sendable, CustomStringConvertible {
        /// XARF v4 requires the source port for an IP source.
        case missingSourcePort

        public var description: String {
            switch self {
            case .missingSourcePort: "XARF v4 requires the source port, which this incident lacks"
            }
        }
    }

    /// The report as JSON (sorted keys, no escaped slashes): the bytes that are sent and
    /// whose hash identifies the report.
    public static func render(
        _ incident: AbuseIncident, reporter: Reporter, timestamp: Timestamp, evidenceSource: String = "automated_filter"
    ) throws(RenderError) -> Data {
        guard let sourcePort = incident.sourcePort, sourcePort > 0 else { throw .missingSourcePort }
        let proto =
            switch incident.transport {
            case .udp: "udp"
            case .tcp, .tls, .ws, .wss: "tcp"
            case .sctp: "sctp"
            }
        let contact = Contact(org: reporter.organisation, contact: reporter.contact, domain: reporter.domain)
        let body = Body(
            xarfVersion: version, reportID: incident.caseID.uuidString.lowercased(), timestamp: timestamp.rfc3339,
            reporter: contact, sender: contact, sourceIdentifier: incident.source.unmapped.description, sourcePort: Int(sourcePort),
            category: "connection", type: "login_attack", evidenceSource: evidenceSource,
            destinationIP: incident.destination?.unmapped.description,
            destinationPort: incident.destinationPort.flatMap { $0 > 0 ? Int($0) : nil },
            protocolName: proto, service: "sip", attemptCount: incident.attempts, successfulLogins: 0,
            usernamePatterns: incident.usersTried.isEmpty ? nil : Array(incident.usersTried.prefix(50)),
            attackPattern: incident.pattern.rawValue,
            firstSeen: incident.firstSeen.rfc3339, lastSeen: incident.lastSeen.rfc3339,
            thresholdExceeded: incident.thresholdExceeded.rfc3339,
            evidence: incident.evidence.prefix(50).map(Evidence.init),
            tags: tags(for: incident),
            description:
                "\(incident.pattern.phrase): \(incident.attempts) failed attempts from \(incident.source.unmapped) between \(incident.firstSeen.rfc3339) and \(incident.lastSeen.rfc3339)"
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        // Every member is a string, number or array of them: encoding cannot fail.
        return (try? encoder.encode(body)) ?? Data()
    }

    /// `sha256:<hex>` of `bytes`, XARF's evidence hash format.
    public static func hash(_ bytes: some DataProtocol) -> String {
        "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func tags(for incident: AbuseIncident) -> [String] {
        var tags = ["service:sip", "attack:\(incident.pattern.rawValue)"]
        let agents = incident.userAgents.joined(separator: " ").lowercased()
        if agents.contains("friendly-scanner") || agents.contains("sipvicious") || agents.contains("sipcli") {
            tags.append("tool:sipvicious")
        }
        return tags
    }

    private struct Contact: Encodable {
        var org: String
        var contact: String
        var domain: String
    }

    private struct Evidence: Encodable {
        var contentType: String
        var description: String
        var payload: String
        var hash: String
        var size: Int

        init(_ item: EvidenceItem) {
            contentType = item.contentType
            description = String(item.description.prefix(500))
            payload = Data(item.bytes).base64EncodedString()
            hash = XARFReport.hash(item.bytes)
            size = item.bytes.count
        }

        enum CodingKeys: String, CodingKey {
            case contentType = "content_type"
            case description
            case payload
            case hash
            case size
        }
    }

    private struct Body: Encodable {
        var xarfVersion: String
        var reportID: String
        var timestamp: String
        var reporter: Contact
        var sender: Contact
        var sourceIdentifier: String
        var sourcePort: Int
        var category: String
        var type: String
        var evidenceSource: String
        var destinationIP: String?
        var destinationPort: Int?
        var protocolName: String
        var service: String
        var attemptCount: Int
        var successfulLogins: Int
        var usernamePatterns: [String]?
        var attackPattern: String
        var firstSeen: String
        var lastSeen: String
        var thresholdExceeded: String
        var evidence: [Evidence]
        var tags: [String]
        var description: String

        enum CodingKeys: String, CodingKey {
            case xarfVersion = "xarf_version"
            case reportID = "report_id"
            case timestamp
            case reporter
            case sender
            case sourceIdentifier = "source_identifier"
            case sourcePort = "source_port"
            case category
            case type
            case evidenceSource = "evidence_source"
            case destinationIP = "destination_ip"
            case destinationPort = "destination_port"
            case protocolName = "protocol"
            case service
            case attemptCount = "attempt_count"
            case successfulLogins = "successful_logins"
            case usernamePatterns = "username_patterns"
            case attackPattern = "attack_pattern"
            case firstSeen = "first_seen"
            case lastSeen = "last_seen"
            case thresholdExceeded = "threshold_exceeded"
            case evidence
            case tags
            case description
        }
    }
}
