// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Storage
import Testing
import WardenCore

/// A state directory written by the build at 94142ec (schema v1), in a fresh temporary
/// copy (the migration writes to it).
func legacyStateDirectory() throws -> String {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sipwarden-legacy-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
        at: fixtures.appendingPathComponent("state-94142ec/ledger.sqlite"), to: directory.appendingPathComponent("ledger.sqlite"))
    return directory.path
}

/// What the old build listed (`bans list --all --json`), one object per ban.
private func oldListing() throws -> [[String: Any]] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/state-94142ec-bans.json")
    let text = try String(contentsOf: url, encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

/// The old listing's time form: `2026-12-02T19:58:21.072462Z` (UTC, microseconds).
private func rfc3339(_ t: Timestamp) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    let seconds = t.microseconds / 1_000_000
    let text = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    let micros = String(t.microseconds % 1_000_000)
    return text.dropLast() + "." + String(repeating: "0", count: 6 - micros.count) + micros + "Z"
}

@Suite struct LegacyLedgerTests {
    @Test func aStateDirectoryOf94142ecIsMigratedAndReadsAsItWasWritten() throws {
        let directory = try legacyStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = try Ledger(directory: directory)
        let bans = try ledger.bans(limit: 100, includeInactive: true)
        let old = try oldListing()
        #expect(bans.count == old.count && bans.count == 6)
        for (record, listed) in zip(bans, old) {
            #expect(record.network.description == listed["network"] as? String)
            #expect(record.reason == listed["reason"] as? String)
            #expect(record.rule.description == listed["kind"] as? String)
            #expect(record.origin.rawValue == listed["origin"] as? String)
            #expect(rfc3339(record.createdAt) == listed["created"] as? String)
            #expect(record.expiresAt.map(rfc3339) == listed["expires"] as? String)
            #expect(record.liftedAt.map(rfc3339) == listed["lifted"] as? String)
        }
        #expect(Set(bans.map(\.banID)).count == 6, "every old row got its own ban id")
        #expect(bans.filter { $0.origin == .detector }.map(\.rule) == [.failures, .failures, .failures])
        #expect(bans.allSatisfy { $0.enrichment == nil }, "old rows knew nothing of their networks (v3 adds the column)")
        #expect(bans.filter { $0.origin == .manual }.map(\.rule) == [.manual, .manual, .manual])

        // Evidence written by the old build is still there.
        for record in bans where record.origin == .detector {
            let evidence = try ledger.evidence(forBan: try #require(record.id))
            #expect(evidence.count == 3)
            #expect(evidence.allSatisfy { $0.kind == .authFailed && IPNetwork(host: $0.source) == record.network })
        }
        // A day after it was written: everything but the lifted ban is in force.
        let dayAfter = try #require(bans.map(\.createdAt).max()) + .seconds(86_400)
        #expect(
            try ledger.activeBans(at: dayAfter).map(\.network.description).sorted()
                == ["198.18.3.1", "198.18.3.2", "198.18.7.0/24", "2001:2::3", "2001:2::66"])
    }

    @Test func theMigrationRunsOnceAndNewBansFollowTheOldRows() throws {
        let directory = try legacyStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let firstIDs = try Ledger(directory: directory).bans(limit: 100, includeInactive: true).map(\.banID)
        let ledger = try Ledger(directory: directory)
        #expect(try ledger.bans(limit: 100, includeInactive: true).map(\.banID) == firstIDs, "ids are stable across reopening")

        let lastOld = try ledger.lastRow()
        let ban = Ban(
            network: IPNetwork("198.18.4.4")!, rule: .kind(.scanner), origin: .detector,
            created: Timestamp(seconds: 1_800_000_000), duration: .seconds(600), reason: "after the upgrade",
            enrichment: IntelEnrichment(asn: 64_500, asName: "LAB-AS", country: "DE", prefix: IPNetwork("198.18.0.0/15"), provider: "lab"))
        let row = try ledger.recordBan(BanRecord(ban), evidence: [])
        #expect(row > lastOld)
        let stored = try #require(try ledger.ban(banID: ban.id))
        #expect(stored.ban == ban)
        #expect(try ledger.bans(afterRow: lastOld, limit: 10).map(\.banID) == [ban.id])
    }

    @Test func aBanIDIsUnique() throws {
        let ledger = try Ledger(inMemory: ())
        let record = BanRecord(
            network: IPNetwork("198.18.4.5")!, reason: "r", rule: .manual,
            createdAt: Timestamp(seconds: 1_800_000_000), expiresAt: nil, origin: .manual)
        _ = try ledger.recordBan(record, evidence: [])
        #expect(throws: LedgerError.self) { _ = try ledger.recordBan(record, evidence: []) }
    }
}
