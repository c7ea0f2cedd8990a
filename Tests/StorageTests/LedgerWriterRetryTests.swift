// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import GRDB
import Storage
import Synchronization
import Testing
import WardenCore

/// A ledger file in a fresh directory, and a second connection to it that can hold the
/// write lock as another process would.
private struct LockedLedger {
    let directory: URL
    let ledger: Ledger
    let other: DatabaseQueue

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sipwarden-busy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        ledger = try Ledger(directory: directory.path, busyTimeout: .milliseconds(20))
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true // the lock is held across calls
        configuration.busyMode = .timeout(5)
        other = try DatabaseQueue(path: ledger.path, configuration: configuration)
    }

    func lock() throws { try other.inDatabase { try $0.execute(sql: "BEGIN IMMEDIATE") } }
    func unlock() throws { try other.inDatabase { try $0.execute(sql: "ROLLBACK") } }
    func remove() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("LedgerWriter: transient failures")
struct LedgerWriterRetryTests {
    @Test("a write refused while another process holds the lock waits, in order, and is committed once it can be")
    func lockedLedgerLosesNothing() throws {
        let locked = try LockedLedger()
        defer { locked.remove() }
        let errors = Mutex<[LedgerError]>([])
        let delays = Mutex<[LedgerError]>([])
        let writer = try LedgerWriter(
            ledger: locked.ledger, retryDelay: .milliseconds(10), onDelay: { e in delays.withLock { $0.append(e) } }
        ) { e in errors.withLock { $0.append(e) } }
        defer { writer.stop() }

        try locked.lock()
        writer.enqueueBan(makeBan("198.18.20.1", at: t0), evidence: sampleEvents("198.18.20.1"))
        writer.enqueueLift(network: network("198.18.20.1"), at: t0 + .seconds(1))
        writer.enqueueBan(makeBan("198.18.20.1", at: t0 + .seconds(2), offence: 2), evidence: [])
        writer.flush() // returns after the first try: the writes wait
        #expect(try locked.ledger.bans(afterRow: 0, limit: 10).isEmpty)
        #expect(writer.pending == 3 && writer.counts == (committed: 0, failed: 0))
        #expect(waitUntil { delays.withLock { $0.count } == 1 }, "the delay is reported once")
        if case .busy? = delays.withLock({ $0.first }) {} else { Issue.record("not a busy error: \(delays.withLock { $0 })") }
        // A write enqueued meanwhile goes behind them.
        writer.enqueueBan(makeBan("198.18.20.2", at: t0 + .seconds(3)), evidence: [])

        try locked.unlock()
        #expect(waitUntil { writer.pending == 0 })
        writer.flush()
        let all = try locked.ledger.bans(afterRow: 0, limit: 10)
        #expect(all.map(\.network.description) == ["198.18.20.1", "198.18.20.1", "198.18.20.2"])
        #expect(all.map(\.offence) == [1, 2, 1])
        #expect(all[0].liftedAt == t0 + .seconds(1) && all[1].liftedAt == nil, "the lift came between the two bans")
        #expect(errors.withLock { $0.isEmpty } && writer.counts == (committed: 4, failed: 0))
    }

    @Test("a write that keeps failing is reported and dropped after its attempts, and does not wedge the writer")
    func boundedAttempts() throws {
        let locked = try LockedLedger()
        defer { locked.remove() }
        let errors = Mutex<[LedgerError]>([])
        let writer = try LedgerWriter(ledger: locked.ledger, retryDelay: .milliseconds(5), maxAttempts: 3) { e in
            errors.withLock { $0.append(e) }
        }
        defer { writer.stop() }
        try locked.lock()
        writer.enqueueBan(makeBan("198.18.21.1"), evidence: [])
        #expect(waitUntil { writer.counts.failed == 1 })
        #expect(errors.withLock { $0.count } == 1)
        try locked.unlock()
        writer.enqueueBan(makeBan("198.18.21.2"), evidence: [])
        writer.flush()
        #expect(try locked.ledger.bans(afterRow: 0, limit: 10).map(\.network.description) == ["198.18.21.2"])
    }
}
