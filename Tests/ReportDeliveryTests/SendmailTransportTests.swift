// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import ReportDelivery
import Synchronization
import Testing
import WardenCore

/// A stand-in `sendmail` (a shell script): writes its arguments and stdin to files, says
/// something on stderr, exits with the status it is told. It is run once before use, until
/// it starts: a script just written can be refused with ETXTBSY while a process forked
/// elsewhere in the test run still holds the writing descriptor.
private func fakeSendmail(exit status: Int32) throws -> (program: String, directory: String) {
    let directory = try temporaryState()
    let program = directory + "/sendmail"
    let script = """
        #!/bin/sh
        [ "$1" = "--warm-up" ] && exit 0
        printf '%s\\n' "$@" > \(directory)/args
        cat > \(directory)/stdin
        echo "fake sendmail says $*" >&2
        exit \(status)
        """
    try script.write(toFile: program, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
    for _ in 0..<200 {
        let warmUp = Process()
        warmUp.executableURL = URL(fileURLWithPath: program)
        warmUp.arguments = ["--warm-up"]
        if (try? warmUp.run()) != nil {
            warmUp.waitUntilExit()
            if warmUp.terminationStatus == 0 { break }
        }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return (program, directory)
}

@Suite(.serialized) struct SendmailTransportTests {
    let entry = OutboxEntry(
        id: 1, caseID: UUID(), messageID: "<sipwarden.x.1@example.org>", sender: "reports@example.org", recipient: "abuse@example.net",
        message: Array("Subject: a\r\n\r\n.line with a dot\r\nend\r\n".utf8), state: .handingOver, nextAttemptAt: Timestamp(seconds: 0),
        createdAt: Timestamp(seconds: 0))

    @Test func theDebianConventionWithTheMessageOnStdin() async throws {
        let (program, directory) = try fakeSendmail(exit: 0)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stages = StageLog()
        let outcome = await SendmailTransport(path: program).handOver(entry) { stage, pid in stages.add(stage, pid) }
        #expect(outcome == .accepted("sendmail exit 0"))
        #expect(try String(contentsOfFile: directory + "/args", encoding: .utf8) == "-i\n-f\nreports@example.org\n--\nabuse@example.net\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/stdin")) == Data(entry.message), "byte for byte, no dot-stuffing")
        let recorded = stages.all
        #expect(recorded.count == 1 && recorded[0].0 == .spawned && (recorded[0].1 ?? 0) > 0)
    }

    @Test(arguments: [(Int32(75), "temporary"), (67, "permanent"), (68, "permanent"), (71, "temporary"), (1, "temporary")])
    func exitStatuses(status: Int32, kind: String) async throws {
        let (program, directory) = try fakeSendmail(exit: status)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = await SendmailTransport(path: program).handOver(entry) { _, _ in }
        switch outcome {
        case .temporaryFailure(let words): #expect(kind == "temporary" && words.contains("exit \(status)") && words.contains("fake sendmail says"))
        case .permanentFailure(let words): #expect(kind == "permanent" && words.contains("exit \(status)"))
        default: Issue.record("unexpected \(outcome)")
        }
    }

    @Test func aMissingProgramIsTemporaryAndAnOptionLikeAddressIsRefused() async throws {
        let missing = await SendmailTransport(path: "/nonexistent/sendmail").handOver(entry) { _, _ in }
        guard case .temporaryFailure = missing else {
            Issue.record("\(missing)")
            return
        }
        var bad = entry
        bad.recipient = "-oQ/tmp/x@example.net"
        guard case .permanentFailure = await SendmailTransport(path: "/bin/true").handOver(bad, progress: { _, _ in }) else {
            Issue.record("an address starting with - reached the command line")
            return
        }
    }
}

/// Stages a transport recorded.
final class StageLog: Sendable {
    private let log = Mutex<[(HandoverStage, Int32?)]>([])
    func add(_ stage: HandoverStage, _ pid: Int32?) { log.withLock { $0.append((stage, pid)) } }
    var all: [(HandoverStage, Int32?)] { log.withLock { $0 } }
}
