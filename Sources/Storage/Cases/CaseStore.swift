// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import Foundation
import GRDB
public import WardenCore

/// The abuse cases, their messages and the outbox, in the ledger (schema v4; docs/ABUSE.md).
///
/// What the case service and the CLI read and write. Every outbox state change that
/// matters for "exactly once" (`beginHandover`, `finishHandover`, `recordStage`) is
/// committed with `synchronous=FULL` before the call returns, so the mark is on disk
/// before any byte leaves the machine, even across a power loss; the rest uses the
/// ledger's WAL + `synchronous=NORMAL` (survives a killed process).
public final class CaseStore: Sendable {
    let ledger: Ledger

    /// The store of `ledger` (one per ledger; any number may share it).
    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    // MARK: - Cases

    /// Inserts `abuseCase` or replaces the stored one of the same id.
    public func save(_ abuseCase: AbuseCase, at now: Timestamp) throws(LedgerError) {
        let data = try Self.encode(abuseCase)
        try ledger.write { db in try Self.upsert(abuseCase, data: data, at: now, db) }
    }

    /// The case with `id`, if stored.
    public func abuseCase(id: UUID) throws(LedgerError) -> AbuseCase? {
        try ledger.read { db in
            try Row.fetchOne(db, sql: "SELECT id, data FROM abuse_case WHERE id = ?", arguments: [Self.key(id)]).map(Self.decodeCase)
        }
    }

    /// Cases, most recently changed first; only those in `states` when given.
    public func cases(states: Set<CaseState>? = nil, limit: Int = 1000) throws(LedgerError) -> [AbuseCase] {
        var sql = "SELECT id, data FROM abuse_case"
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let states {
            sql += " WHERE state IN (\(states.map { _ in "?" }.joined(separator: ", ")))"
            arguments += states.map(\.rawValue).sorted().map { $0 as (any DatabaseValueConvertible)? }
        }
        sql += " ORDER BY updatedAt DESC, id LIMIT ?"
        arguments.append(max(0, limit))
        let bound = StatementArguments(arguments)
        return try ledger.read { db in try Row.fetchAll(db, sql: sql, arguments: bound).map(Self.decodeCase) }
    }

    // MARK: - Messages

    /// Keeps `message` with its case; returns its row id.
    @discardableResult
    public func appendMessage(_ message: CaseMessage) throws(LedgerError) -> Int64 {
        try ledger.write { db in try Self.insert(message, db) }
    }

    /// The messages of a case, oldest first.
    public func messages(caseID: UUID) throws(LedgerError) -> [CaseMessage] {
        try ledger.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, caseId, direction, messageID, time, peer, raw, path, classification
                    FROM abuse_message WHERE caseId = ? ORDER BY time, id
                    """, arguments: [Self.key(caseID)]
            ).map(Self.decodeMessage)
        }
    }

    /// The case an earlier message of ours (by Message-ID) belongs to, if any.
    public func caseID(forMessageID messageID: String) throws(LedgerError) -> UUID? {
        let text: String? = try ledger.read { db in
            try String.fetchOne(
                db, sql: "SELECT caseId FROM abuse_message WHERE messageID = ? AND direction = 'out' LIMIT 1", arguments: [messageID])
        }
        return text.flatMap(UUID.init(uuidString:))
    }

    // MARK: - Rows

    static func key(_ id: UUID) -> String { id.uuidString.lowercased() }

    static func encode(_ abuseCase: AbuseCase) throws(LedgerError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do {
            return String(decoding: try encoder.encode(abuseCase), as: UTF8.self)
        } catch {
            throw .invalidRecord("case \(key(abuseCase.id)) cannot be encoded: \(error)")
        }
    }

    static func upsert(_ c: AbuseCase, data: String, at now: Timestamp, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO abuse_case (id, state, asn, organisation, currentContact, ticket, openedAt, updatedAt, data)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, asn = excluded.asn, organisation = excluded.organisation,
                  currentContact = excluded.currentContact, ticket = excluded.ticket, updatedAt = excluded.updatedAt, data = excluded.data
                """,
            arguments: [
                key(c.id), c.state.rawValue, c.asn.map { Int64($0) }, c.organisation,
                c.contacts.indices.contains(c.currentContact) ? c.contacts[c.currentContact] : nil, c.ticket,
                c.openedAt.microseconds, now.microseconds, data,
            ])
    }

    static func decodeCase(_ row: Row) throws -> AbuseCase {
        let id: String = row[0]
        let text: String? = row[1]
        guard let data = text else { throw LedgerError.corruptRow(table: "abuse_case", id: 0, detail: "case \(id) has no data") }
        do {
            return try JSONDecoder().decode(AbuseCase.self, from: Data(data.utf8))
        } catch {
            throw LedgerError.corruptRow(table: "abuse_case", id: 0, detail: "case \(id.prefix(64)): \(error)")
        }
    }

    static func insert(_ m: CaseMessage, _ db: Database) throws -> Int64 {
        let classification = try m.classification.map { c in
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return String(decoding: try encoder.encode(c), as: UTF8.self)
        }
        try db.execute(
            sql: """
                INSERT INTO abuse_message (caseId, direction, messageID, time, peer, raw, path, classification)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                key(m.caseID), m.direction.rawValue, m.messageID, m.time.microseconds, m.peer, m.raw.map { Data($0) }, m.path, classification,
            ])
        return db.lastInsertedRowID
    }

    static func decodeMessage(_ row: Row) throws -> CaseMessage {
        let id: Int64 = row[0]
        func bad(_ what: String) -> LedgerError { .corruptRow(table: "abuse_message", id: id, detail: what) }
        let caseText: String = row[1]
        guard let caseID = UUID(uuidString: caseText) else { throw bad("case id") }
        let directionText: String = row[2]
        guard let direction = CaseMessage.Direction(rawValue: directionText) else { throw bad("direction '\(directionText.prefix(16))'") }
        let raw: Data? = row[6]
        let classificationText: String? = row[8]
        var classification: CaseMessage.Classification?
        if let classificationText {
            do {
                classification = try JSONDecoder().decode(CaseMessage.Classification.self, from: Data(classificationText.utf8))
            } catch {
                throw bad("classification: \(error)")
            }
        }
        return CaseMessage(
            id: id, caseID: caseID, direction: direction, messageID: row[3], time: Timestamp(microseconds: row[4]), peer: row[5],
            raw: raw.map { Array($0) }, path: row[7], classification: classification)
    }
}
