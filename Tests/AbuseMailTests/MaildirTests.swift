// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import Logging
import Synchronization
import Testing

@testable import AbuseMail

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/answers-maildir.XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path + "/" + sub)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }
}

/// Records what it is handed; fails while `failing` is set.
final class RecordingHandler: MaildirHandler {
    let recorded = Mutex<[IncomingMail]>([])
    let failing = Atomic<Bool>(false)
    struct Refused: Error {}

    func record(_ mail: IncomingMail) throws {
        if failing.load(ordering: .relaxed) { throw Refused() }
        recorded.withLock { $0.append(mail) }
    }

    var keys: [String] { recorded.withLock { $0.map(\.key) } }
}

/// Polls `condition` every 10 ms for at most `seconds`.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

let answer = Array(
    "From: abuse@cloud.example\r\nMessage-ID: <ack-1@cloud.example>\r\nSubject: [Ticket#2026120312345] received\r\n\r\nThanks.\r\n".utf8)

@Suite("The answers' Maildir: delivery by the Maildir protocol, the inotify watcher, quarantine")
struct MaildirTests {
    let logger = Logger(label: "test")

    @Test func deliveryLandsOneWholeFileInNew() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let maildir = Maildir(root: dir.path + "/state/mail/Maildir")
        try maildir.create()
        let name = try maildir.deliver(answer)
        #expect(dir.files("state/mail/Maildir/new") == [name])
        #expect(dir.files("state/mail/Maildir/tmp").isEmpty)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: maildir.new + "/" + name))) == answer)
        let second = try maildir.deliver(answer)
        #expect(second != name)
        #expect(dir.files("state/mail/Maildir/new").count == 2)
    }

    @Test func aMessageDeliveredWhileTheWatcherRunsIsRecordedAndMovedToCur() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let handler = RecordingHandler()
        let watcher = try MaildirWatcher(maildir: Maildir(root: dir.path), handler: handler, logger: logger)
        try watcher.start()
        defer { watcher.stop() }
        let name = try watcher.maildir.deliver(answer)
        #expect(eventually { dir.files("cur") == [name + ":2,S"] })
        #expect(dir.files("new").isEmpty)
        #expect(handler.keys == ["ack-1@cloud.example"])
        #expect(handler.recorded.withLock { $0.first?.message.subject } == "[Ticket#2026120312345] received")
    }

    @Test func aMessageDeliveredWhileStoppedIsFoundAtStart() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let maildir = Maildir(root: dir.path)
        try maildir.create()
        let name = try maildir.deliver(answer)
        let handler = RecordingHandler()
        let watcher = try MaildirWatcher(maildir: maildir, handler: handler, logger: logger)
        try watcher.start()
        defer { watcher.stop() }
        #expect(eventually { dir.files("cur") == [name + ":2,S"] })
        #expect(handler.keys == ["ack-1@cloud.example"])
    }

    @Test func aFailingHandlerLeavesTheFileInNewUntilItRecords() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let handler = RecordingHandler()
        handler.failing.store(true, ordering: .relaxed)
        let watcher = try MaildirWatcher(maildir: Maildir(root: dir.path), handler: handler, retryInterval: .milliseconds(50), logger: logger)
        let name = try watcher.maildir.deliver(answer)
        #expect(watcher.scan() == MaildirScan(recorded: 0, quarantined: 0, failed: 1))
        #expect(dir.files("new") == [name])
        #expect(dir.files("cur").isEmpty)
        // Running: the retry timer hands it over again once the handler works.
        try watcher.start()
        defer { watcher.stop() }
        usleep(120_000)
        #expect(dir.files("new") == [name])
        handler.failing.store(false, ordering: .relaxed)
        #expect(eventually { dir.files("cur") == [name + ":2,S"] })
        #expect(handler.keys == ["ack-1@cloud.example"])
    }

    @Test(
        "what is not mail is quarantined with its reason, never handed over, never lost",
        arguments: [
            (Array("From: a@b\r\nX-Bad: \u{0}\r\n\r\nbody".utf8), "a NUL byte in the header"),
            (Array("no header at all\n".utf8), "no header field"),
            (Array("Subject: no sender\n\nx".utf8), "no From, Sender or Return-Path field"),
            ([UInt8](repeating: 0x41, count: 300_000), "no end of header within 262144 bytes"),
        ])
    func quarantine(bytes: [UInt8], reason: String) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let handler = RecordingHandler()
        let watcher = try MaildirWatcher(maildir: Maildir(root: dir.path), handler: handler, logger: logger)
        try watcher.start()
        defer { watcher.stop() }
        let bad = try watcher.maildir.deliver(bytes)
        let good = try watcher.maildir.deliver(answer)
        #expect(
            eventually {
                dir.files(".Quarantine/cur") == [bad + ":2,"] && dir.files("cur") == [good + ":2,S"]
                    && watcher.total == MaildirScan(recorded: 1, quarantined: 1, failed: 0)
            })
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path + "/.Quarantine/cur/" + bad + ":2,"))) == bytes)
        let log = try String(contentsOfFile: dir.path + "/.Quarantine/sipwarden-reasons.log", encoding: .utf8)
        #expect(log == "\(bad)\t\(reason)\n")
        #expect(handler.keys == ["ack-1@cloud.example"])
    }

    /// Blocks in its first call until released, then records like ``RecordingHandler``.
    final class GateHandler: MaildirHandler {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let first = Atomic<Bool>(true)
        let count = Atomic<Int>(0)

        func record(_ mail: IncomingMail) throws {
            if first.exchange(false, ordering: .relaxed) {
                entered.signal()
                release.wait()
            }
            count.add(1, ordering: .relaxed)
        }
    }

    @Test func anInotifyQueueOverflowIsFollowedByAFullScan() throws {
        // More files than the kernel queues events for (fs.inotify.max_queued_events, read only).
        let text = (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8)) ?? "16384"
        let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 16384
        try #require(limit <= 65_536, "max_queued_events \(limit): too many files to overflow it in a unit test")
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let handler = GateHandler()
        let watcher = try MaildirWatcher(maildir: Maildir(root: dir.path), handler: handler, logger: logger)
        try watcher.start()
        defer { watcher.stop() }
        try watcher.maildir.deliver(answer)
        #expect(handler.entered.wait(timeout: .now() + 10) == .success)
        // The watcher is busy: rename files into new/ (one IN_MOVED_TO each) past the queue's size.
        let n = limit + 100
        var moved = 0
        for i in 0..<n {
            let name = "\(i).M0P0Q\(i).test"
            let bytes = Array("From: a@b.example\nMessage-ID: <\(i)@b.example>\n\n.\n".utf8)
            let fd = open(dir.path + "/tmp/" + name, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { break }
            _ = write(fd, bytes, bytes.count)
            close(fd)
            if rename(dir.path + "/tmp/" + name, dir.path + "/new/" + name) == 0 { moved += 1 }
        }
        #expect(moved == n)
        handler.release.signal()
        #expect(eventually(120) { handler.count.load(ordering: .relaxed) == n + 1 })
        #expect(dir.files("new").isEmpty)
        #expect(dir.files("cur").count == n + 1)
    }

    @Test func aMessageWithoutMessageIDIsKeyedByItsHash() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let handler = RecordingHandler()
        let watcher = try MaildirWatcher(maildir: Maildir(root: dir.path), handler: handler, logger: logger)
        let bytes = Array("From: a@b.example\n\nhello\n".utf8)
        try watcher.maildir.deliver(bytes)
        try watcher.maildir.deliver(bytes)
        #expect(watcher.scan().recorded == 2)
        // sha256("From: a@b.example\n\nhello\n"), computed independently (sha256sum).
        let expected = "sha256:" + shellSHA256(bytes)
        #expect(handler.keys == [expected, expected])
    }

    func shellSHA256(_ bytes: [UInt8]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    @Test func aSymlinkAFIFOAndADirectoryInNewAreQuarantinedNotRead() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let handler = RecordingHandler()
        let watcher = try MaildirWatcher(maildir: Maildir(root: dir.path), handler: handler, logger: logger)
        #expect(symlink("/etc/passwd", dir.path + "/new/1.M1P1.host") == 0)
        #expect(mkfifo(dir.path + "/new/2.M1P1.host", 0o600) == 0)
        #expect(mkdir(dir.path + "/new/3.M1P1.host", 0o700) == 0)
        #expect(watcher.scan() == MaildirScan(recorded: 0, quarantined: 3, failed: 0))
        #expect(dir.files(".Quarantine/cur").count == 3)
        #expect(handler.keys.isEmpty)
    }
}

