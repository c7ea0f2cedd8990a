// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import ReportDelivery
import Testing
import WardenCore

/// The check against a postfix queue and log laid out as postfix lays them out (hashed
/// queue subdirectories; `cleanup`'s `message-id=<…>` log line).
@Suite struct PostfixHandoverCheckTests {
    let id = "<sipwarden.0b0c0d0e-0000-4000-8000-000000000001.1@example.org>"

    func entry() -> OutboxEntry {
        var e = OutboxEntry(
            id: 1, caseID: UUID(), messageID: id, sender: "r@example.org", recipient: "abuse@example.net", message: [], state: .handingOver,
            nextAttemptAt: Timestamp(seconds: 0), createdAt: Timestamp(seconds: 0))
        e.handoverStage = .spawned
        e.handoverTransport = .sendmail
        return e
    }

    func layout() throws -> (queue: String, log: String, root: String) {
        let root = try temporaryState()
        for d in ["maildrop", "incoming/A", "active/B", "deferred/C", "hold"] {
            try FileManager.default.createDirectory(atPath: root + "/spool/" + d, withIntermediateDirectories: true)
        }
        let log = root + "/mail.log"
        try "Dec  3 09:04:02 localhost postfix/cleanup[1]: 92B30FA349: message-id=<other@example.org>\n".write(
            toFile: log, atomically: true, encoding: .utf8)
        return (root + "/spool", log, root)
    }

    @Test func foundInTheLog() async throws {
        let (queue, log, root) = try layout()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let line = "Dec  3 09:04:02 localhost postfix/cleanup[2]: 1234ABCD: message-id=\(id)\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
        try handle.close()
        let evidence = await PostfixHandoverCheck(logFiles: [log], queueDirectory: queue, settle: .milliseconds(100)).evidence(for: entry())
        guard case .seen(let words) = evidence else {
            Issue.record("\(evidence)")
            return
        }
        #expect(words.contains(log))
    }

    @Test func foundInAHashedQueueDirectory() async throws {
        let (queue, log, root) = try layout()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Data(("\u{4}\u{20}Message-ID: " + id + "\r\n").utf8).write(to: URL(fileURLWithPath: queue + "/incoming/A/A1B2C3"))
        let evidence = await PostfixHandoverCheck(logFiles: [log], queueDirectory: queue, settle: .milliseconds(100)).evidence(for: entry())
        guard case .seen(let words) = evidence else {
            Issue.record("\(evidence)")
            return
        }
        #expect(words.contains("A1B2C3"))
    }

    @Test func notSeenWhenTheLogIsReadableAndSilent() async throws {
        let (queue, log, root) = try layout()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let evidence = await PostfixHandoverCheck(logFiles: [log], queueDirectory: queue, settle: .milliseconds(100)).evidence(for: entry())
        guard case .notSeen = evidence else {
            Issue.record("\(evidence)")
            return
        }
    }

    @Test func unknownWithoutAReadableLog() async throws {
        let (queue, _, root) = try layout()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let evidence = await PostfixHandoverCheck(logFiles: [root + "/no-such.log"], queueDirectory: queue, settle: .milliseconds(100))
            .evidence(for: entry())
        #expect(evidence == .unknown)
    }
}
