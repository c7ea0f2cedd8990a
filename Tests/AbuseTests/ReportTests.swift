// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing
import WardenCore

@testable import Abuse

@Suite("Reports: XARF v4 against the official schema, text, redaction")
struct ReportTests {
    static let reporter = Reporter(organisation: "Example VoIP Ltd", contact: "abuse-reports@voip.example.net", domain: "voip.example.net")

    static func incident(sourcePort: UInt16? = 5071, transport: Transport = .udp, users: [String] = ["100", "admin", "101"]) -> AbuseIncident {
        let log = """
            2026-12-02 10:00:01 NOTICE[812] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:100@198.18.0.1>' failed for '198.18.0.2:5071' (callid: x) - Failed to authenticate
            2026-12-02 10:00:02 NOTICE[812] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:admin@pbx.voip.example.net>' failed for '198.18.0.2:5071' (callid: y) - No matching endpoint found
            """
        return AbuseIncident(
            caseID: UUID(uuidString: "6F1C2B0E-1B7A-4F47-9A39-2D0E5C1A7B11")!, source: IPAddress("198.18.0.2")!, sourcePort: sourcePort,
            destination: IPAddress("198.18.0.1")!, destinationPort: 5060, transport: transport,
            firstSeen: Timestamp(seconds: 1_796_205_601), lastSeen: Timestamp(seconds: 1_796_205_602),
            thresholdExceeded: Timestamp(seconds: 1_796_205_602), attempts: 5, pattern: .bruteForce, usersTried: users,
            userAgents: ["friendly-scanner"],
            evidence: [
                EvidenceItem(contentType: "text/plain", description: "PBX log lines", bytes: Array(log.utf8)),
                EvidenceItem(contentType: "application/vnd.tcpdump.pcap", description: "captured requests", bytes: [0xD4, 0xC3, 0xB2, 0xA1]),
            ]
        )
    }

    static let policy = RedactionPolicy(
        ownNetworks: IPNetworkSet([IPNetwork("198.18.0.1/32")!]), ownHostNames: ["pbx.voip.example.net"], accountNames: ["100", "101"]
    )

    /// Runs the official schema over `reports` with python-jsonschema (integration/xarf/validate.py).
    static func validate(_ reports: [Data]) throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appending(path: "xarf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (i, report) in reports.enumerated() {
            let path = dir.appending(path: "report-\(i).json")
            try report.write(to: path)
            paths.append(path.path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", Corpus.packageRoot.appending(path: "integration/xarf/validate.py").path,
                Corpus.root.appending(path: "xarf/schemas/v4").path,
            ] + paths
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func xarfReportsValidateAgainstTheOfficialSchema() throws {
        var reports: [Data] = []
        for transport in [Transport.udp, .tcp, .tls, .sctp] {
            reports.append(
                try XARFReport.render(
                    Self.policy.apply(to: Self.incident(transport: transport)), reporter: Self.reporter, timestamp: Timestamp(seconds: 1_796_205_700))
            )
        }
        var v6 = Self.incident(users: [])
        v6.source = IPAddress("2001:2::2")!
        v6.evidence = []
        reports.append(try XARFReport.render(v6, reporter: Self.reporter, timestamp: Timestamp(seconds: 1_796_205_700)))
        let (status, output) = try Self.validate(reports)
        #expect(status == 0, "\(output)")
        #expect(output.components(separatedBy: ": valid").count - 1 == reports.count, "\(output)")
    }

    @Test func theValidatorRejectsAReportWithoutItsRequiredMembers() throws {
        let report = try XARFReport.render(Self.incident(), reporter: Self.reporter, timestamp: Timestamp(seconds: 0))
        var object = try #require(try JSONSerialization.jsonObject(with: report) as? [String: Any])
        object["protocol"] = nil
        object["report_id"] = "not-a-uuid"
        let (status, output) = try Self.validate([try JSONSerialization.data(withJSONObject: object)])
        #expect(status == 1)
        #expect(output.contains("protocol"))
    }

    @Test func xarfContent() throws {
        let data = try XARFReport.render(
            Self.policy.apply(to: Self.incident()), reporter: Self.reporter, timestamp: Timestamp(seconds: 1_796_205_700))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["report_id"] as? String == "6f1c2b0e-1b7a-4f47-9a39-2d0e5c1a7b11")
        #expect(object["source_identifier"] as? String == "198.18.0.2")
        #expect(object["source_port"] as? Int == 5071)
        #expect(object["protocol"] as? String == "udp")
        #expect(object["first_seen"] as? String == "2026-12-02T10:00:01Z")
        #expect(object["destination_ip"] == nil, "the operator's own address is redacted")
        #expect(object["destination_port"] as? Int == 5060)
        #expect(object["username_patterns"] as? [String] == ["[redacted]", "admin", "[redacted]"])
        let evidence = try #require(object["evidence"] as? [[String: Any]])
        #expect(evidence.count == 1, "the capture cannot be redacted and is left out")
        let encoded = try #require(evidence[0]["payload"] as? String)
        let payload = try #require(Data(base64Encoded: encoded))
        #expect(evidence[0]["hash"] as? String == XARFReport.hash(payload))
        let text = String(decoding: payload, as: UTF8.self)
        #expect(!text.contains("198.18.0.1") && !text.contains("pbx.voip.example.net") && !text.contains("sip:100@"))
        #expect(text.contains("198.18.0.2:5071"), "the attacker's address stays")
        #expect((object["tags"] as? [String])?.contains("tool:sipvicious") == true)
    }

