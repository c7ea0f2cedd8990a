// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Detection
import Firewall
import Logging
import NetworkAddress
import Storage
import Synchronization
import WardenCore

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's side of the control plane: ban changes through the daemon's own
/// enforcement path (`OperatorBans`: `Pipeline.enforce`/`lift` — kernel, detector,
/// banned-source filter, then the fan-out, whose first consumer is the ledger), reads from
/// snapshots (the ledger's read connections, the firewall's own read context, the
/// pipeline's counters).
final class DaemonControlPlane: BanAdministration, DaemonSnapshots {
    private let firewall: any Firewall
    private let ledger: Ledger
    private let pipeline: Pipeline
    private let operatorBans: OperatorBans
    private let running: Mutex<Configuration>
    private let ready = Atomic<Bool>(false)
    private let logger: Logger
    /// Ledger ids this path applied to the pipeline already: `OperatorSync` skips them.
    let applied: AppliedOperatorChanges

    init(
        configuration: Configuration, firewall: any Firewall, ledger: Ledger, pipeline: Pipeline, consumers: BanConsumers,
        applied: AppliedOperatorChanges, logger: Logger
    ) {
        running = Mutex(configuration)
        self.firewall = firewall
        self.ledger = ledger
        self.pipeline = pipeline
        operatorBans = OperatorBans(pipeline: pipeline, ledger: ledger, consumers: consumers)
        self.applied = applied
        self.logger = logger
    }

    /// The configuration in force (after a reload: its allowlist and flood guard).
    func update(_ configuration: Configuration) {
        running.withLock { $0 = configuration }
    }

    func markReady() { ready.store(true, ordering: .releasing) }

    var isReady: Bool { ready.load(ordering: .acquiring) }

    // MARK: BanAdministration

    func ban(_ request: BanRequest) throws(AdministrationError) -> BanView {
        let allowlist = running.withLock { $0.detection.allowlist }
        let record = try operatorBans.ban(request.network, duration: request.duration, reason: request.reason, allowlist: allowlist)
        if let id = record.id { applied.insert(id) }
        logger.notice("operator banned \(request.network) through the control plane", metadata: ["id": "\(record.id ?? 0)"])
        return BanView(record, inKernel: firewallListsElements ? true : nil)
    }

    func lift(_ network: IPNetwork) throws(AdministrationError) -> LiftResult {
        let lifted = try operatorBans.lift(network)
        for record in lifted { if let id = record.id { applied.insert(id) } }
        logger.notice("operator lifted the ban of \(network) through the control plane", metadata: ["lifted": "\(lifted.count)"])
        return LiftResult(network: network.description, lifted: lifted.count)
    }

    // MARK: DaemonSnapshots

    func bans(includeInactive: Bool, limit: Int) throws(AdministrationError) -> [BanView] {
        let now = systemClock()
        let records: [BanRecord]
        do {
            records =
                includeInactive ? try ledger.bans(limit: limit, includeInactive: true, at: now) : Array(try ledger.activeBans(at: now).prefix(limit))
        } catch {
            throw AdministrationError(.failed, "cannot read the ledger: \(error)")
        }
        let inKernel: Set<IPNetwork>? = firewallListsElements ? (try? Set(firewall.list().map(\.network))) : nil
        return records.map { record in BanView(record, inKernel: inKernel.map { $0.contains(record.network) }) }
    }

    func status() throws(AdministrationError) -> StatusView {
        let configuration = running.withLock { $0 }
        let now = systemClock()
        let statistics: LedgerStatistics
        do { statistics = try ledger.statistics(at: now) } catch {
            throw AdministrationError(.failed, "cannot read the ledger: \(error)")
        }
        var firewallView = FirewallView(kind: configuration.firewall.rawValue, table: nil, elements: nil, packetsDropped: nil, error: nil)
        var drops: DropCounters?
        if configuration.firewall == .nftables {
            firewallView.table = configuration.nftTable
            do {
                firewallView.elements = try firewall.list().count
                let counters = try firewall.dropCounters()
                firewallView.packetsDropped = counters.packets
                drops = counters
            } catch {
                firewallView.error = "\(error)"
            }
        }
        let guardView = configuration.floodGuard.map { g in
            FloodGuardView(
                packetsPerSecond: g.packetsPerSecond, burst: g.burst, ports: g.ports.map(\.description), packetsDropped: drops?.floodPackets)
        }
        let unmatched = pipeline.unmatchedLines.sorted { $0.key < $1.key }.map {
            UnmatchedView(file: $0.key, count: $0.value.count, sample: $0.value.sample)
        }
        return StatusView(
            pid: getpid(), version: SIPWardenVersion.string, stateDirectory: configuration.stateDirectory,
            ledger: LedgerView(
                activeBans: statistics.activeBans, permanentActiveBans: statistics.permanentActiveBans, totalBans: statistics.totalBans,
                liftedBans: statistics.liftedBans, eventsStored: statistics.eventsStored, lastBan: statistics.lastBanAt.map(RFC3339.format)),
            firewall: firewallView, floodGuard: configuration.firewall == .nftables ? guardView : nil,
            unmatched: unmatched, unmatchedAsOf: RFC3339.format(now))
    }

    private var firewallListsElements: Bool {
        running.withLock { $0.firewall == .nftables }
    }

}

/// Ledger ids of operator changes already applied to the pipeline by the control plane,
/// so that `OperatorSync` (which finds them in the ledger afterwards) does not apply them
/// a second time.
public final class AppliedOperatorChanges: Sendable {
    public init() {}

    private let ids = Mutex(Set<Int64>())

    func insert(_ id: Int64) { _ = ids.withLock { $0.insert(id) } }

    /// True (once) when `id` was applied here.
    func take(_ id: Int64) -> Bool { ids.withLock { $0.remove(id) != nil } }
}
