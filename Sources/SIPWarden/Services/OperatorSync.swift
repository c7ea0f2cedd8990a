// SPDX-License-Identifier: GPL-2.0-or-later

import Logging
import Storage
import WardenCore

/// Brings a running daemon's detector up to date with bans operators lifted or added in
/// the ledger (`sipwarden bans remove|add`).
struct OperatorSync {
    let ledger: Ledger
    /// Changes at or after this time are looked at (a little overlap: the CLI's clock
    /// stamps a lift before its transaction commits).
    private var since: Timestamp
    /// Ban ids already applied (lifted or manual), with their change time, pruned as
    /// `since` moves on.
    private var applied: [Int64: Timestamp] = [:]
    /// Changes the control plane made and applied already.
    private let appliedElsewhere: AppliedOperatorChanges?
    private static let overlap = Duration.seconds(30)

    init(ledger: Ledger, since: Timestamp, appliedElsewhere: AppliedOperatorChanges? = nil) {
        self.ledger = ledger
        self.since = since
        self.appliedElsewhere = appliedElsewhere
    }

    mutating func apply(to pipeline: Pipeline, logger: Logger) {
        let started = systemClock()
        let records: [BanRecord]
        do {
            records = try ledger.operatorChanges(since: since)
        } catch {
            logger.error("cannot read operator changes from the ledger", metadata: ["error": "\(error)"])
            return
        }
        var fresh: [BanRecord] = []
        for record in records {
            guard let id = record.id, applied[id] == nil else { continue }
            applied[id] = record.liftedAt ?? record.createdAt
            if appliedElsewhere?.take(id) == true { continue }
            fresh.append(record)
        }
        if !fresh.isEmpty {
            let count = pipeline.applyOperatorChanges(fresh)
            for record in fresh {
                logger.notice(
                    record.liftedAt != nil ? "operator lifted the ban of \(record.network)" : "operator banned \(record.network)",
                    metadata: ["id": "\(record.id ?? 0)"])
            }
            logger.debug("operator changes applied", metadata: ["records": "\(fresh.count)", "applied": "\(count)"])
        }
        since = started - Self.overlap
        applied = applied.filter { $0.value >= since }
    }
}
