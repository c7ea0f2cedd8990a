// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import Foundation
import GRDB
public import WardenCore

extension CaseStore {
    /// Puts `entry` in the outbox and keeps the message with its case, in one durable
    /// transaction. Idempotent by Message-ID: when an entry with the same Message-ID
    /// exists, nothing is written and the stored entry is returned (a case service that
    /// crashed after enqueueing and enqueues again adds nothing).
    @discardableResult
    public func enqueue(_ entry: OutboxEntry) throws(LedgerError) -> OutboxEntry {
        guard !entry.recipient.isEmpty, !entry.messageID.isEmpty, entry.state == .queued || entry.state == .pendingApproval else {
            throw .invalidRecord("an outbox entry needs a recipient, a Message-ID and the state queued or pending-approval")
        }
        return try durableWrite { db in
            if let existing = try Self.fetchEntries(db, where: "messageID = ?", [entry.messageID]).first { return existing }
            try db.execute(
                sql: """
                    INSERT INTO abuse_outbox (caseId, messageID, sender, recipient, message, state, attempts, nextAttemptAt, createdAt)
                    VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)
                    """,
                arguments: [
                    Self.key(entry.caseID), entry.messageID, entry.sender, entry.recipient, Data(entry.message), entry.state.rawValue,
                    entry.nextAttemptAt.microseconds, entry.createdAt.microseconds,
                ])
            let id = db.lastInsertedRowID
            _ = try Self.insert(
                CaseMessage(
                    caseID: entry.caseID, direction: .outgoing, messageID: entry.messageID, time: entry.createdAt, peer: entry.recipient,
                    raw: entry.message), db)
            var stored = entry
            stored.id = id
            stored.attempts = 0
            return stored
        }
    }

    /// Outbox entries, oldest first; filtered by case and states when given.
    public func outbox(caseID: UUID? = nil, states: Set<OutboxState>? = nil, limit: Int = 1000) throws(LedgerError) -> [OutboxEntry] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let caseID {
            conditions.append("caseId = ?")
            arguments.append(Self.key(caseID))
        }
        if let states {
            conditions.append("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
            arguments += states.map(\.rawValue).sorted().map { $0 as (any DatabaseValueConvertible)? }
        }
        let condition = conditions.isEmpty ? "1" : conditions.joined(separator: " AND ")
        arguments.append(max(0, limit))
        return try ledger.read { db in try Self.fetchEntries(db, where: condition + " ORDER BY id LIMIT ?", arguments) }
    }

    /// One entry by row id.
    public func outboxEntry(id: Int64) throws(LedgerError) -> OutboxEntry? {
        try ledger.read { db in try Self.fetchEntries(db, where: "id = ?", [id]).first }
    }

    /// Queued entries whose time has come, oldest due first.
    public func dueEntries(at now: Timestamp, limit: Int = 100) throws(LedgerError) -> [OutboxEntry] {
        try ledger.read { db in
            try Self.fetchEntries(
                db, where: "state = 'queued' AND nextAttemptAt <= ? ORDER BY nextAttemptAt, id LIMIT ?", [now.microseconds, max(0, limit)])
        }
    }

    /// Entries a crash left in `handing-over`.
    public func interruptedHandovers() throws(LedgerError) -> [OutboxEntry] {
        try ledger.read { db in try Self.fetchEntries(db, where: "state = 'handing-over' ORDER BY id", []) }
    }

