// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import GRDB
import Glibc
import NetworkAddress
import Storage
import Synchronization
import Testing
import WardenCore

// MARK: - Fixtures

let t0 = Timestamp(seconds: 1_700_000_000) // 2023-11-14, safely in the past

func network(_ text: String) -> IPNetwork {
    guard let n = IPNetwork(text) else { fatalError("bad fixture \(text)") }
    return n
}

func address(_ text: String) -> IPAddress {
    guard let a = IPAddress(text) else { fatalError("bad fixture \(text)") }
    return a
}

func makeBan(
    _ net: String, at: Timestamp = t0, for duration: Duration? = .seconds(3600), offence: Int = 1,
    rule: BanRule = .kind(.authFailed), origin: BanOrigin = .detector
) -> BanRecord {
    BanRecord(
        network: network(net), reason: "6 failed authentications in 60 s as \"a\u{0}b\"", rule: rule, createdAt: at,
        expiresAt: duration.map { at + $0 }, offence: offence, origin: origin)
}

func sampleEvents(_ source: String = "198.18.0.7") -> [SecurityEvent] {
    [
        SecurityEvent(
            time: t0 - .seconds(30), source: address(source), sourcePort: 5060, destination: address("198.18.100.1"),
            destinationPort: 5060, transport: .udp, kind: .authFailed,
            user: "1001", userAgent: "friendly-scanner", reason: "Wrong password", callID: "a84b4c76e66710@pc33", dialect: .asterisk,
            origin: .logLine(file: "/var/log/asterisk/security", line: 4242)),
        SecurityEvent(
            time: t0 - .seconds(20), source: address(source), kind: .unknownUser, user: "", userAgent: "",
            dialect: .sip, origin: .frame(file: "attack.pcap", number: 17)),
        SecurityEvent(
            time: Timestamp(microseconds: t0.microseconds - 1), source: address(source), sourcePort: 65535,
            destination: address("2001:2::5060"), destinationPort: 65535,
            transport: .wss, kind: .scanner, user: "é'; DROP TABLE ban; --", userAgent: "sipvicious\u{0}\n",
            reason: "403 Forbidden", callID: "x\u{0}'; DROP TABLE event; --", dialect: .kamailio, origin: .wire(sensor: "eth0")),
    ]
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TempDirectory {
    let path: String

    init() {
        var template = Array("/tmp/sipwarden-ledger-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

// MARK: - Ledger

@Suite("Ledger")
struct LedgerTests {
    @Test("a ban and every field of its evidence round-trip")
    func roundTrip() throws {
        let ledger = try Ledger(inMemory: ())
        let ban = makeBan("198.18.0.7", offence: 2)
        let events = sampleEvents()
        let id = try ledger.recordBan(ban, evidence: events)
        var expected = ban
        expected.id = id
        #expect(try ledger.ban(id: id) == expected)
        #expect(try ledger.evidence(forBan: id) == events)
        #expect(try ledger.ban(id: id + 100) == nil)
    }

    @Test("what the intelligence store knew of a network is kept with its ban, as it was")
    func enrichmentRoundTrip() throws {
        let ledger = try Ledger(inMemory: ())
        var ban = makeBan("198.18.0.8")
        let known = IntelEnrichment(
            asn: 16_509, asName: "AMAZON-02 - Amazon.com, Inc.", country: "US", prefix: IPNetwork("198.18.0.0/16"), provider: "aws",
            service: "EC2", region: "eu-central-1")
        ban.enrichment = known
        let id = try ledger.recordBan(ban, evidence: [])
        #expect(try ledger.ban(id: id)?.enrichment == known)
        // Nothing known: nothing stored, and it reads back as nil.
        let bare = try ledger.recordBan(makeBan("198.18.0.9"), evidence: [])
        #expect(try ledger.ban(id: bare)?.enrichment == nil)
        var empty = makeBan("198.18.0.10")
        empty.enrichment = IntelEnrichment()
        #expect(try ledger.ban(id: ledger.recordBan(empty, evidence: []))?.enrichment == nil)
    }

    @Test("IPv6 prefixes and host addresses are stored canonically and compare equal")
    func ipv6() throws {
        let ledger = try Ledger(inMemory: ())
        let id = try ledger.recordBan(makeBan("2001:2:0:0::/48"), evidence: sampleEvents("2001:2::1"))
        #expect(try ledger.ban(id: id)?.network == network("2001:2::/48"))
        #expect(try ledger.evidence(forBan: id).map(\.source) == Array(repeating: address("2001:2::1"), count: 3))
        #expect(try ledger.liftBan(network: network("2001:0002::/48"), at: t0 + .seconds(1)) == 1)
    }

    @Test("active excludes expired and lifted bans; permanent bans stay active")
    func activeExpiredLifted() throws {
        let ledger = try Ledger(inMemory: ())
        let short = try ledger.recordBan(makeBan("198.18.0.1", for: .seconds(100)), evidence: [])
        let permanent = try ledger.recordBan(makeBan("198.18.0.2", at: t0 + .seconds(1), for: nil), evidence: [])
        _ = try ledger.recordBan(makeBan("198.18.0.3", at: t0 - .seconds(1000), for: .seconds(10)), evidence: [])
        let lifted = try ledger.recordBan(makeBan("198.18.0.4", at: t0 + .seconds(2)), evidence: [])
        #expect(try ledger.liftBan(network: network("198.18.0.4"), at: t0 + .seconds(5)) == 1)
        #expect(try ledger.liftBan(network: network("198.18.0.4"), at: t0 + .seconds(6)) == 0)
        // An expired ban is not lifted again.
        #expect(try ledger.liftBan(network: network("198.18.0.3"), at: t0 + .seconds(6)) == 0)

        #expect(try ledger.activeBans(at: t0 + .seconds(50)).map(\.id) == [short, permanent])
        // Expiry is exclusive: at the expiry instant the ban is over.
        #expect(try ledger.activeBans(at: t0 + .seconds(100)).map(\.id) == [permanent])
        #expect(try ledger.activeBans(at: t0 + .seconds(86_400 * 365 * 50)).map(\.id) == [permanent])
        let liftedBan = try #require(try ledger.ban(id: lifted))
        #expect(liftedBan.liftedAt == t0 + .seconds(5))
        #expect(!liftedBan.isActive(at: t0 + .seconds(6)))

        let stats = try ledger.statistics(at: t0 + .seconds(50))
        #expect(
            stats
                == LedgerStatistics(
                    activeBans: 2, permanentActiveBans: 1, totalBans: 4, liftedBans: 1, eventsStored: 0,
                    lastBanAt: t0 + .seconds(2)))
    }

    @Test("listing: newest first, limit, inactive on request, per network")
    func listing() throws {
        let ledger = try Ledger(inMemory: ())
        for i in 0..<5 {
            _ = try ledger.recordBan(makeBan("198.18.1.\(i)", at: t0 + .seconds(Int64(i)), for: .seconds(10)), evidence: [])
        }
        _ = try ledger.recordBan(makeBan("198.18.1.0", at: t0 + .seconds(100), for: .seconds(10), offence: 2), evidence: [])
        let now = t0 + .seconds(12)
        #expect(
            try ledger.bans(limit: 3, includeInactive: true, at: now).map(\.network.description)
                == ["198.18.1.0", "198.18.1.4", "198.18.1.3"])
        // At t0+12 the bans created at t0+0, +1 and +2 have expired; the repeat is not yet made
        // but is "in force" by its own times.
        #expect(
            try ledger.bans(limit: 10, includeInactive: false, at: now).map(\.network.description)
                == ["198.18.1.0", "198.18.1.4", "198.18.1.3"])
        #expect(
            try ledger.bans(limit: 10, includeInactive: true, at: now, network: network("198.18.1.0")).map(\.offence)
                == [2, 1])
        #expect(try ledger.bans(limit: 0, includeInactive: true, at: now).isEmpty)
        #expect(try ledger.bans(limit: -5, includeInactive: true, at: now).isEmpty)
        #expect(try ledger.bans(limit: Int.max, includeInactive: true).count == 6)
        // By the system clock (years after t0) every ban has expired.
        #expect(try ledger.bans(limit: Int.max, includeInactive: false).isEmpty)
    }

    @Test("offence counts per network since a time")
    func offenceCounts() throws {
        let ledger = try Ledger(inMemory: ())
        _ = try ledger.recordBan(makeBan("198.18.2.1", at: t0 - .seconds(10_000)), evidence: [])
        _ = try ledger.recordBan(makeBan("198.18.2.1", at: t0, offence: 2), evidence: [])
        _ = try ledger.recordBan(makeBan("198.18.2.1", at: t0 + .seconds(50), offence: 3), evidence: [])
        _ = try ledger.recordBan(makeBan("198.18.2.0/24", at: t0 + .seconds(60), rule: .manual, origin: .manual), evidence: [])
        let history = try ledger.offenceHistory(since: t0 - .seconds(100))
        #expect(history.count == 2)
        #expect(history[network("198.18.2.1")] == OffenceHistory(count: 2, lastBanAt: t0 + .seconds(50), highestOffence: 3))
        #expect(history[network("198.18.2.0/24")] == OffenceHistory(count: 1, lastBanAt: t0 + .seconds(60), highestOffence: 1))
        #expect(try ledger.offenceHistory(since: t0 + .seconds(61)).isEmpty)
        let counts = try ledger.offenceCounts(since: t0 - .seconds(100))
        #expect(counts.count == 2)
        #expect(counts[network("198.18.2.1")].map { $0.count == 2 && $0.lastBanAt == t0 + .seconds(50) } == true)
    }

    @Test("evidence stays with its own ban")
    func evidenceLinkage() throws {
        let ledger = try Ledger(inMemory: ())
        let a = try ledger.recordBan(makeBan("198.18.3.1"), evidence: sampleEvents("198.18.3.1"))
        let b = try ledger.recordBan(makeBan("198.18.3.2"), evidence: Array(sampleEvents("198.18.3.2").prefix(1)))
        let c = try ledger.recordBan(makeBan("198.18.3.3"), evidence: [])
        #expect(try ledger.evidence(forBan: a) == sampleEvents("198.18.3.1"))
        #expect(try ledger.evidence(forBan: b) == Array(sampleEvents("198.18.3.2").prefix(1)))
        #expect(try ledger.evidence(forBan: c).isEmpty)
        #expect(try ledger.evidence(forBan: 999).isEmpty)
        #expect(try ledger.statistics(at: t0).eventsStored == 4)
    }

    @Test("attacker text is clipped and evidence per ban is bounded")
    func bounds() throws {
        let ledger = try Ledger(inMemory: ())
        var event = sampleEvents()[0]
        event.userAgent = String(repeating: "ü", count: 5000) // 10,000 bytes
        event.user = "a" + String(repeating: "ü", count: 1000) // the cut falls inside a scalar
        let many = (0..<(Ledger.maxEvidencePerBan + 10)).map { i -> SecurityEvent in
            var e = event
            e.time = t0 + .microseconds(i)
            return e
        }
        let id = try ledger.recordBan(makeBan("198.18.4.1"), evidence: many)
        let stored = try ledger.evidence(forBan: id)
        #expect(stored.count == Ledger.maxEvidencePerBan)
        #expect(stored.first?.time == t0 + .microseconds(10)) // the most recent are kept
        #expect(stored.first?.userAgent == String(repeating: "ü", count: Ledger.maxTextBytes / 2))
        #expect(stored.first?.user == "a" + String(repeating: "ü", count: (Ledger.maxTextBytes - 1) / 2))
    }

    @Test("invalid records are refused with a reason")
    func invalidRecords() throws {
        let ledger = try Ledger(inMemory: ())
        #expect(throws: LedgerError.self) { try ledger.recordBan(makeBan("198.18.5.1", offence: 0), evidence: []) }
        var backwards = makeBan("198.18.5.1")
        backwards.expiresAt = t0 - .seconds(1)
        #expect(throws: LedgerError.self) { try ledger.recordBan(backwards, evidence: []) }
        #expect(try ledger.statistics(at: t0).totalBans == 0)
    }
}