    @Test func sha256OfKnownInput() {
        // FIPS 180-2 example "abc".
        #expect(XARFReport.hash(Array("abc".utf8)) == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func withoutASourcePortThereIsNoXARFReport() {
        #expect(throws: XARFReport.RenderError.missingSourcePort) {
            try XARFReport.render(Self.incident(sourcePort: nil), reporter: Self.reporter, timestamp: Timestamp(seconds: 0))
        }
    }

    @Test func unredactedWhenTheOperatorSaysSo() {
        var policy = Self.policy
        policy.redactOwnAddresses = false
        policy.redactAccountNames = false
        policy.redactHostNames = false
        let out = policy.apply(to: Self.incident())
        #expect(out == Self.incident())
    }

    @Test func accountNamesAreRedactedOnlyWhereQuoted() {
        let p = RedactionPolicy(accountNames: ["100"])
        #expect(
            p.redact("user=\"100\" ts=1001001 port 5100 sip:100@x '100'") == "user=\"[redacted]\" ts=1001001 port 5100 sip:[redacted]@x '[redacted]'")
        let q = RedactionPolicy(ownNetworks: IPNetworkSet([IPNetwork("2001:2::1/128")!]), ownHostNames: ["PBX.example.net"])
        #expect(
            q.redact("[2001:2::1]:5060 2001:2::10 pbx.EXAMPLE.net sub.pbx.example.network")
                == "[[redacted]]:5060 2001:2::10 [redacted] sub.pbx.example.network")
    }

    @Test func textReportReadsInOneGoAndNeutralisesAttackerText() {
        var incident = Self.policy.apply(to: Self.incident())
        incident.userAgents = ["evil\u{1B}[2J\r\nSubject: forged"]
        let body = AbuseReportText.body(incident, reporter: Self.reporter)
        #expect(body.contains("Source address:  198.18.0.2 (source port 5071)"))
        #expect(body.contains("Attempts:        5 failed, 0 successful"))
        #expect(body.contains("Report ID:       6f1c2b0e-1b7a-4f47-9a39-2d0e5c1a7b11"))
        #expect(body.contains("Target:          our server, port 5060, UDP"))
        #expect(!body.contains("\u{1B}"))
        #expect(!body.contains("\r\nSubject: forged"))
        #expect(AbuseReportText.subject(incident) == "Abuse report: brute force from 198.18.0.2 [6f1c2b0e-1b7a-4f47-9a39-2d0e5c1a7b11]")
    }

    @Test func rfc3339MatchesFoundationOverTheCalendar() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        var state: UInt64 = 0x5EED
        for _ in 0..<2_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let seconds = Int64(state >> 33) % 8_000_000_000 - 1_000_000_000
            #expect(Timestamp(seconds: seconds).rfc3339 == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
        #expect(Timestamp(seconds: 951_782_400).rfc3339 == "2000-02-29T00:00:00Z")
        #expect(Timestamp(microseconds: -1).rfc3339 == "1969-12-31T23:59:59Z")
    }
}

@Suite("The report as a MIME message")
struct MIMEReportTests {
    @Test func multipartReportRoundTripsThroughTheMailReader() throws {
        let incident = ReportTests.policy.apply(to: ReportTests.incident())
        let xarf = try XARFReport.render(incident, reporter: ReportTests.reporter, timestamp: Timestamp(seconds: 1_796_205_700))
        let message = MIMEReport.build(
            incident, to: ["abuse@net.example"], reporter: ReportTests.reporter, sequence: 1,
            date: Timestamp(seconds: 1_796_205_700), xarf: xarf)
        #expect(message.messageID == "<sipwarden.6f1c2b0e-1b7a-4f47-9a39-2d0e5c1a7b11.1@voip.example.net>")
        #expect(MIMEReport.caseID(fromMessageID: message.messageID) == incident.caseID)
        let parsed = MailMessage(parsing: message.bytes)
        #expect(parsed.contentType == "multipart/report")
        #expect(parsed.contentTypeParameter("report-type") == "xarf")
        #expect(parsed.header("Date") == "Wed, 02 Dec 2026 10:01:40 +0000")
        #expect(parsed.subject == AbuseReportText.subject(incident))
        #expect(parsed.parts.map(\.contentType) == ["text/plain", "application/json", "text/plain"])
        #expect(parsed.parts[0].text == AbuseReportText.body(incident, reporter: ReportTests.reporter))
        #expect(Data(parsed.parts[1].text.utf8) == xarf)
        #expect(message.bytes.split(separator: 0x0A).allSatisfy { $0.count <= 998 })
        // An answer quoting our Message-ID leads back to the case.
        let answer = MailMessage(parsing: Array("In-Reply-To: \(message.messageID)\r\n\r\nthanks".utf8))
        #expect(answer.referencedMessageIDs.compactMap(MIMEReport.caseID(fromMessageID:)) == [incident.caseID])
    }

    @Test func attackerTextNeverBreaksAHeader() {
        var incident = ReportTests.incident()
        incident.evidence = [EvidenceItem(contentType: "text/plain\r\nBcc: x@evil.example", description: "log\r\nBcc: y@evil.example", bytes: [0x41])]
        let message = MIMEReport.build(
            incident, to: ["abuse@net.example"], reporter: ReportTests.reporter, sequence: 2, date: Timestamp(seconds: 0), xarf: Data())
        let text = String(decoding: message.bytes, as: UTF8.self)
        #expect(!text.contains("\r\nBcc:"))
        #expect(MIMEReport.rfc5322Date(Timestamp(seconds: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
    }
}
