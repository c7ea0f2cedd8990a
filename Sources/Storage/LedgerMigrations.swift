// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import GRDB
import WardenCore

/// Schema changes after v1, each applied once, in order, by `Ledger.migrator`.
enum LedgerMigrations {
    /// v2: every ban gets its `BanID` (`banUUID`, unique), its origin is one of
    /// `BanOrigin`'s raw values, and evidence events get room for the destination address
    /// and port and the SIP Call-ID (nullable: older events, and sources that do not know
    /// them, leave them empty).
    ///
    /// Rows written before v2 get a fresh random id each. v1 wrote only `detector` and
    /// `manual` as origins; any other text (a hand-edited row) becomes `manual`, the only
    /// origin a person could have meant. The rule stays in `kind`, whose v1 values are
    /// already `BanRule`'s text forms.
    static func banIdentityAndDestination(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE ban ADD COLUMN banUUID TEXT;
                ALTER TABLE event ADD COLUMN destination TEXT;
                ALTER TABLE event ADD COLUMN destinationPort INTEGER;
                ALTER TABLE event ADD COLUMN callID TEXT;
                """)
        let rows = try Int64.fetchAll(db, sql: "SELECT id FROM ban WHERE banUUID IS NULL ORDER BY id")
        let assign = try db.makeStatement(sql: "UPDATE ban SET banUUID = ? WHERE id = ?")
        for id in rows {
            try assign.execute(arguments: [BanID().description, id])
        }
        let known = BanOrigin.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        try db.execute(sql: "UPDATE ban SET origin = 'manual' WHERE origin NOT IN (\(known))")
        try db.execute(
            sql: """
                CREATE UNIQUE INDEX ban_by_uuid ON ban(banUUID);
                CREATE TRIGGER ban_uuid_required BEFORE INSERT ON ban WHEN NEW.banUUID IS NULL
                BEGIN SELECT RAISE(ABORT, 'a ban needs its banUUID'); END;
                """)
    }

    /// v3: every ban keeps what the intelligence store knew of its network when it was
    /// banned (`intel`: `IntelEnrichment` as JSON — `asn`, `as_name`, `country`, `prefix`,
    /// `provider`, `service`, `region`; NULL without a store, and for older rows).
    static func banIntel(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE ban ADD COLUMN intel TEXT")
    }

    /// The column's text for `enrichment` (nil when there is none or nothing is known).
    static func intelJSON(_ enrichment: IntelEnrichment?) -> String? {
        guard let enrichment, !enrichment.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(enrichment)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The enrichment in a column's text; nil (not an error) for text that does not decode:
    /// the ban stays readable.
    static func enrichment(fromJSON text: String) -> IntelEnrichment? {
        try? JSONDecoder().decode(IntelEnrichment.self, from: Data(text.utf8))
    }
}