// MARK: - Files

@Suite("Ledger files")
struct LedgerFileTests {
    @Test("creates the state directory with mode 0700 and reopens existing data")
    func createAndReopen() throws {
        let tmp = TempDirectory()
        defer { tmp.remove() }
        let dir = tmp.path + "/state/sipwarden"
        let id: Int64
        do {
            let ledger = try Ledger(directory: dir)
            id = try ledger.recordBan(makeBan("198.18.6.1"), evidence: sampleEvents())
        }
        var st = stat()
        #expect(stat(dir, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o700)
        let reopened = try Ledger(directory: dir)
        #expect(try reopened.evidence(forBan: id) == sampleEvents())
        #expect(reopened.path == dir + "/ledger.sqlite")
    }

    @Test("committed data survives a crash: the files as left on disk open with the data")
    func crashSurvival() throws {
        let tmp = TempDirectory()
        defer { tmp.remove() }
        let live = tmp.path + "/live"
        let crashed = tmp.path + "/crashed"
        let ledger = try Ledger(directory: live)
        let writer = try LedgerWriter(ledger: ledger) { _ in }
        writer.enqueueBan(makeBan("198.18.7.1"), evidence: sampleEvents("198.18.7.1"))
        writer.enqueueBan(makeBan("198.18.7.2", for: nil), evidence: [])
        writer.flush()
        // Snapshot the files while the ledger is still open and nothing was checkpointed or
        // closed: what a kill -9 at this instant leaves behind (the -shm index is rebuilt).
        #expect(mkdir(crashed, 0o700) == 0)
        for name in ["ledger.sqlite", "ledger.sqlite-wal"] {
            try FileManager.default.copyItem(atPath: "\(live)/\(name)", toPath: "\(crashed)/\(name)")
        }
        let recovered = try Ledger(directory: crashed)
        let active = try recovered.activeBans(at: t0 + .seconds(1))
        #expect(active.map(\.network.description) == ["198.18.7.1", "198.18.7.2"])
        #expect(try recovered.evidence(forBan: try #require(active.first?.id)) == sampleEvents("198.18.7.1"))
        writer.stop()
    }

