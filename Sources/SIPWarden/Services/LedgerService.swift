// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
public import Logging
public import NetworkAddress
public import Storage
public import WardenCore

/// The `ledger` service: the SQLite ledger in the state directory and its writer thread.
///
/// Opened when the daemon is assembled (every other service reads the active bans from it
/// or hands bans to its writer); stopping it commits what is queued and joins the thread.
/// Reload rule: restart-only (`state`).
public final class LedgerService: DaemonService {
    public let name = "ledger"
    public let settings: LedgerSettings
    /// The durable record, for services that read it (the enforcer's operator sync).
    public let ledger: Ledger
    /// The writer the hot path hands bans to (never blocks on disk).
    public let writer: LedgerWriter

    public init(settings: LedgerSettings, logger: Logger) throws(DaemonError) {
        self.settings = settings
        do {
            ledger = try Ledger(directory: settings.stateDirectory)
        } catch {
            throw DaemonError("cannot open the ledger in \(settings.stateDirectory): \(error)")
        }
        do {
            writer = try LedgerWriter(
                ledger: ledger,
                onDelay: { error in
                    logger.warning("ledger write delayed; retrying (nothing is lost)", metadata: ["error": "\(error)"])
                }
            ) { error in
                logger.error("ledger write failed; the kernel ban stands but will not survive a restart", metadata: ["error": "\(error)"])
            }
        } catch {
            throw DaemonError("cannot start the ledger writer: \(error)")
        }
    }

    /// What a restart restores: bans still active at `now` and the escalation history.
    public func restoredState(at now: Timestamp, memory: Duration) throws(DaemonError) -> RestoredState {
        do {
            return RestoredState(
                activeBans: try ledger.activeBans(at: now),
                offences: try ledger.offenceHistory(since: now - memory))
        } catch {
            throw DaemonError("cannot read the ledger: \(error)")
        }
    }

    /// Its restart-only settings, as `ConfigurationSchema` declares them.
    public var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    /// Commits everything queued, then ends the writer thread.
    public func stop() {
        writer.flush()
        writer.stop()
    }

    public var summary: Logger.Metadata {
        let counts = writer.counts
        return counts.failed > 0 ? ["ledger_failed": "\(counts.failed)"] : [:]
    }
}

/// The ledger's state as a restarted daemon finds it.
public struct RestoredState: Sendable {
    public var activeBans: [BanRecord]
    public var offences: [IPNetwork: OffenceHistory]

    public init(activeBans: [BanRecord], offences: [IPNetwork: OffenceHistory]) {
        self.activeBans = activeBans
        self.offences = offences
    }
}
