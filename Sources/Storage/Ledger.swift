// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import GRDB
import Glibc
public import NetworkAddress
public import WardenCore

/// The ban ledger: every ban, its evidence, and when it ended, in an SQLite file.
///
/// Bans and their evidence are written in one transaction. The database runs in WAL mode
/// with `synchronous=NORMAL`: a committed ban survives a crash of the process (kill -9);
/// after a power loss the last few commits may be lost, never the file's consistency.
///
/// Attacker-controlled text (user names, user agents, reasons) is stored through bound
/// parameters only and clipped to `maxTextBytes` bytes per field; at most
/// `maxEvidencePerBan` events (the most recent) are kept per ban, so a flood cannot make
/// the ledger grow without bound per ban.
public final class Ledger: Sendable {
    /// Where the daemon keeps its state unless told otherwise.
    public static let defaultDirectory = "/var/lib/sipwarden"
    /// The ledger's file name inside the state directory.
    public static let fileName = "ledger.sqlite"
    /// Longest stored text field, in bytes.
    public static let maxTextBytes = 1024
    /// Most evidence events stored per ban.
    public static let maxEvidencePerBan = 1000
    /// `PRAGMA application_id` marking a sipwarden ledger ("SWLG").
    static let applicationID: Int32 = 0x5357_4C47

    /// The database file, or ":memory:".
    public let path: String
    let database: any DatabaseWriter

    /// Opens (creating if needed) the ledger in `directory`, creating the directory with
    /// mode 0700 when missing, and brings the schema up to date.
    /// - Parameter busyTimeout: how long a write waits for another process's lock before
    ///   it fails with `.busy` (the `LedgerWriter` then retries it later).
    public init(directory: String = Ledger.defaultDirectory, busyTimeout: Duration = .seconds(5)) throws(LedgerError) {
        try Self.makeDirectory(directory)
        let path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
        self.path = path
        var config = Self.configuration()
        let (seconds, attoseconds) = busyTimeout.components
        config.busyMode = .timeout(Double(seconds) + Double(attoseconds) / 1e18)
        do {
            database = try DatabasePool(path: path, configuration: config)
        } catch {
            throw Self.translate(error, path: path)
        }
        try Self.prepare(database, path: path)
    }

    /// An empty ledger in memory, for tests and dry runs.
    public init(inMemory: Void) throws(LedgerError) {
        path = ":memory:"
        do {
            database = try DatabaseQueue(configuration: Self.configuration())
        } catch {
            throw Self.translate(error, path: path)
        }
        try Self.prepare(database, path: path)
    }

    private static func configuration() -> Configuration {
        var config = Configuration()
        config.label = "sipwarden.ledger"
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return config
    }

    // MARK: - Writing

    /// Records a ban and the events that justified it, in one transaction. `ban.id` is
    /// ignored; the new row id is returned.
    public func recordBan(_ ban: BanRecord, evidence: [SecurityEvent]) throws(LedgerError) -> Int64 {
        try Self.validate(ban)
        return try write { db in try Self.insert(ban, evidence: evidence, db) }
    }

    /// Marks the bans of exactly `network` that are in force at `at` as lifted at `at`.
    /// Returns how many were lifted (0 when none was active).
    @discardableResult
    public func liftBan(network: IPNetwork, at: Timestamp) throws(LedgerError) -> Int {
        try write { db in try Self.lift(network, at: at, db) }
    }

    /// Applies a batch of writes in one transaction (used by `LedgerWriter`).
    func apply(_ operations: [LedgerOperation]) throws(LedgerError) {
        for case .ban(let ban, _) in operations { try Self.validate(ban) }
        try write { db in
            for operation in operations {
                switch operation {
                case .ban(let ban, let evidence): _ = try Self.insert(ban, evidence: evidence, db)
                case .lift(let network, let at): _ = try Self.lift(network, at: at, db)
                }
            }
        }
    }

    // MARK: - Reading

    /// Bans in force at `now` (not lifted, not expired), oldest first: what the kernel's
    /// sets must contain after a restart.
    public func activeBans(at now: Timestamp) throws(LedgerError) -> [BanRecord] {
        try read { db in
            try Self.fetchBans(
                db,
                sql: """
                    SELECT \(Self.banColumns) FROM ban
                    WHERE liftedAt IS NULL AND (expiresAt IS NULL OR expiresAt > ?)
                    ORDER BY createdAt, id
                    """, arguments: [now.microseconds])
        }
    }