    @Test("a second ledger on the same directory sees committed data while the first is open")
    func concurrentOpen() throws {
        let tmp = TempDirectory()
        defer { tmp.remove() }
        let first = try Ledger(directory: tmp.path)
        _ = try first.recordBan(makeBan("198.18.8.1"), evidence: [])
        let second = try Ledger(directory: tmp.path)
        #expect(try second.activeBans(at: t0).count == 1)
        _ = try second.recordBan(makeBan("198.18.8.2"), evidence: [])
        #expect(try first.activeBans(at: t0).count == 2)
    }

    @Test("a file that is not SQLite gives notADatabase, and is left untouched")
    func notADatabase() throws {
        let tmp = TempDirectory()
        defer { tmp.remove() }
        let path = tmp.path + "/ledger.sqlite"
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: path))
        #expect(throws: LedgerError.notADatabase(path: path)) { try Ledger(directory: tmp.path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
    }

    @Test("a damaged ledger gives a LedgerError, never a crash")
    func damagedPages() throws {
        let tmp = TempDirectory()
        defer { tmp.remove() }
        do {
            let ledger = try Ledger(directory: tmp.path)
            for i in 0..<200 {
                _ = try ledger.recordBan(makeBan("198.18.9.\(i % 250)"), evidence: sampleEvents())
            }
        } // closing checkpoints the WAL into the main file
        let path = tmp.path + "/ledger.sqlite"
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        #expect(size > 4 * 4096)
        // Scribble over every page but the first (the header stays valid).
        var offset: UInt64 = 4096
        while offset < size {
            try handle.seek(toOffset: offset)
            handle.write(Data(repeating: 0xA5, count: 4096))
            offset += 4096
        }
        try handle.close()
        do {
            let ledger = try Ledger(directory: tmp.path)
            _ = try ledger.activeBans(at: t0)
            _ = try ledger.evidence(forBan: 1)
            Issue.record("a scribbled ledger was read without error")
        } catch {
            switch error {
            case .corrupt, .notADatabase, .foreignDatabase: break
            default: Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test("an SQLite database of another program is refused")
    func foreignDatabase() throws {
        let tmp = TempDirectory()
        defer { tmp.remove() }
        let path = tmp.path + "/ledger.sqlite"
        do {
            let other = try DatabaseQueue(path: path)
            try other.write { try $0.execute(sql: "CREATE TABLE contacts (name TEXT)") }
        }
        #expect(throws: LedgerError.foreignDatabase(path: path)) { try Ledger(directory: tmp.path) }
    }

    @Test("a ledger written by a newer version is refused with the unknown schema named")
    func schemaTooNew() throws {
        let tmp = TempDirectory()
        defer { tmp.remove() }
        let path = tmp.path + "/ledger.sqlite"
        do { _ = try Ledger(directory: tmp.path) }
        do {
            let raw = try DatabaseQueue(path: path)
            try raw.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')") }
        }
        #expect(throws: LedgerError.schemaTooNew(path: path, unknownMigrations: ["v9-from-the-future"])) {
            try Ledger(directory: tmp.path)
        }
    }

    @Test("a state path that is a file is a clear error")
    func stateIsAFile() throws {
        let tmp = TempDirectory()
        defer { tmp.remove() }
        let file = tmp.path + "/plain"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: LedgerError.cannotCreateDirectory(path: file, errno: ENOTDIR)) { try Ledger(directory: file) }
    }
}

