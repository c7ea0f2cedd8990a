// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing
import WardenCore

@testable import Abuse

private let t0 = Timestamp(seconds: 1_764_748_800) // 2025-12-03T08:00:00Z

@Suite struct EvidencePackTests {
    private func incident(_ address: String, attempts: Int) throws -> AbuseIncident {
        let source = IPAddress(address)!
        let events = (0..<attempts).map { n in
            SecurityEvent(
                time: t0 + .seconds(n), source: source, sourcePort: 5070, destinationPort: 5060, transport: .udp, kind: .authFailed,
                user: "100", userAgent: "friendly-scanner\r\nX-Injected: yes", dialect: .asterisk,
                origin: .logLine(file: "/var/log/asterisk/messages", line: n + 1))
        }
        let ban = Ban(
            network: IPNetwork(host: source), rule: .failures, origin: .detector, created: t0 + .seconds(attempts), duration: nil, reason: "r")
        return try IncidentBuilder.incident(caseID: UUID(), ban: ban, events: events)
    }

    @Test func thePackHoldsASummaryTheTimelineEveryMessageAndVerifiableHashes() throws {
        var c = AbuseCase(
            id: UUID(), sources: [IPAddress("198.18.3.4")!, IPAddress("198.18.3.5")!], asn: 64_500, organisation: "Example Cloud",
            contacts: ["abuse@cloud.example"], openedAt: t0, lastTrafficAt: t0)
        let policy = CasePolicy(review: false)
        _ = c.handle(.open, at: t0 + .seconds(10), policy: policy)
        _ = c.handle(.delivered(contactIndex: 0), at: t0 + .seconds(20), policy: policy)
        _ = c.handle(.tick, at: t0 + .seconds(90_000), policy: policy)
        let messages = [
            EvidencePack.Message(
                direction: .incoming, time: t0 + .seconds(3600), counterpart: "noreply@cloud.example", subject: "[Ticket#123] Re: abuse",
                classification: "acknowledgement", raw: Array("From: noreply@cloud.example\r\n\r\nthanks\r\n".utf8)),
            EvidencePack.Message(
                direction: .outgoing, time: t0 + .seconds(20), counterpart: "abuse@cloud.example", subject: "SIP brute force from 198.18.3.4",
                raw: Array("To: abuse@cloud.example\r\n\r\nreport\r\n".utf8)),
        ]
        let reporter = Reporter(organisation: "Lab PBX", contact: "noc@pbx.example", domain: "pbx.example")
        let files = EvidencePack.files(
            for: c, incidents: [try incident("198.18.3.5", attempts: 3), try incident("198.18.3.4", attempts: 7)],
            xarf: ["198.18.3.4": Array("{}".utf8)], messages: messages, reporter: reporter, now: t0 + .seconds(100_000))
        let paths = files.map(\.path)
        #expect(
            paths == [
                "README.txt", "incidents/1-198.18.3.4.txt", "incidents/1-198.18.3.4.json", "evidence/1-198.18.3.4-1.txt",
                "incidents/2-198.18.3.5.txt",
                "evidence/2-198.18.3.5-1.txt", "messages/1-out.eml", "messages/2-in.eml", "timeline.txt", "SHA256SUMS",
            ])
        let readme = String(decoding: files[0].bytes, as: UTF8.self)
        #expect(readme.contains("10 failed attempts"))
        #expect(readme.contains("First seen: 2025-12-03T08:00:00Z; last seen: 2025-12-03T08:00:06Z"))
        #expect(readme.contains("- 198.18.3.4 port 5070, UDP, 7 attempts"))
        #expect(readme.contains("Network: AS64500 (Example Cloud)"))
        #expect(readme.contains("Reported to abuse@cloud.example on 2025-12-03T08:00:20Z."))
        #expect(readme.contains("Answer from noreply@cloud.example on 2025-12-03T09:00:00Z (acknowledgement)."))
        // The attacker's CR LF in a User-Agent cannot add a line to the evidence.
        let evidence = String(decoding: try #require(files.first { $0.path == "evidence/1-198.18.3.4-1.txt" }).bytes, as: UTF8.self)
        #expect(evidence.split(separator: "\n").count == 7)
        let timeline = String(decoding: try #require(files.first { $0.path == "timeline.txt" }).bytes, as: UTF8.self).split(separator: "\n")
        #expect(timeline.first?.hasPrefix("2025-12-03T08:00:00Z  [detected] opened for 198.18.3.4, 198.18.3.5") == true)
        #expect(timeline.contains { $0.contains("sent to abuse@cloud.example: SIP brute force from 198.18.3.4 — messages/1-out.eml") })
        #expect(timeline.contains { $0.contains("[mitigated]") }) // silent since the report
        #expect(timeline.map { String($0.prefix(20)) } == timeline.map { String($0.prefix(20)) }.sorted())

        // Written out, `sha256sum -c` (coreutils) accepts every file.
        let dir = FileManager.default.temporaryDirectory.appending(path: "evidence-pack-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in files {
            let url = dir.appending(path: f.path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(f.bytes).write(to: url)
        }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        check.arguments = ["--quiet", "-c", "SHA256SUMS"]
        check.currentDirectoryURL = dir
        try check.run()
        check.waitUntilExit()
        #expect(check.terminationStatus == 0)
        #expect(String(decoding: files.last!.bytes, as: UTF8.self).split(separator: "\n").count == files.count - 1)
        // Tampering is found.
        try Data("changed".utf8).write(to: dir.appending(path: "messages/2-in.eml"))
        let recheck = Process()
        recheck.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        recheck.arguments = ["--quiet", "-c", "SHA256SUMS"]
        recheck.currentDirectoryURL = dir
        recheck.standardOutput = FileHandle.nullDevice
        recheck.standardError = FileHandle.nullDevice
        try recheck.run()
        recheck.waitUntilExit()
        #expect(recheck.terminationStatus != 0)
    }

    @Test func fileNamePartsCannotLeaveThePack() {
        #expect(EvidencePack.safe("../../etc/passwd") == ".._.._etc_passwd")
        #expect(EvidencePack.safe("2001:2::1") == "2001_2__1")
        #expect(!EvidencePack.safe("a/b\u{0}c").contains("/"))
    }
}