    /// The most recent bans, newest first. Without `includeInactive`, only bans in force
    /// at `now` (default: the system clock). With `network`, only bans of exactly that
    /// prefix.
    public func bans(
        limit: Int, includeInactive: Bool, at now: Timestamp? = nil, network: IPNetwork? = nil
    ) throws(LedgerError) -> [BanRecord] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if !includeInactive {
            conditions.append("liftedAt IS NULL AND (expiresAt IS NULL OR expiresAt > ?)")
            arguments.append((now ?? Self.wallClock()).microseconds)
        }
        if let network {
            conditions.append("network = ?")
            arguments.append(Self.text(network))
        }
        arguments.append(max(0, limit))
        let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.banColumns) FROM ban \(condition) ORDER BY createdAt DESC, id DESC LIMIT ?"
        let bound = StatementArguments(arguments)
        return try read { db in try Self.fetchBans(db, sql: sql, arguments: bound) }
    }

    /// What operators changed since `since`: bans lifted at or after it, and manual bans
    /// created at or after it, oldest change first. A running daemon applies these to its
    /// detector (`sipwarden bans remove|add` signal it; it also looks every 10 s).
    public func operatorChanges(since: Timestamp) throws(LedgerError) -> [BanRecord] {
        try read { db in
            try Self.fetchBans(
                db,
                sql: """
                    SELECT \(Self.banColumns) FROM ban
                    WHERE liftedAt >= ?1 OR (origin = 'manual' AND createdAt >= ?1)
                    ORDER BY COALESCE(liftedAt, createdAt), id
                    """, arguments: [since.microseconds])
        }
    }

    /// Bans recorded after row `afterRow` (a cursor: the last row id a consumer has seen),
    /// in row order (the order they were recorded), at most `limit`.
    public func bans(afterRow: Int64, limit: Int) throws(LedgerError) -> [BanRecord] {
        try read { db in
            try Self.fetchBans(
                db, sql: "SELECT \(Self.banColumns) FROM ban WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [afterRow, max(0, limit)])
        }
    }

    /// The newest row id (0 for an empty ledger): where a new consumer's cursor starts.
    public func lastRow() throws(LedgerError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM ban") ?? 0 }
    }

    /// One ban by its identity.
    public func ban(banID: BanID) throws(LedgerError) -> BanRecord? {
        try read { db in
            try Self.fetchBans(
                db, sql: "SELECT \(Self.banColumns) FROM ban WHERE banUUID = ?",
                arguments: [banID.description]
            ).first
        }
    }

    /// One ban by id.
    public func ban(id: Int64) throws(LedgerError) -> BanRecord? {
        try read { db in
            try Self.fetchBans(db, sql: "SELECT \(Self.banColumns) FROM ban WHERE id = ?", arguments: [id]).first
        }
    }

    /// The evidence stored with a ban, in the order it was given.
    public func evidence(forBan id: Int64) throws(LedgerError) -> [SecurityEvent] {
        try read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, time, source, sourcePort, transport, kind, CAST(user AS BLOB),
                           CAST(userAgent AS BLOB), CAST(reason AS BLOB), dialect, originKind,
                           CAST(originName AS BLOB), originNumber, destination, destinationPort,
                           CAST(callID AS BLOB)
                    FROM event WHERE banId = ? ORDER BY seq
                    """, arguments: [id])
            var events: [SecurityEvent] = []
            while let row = try rows.next() { events.append(try Self.decodeEvent(row)) }
            return events
        }
    }

    /// For each network banned since `since`: how many bans and when the last one was
    /// made. Restores escalation state after a restart.
    public func offenceCounts(since: Timestamp) throws(LedgerError) -> [IPNetwork: (count: Int, lastBanAt: Timestamp)] {
        try offenceHistory(since: since).mapValues { ($0.count, $0.lastBanAt) }
    }

    /// Like `offenceCounts`, with the highest offence number as well.
    public func offenceHistory(since: Timestamp) throws(LedgerError) -> [IPNetwork: OffenceHistory] {
        try read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT network, COUNT(*), MAX(createdAt), MAX(offence) FROM ban
                    WHERE createdAt >= ? GROUP BY network
                    """, arguments: [since.microseconds])
            var result: [IPNetwork: OffenceHistory] = [:]
            while let row = try rows.next() {
                let text: String = try Self.column(row, 0, table: "ban", id: 0)
                guard let network = IPNetwork(text) else {
                    throw LedgerError.corruptRow(table: "ban", id: 0, detail: "network '\(text)'")
                }
                let count: Int64 = try Self.column(row, 1, table: "ban", id: 0)
                let last: Int64 = try Self.column(row, 2, table: "ban", id: 0)
                let offence: Int64 = try Self.column(row, 3, table: "ban", id: 0)
                result[network] = OffenceHistory(
                    count: Int(count), lastBanAt: Timestamp(microseconds: last),
                    highestOffence: Int(clamping: offence))
            }
            return result
        }
    }

    /// Counts for `sipwarden status`, with "active" judged at `now` (default: the system
    /// clock).
    public func statistics(at now: Timestamp? = nil) throws(LedgerError) -> LedgerStatistics {
        let now = now ?? Self.wallClock()
        return try read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT
                          (SELECT COUNT(*) FROM ban WHERE liftedAt IS NULL AND (expiresAt IS NULL OR expiresAt > ?1)),
                          (SELECT COUNT(*) FROM ban WHERE liftedAt IS NULL AND expiresAt IS NULL),
                          (SELECT COUNT(*) FROM ban),
                          (SELECT COUNT(*) FROM ban WHERE liftedAt IS NOT NULL),
                          (SELECT COUNT(*) FROM event),
                          (SELECT MAX(createdAt) FROM ban)
                        """, arguments: [now.microseconds])
            else { throw LedgerError.database("statistics query returned no row") }
            func count(_ i: Int) throws -> Int { Int(try Self.column(row, i, table: "ban", id: 0) as Int64) }
            let last: Int64? = try Self.optionalColumn(row, 5, table: "ban", id: 0)
            return LedgerStatistics(
                activeBans: try count(0), permanentActiveBans: try count(1), totalBans: try count(2),
                liftedBans: try count(3), eventsStored: try count(4),
                lastBanAt: last.map { Timestamp(microseconds: $0) })
        }
    }

    /// The system's real-time clock.
    static func wallClock() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(seconds: Int64(now.tv_sec), microseconds: Int64(now.tv_nsec / 1000))
    }

    // MARK: - Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-bans-and-evidence") { db in
            try db.execute(sql: "PRAGMA application_id = \(Ledger.applicationID)")
            try db.execute(
                sql: """
                    CREATE TABLE ban (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      network TEXT NOT NULL,
                      reason TEXT NOT NULL,
                      kind TEXT NOT NULL,
                      createdAt INTEGER NOT NULL,
                      expiresAt INTEGER,
                      offence INTEGER NOT NULL CHECK (offence >= 1),
                      liftedAt INTEGER,
                      origin TEXT NOT NULL
                    );
                    CREATE INDEX ban_by_network ON ban(network, createdAt);
                    CREATE INDEX ban_by_time ON ban(createdAt);
                    CREATE INDEX ban_open ON ban(expiresAt) WHERE liftedAt IS NULL;
                    CREATE TABLE event (
                      id INTEGER PRIMARY KEY,
                      banId INTEGER NOT NULL REFERENCES ban(id) ON DELETE CASCADE,
                      seq INTEGER NOT NULL,
                      time INTEGER NOT NULL,
                      source TEXT NOT NULL,
                      sourcePort INTEGER,
                      transport TEXT,
                      kind TEXT NOT NULL,
                      user TEXT,
                      userAgent TEXT,
                      reason TEXT,
                      dialect TEXT NOT NULL,
                      originKind TEXT NOT NULL CHECK (originKind IN ('log', 'frame', 'wire')),
                      originName TEXT NOT NULL,
                      originNumber INTEGER NOT NULL
                    );
                    CREATE INDEX event_by_ban ON event(banId, seq);
                    """)
        }
        migrator.registerMigration("v2-ban-identity-and-destination", migrate: LedgerMigrations.banIdentityAndDestination)
        migrator.registerMigration("v3-ban-intel", migrate: LedgerMigrations.banIntel)
        migrator.registerMigration("v4-abuse-cases-and-outbox", migrate: CaseStoreSchema.create)
        return migrator
    }

    /// Refuses foreign or newer databases, then migrates.
    private static func prepare(_ database: any DatabaseWriter, path: String) throws(LedgerError) {
        let migrator = Self.migrator
        do {
            try database.read { db in
                let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                if applicationID != Ledger.applicationID {
                    // A brand-new file has no id and no tables; anything else is not ours.
                    let tables = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") ?? 0
                    if applicationID != 0 || tables > 0 { throw LedgerError.foreignDatabase(path: path) }
                    return
                }
                if try migrator.hasBeenSuperseded(db) {
                    let known = Set(migrator.migrations)
                    let unknown = try migrator.appliedIdentifiers(db).subtracting(known).sorted()
                    throw LedgerError.schemaTooNew(path: path, unknownMigrations: unknown)
                }
            }
            try migrator.migrate(database)
        } catch {
            throw translate(error, path: path)
        }
    }

    private static func makeDirectory(_ directory: String) throws(LedgerError) {
        guard !directory.isEmpty else { throw .cannotCreateDirectory(path: directory, errno: ENOENT) }
        var st = stat()
        if stat(directory, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw .cannotCreateDirectory(path: directory, errno: ENOTDIR) }
            return
        }
        // Create missing components, each with mode 0700.
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw .cannotCreateDirectory(path: prefix, errno: errno)
            }
        }
        guard stat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw .cannotCreateDirectory(path: directory, errno: ENOTDIR)
        }
    }

    // MARK: - Rows

    /// Free text is read back as BLOB: SQLite's text accessors stop at a NUL byte, and
    /// attacker-written text may contain one.
    static let banColumns = "id, network, CAST(reason AS BLOB), kind, createdAt, expiresAt, offence, liftedAt, origin, banUUID, intel"

    private static func validate(_ ban: BanRecord) throws(LedgerError) {
        guard ban.offence >= 1 else { throw .invalidRecord("offence must be at least 1, got \(ban.offence)") }
        if let expiresAt = ban.expiresAt, expiresAt < ban.createdAt {
            throw .invalidRecord("ban of \(ban.network) expires before it starts")
        }
    }

    /// Canonical `ADDR/LEN` text (host prefixes included), so equal networks compare equal.
    static func text(_ network: IPNetwork) -> String { "\(network.address)/\(network.prefixLength)" }

    /// Free text as UTF-8 bytes for binding as a BLOB, clipped to `maxTextBytes` on a
    /// character boundary. (SQLite's text binding would stop at a NUL byte, and attacker
    /// text may contain one.)
    static func bytes(_ text: String?) -> Data? {
        clip(text).map { Data($0.utf8) }
    }

    /// `text` clipped to `maxTextBytes` bytes on a Unicode scalar boundary.
    static func clip(_ text: String?) -> String? {
        guard let text, text.utf8.count > maxTextBytes else { return text }
        let head = Array(text.utf8.prefix(maxTextBytes + 1))
        var end = maxTextBytes
        // Step back over UTF-8 continuation bytes (10xxxxxx) to a scalar's first byte.
        while end > 0, head[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: head[..<end], as: UTF8.self)
    }

    private static func insert(_ ban: BanRecord, evidence: [SecurityEvent], _ db: Database) throws -> Int64 {
        try db.execute(
            sql: """
                INSERT INTO ban (network, reason, kind, createdAt, expiresAt, offence, liftedAt, origin, banUUID, intel)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                text(ban.network), bytes(ban.reason), ban.rule.description, ban.createdAt.microseconds,
                ban.expiresAt?.microseconds, ban.offence, ban.liftedAt?.microseconds, ban.origin.rawValue,
                ban.banID.description, LedgerMigrations.intelJSON(ban.enrichment),
            ])
        let id = db.lastInsertedRowID
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO event (banId, seq, time, source, sourcePort, transport, kind, user, userAgent,
                                   reason, dialect, originKind, originName, originNumber, destination,
                                   destinationPort, callID)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (seq, event) in evidence.suffix(maxEvidencePerBan).enumerated() {
            let origin: (kind: String, name: String, number: Int)
            switch event.origin {
            case .logLine(let file, let line): origin = ("log", file, line)
            case .frame(let file, let number): origin = ("frame", file, number)
            case .wire(let sensor): origin = ("wire", sensor, 0)
            }
            try statement.execute(arguments: [
                id, seq, event.time.microseconds, event.source.description, event.sourcePort.map { Int($0) },
                event.transport?.rawValue, event.kind.rawValue, bytes(event.user), bytes(event.userAgent),
                bytes(event.reason), event.dialect.rawValue, origin.kind, bytes(origin.name), origin.number,
                event.destination?.description, event.destinationPort.map { Int($0) }, bytes(event.callID),
            ])
        }
        return id
    }

    private static func lift(_ network: IPNetwork, at: Timestamp, _ db: Database) throws -> Int {
        try db.execute(
            sql: """
                UPDATE ban SET liftedAt = ?
                WHERE network = ? AND liftedAt IS NULL AND (expiresAt IS NULL OR expiresAt > ?)
                """, arguments: [at.microseconds, text(network), at.microseconds])
        return db.changesCount
    }

    private static func fetchBans(_ db: Database, sql: String, arguments: StatementArguments) throws -> [BanRecord] {
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        var bans: [BanRecord] = []
        while let row = try rows.next() {
            let id: Int64 = try column(row, 0, table: "ban", id: 0)
            let networkText: String = try column(row, 1, table: "ban", id: id)
            guard let network = IPNetwork(networkText) else {
                throw LedgerError.corruptRow(table: "ban", id: id, detail: "network '\(networkText)'")
            }
            let offence: Int64 = try column(row, 6, table: "ban", id: id)
            let expires: Int64? = try optionalColumn(row, 5, table: "ban", id: id)
            let lifted: Int64? = try optionalColumn(row, 7, table: "ban", id: id)
            let ruleText: String = try column(row, 3, table: "ban", id: id)
            guard let rule = BanRule(ruleText) else {
                throw LedgerError.corruptRow(table: "ban", id: id, detail: "rule '\(ruleText.prefix(64))'")
            }
            let originText: String = try column(row, 8, table: "ban", id: id)
            guard let origin = BanOrigin(rawValue: originText) else {
                throw LedgerError.corruptRow(table: "ban", id: id, detail: "origin '\(originText.prefix(64))'")
            }
            let uuidText: String = try column(row, 9, table: "ban", id: id)
            guard let banID = BanID(uuidText) else {
                throw LedgerError.corruptRow(table: "ban", id: id, detail: "ban id '\(uuidText.prefix(64))'")
            }
            let intelText: String? = try optionalColumn(row, 10, table: "ban", id: id)
            bans.append(
                BanRecord(
                    id: id, banID: banID, network: network,
                    reason: try textColumn(row, 2, table: "ban", id: id) ?? "",
                    rule: rule,
                    createdAt: Timestamp(microseconds: try column(row, 4, table: "ban", id: id)),
                    expiresAt: expires.map { Timestamp(microseconds: $0) },
                    offence: Int(clamping: offence),
                    liftedAt: lifted.map { Timestamp(microseconds: $0) },
                    origin: origin, enrichment: intelText.flatMap(LedgerMigrations.enrichment(fromJSON:))))
        }
        return bans
    }

    private static func decodeEvent(_ row: Row) throws -> SecurityEvent {
        let id: Int64 = try column(row, 0, table: "event", id: 0)
        func bad(_ what: String) -> LedgerError { .corruptRow(table: "event", id: id, detail: what) }
        let sourceText: String = try column(row, 2, table: "event", id: id)
        guard let source = IPAddress(sourceText) else { throw bad("source '\(sourceText)'") }
        let port: Int64? = try optionalColumn(row, 3, table: "event", id: id)
        var sourcePort: UInt16?
        if let port {
            guard let p = UInt16(exactly: port) else { throw bad("port \(port)") }
            sourcePort = p
        }
        let destinationText: String? = try optionalColumn(row, 13, table: "event", id: id)
        var destination: IPAddress?
        if let destinationText {
            guard let d = IPAddress(destinationText) else { throw bad("destination '\(destinationText)'") }
            destination = d
        }
        let destinationPortValue: Int64? = try optionalColumn(row, 14, table: "event", id: id)
        var destinationPort: UInt16?
        if let destinationPortValue {
            guard let p = UInt16(exactly: destinationPortValue) else { throw bad("destination port \(destinationPortValue)") }
            destinationPort = p
        }
        let transportText: String? = try optionalColumn(row, 4, table: "event", id: id)
        var transport: Transport?
        if let transportText {
            guard let t = Transport(rawValue: transportText) else { throw bad("transport '\(transportText)'") }
            transport = t
        }
        let kindText: String = try column(row, 5, table: "event", id: id)
        guard let kind = EventKind(rawValue: kindText) else { throw bad("kind '\(kindText)'") }
        let dialectText: String = try column(row, 9, table: "event", id: id)
        guard let dialect = Dialect(rawValue: dialectText) else { throw bad("dialect '\(dialectText)'") }
        let originKind: String = try column(row, 10, table: "event", id: id)
        let originName = try textColumn(row, 11, table: "event", id: id) ?? ""
        let originNumber = Int(clamping: try column(row, 12, table: "event", id: id) as Int64)
        let origin: EventOrigin
        switch originKind {
        case "log": origin = .logLine(file: originName, line: originNumber)
        case "frame": origin = .frame(file: originName, number: originNumber)
        case "wire": origin = .wire(sensor: originName)
        default: throw bad("origin kind '\(originKind)'")
        }
        return SecurityEvent(
            time: Timestamp(microseconds: try column(row, 1, table: "event", id: id)),
            source: source, sourcePort: sourcePort, destination: destination, destinationPort: destinationPort,
            transport: transport, kind: kind,
            user: try textColumn(row, 6, table: "event", id: id),
            userAgent: try textColumn(row, 7, table: "event", id: id),
            reason: try textColumn(row, 8, table: "event", id: id),
            callID: try textColumn(row, 15, table: "event", id: id),
            dialect: dialect, origin: origin)
    }

    /// A column converted without trapping: a wrong type or an unexpected NULL becomes
    /// `LedgerError.corruptRow`.
    private static func column<T: DatabaseValueConvertible>(_ row: Row, _ index: Int, table: String, id: Int64) throws -> T {
        let value: DatabaseValue = row[index]
        guard let converted = T.fromDatabaseValue(value) else {
            throw LedgerError.corruptRow(table: table, id: id, detail: "column \(index) holds \(value)")
        }
        return converted
    }

    private static func optionalColumn<T: DatabaseValueConvertible>(_ row: Row, _ index: Int, table: String, id: Int64) throws -> T? {
        let value: DatabaseValue = row[index]
        if value.isNull { return nil }
        guard let converted = T.fromDatabaseValue(value) else {
            throw LedgerError.corruptRow(table: table, id: id, detail: "column \(index) holds \(value)")
        }
        return converted
    }

    /// Text selected as `CAST(column AS BLOB)`, decoded as UTF-8 (NUL bytes kept).
    private static func textColumn(_ row: Row, _ index: Int, table: String, id: Int64) throws -> String? {
        let value: DatabaseValue = row[index]
        switch value.storage {
        case .null: return nil
        case .blob(let data): return String(decoding: data, as: UTF8.self)
        case .string(let text): return text
        case .int64, .double:
            throw LedgerError.corruptRow(table: table, id: id, detail: "column \(index) holds \(value), not text")
        }
    }

    // MARK: - Errors

    func write<T>(_ body: (Database) throws -> T) throws(LedgerError) -> T {
        do {
            return try database.write(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(LedgerError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    static func translate(_ error: any Error, path: String) -> LedgerError {
        if let error = error as? LedgerError { return error }
        guard let error = error as? DatabaseError else { return .database("\(error)") }
        let detail = error.message ?? "\(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_NOTADB: return .notADatabase(path: path)
        case .SQLITE_CORRUPT: return .corrupt(path: path, detail: detail)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .busy(path: path, detail: detail)
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_AUTH:
            return .io(path: path, detail: detail)
        default: return .database(detail)
        }
    }
}

/// A write queued in `LedgerWriter`.
enum LedgerOperation: Sendable {
    case ban(BanRecord, [SecurityEvent])
    case lift(IPNetwork, Timestamp)
}
