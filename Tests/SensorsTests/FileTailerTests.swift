// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Glibc
import Sensors
import Synchronization
import Testing

@Suite("FileTailer")
struct FileTailerTests {
    @Test("starts at the end by default and delivers appended lines with their line numbers")
    func appendFromEnd() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        let writer = LogWriter(path: path)
        writer.write("old 1\nold 2\n")
        let collector = Collector()
        let tailer = FileTailer(path: path, logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }
        writer.write("new 1\nnew 2\n")
        #expect(collector.waitFor(count: 2))
        writer.write("new 3\n")
        #expect(collector.waitFor(count: 3))
        #expect(collector.lines == [.init(text: "new 1", number: 3), .init(text: "new 2", number: 4), .init(text: "new 3", number: 5)])
    }

    @Test("fromStart reads existing lines first")
    func fromStart() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        let writer = LogWriter(path: path)
        writer.write("a\nb\n\nc\n")
        let collector = Collector()
        let tailer = FileTailer(path: path, fromStart: true, logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }
        #expect(collector.waitFor(count: 4))
        writer.write("d\n")
        #expect(collector.waitFor(count: 5))
        #expect(collector.texts == ["a", "b", "", "c", "d"])
        #expect(collector.lines.map(\.number) == [1, 2, 3, 4, 5])
    }

    @Test("a partial last line is held until its newline arrives")
    func partialLine() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        let writer = LogWriter(path: path)
        // Starting at the end keeps an unfinished line already in the file.
        writer.write("done\nhalf")
        let collector = Collector()
        let tailer = FileTailer(path: path, logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }
        writer.write("-way")
        usleep(150_000)
        #expect(collector.count == 0)
        writer.write(" there\nnext")
        #expect(collector.waitFor(count: 1))
        usleep(100_000)
        #expect(collector.lines == [.init(text: "half-way there", number: 2)])
        writer.write("\n")
        #expect(collector.waitFor(count: 2))
        #expect(collector.texts == ["half-way there", "next"])
    }

    @Test("rename rotation with a racing writer: every line exactly once, in order")
    func renameRotationRacing() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        let collector = Collector()
        _ = LogWriter(path: path)
        let tailer = FileTailer(path: path, fromStart: true, logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }

        let total = 30_000
        let rotations = 5
        let perGeneration = total / (rotations + 1)
        let writerDone = Atomic<Bool>(false)
        let writerThread = Thread {
            let writer = LogWriter(path: path)
            var next = 0
            for generation in 0...rotations {
                if generation > 0 {
                    // Rotate: rename away, then the "daemon" reopens at the path.
                    precondition(rename(path, "\(path).\(generation)") == 0)
                    writer.reopen(path: path)
                }
                while next < (generation + 1) * perGeneration {
                    // Vary the write sizes, sometimes splitting a line across two writes.
                    let burst = 1 + next % 7
                    var text = ""
                    for _ in 0..<burst where next < (generation + 1) * perGeneration {
                        text += "line \(next)\n"
                        next += 1
                    }
                    if next % 3 == 0, text.count > 4 {
                        let cut = text.index(text.startIndex, offsetBy: text.count / 2)
                        writer.write(String(text[..<cut]))
                        writer.write(String(text[cut...]))
                    } else {
                        writer.write(text)
                    }
                }
                // Two renames faster than the tailer can notice would hide the middle file
                // (as with any tail -F); let the tailer see this generation first.
                _ = waitUntil { collector.count > generation * perGeneration }
            }
            writerDone.store(true, ordering: .releasing)
        }
        writerThread.start()
        #expect(waitUntil(timeout: .seconds(20)) { writerDone.load(ordering: .acquiring) })
        #expect(collector.waitFor(count: total, timeout: .seconds(10)))
        usleep(50_000)
        let lines = collector.lines
        #expect(lines.count == total)
        #expect(lines.map(\.text) == (0..<total).map { "line \($0)" })
        // Line numbers restart in each generation.
        for (index, line) in lines.enumerated() {
            if line.number != index % perGeneration + 1 {
                Issue.record("line \(index) has number \(line.number)")
                break
            }
        }
        #expect(tailer.statistics.rotations == rotations)
    }

    @Test("lines written to the rotated-away file after the switch are still delivered once")
    func lateWritesToRotatedFile() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        let old = LogWriter(path: path)
        old.write("old 1\n")
        let collector = Collector()
        let tailer = FileTailer(path: path, fromStart: true, rotationGrace: .milliseconds(500), logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }
        #expect(collector.waitFor(count: 1))
        old.write("old 2\nold 3 par")
        #expect(rename(path, path + ".1") == 0)
        let new = LogWriter(path: path)
        new.write("new 1\n")
        #expect(collector.waitFor(count: 3))
        // The logger has not reopened yet: it still writes to the old file.
        old.write("tial\nold 4 never finished")
        #expect(collector.waitFor(count: 4))
        // After the grace period the old file's partial line is flushed.
        #expect(collector.waitFor(count: 5, timeout: .seconds(5)))
        new.write("new 2\n")
        #expect(collector.waitFor(count: 6))
        usleep(50_000)
        let lines = collector.lines
        #expect(
            Set(lines) == [
                .init(text: "old 1", number: 1), .init(text: "old 2", number: 2), .init(text: "old 3 partial", number: 3),
                .init(text: "old 4 never finished", number: 4), .init(text: "new 1", number: 1), .init(text: "new 2", number: 2),
            ])
        #expect(lines.count == 6)
        #expect(tailer.statistics.rotations == 1)
    }

    @Test("copytruncate restarts at offset 0 with line numbers from 1")
    func copyTruncate() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        let writer = LogWriter(path: path)
        let collector = Collector()
        let tailer = FileTailer(path: path, logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }
        writer.write("one\ntwo\nthree\n")
        #expect(collector.waitFor(count: 3))
        // logrotate copytruncate: copy elsewhere, then truncate in place.
        #expect(truncate(path, 0) == 0)
        #expect(waitUntil { tailer.statistics.truncations == 1 })
        writer.write("after 1\nafter 2\n")
        #expect(collector.waitFor(count: 5))
        #expect(
            collector.lines == [
                .init(text: "one", number: 1), .init(text: "two", number: 2), .init(text: "three", number: 3),
                .init(text: "after 1", number: 1), .init(text: "after 2", number: 2),
            ])
    }

    @Test("a file that does not exist yet is awaited and read from its start")
    func fileAppearsLater() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("later.log")
        let collector = Collector()
        let tailer = FileTailer(path: path, logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }
        usleep(50_000)
        let writer = LogWriter(path: path)
        writer.write("first\nsecond\n")
        #expect(collector.waitFor(count: 2))
        #expect(collector.lines == [.init(text: "first", number: 1), .init(text: "second", number: 2)])
    }

    @Test("a file moved into place (atomic replace) is picked up")
    func movedIntoPlace() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("moved.log")
        let collector = Collector()
        let tailer = FileTailer(path: path, logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }
        let staging = LogWriter(path: dir.file("staging"))
        staging.write("x\n")
        #expect(rename(dir.file("staging"), path) == 0)
        #expect(collector.waitFor(count: 1))
        #expect(collector.texts == ["x"])
    }

    @Test("a file larger than lineCountLimit starts at its last line end, numbered from there")
    func largeFileStart() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("big.log")
        let writer = LogWriter(path: path)
        for i in 0..<100 { writer.write("existing line \(i) with some padding to make it longer\n") }
        writer.write("unfinished ")
        let collector = Collector()
        let tailer = FileTailer(path: path, lineCountLimit: 1000, logger: testLogger)
        try tailer.start { batch in
            #expect(!batch.exactLineNumbers)
            collector.add(batch)
        }
        defer { tailer.stop() }
        writer.write("business\nnext\n")
        #expect(collector.waitFor(count: 2))
        #expect(collector.lines == [.init(text: "unfinished business", number: 1), .init(text: "next", number: 2)])
    }

    @Test("a missing parent directory is a clear error")
    func missingDirectory() {
        let dir = TempDirectory()
        defer { dir.remove() }
        let tailer = FileTailer(path: dir.file("nope/pbx.log"), logger: testLogger)
        #expect(throws: TailError.parentDirectoryMissing(directory: dir.file("nope"))) {
            try tailer.start { _ in }
        }
    }

    @Test("a FIFO at the path is refused without blocking")
    func fifoRefused() {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("fifo")
        #expect(mkfifo(path, 0o600) == 0)
        let tailer = FileTailer(path: path, logger: testLogger)
        #expect(throws: TailError.notARegularFile(path: path)) { try tailer.start { _ in } }
    }

    @Test("start twice is refused; stop is prompt and idempotent")
    func stopIsPrompt() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        _ = LogWriter(path: path)
        let tailer = FileTailer(path: path, logger: testLogger)
        try tailer.start { _ in }
        #expect(throws: TailError.alreadyStarted) { try tailer.start { _ in } }
        usleep(50_000)
        let began = ContinuousClock.now
        tailer.stop()
        let took = ContinuousClock.now - began
        #expect(took < .milliseconds(500))
        tailer.stop()
        // Stopping one that never started is harmless too.
        FileTailer(path: path, logger: testLogger).stop()
    }

    @Test("stop from inside the callback does not deadlock")
    func stopFromCallback() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        let writer = LogWriter(path: path)
        let calls = Atomic<Int>(0)
        let box = Mutex<FileTailer?>(nil)
        let tailer = FileTailer(path: path, logger: testLogger)
        box.withLock { $0 = tailer }
        try tailer.start { _ in
            calls.add(1, ordering: .relaxed)
            box.withLock { $0?.stop() }
        }
        writer.write("a\n")
        #expect(waitUntil { calls.load(ordering: .relaxed) == 1 })
        writer.write("b\n")
        usleep(100_000)
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test("a one-million-line burst arrives in bounded chunks, complete and in order")
    func millionLineBurst() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("burst.log")
        let writer = LogWriter(path: path)
        let total = 1_000_000
        struct Progress {
            var next = 0
            var errors = 0
            var batches = 0
            var largest = 0
            var firstBatchAt: ContinuousClock.Instant?
        }
        let progress = Mutex(Progress())
        let chunk = 64 << 10
        let tailer = FileTailer(path: path, chunkSize: chunk, logger: testLogger)
        try tailer.start { batch in
            progress.withLock { p in
                p.batches += 1
                p.largest = max(p.largest, batch.bytes.count)
                if p.firstBatchAt == nil { p.firstBatchAt = .now }
                batch.forEachLine { line, number in
                    // Lines are decimal numbers; parse without allocating.
                    var value = 0
                    for byte in line { value = value * 10 + Int(byte &- 0x30) }
                    if value != p.next || number != p.next + 1 { p.errors += 1 }
                    p.next = value + 1
                }
            }
        }
        defer { tailer.stop() }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        for i in 0..<total {
            buffer.append(contentsOf: "\(i)\n".utf8)
            if buffer.count >= 1 << 20 {
                writer.write(bytes: &buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        writer.write(bytes: &buffer)
        let writtenAt = ContinuousClock.now
        #expect(waitUntil(timeout: .seconds(30)) { progress.withLock { $0.next } == total })
        let p = progress.withLock { $0 }
        #expect(p.errors == 0)
        #expect(p.next == total)
        #expect(p.batches > 50)
        #expect(p.largest <= chunk + tailer.maxLineLength + 1)
        // The first lines were handed over before the writer had finished the burst.
        if let first = p.firstBatchAt { #expect(first < writtenAt) }
        #expect(tailer.statistics.lines == total)
    }

    @Test("an overlong line is truncated, counted, and does not disturb the next lines")
    func overlongLine() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("pbx.log")
        let writer = LogWriter(path: path)
        let collector = Collector()
        let tailer = FileTailer(path: path, chunkSize: 4096, maxLineLength: 8192, logger: testLogger)
        try tailer.start { collector.add($0) }
        defer { tailer.stop() }
        writer.write("short\n")
        #expect(collector.waitFor(count: 1))
        for _ in 0..<50 { writer.write(String(repeating: "A", count: 4000)) }
        writer.write("\nafter\n")
        #expect(collector.waitFor(count: 3))
        let lines = collector.lines
        #expect(lines.count == 3)
        #expect(lines[0] == .init(text: "short", number: 1))
        #expect(lines[1].text == String(repeating: "A", count: 8192))
        #expect(lines[1].number == 2)
        #expect(lines[2] == .init(text: "after", number: 3))
        #expect(tailer.statistics.overlongLines == 1)
        #expect(collector.largestBatch <= 4096 + 8192 + 1)
    }

    @Test("forEachLine splits without a trailing newline and keeps empty lines")
    func forEachLineSplitting() {
        let text = Array("a\n\nbc\nlast".utf8)
        var seen: [String] = []
        var numbers: [Int] = []
        text.withUnsafeBufferPointer { buffer in
            TailedLines.forEachLine(in: buffer, firstLineNumber: 7) { line, number in
                seen.append(String(decoding: line, as: UTF8.self))
                numbers.append(number)
            }
        }
        #expect(seen == ["a", "", "bc", "last"])
        #expect(numbers == [7, 8, 9, 10])
        var none = 0
        [UInt8]().withUnsafeBufferPointer { TailedLines.forEachLine(in: $0) { _, _ in none += 1 } }
        #expect(none == 0)
    }
}
