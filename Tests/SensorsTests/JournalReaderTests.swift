// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Glibc
import Sensors
import Testing

@Suite("JournalReader", .enabled(if: JournalFileWriter.isAvailable, "needs systemd-journal-remote (scripts/install-deps.sh)"))
struct JournalReaderTests {
    /// 2023-11-14T22:13:20Z, in microseconds.
    let t0: Int64 = 1_700_000_000_000_000

    func reader(
        _ dir: TempDirectory, units: [String] = [], identifiers: [String] = [], fromStart: Bool = false,
        cursor: Bool = true, maxMessageLength: Int = 16 << 10
    ) -> JournalReader {
        JournalReader(
            configuration: JournalReaderConfiguration(
                matches: JournalMatches(units: units, identifiers: identifiers), directory: dir.file("journal"),
                cursorPath: cursor ? dir.file("journal.cursor") : nil, fromStart: fromStart, maxMessageLength: maxMessageLength),
            logger: testLogger)
    }

    func makeDirectories() -> TempDirectory {
        let dir = TempDirectory()
        mkdir(dir.file("journal"), 0o755)
        return dir
    }

    @Test("reads the matching units' entries with their identifier, unit and journal time")
    func unitMatchAndFields() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        writer.append("kam 1", realtime: t0 + 10, sourceRealtime: t0 + 5, identifier: "kamailio", unit: "kamailio.service")
        writer.append("cron", realtime: t0 + 20, identifier: "CRON", unit: "cron.service")
        writer.append("kam 2", realtime: t0 + 30, identifier: "kamailio", unit: "kamailio.service")
        writer.append("ast", realtime: t0 + 40, identifier: "asterisk", unit: "asterisk.service")
        writer.finish()
        let collector = JournalCollector()
        let r = reader(dir, units: ["kamailio", "asterisk.service"], fromStart: true)
        try r.start { collector.add($0) }
        defer { r.stop() }
        #expect(collector.waitFor(count: 3))
        usleep(100_000)
        #expect(collector.messages == ["kam 1", "kam 2", "ast"])
        let entries = collector.entries
        // _SOURCE_REALTIME_TIMESTAMP when present, else the entry's own realtime.
        #expect(entries.map(\.realtimeMicroseconds) == [t0 + 5, t0 + 30, t0 + 40])
        #expect(entries.map(\.identifier) == ["kamailio", "kamailio", "asterisk"])
        #expect(entries.map(\.unit) == ["kamailio.service", "kamailio.service", "asterisk.service"])
    }

    @Test("matches by syslog identifier as well as by unit")
    func identifierMatch() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        writer.append("a", realtime: t0 + 1, identifier: "opensips")
        writer.append("b", realtime: t0 + 2, identifier: "sshd", unit: "ssh.service")
        writer.append("c", realtime: t0 + 3, identifier: "x", unit: "freeswitch.service")
        writer.finish()
        let collector = JournalCollector()
        let r = reader(dir, units: ["freeswitch"], identifiers: ["opensips"], fromStart: true)
        try r.start { collector.add($0) }
        defer { r.stop() }
        #expect(collector.waitFor(count: 2))
        usleep(100_000)
        #expect(collector.messages == ["a", "c"])
    }

    @Test("without a cursor starts at the end, then follows new entries as they are written (woken by the journal's fd)")
    func followFromTail() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        writer.append("old", realtime: t0, identifier: "kamailio")
        #expect(waitUntil { JournalProbe.namesWithEntries(["kamailio"], directory: dir.file("journal")) == ["kamailio"] })
        let collector = JournalCollector()
        let r = reader(dir, identifiers: ["kamailio"])
        try r.start { collector.add($0) }
        defer { r.stop() }
        usleep(300_000)
        #expect(collector.count == 0)
        writer.append("new 1", realtime: t0 + 1, identifier: "kamailio")
        #expect(collector.waitFor(count: 1))
        writer.append("new 2", realtime: t0 + 2, identifier: "kamailio")
        #expect(collector.waitFor(count: 2))
        #expect(collector.messages == ["new 1", "new 2"])
        writer.finish()
    }

    @Test("a journal file that appears after start is followed from its first entry")
    func journalAppears() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let collector = JournalCollector()
        let r = reader(dir, identifiers: ["kamailio"])
        try r.start { collector.add($0) }
        defer { r.stop() }
        usleep(100_000)
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        writer.append("first", realtime: t0 + 1, identifier: "kamailio")
        writer.append("second", realtime: t0 + 2, identifier: "kamailio")
        #expect(collector.waitFor(count: 2))
        #expect(collector.messages == ["first", "second"])
        writer.finish()
    }

    @Test("the cursor survives a restart: entries written while stopped are read, none twice")
    func cursorAcrossRestart() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        for i in 1...3 { writer.append("e\(i)", realtime: t0 + Int64(i), identifier: "kamailio") }
        let first = JournalCollector()
        do {
            let r = reader(dir, identifiers: ["kamailio"], fromStart: true)
            try r.start { first.add($0) }
            #expect(first.waitFor(count: 3))
            #expect(waitUntil { r.statistics.cursorSaves >= 1 })
            r.stop()
        }
        #expect(first.messages == ["e1", "e2", "e3"])
        if case .cursor = JournalCursorFile(path: dir.file("journal.cursor")).load() {
        } else {
            Issue.record("no cursor saved")
        }
        for i in 4...5 { writer.append("e\(i)", realtime: t0 + Int64(i), identifier: "kamailio") }
        writer.finish()
        // fromStart is ignored when a cursor exists.
        let second = JournalCollector()
        let r2 = reader(dir, identifiers: ["kamailio"], fromStart: true)
        try r2.start { second.add($0) }
        defer { r2.stop() }
        #expect(second.waitFor(count: 2))
        usleep(200_000)
        #expect(second.messages == ["e4", "e5"])
    }

    @Test("a restart with nothing new reads nothing")
    func restartNothingNew() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        for i in 1...2 { writer.append("e\(i)", realtime: t0 + Int64(i), identifier: "kamailio") }
        writer.finish()
        let first = JournalCollector()
        let r = reader(dir, identifiers: ["kamailio"], fromStart: true)
        try r.start { first.add($0) }
        #expect(first.waitFor(count: 2))
        #expect(waitUntil { r.statistics.cursorSaves >= 1 })
        r.stop()
        let second = JournalCollector()
        let r2 = reader(dir, identifiers: ["kamailio"], fromStart: true)
        try r2.start { second.add($0) }
        usleep(300_000)
        r2.stop()
        #expect(second.count == 0)
    }

    @Test("a corrupt cursor file: logged, reading starts at the end (even with fromStart), and a good cursor replaces it")
    func corruptCursor() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        writer.append("old", realtime: t0, identifier: "kamailio")
        #expect(waitUntil { JournalProbe.namesWithEntries(["kamailio"], directory: dir.file("journal")) == ["kamailio"] })
        let garbage: [UInt8] = [0xFF, 0x00, 0x41, 0x0A, 0x42]
        #expect(FileManager.default.createFile(atPath: dir.file("journal.cursor"), contents: Data(garbage)))
        let collector = JournalCollector()
        let r = reader(dir, identifiers: ["kamailio"], fromStart: true)
        try r.start { collector.add($0) }
        defer { r.stop() }
        usleep(300_000)
        writer.append("new", realtime: t0 + 1, identifier: "kamailio")
        #expect(collector.waitFor(count: 1))
        #expect(collector.messages == ["new"])
        #expect(
            waitUntil {
                if case .cursor = JournalCursorFile(path: dir.file("journal.cursor")).load() { return true }
                return false
            })
        writer.finish()
    }

    @Test("a well-formed cursor of another journal: resumes at the first entry after its time")
    func foreignCursor() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        for i in 1...4 { writer.append("e\(i)", realtime: t0 + Int64(i) * 1_000_000, identifier: "kamailio") }
        writer.finish()
        // Another journal's cursor (unknown seqnum and boot ids) whose time lies between e2 and e3.
        let foreign = "s=0123456789abcdef0123456789abcdef;i=99;b=fedcba9876543210fedcba9876543210;m=1;t=\(String(t0 + 2_500_000, radix: 16));x=1"
        #expect(JournalCursorFile(path: dir.file("journal.cursor")).save(foreign) == nil)
        let collector = JournalCollector()
        let r = reader(dir, identifiers: ["kamailio"])
        try r.start { collector.add($0) }
        defer { r.stop() }
        #expect(collector.waitFor(count: 2))
        usleep(200_000)
        #expect(collector.messages == ["e3", "e4"])
    }

    @Test("huge binary messages are cut to maxMessageLength, never crash")
    func hugeBinaryMessage() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        var big = [UInt8](repeating: 0, count: 200_000)
        for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 131 &+ 7) }
        writer.append(message: big, realtime: t0 + 1, identifier: "kamailio")
        writer.append(message: [0x00, 0x0A, 0xFF], realtime: t0 + 2, identifier: "kamailio")
        writer.finish()
        let collector = JournalCollector()
        let r = reader(dir, identifiers: ["kamailio"], fromStart: true, maxMessageLength: 1024)
        try r.start { collector.add($0) }
        defer { r.stop() }
        #expect(collector.waitFor(count: 2))
        let entries = collector.entries
        #expect(entries[0].message == Array(big.prefix(1024)))
        #expect(entries[0].truncated)
        #expect(entries[1].message == [0x00, 0x0A, 0xFF])
        #expect(!entries[1].truncated)
        #expect(r.statistics.truncatedMessages == 1)
    }

    @Test("the probe finds the servers with entries, by unit or identifier")
    func probe() throws {
        let dir = makeDirectories()
        defer { dir.remove() }
        #expect(JournalProbe.namesWithEntries(["kamailio"], directory: dir.file("journal")).isEmpty)
        let writer = try JournalFileWriter(directory: dir.file("journal"))
        writer.append("a", realtime: t0 + 1, identifier: "kamailio")
        writer.append("b", realtime: t0 + 2, identifier: "asterisk-wrapper", unit: "asterisk.service")
        writer.append("c", realtime: t0 + 3, identifier: "freeswitchx")
        writer.finish()
        #expect(
            JournalProbe.namesWithEntries(["asterisk", "freeswitch", "kamailio", "opensips"], directory: dir.file("journal")) == [
                "kamailio", "asterisk",
            ])
    }

    @Test("no journal at the directory is a start error")
    func missingDirectory() {
        let dir = TempDirectory()
        defer { dir.remove() }
        let r = reader(dir)
        #expect(throws: JournalError.self) { try r.start { _ in } }
    }

    @Test("a match value with '=' or spaces is refused")
    func invalidMatch() {
        let dir = makeDirectories()
        defer { dir.remove() }
        let r = reader(dir, identifiers: ["a=b"])
        #expect(throws: JournalError.invalidMatch("a=b")) { try r.start { _ in } }
    }
}