// MARK: - Writer

@Suite("LedgerWriter")
struct LedgerWriterTests {
    @Test("operations commit in enqueue order; flush waits for them")
    func ordering() throws {
        let ledger = try Ledger(inMemory: ())
        let errors = Mutex<[LedgerError]>([])
        let writer = try LedgerWriter(ledger: ledger) { e in errors.withLock { $0.append(e) } }
        defer { writer.stop() }
        let target = network("198.18.10.1")
        writer.enqueueBan(makeBan("198.18.10.1", at: t0), evidence: sampleEvents("198.18.10.1"))
        writer.enqueueLift(network: target, at: t0 + .seconds(1))
        writer.enqueueBan(makeBan("198.18.10.1", at: t0 + .seconds(2), offence: 2), evidence: [])
        writer.flush()
        let all = try ledger.bans(limit: 10, includeInactive: true, at: t0 + .seconds(3))
        #expect(all.count == 2)
        #expect(all[0].offence == 2 && all[0].liftedAt == nil)
        #expect(all[1].offence == 1 && all[1].liftedAt == t0 + .seconds(1))
        #expect(try ledger.activeBans(at: t0 + .seconds(3)).map(\.offence) == [2])
        #expect(errors.withLock { $0.isEmpty })
        #expect(writer.counts == (committed: 3, failed: 0))
    }

