// SPDX-License-Identifier: GPL-2.0-or-later

public import Firewall
public import Logging
public import Storage
import Synchronization
public import WardenCore

/// The `enforcer` service: the kernel side of bans.
///
/// - start: creates or repairs the nftables table (and the flood guard) and makes the
///   kernel sets equal to the ledger's active bans — before any sensor reads;
/// - tick (10 s, SIGUSR1): applies what operators changed in the ledger
///   (`sipwarden bans add|remove`) to the detector and the capture filter, and expires
///   what the detector no longer needs;
/// - stop: nothing to undo: kernel bans outlive the daemon (they carry their own
///   timeouts), the ledger is the truth a restart reconciles with.
///
/// Reload rule: ports and the flood guard's limits and exemptions live (the same table is
/// rebuilt in one transaction; its sets keep their elements); `firewall`,
/// `nftables.table` and `flood-guard.report-group` restart-only.
public final class EnforcerService: DaemonService {
    public let name = "enforcer"
    public let firewall: any Firewall
    private let settings: EnforcerSettings
    private let nftables: NFTablesConfiguration
    private let restored: RestoredState
    private let pipeline: Pipeline
    private let operatorSync: Mutex<OperatorSync>
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: the running configuration (its enforcer section, and the
    ///     detection settings the flood guard's exemptions and suspect timeout follow).
    public init(
        configuration: Configuration, firewall: any Firewall, restored: RestoredState, ledger: Ledger,
        pipeline: Pipeline, since now: Timestamp, appliedByControlPlane: AppliedOperatorChanges? = nil, logger: Logger
    ) {
        settings = configuration.enforcerSettings
        nftables = configuration.nftablesConfiguration
        self.firewall = firewall
        self.restored = restored
        self.pipeline = pipeline
        operatorSync = Mutex(OperatorSync(ledger: ledger, since: now, appliedElsewhere: appliedByControlPlane))
        self.logger = logger
    }

    /// Builds the configured firewall backend.
    public static func makeFirewall(_ settings: EnforcerSettings, nftables: NFTablesConfiguration, logger: Logger) throws(DaemonError) -> any Firewall
    {
        switch settings.firewall {
        case .dryRun:
            return DryRunFirewall(logger: logger)
        case .nftables:
            do {
                return try NFTablesFirewall(configuration: nftables)
            } catch {
                throw DaemonError("cannot use nftables: \(error)")
            }
        }
    }

    public func start() throws(DaemonError) -> [String] {
        let now = systemClock()
        do {
            try firewall.setUp()
            try firewall.reconcile(
                with: restored.activeBans.map { ban in
                    BanElement(network: ban.network, timeout: ban.expiresAt.map { $0 - now })
                })
        } catch {
            throw DaemonError("cannot install the ban table: \(error)")
        }
        logger.notice("reconciled kernel bans with the ledger", metadata: ["active": "\(restored.activeBans.count)"])
        return []
    }

    /// Its restart-only settings, as `ConfigurationSchema` declares them.
    public var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    /// Rebuilds the table when its rules changed (ports, guard limits, exemptions).
    public func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        guard next.firewall == .nftables, next.nftablesConfiguration != running.nftablesConfiguration else { return }
        do {
            try Self.makeFirewall(next.enforcerSettings, nftables: next.nftablesConfiguration, logger: logger).setUp()
        } catch {
            throw ReloadRefusal("the nftables rules could not be rebuilt; configuration not reloaded", error: "\(error)")
        }
    }

    public func tick() {
        operatorSync.withLock { $0.apply(to: pipeline, logger: logger) }
        pipeline.housekeeping()
    }

    public var summary: Logger.Metadata {
        guard let suspects = (firewall as? NFTablesFirewall)?.suspectCounters else { return [:] }
        return ["suspects_marked": "\(suspects.marked)"]
    }
}
