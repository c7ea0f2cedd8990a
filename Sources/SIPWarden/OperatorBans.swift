// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Firewall
import NetworkAddress
import Storage
import WardenCore

/// The one implementation of "make this ban" and "lift it" for bans decided outside the
/// detector (an operator through the API or the command line; later a feed, a provider
/// policy, another node). The running daemon's control plane and the one-shot command
/// line (no daemon) both use it, each over a `Pipeline`: the change takes the same path as
/// a detector's verdict — kernel, then the fan-out, whose first consumer is the ledger —,
/// so the ledger, the ban log line, the metrics and every later consumer see it with its
/// typed origin. It answers only once the ledger has committed the change.
struct OperatorBans {
    let pipeline: Pipeline
    let ledger: Ledger
    let consumers: BanConsumers

    /// Bans `network` now: refused inside `allowlist`; the kernel's refusal is thrown and
    /// nothing is recorded. Returns the ledger's record (with its row id).
    func ban(
        _ network: IPNetwork, duration: Duration?, reason: String, origin: BanOrigin = .manual, allowlist: IPNetworkSet
    ) throws(AdministrationError) -> BanRecord {
        if let allowed = allowlist.match(network.address) {
            throw AdministrationError(.refused, "\(network) is inside the allowlist (\(allowed)); remove it from the allowlist first")
        }
        let ban = Ban(network: network, rule: .manual, origin: origin, created: pipeline.clock(), duration: duration, reason: reason)
        do {
            try pipeline.enforce(ban)
        } catch {
            throw AdministrationError(error.kind == .invalidArgument ? .invalid : .failed, "kernel ban failed: \(error)")
        }
        consumers.flushLedger()
        let record: BanRecord?
        do { record = try ledger.ban(banID: ban.id) } catch {
            throw AdministrationError(.failed, "banned in the kernel, but the ledger cannot be read back: \(error)")
        }
        guard let record else {
            throw AdministrationError(.failed, "banned in the kernel, but the ledger write failed (the ban will not survive a restart)")
        }
        return record
    }

    /// Lifts every ban of exactly `network` (kernel, detector, capture filter, ledger).
    /// Returns the ledger records it lifted (empty: it was not banned).
    func lift(_ network: IPNetwork, origin: BanOrigin = .manual, reason: String = "lifted") throws(AdministrationError) -> [BanRecord] {
        // What the lift will end: the bans of exactly `network` in force now (those still
        // queued for the ledger included).
        consumers.flushLedger()
        let at = pipeline.clock()
        let inForce: [BanRecord]
        do {
            inForce = try ledger.bans(limit: Self.liftReadLimit, includeInactive: false, at: at, network: network)
        } catch {
            throw AdministrationError(.failed, "cannot read the ledger: \(error)")
        }
        do {
            try pipeline.lift(network, origin: origin, reason: reason, at: at)
        } catch {
            throw AdministrationError(error.kind == .invalidArgument ? .invalid : .failed, "kernel unban failed: \(error)")
        }
        consumers.flushLedger()
        do {
            return try inForce.compactMap { record throws(LedgerError) in
                guard let id = record.id, let now = try ledger.ban(id: id), now.liftedAt == at else { return nil }
                return now
            }
        } catch {
            throw AdministrationError(.failed, "removed from the kernel, but the ledger cannot be read back: \(error)")
        }
    }

    /// Most bans of one network in force at once that a lift reports.
    static let liftReadLimit = 100_000
}
