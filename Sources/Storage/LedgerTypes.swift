// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// One ban as the ledger records it: the `Ban` (without its evidence, which is stored and
/// read apart) with its row id and when it was lifted.
public struct BanRecord: Sendable, Hashable, Codable {
    /// Row id; nil until recorded. Increases with every ban recorded: the cursor a
    /// consumer of the fan-out catches up by (see `LedgerFollower`).
    public var id: Int64?
    /// The ban's identity, made with the decision (old ledgers' rows got a fresh one when
    /// migrated).
    public var banID: BanID
    /// The banned address or prefix.
    public var network: IPNetwork
    /// Human-readable reason (e.g. "6 failed authentications in 60 s").
    public var reason: String
    /// The rule that fired (`failures`, `auth_failed`, `enumeration`, `manual`, …).
    public var rule: BanRule
    public var createdAt: Timestamp
    /// When the ban ends by itself; nil for a permanent ban.
    public var expiresAt: Timestamp?
    /// 1 for the first ban of this source, 2 for the first repeat, and so on.
    public var offence: Int
    /// When the ban was lifted early (by an operator or an unban), if it was.
    public var liftedAt: Timestamp?
    /// Who decided.
    public var origin: BanOrigin
    /// What the intelligence store knew of the network when it was banned (nil: no store then).
    public var enrichment: IntelEnrichment?

    public init(
        id: Int64? = nil, banID: BanID = BanID(), network: IPNetwork, reason: String, rule: BanRule,
        createdAt: Timestamp, expiresAt: Timestamp?, offence: Int = 1, liftedAt: Timestamp? = nil, origin: BanOrigin,
        enrichment: IntelEnrichment? = nil
    ) {
        self.id = id
        self.banID = banID
        self.network = network
        self.reason = reason
        self.rule = rule
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.offence = offence
        self.liftedAt = liftedAt
        self.origin = origin
        self.enrichment = enrichment
    }

    /// The record of `ban` (not yet stored).
    public init(_ ban: Ban) {
        self.init(
            banID: ban.id, network: ban.network, reason: ban.reason, rule: ban.rule, createdAt: ban.created,
            expiresAt: ban.expires, offence: ban.offence, origin: ban.origin, enrichment: ban.enrichment)
    }

    /// The ban, without its evidence (read it with `Ledger.evidence(forBan:)`).
    public var ban: Ban {
        Ban(
            id: banID, network: network, rule: rule, origin: origin, offence: offence, created: createdAt,
            duration: expiresAt.map { $0 - createdAt }, reason: reason, enrichment: enrichment)
    }

    /// True when the ban is in force at `now`: not lifted and not expired.
    public func isActive(at now: Timestamp) -> Bool {
        guard liftedAt == nil else { return false }
        guard let expiresAt else { return true }
        return expiresAt > now
    }

    /// True when the ban never expires by itself.
    public var isPermanent: Bool { expiresAt == nil }
}

/// How often a network was banned within a period (to restore escalation after a restart).
public struct OffenceHistory: Sendable, Hashable {
    /// Bans recorded for the network in the period.
    public var count: Int
    /// When the most recent of those bans was created.
    public var lastBanAt: Timestamp
    /// The highest offence number among them.
    public var highestOffence: Int

    public init(count: Int, lastBanAt: Timestamp, highestOffence: Int) {
        self.count = count
        self.lastBanAt = lastBanAt
        self.highestOffence = highestOffence
    }
}

/// Counts for `sipwarden status`.
public struct LedgerStatistics: Sendable, Hashable, Codable {
    /// Bans in force now.
    public var activeBans: Int
    /// Bans in force now that never expire.
    public var permanentActiveBans: Int
    /// Every ban ever recorded.
    public var totalBans: Int
    /// Bans lifted early.
    public var liftedBans: Int
    /// Evidence events stored.
    public var eventsStored: Int
    /// Creation time of the newest ban.
    public var lastBanAt: Timestamp?

    public init(
        activeBans: Int, permanentActiveBans: Int, totalBans: Int, liftedBans: Int, eventsStored: Int,
        lastBanAt: Timestamp?
    ) {
        self.activeBans = activeBans
        self.permanentActiveBans = permanentActiveBans
        self.totalBans = totalBans
        self.liftedBans = liftedBans
        self.eventsStored = eventsStored
        self.lastBanAt = lastBanAt
    }
}

/// Why a ledger operation failed.
public enum LedgerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The state directory could not be created or is not a directory.
    case cannotCreateDirectory(path: String, errno: Int32)
    /// The file is not an SQLite database (or its header is damaged).
    case notADatabase(path: String)
    /// SQLite reports the database is corrupt.
    case corrupt(path: String, detail: String)
    /// An SQLite database that belongs to some other program.
    case foreignDatabase(path: String)
    /// The ledger was written by a newer sipwarden (unknown schema migrations).
    case schemaTooNew(path: String, unknownMigrations: [String])
    /// The file cannot be opened or written (permissions, read-only file system, disk full).
    case io(path: String, detail: String)
    /// Another connection or process held the database's lock longer than the busy timeout.
    case busy(path: String, detail: String)
    /// The record to store is invalid.
    case invalidRecord(String)
    /// A stored row cannot be decoded (damaged or edited by hand).
    case corruptRow(table: String, id: Int64, detail: String)
    /// Any other SQLite failure.
    case database(String)
    /// The ledger writer's thread could not be started.
    case writerUnavailable(errno: Int32)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let p, let e): "cannot create state directory '\(p)': errno \(e)"
        case .notADatabase(let p): "'\(p)' is not an SQLite database (damaged, or some other file)"
        case .corrupt(let p, let d): "ledger '\(p)' is corrupt: \(d)"
        case .foreignDatabase(let p): "'\(p)' is an SQLite database but not a sipwarden ledger"
        case .schemaTooNew(let p, let m): "ledger '\(p)' was written by a newer sipwarden (unknown schema \(m.joined(separator: ", ")))"
        case .io(let p, let d): "cannot access ledger '\(p)': \(d)"
        case .busy(let p, let d): "ledger '\(p)' is locked by another connection or process: \(d)"
        case .invalidRecord(let d): "invalid ledger record: \(d)"
        case .corruptRow(let t, let id, let d): "ledger table \(t) row \(id) is damaged: \(d)"
        case .database(let d): "ledger database error: \(d)"
        case .writerUnavailable(let e): "cannot start the ledger writer thread: errno \(e)"
        }
    }

    /// True when the same write may succeed later (a lock held elsewhere, a full disk, an
    /// I/O error): the `LedgerWriter` keeps it and retries rather than losing it.
    public var isTransient: Bool {
        switch self {
        case .busy, .io: true
        default: false
        }
    }
}