    @Test("a bad record is reported and does not take its batch down")
    func badRecordIsolated() throws {
        let ledger = try Ledger(inMemory: ())
        let errors = Mutex<[LedgerError]>([])
        let writer = try LedgerWriter(ledger: ledger) { e in errors.withLock { $0.append(e) } }
        defer { writer.stop() }
        writer.enqueueBan(makeBan("198.18.11.1"), evidence: [])
        writer.enqueueBan(makeBan("198.18.11.2", offence: 0), evidence: [])
        writer.enqueueBan(makeBan("198.18.11.3"), evidence: [])
        writer.flush()
        #expect(try ledger.activeBans(at: t0).map(\.network.description) == ["198.18.11.1", "198.18.11.3"])
        #expect(errors.withLock { $0.count } == 1)
        #expect(writer.counts.failed == 1)
    }

    @Test("many producers, nothing lost; stop drains the queue; later writes are refused")
    func producersAndStop() throws {
        let ledger = try Ledger(inMemory: ())
        let dropped = Atomic<Int>(0)
        let writer = try LedgerWriter(ledger: ledger) { _ in dropped.add(1, ordering: .relaxed) }
        let perThread = 500
        let threads = (0..<4).map { t in
            Thread {
                for i in 0..<perThread {
                    writer.enqueueBan(
                        makeBan("198.18.\(12 + t).\(i % 250)", at: t0 + .microseconds(Int64(i))),
                        evidence: Array(sampleEvents().prefix(1)))
                }
            }
        }
        let began = ContinuousClock.now
        for thread in threads { thread.start() }
        // Enqueueing never waits for the disk: all producers finish quickly.
        #expect(waitUntil { threads.allSatisfy { $0.isFinished } })
        let enqueueTime = ContinuousClock.now - began
        writer.stop()
        #expect(try ledger.statistics(at: t0).totalBans == 4 * perThread)
        #expect(try ledger.statistics(at: t0).eventsStored == 4 * perThread)
        writer.enqueueBan(makeBan("198.18.20.1"), evidence: [])
        writer.flush() // returns at once after stop
        #expect(dropped.load(ordering: .relaxed) == 1)
        #expect(try ledger.statistics(at: t0).totalBans == 4 * perThread)
        #expect(enqueueTime < .seconds(5))
    }
}

/// Polls `condition` every 2 ms until it holds or `timeout` passes.
@discardableResult
func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(2000)
    }
    return condition()
}
