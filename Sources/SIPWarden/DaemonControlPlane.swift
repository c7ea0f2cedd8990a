// SPDX-License-Identifier: GPL-2.0-or-later
import ControlPlane
import Detection
import WardenCore
import Firewall
import Logging
import NetworkAddress
import Storage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's side of the control plane: ban changes through the daemon's own
/// enforcement path (kernel, then ledger, then the detector and the banned-source filter
/// through `Pipeline.applyOperatorChanges`), reads from snapshots (the ledger's read
/// connections, the firewall's own read context, the pipeline's counters).
final class DaemonControlPlane: BanAdministration, DaemonSnapshots {
    private let firewall: any Firewall
    private let ledger: Ledger
    private let pipeline: Pipeline
    private let running: Mutex<Configuration>
    private let ready = Atomic<Bool>(false)
    private let logger: Logger
    /// Ledger ids this path applied to the pipeline already: `OperatorSync` skips them.
    let applied: AppliedOperatorChanges

    init(configuration: Configuration, firewall: any Firewall, ledger: Ledger, pipeline: Pipeline, applied: AppliedOperatorChanges, logger: Logger) {
        running = Mutex(configuration)
        self.firewall = firewall
        self.ledger = ledger
        self.pipeline = pipeline
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
        if let allowed = allowlist.match(request.network.address) {
            throw AdministrationError(.refused, "\(request.network) is inside the allowlist (\(allowed)); remove it from the allowlist first")
        }
        let ban = Ban(
            network: request.network, rule: .manual, origin: .manual, created: systemClock(), duration: request.duration,
            reason: request.reason)
        do {
            try firewall.ban([BanElement(ban)])
        } catch {
            throw AdministrationError(error.kind == .invalidArgument ? .invalid : .failed, "kernel ban failed: \(error)")
        }
        var record = BanRecord(ban)
        do {
            record.id = try ledger.recordBan(record, evidence: [])
        } catch {
            throw AdministrationError(.failed, "banned in the kernel, but the ledger write failed (the ban will not survive a restart): \(error)")
        }
        if let id = record.id { applied.insert(id) }
        pipeline.applyOperatorChanges([record])
        logger.notice("operator banned \(request.network) through the control plane", metadata: ["id": "\(record.id ?? 0)"])
        return Self.view(record, inKernel: firewallListsElements ? true : nil)
    }

    func lift(_ network: IPNetwork) throws(AdministrationError) -> LiftResult {
        do {
            try firewall.unban([network])
        } catch {
            throw AdministrationError(error.kind == .invalidArgument ? .invalid : .failed, "kernel unban failed: \(error)")
        }
        let now = systemClock()
        let lifted: Int
        do {
            lifted = try ledger.liftBan(network: network, at: now)
            for record in try ledger.bans(limit: max(lifted, 1), includeInactive: true, network: network) where record.liftedAt == now {
                if let id = record.id { applied.insert(id) }
            }
        } catch {
            throw AdministrationError(.failed, "removed from the kernel, but the ledger update failed (a restart would restore the ban): \(error)")
        }
        pipeline.applyOperatorChanges([BanRecord(
            network: network, reason: "lifted", rule: .manual, createdAt: now, expiresAt: nil, offence: 1, liftedAt: now,
            origin: .manual)])
        logger.notice("operator lifted the ban of \(network) through the control plane", metadata: ["lifted": "\(lifted)"])
        return LiftResult(network: network.description, lifted: lifted)
    }

    // MARK: DaemonSnapshots

    func bans(includeInactive: Bool, limit: Int) throws(AdministrationError) -> [BanView] {
        let now = systemClock()
        let records: [BanRecord]
        do {
            records = includeInactive ? try ledger.bans(limit: limit, includeInactive: true, at: now) : Array(try ledger.activeBans(at: now).prefix(limit))
        } catch {
            throw AdministrationError(.failed, "cannot read the ledger: \(error)")
        }
        let inKernel: Set<IPNetwork>? = firewallListsElements ? (try? Set(firewall.list().map(\.network))) : nil
        return records.map { record in Self.view(record, inKernel: inKernel.map { $0.contains(record.network) }) }
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
            FloodGuardView(packetsPerSecond: g.packetsPerSecond, burst: g.burst, ports: g.ports.map(\.description), packetsDropped: drops?.floodPackets)
        }
        let unmatched = pipeline.unmatchedLines.sorted { $0.key < $1.key }.map { UnmatchedView(file: $0.key, count: $0.value.count, sample: $0.value.sample) }
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

    /// A ledger record as the API shows it.
    static func view(_ b: BanRecord, inKernel: Bool?) -> BanView {
        BanView(
            id: b.id, network: b.network.description, kind: b.rule.description, reason: b.reason, origin: b.origin.rawValue,
            offence: b.offence, created: RFC3339.format(b.createdAt), expires: b.expiresAt.map(RFC3339.format),
            lifted: b.liftedAt.map(RFC3339.format), inKernel: inKernel, banID: b.banID.description)
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