    /// For each of `recipients` (case-insensitive): when its messages since `since` were
    /// handed over (sent, or being handed over). Keys are lowercased.
    public func handoverTimes(recipients: Set<String>, since: Timestamp) throws(LedgerError) -> [String: [Timestamp]] {
        guard !recipients.isEmpty else { return [:] }
        let lowered = Set(recipients.map { $0.lowercased() }).sorted()
        let sql = """
            SELECT lower(recipient), COALESCE(sentAt, handoverStartedAt) FROM abuse_outbox
            WHERE lower(recipient) IN (\(lowered.map { _ in "?" }.joined(separator: ", ")))
              AND state IN ('sent', 'handing-over') AND COALESCE(sentAt, handoverStartedAt) >= ?
            """
        var values: [(any DatabaseValueConvertible)?] = lowered.map { $0 }
        values.append(since.microseconds)
        let bound = StatementArguments(values)
        return try ledger.read { db in
            var result: [String: [Timestamp]] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: bound) {
                result[row[0], default: []].append(Timestamp(microseconds: row[1]))
            }
            return result
        }
    }

    /// Releases the case's entries waiting for approval (review mode): they are due at
    /// `now`. Returns how many were released.
    @discardableResult
    public func approve(caseID: UUID, at now: Timestamp) throws(LedgerError) -> Int {
        try durableWrite { db in
            try db.execute(
                sql: "UPDATE abuse_outbox SET state = 'queued', nextAttemptAt = ? WHERE caseId = ? AND state = 'pending-approval'",
                arguments: [now.microseconds, Self.key(caseID)])
            return db.changesCount
        }
    }

    /// Moves a queued entry's next attempt to `until` (the per-recipient limit).
    public func postpone(id: Int64, until: Timestamp) throws(LedgerError) {
        try ledger.write { db in
            try db.execute(
                sql: "UPDATE abuse_outbox SET nextAttemptAt = ? WHERE id = ? AND state = 'queued'", arguments: [until.microseconds, id])
        }
    }

    /// Marks a queued entry `handing-over` (attempts + 1, stage `started`) — durably,
    /// before the transport is called. Returns the entry as marked, or nil when it was not
    /// queued any more (another deliverer took it, or the operator changed it).
    public func beginHandover(id: Int64, transport: TransportKind, at now: Timestamp) throws(LedgerError) -> OutboxEntry? {
        try durableWrite { db in
            try db.execute(
                sql: """
                    UPDATE abuse_outbox SET state = 'handing-over', attempts = attempts + 1, handoverStartedAt = ?,
                      handoverTransport = ?, handoverStage = 'started', handoverPID = NULL
                    WHERE id = ? AND state = 'queued'
                    """, arguments: [now.microseconds, transport.rawValue, id])
            guard db.changesCount == 1 else { return nil }
            return try Self.fetchEntries(db, where: "id = ?", [id]).first
        }
    }

    /// Records, durably, how far a hand-over got (and the `sendmail` process's id).
    public func recordStage(id: Int64, _ stage: HandoverStage, pid: Int32? = nil) throws(LedgerError) {
        try durableWrite { db in
            try db.execute(
                sql: "UPDATE abuse_outbox SET handoverStage = ?, handoverPID = ? WHERE id = ? AND state = 'handing-over'",
                arguments: [stage.rawValue, pid.map { Int64($0) }, id])
        }
    }

    /// Stores the outcome of a hand-over (or of the restart rule), durably. Only an entry
    /// still `handing-over` is changed; returns whether it was.
    @discardableResult
    public func finishHandover(_ entry: OutboxEntry) throws(LedgerError) -> Bool {
        guard let id = entry.id, entry.state != .handingOver else {
            throw .invalidRecord("a finished hand-over needs a stored entry and a new state")
        }
        return try durableWrite { db in
            try db.execute(
                sql: """
                    UPDATE abuse_outbox SET state = ?, nextAttemptAt = ?, sentAt = ?, lastError = ?, confirmation = ?,
                      handoverStage = ?, handoverPID = ?
                    WHERE id = ? AND state = 'handing-over'
                    """,
                arguments: [
                    entry.state.rawValue, entry.nextAttemptAt.microseconds, entry.sentAt?.microseconds, entry.lastError, entry.confirmation,
                    entry.handoverStage?.rawValue, entry.handoverPID.map { Int64($0) }, id,
                ])
            return db.changesCount == 1
        }
    }

    // MARK: - Rows

    static let outboxColumns = """
        id, caseId, messageID, sender, recipient, message, state, attempts, nextAttemptAt, createdAt, handoverStartedAt,
        handoverTransport, handoverStage, handoverPID, sentAt, lastError, confirmation
        """

    static func fetchEntries(_ db: Database, where condition: String, _ arguments: [(any DatabaseValueConvertible)?]) throws -> [OutboxEntry] {
        try Row.fetchAll(db, sql: "SELECT \(outboxColumns) FROM abuse_outbox WHERE \(condition)", arguments: StatementArguments(arguments))
            .map(decodeEntry)
    }

    static func decodeEntry(_ row: Row) throws -> OutboxEntry {
        let id: Int64 = row[0]
        func bad(_ what: String) -> LedgerError { .corruptRow(table: "abuse_outbox", id: id, detail: what) }
        let caseText: String = row[1]
        guard let caseID = UUID(uuidString: caseText) else { throw bad("case id") }
        let stateText: String = row[6]
        guard let state = OutboxState(rawValue: stateText) else { throw bad("state '\(stateText.prefix(32))'") }
        let message: Data = row[5] ?? Data()
        var entry = OutboxEntry(
            id: id, caseID: caseID, messageID: row[2], sender: row[3], recipient: row[4], message: Array(message), state: state,
            attempts: Int(clamping: row[7] as Int64), nextAttemptAt: Timestamp(microseconds: row[8]), createdAt: Timestamp(microseconds: row[9]))
        entry.handoverStartedAt = (row[10] as Int64?).map { Timestamp(microseconds: $0) }
        if let text = row[11] as String? {
            guard let t = TransportKind(rawValue: text) else { throw bad("transport '\(text.prefix(32))'") }
            entry.handoverTransport = t
        }
        if let text = row[12] as String? {
            guard let s = HandoverStage(rawValue: text) else { throw bad("stage '\(text.prefix(32))'") }
            entry.handoverStage = s
        }
        entry.handoverPID = (row[13] as Int64?).flatMap { Int32(exactly: $0) }
        entry.sentAt = (row[14] as Int64?).map { Timestamp(microseconds: $0) }
        entry.lastError = row[15]
        entry.confirmation = row[16]
        return entry
    }

    /// A write committed with `synchronous=FULL` (the WAL is synced before it returns).
    func durableWrite<T>(_ body: (Database) throws -> T) throws(LedgerError) -> T {
        do {
            return try ledger.database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
                var result: Result<T, any Error> = .failure(LedgerError.database("no result"))
                try db.inTransaction(.immediate) {
                    result = Result { try body(db) }
                    if case .failure = result { return .rollback }
                    return .commit
                }
                return try result.get()
            }
        } catch {
            throw Ledger.translate(error, path: ledger.path)
        }
    }
}