@Suite("Journal cursor and matches (pure)")
struct JournalPureTests {
    @Test("cursor file contents")
    func parse() {
        #expect(JournalCursorFile.parse(ArraySlice(Array("s=1;i=2\n".utf8))) == .cursor("s=1;i=2"))
        #expect(JournalCursorFile.parse([]) == .corrupt("it is empty"))
        if case .corrupt = JournalCursorFile.parse(ArraySlice(Array("no cursor".utf8))) {} else { Issue.record("spaces accepted") }
        if case .corrupt = JournalCursorFile.parse(ArraySlice([UInt8](repeating: 0x61, count: 2000))) {} else { Issue.record("overlong accepted") }
        if case .corrupt = JournalCursorFile.parse(ArraySlice(Array("abc".utf8))) {} else { Issue.record("no '=' accepted") }
    }

    @Test("start point: a cursor wins; else the tail, or the head with fromStart")
    func startPoint() {
        #expect(JournalStartPoint.decide(saved: .cursor("s=1"), fromStart: true) == .after(cursor: "s=1"))
        #expect(JournalStartPoint.decide(saved: .absent, fromStart: false) == .tail)
        #expect(JournalStartPoint.decide(saved: .absent, fromStart: true) == .head)
        #expect(JournalStartPoint.decide(saved: .corrupt("x"), fromStart: false) == .tail)
        #expect(JournalStartPoint.decide(saved: .corrupt("x"), fromStart: true) == .tail)
    }