@Suite("cases ingest: one message from a pipe into the Maildir, with sendmail's exit statuses")
struct MailIngestTests {
    /// Runs `MailIngest` with `bytes` as its standard input (a file: read to its end like a pipe).
    func ingest(_ bytes: [UInt8], into maildir: Maildir, maxBytes: Int = 1 << 20) -> MailIngest.Outcome {
        let input = TemporaryDirectory()
        defer { input.remove() }
        let path = input.path + "/stdin"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        return MailIngest.run(maildir: maildir, maxBytes: maxBytes, fd: fd)
    }

    @Test func delivers() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let maildir = Maildir(root: dir.path + "/mail/Maildir")
        guard case .delivered(let name) = ingest(Array("From MAILER-DAEMON Thu Dec  3 08:00:00 2026\n".utf8) + answer, into: maildir) else {
            Issue.record("not delivered")
            return
        }
        #expect(dir.files("mail/Maildir/new") == [name])
        // The mbox envelope line is not part of the message.
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: maildir.new + "/" + name))) == answer)
    }

    @Test func refusesTooLargeAndEmptyForGood() {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let maildir = Maildir(root: dir.path)
        #expect(
            ingest([UInt8](repeating: 0x41, count: 5000), into: maildir, maxBytes: 4096)
                == .refused(reason: "message larger than 4096 bytes", exitStatus: 65))
        #expect(ingest(Array("\r\n\r\n".utf8), into: maildir) == .refused(reason: "empty message", exitStatus: 65))
        #expect(dir.files("new").isEmpty)
    }

    @Test func anUnwritableMaildirIsATemporaryFailure() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // A file where the Maildir's directory should be.
        #expect(FileManager.default.createFile(atPath: dir.path + "/Maildir", contents: Data()))
        guard case .refused(let reason, let status) = ingest(answer, into: Maildir(root: dir.path + "/Maildir")) else {
            Issue.record("delivered into a file")
            return
        }
        #expect(status == 75)
        #expect(reason.contains(dir.path + "/Maildir"))
    }
}

@Suite("The matching handler: a real bounce delivered into the Maildir reaches its case")
struct MatchingHandlerTests {
    @Test func aRealBounceIsMatchedThroughTheWatcher() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let caseID = UUID()
        var index = InMemoryAnswerIndex()
        // What the Gmail bounce of the corpus returns, as if it had been our report.
        index.sent("<D992C2C3-F175-4C4D-97E2-53A90E4E5BF5@gmail.com>", for: caseID)
        let frozen = index
        let seen = Mutex<[MatchedAnswer]>([])
        let handler = MatchingHandler(index: { frozen }, record: { _, matched in seen.withLock { $0.append(matched) } })
        let watcher = try MaildirWatcher(maildir: Maildir(root: dir.path), handler: handler, logger: Logger(label: "test"))
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "shared/corpus/mail/bounce-nondsn-gmail.eml")
        try watcher.maildir.deliver([UInt8](try Data(contentsOf: corpus)))
        #expect(watcher.scan() == MaildirScan(recorded: 1, quarantined: 0, failed: 0))
        let matched = try #require(seen.withLock { $0.first })
        #expect(matched.caseID == caseID)
        #expect(matched.classification.kind == .bounce)
        #expect(matched.failedRecipients == ["userunknown@example.jp"])
    }
}
