// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import Storage
import WardenCore

/// What the pipeline reads from the ledger (never writes: the ledger is a consumer of the
/// fan-out): the state to restore at start, and operators' changes while running.
extension Pipeline {
    /// Restores state after a restart: bans still active are re-noted (and must already be
    /// in the kernel), and the escalation history is known again.
    public func restore(activeBans: [BanRecord], offences: [IPNetwork: OffenceHistory]) {
        let now = clock()
        detector.withLock { d in
            for (network, o) in offences { d.restoreOffence(network, count: o.highestOffence, lastBan: o.lastBanAt) }
            for ban in activeBans { d.noteBan(ban.network, until: ban.expiresAt, offence: ban.offence, at: now) }
        }
        if let bannedSources {
            for ban in activeBans where ban.network.isHost {
                bannedSources.insert(ban.network.address, for: ban.expiresAt.map { $0 - now })
            }
        }
    }

    /// Applies what an operator changed in the ledger while the daemon ran: a lifted ban
    /// makes the detector forget the prefix (its next failures are judged afresh, so a
    /// source unbanned by mistake is banned again at `max-retry`), a manual ban is noted so
    /// its events are not judged twice. Returns how many records changed the detector.
    @discardableResult
    public func applyOperatorChanges(_ records: [BanRecord]) -> Int {
        let now = clock()
        if let bannedSources {
            for record in records where record.network.isHost {
                if record.liftedAt != nil {
                    bannedSources.remove(record.network.address)
                } else if record.origin == .manual {
                    bannedSources.insert(record.network.address, for: record.expiresAt.map { $0 - now })
                }
            }
        }
        return detector.withLock { d in
            var applied = 0
            for record in records {
                if record.liftedAt != nil {
                    d.forget(record.network)
                    applied += 1
                } else if record.origin == .manual, record.expiresAt.map({ $0 > now }) ?? true {
                    d.noteBan(record.network, until: record.expiresAt, offence: record.offence, at: now)
                    applied += 1
                }
            }
            return applied
        }
    }
}