    @Test("match terms: units get .service, a disjunction separates units from identifiers")
    func matchTerms() {
        let m = JournalMatches(units: ["kamailio", "asterisk.service"], identifiers: ["opensips"])
        #expect(m.matchTerms == ["_SYSTEMD_UNIT=kamailio.service", "_SYSTEMD_UNIT=asterisk.service", nil, "SYSLOG_IDENTIFIER=opensips"])
        #expect(JournalMatches(identifiers: ["a"]).matchTerms == ["SYSLOG_IDENTIFIER=a"])
        #expect(!JournalMatches.isValidValue("a b"))
        #expect(JournalMatches.isValidValue("kamailio"))
    }

    @Test("cursor save replaces the file atomically and leaves no temporary file")
    func save() {
        let dir = TempDirectory()
        defer { dir.remove() }
        let file = JournalCursorFile(path: dir.file("c"))
        #expect(file.load() == .absent)
        #expect(file.save("s=1;i=1") == nil)
        #expect(file.save("s=1;i=2", durable: true) == nil)
        #expect(file.load() == .cursor("s=1;i=2"))
        #expect(access(dir.file("c.tmp"), F_OK) != 0)
        #expect(JournalCursorFile(path: dir.file("missing/c")).save("s=1") == ENOENT)
    }
}
