// SPDX-License-Identifier: GPL-2.0-or-later

import BanFanOut
import ControlPlane
import Detection
import Firewall
import Glibc
import IntelStore
import LogFormats
public import Logging
public import NetworkAddress
import Storage
import WardenCore

/// `sipwarden bans …` and `sipwarden status`: operator actions on the ledger and the kernel.
///
/// When a daemon runs on the state directory, every command goes through its control
/// plane (`STATE/api.sock`): the daemon is the one writer of the kernel and the ledger.
/// Only when no daemon listens there (no socket, or nobody accepting) does a command work
/// on the ledger and the kernel itself. The ledger is the truth; the kernel follows it. A
/// ban added here is written to both, so a daemon started later (or restarted) reconciles
/// it like any other.
public struct Administration {
    public let configuration: Configuration
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    private func openLedger() throws(RuntimeFailure) -> Ledger {
        do { return try Ledger(directory: configuration.stateDirectory) } catch {
            throw RuntimeFailure("cannot open the ledger in \(configuration.stateDirectory): \(error)")
        }
    }

    private func firewall() throws(RuntimeFailure) -> any Firewall {
        do {
            // A one-shot command must not rebuild the guard of a daemon that is running
            // (its meters and the host addresses it exempts).
            var oneShot = configuration
            oneShot.managesFloodGuard = false
            let f = try makeFirewall(oneShot, logger: logger)
            try f.setUp()
            return f
        } catch let e as DaemonError {
            throw RuntimeFailure(e.message)
        } catch {
            throw RuntimeFailure("\(error)")
        }
    }

    /// The running daemon's control plane, or nil when no daemon listens on this state
    /// directory's socket. The token is sent when this user can read it (root).
    func daemon() -> ControlPlaneClient? {
        let path = ControlPlaneConfiguration.socketPath(stateDirectory: configuration.stateDirectory)
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else { return nil }
        let token = try? APIToken.load(path: configuration.stateDirectory + "/" + APIToken.fileName)
        return ControlPlaneClient(socketPath: path, token: token ?? nil)
    }

    /// Runs `request` against the running daemon: nil when none listens (then the caller
    /// works on the ledger itself).
    private func throughDaemon<T>(_ request: (ControlPlaneClient) throws(ControlPlaneClientError) -> T) throws(RuntimeFailure) -> T? {
        guard let client = daemon() else { return nil }
        do {
            return try request(client)
        } catch .noDaemon {
            return nil
        } catch let .refused(_, message) {
            throw RuntimeFailure(message)
        } catch {
            throw RuntimeFailure("the running daemon did not answer on \(client.socketPath): \(error)")
        }
    }

    /// The note that says the running daemon made the change.
    private var appliedByDaemon: String {
        PidFile.runningPid(path: configuration.stateDirectory + "/sipwarden.pid").map { "; the running daemon (pid \($0)) applies it now" }
            ?? "; the running daemon applies it now"
    }

    /// Bans a prefix by hand: through the running daemon, else through the same ban path here
    /// (`OperatorBans`: kernel, then the fan-out's ledger).
    public func add(_ network: IPNetwork, banTime: Duration?, reason: String) throws(RuntimeFailure) -> String {
        let done = "banned \(network) " + (banTime.map { "for \(DurationParser.format($0))" } ?? "permanently")
        let seconds = banTime.map { d in max(1, d.components.seconds + (d.components.attoseconds > 0 ? 1 : 0)) }
        if try throughDaemon({ (c) throws(ControlPlaneClientError) in
            try c.ban(BanRequestBody(network: network.description, banSeconds: seconds, reason: reason))
        }) != nil {
            return done + appliedByDaemon
        }
        try withOneShotPipeline { (bans) throws(AdministrationError) in
            _ = try bans.ban(network, duration: banTime, reason: reason, allowlist: configuration.detection.allowlist)
        }
        return done + notifyDaemon()
    }

    /// Runs `body` with the daemon's own ban path (`OperatorBans` over a `Pipeline` with
    /// this configuration's firewall, and the fan-out's ledger and log consumers), for a
    /// command that runs with no daemon to ask: one implementation of a ban and a lift.
    private func withOneShotPipeline(_ body: (OperatorBans) throws(AdministrationError) -> Void) throws(RuntimeFailure) {
        let ledger = try openLedger()
        let fw = try firewall()
        let log = logger
        let writer: LedgerWriter
        do {
            writer = try LedgerWriter(ledger: ledger) { error in log.error("ledger write failed", metadata: ["error": "\(error)"]) }
        } catch {
            throw RuntimeFailure("cannot start the ledger writer: \(error)")
        }
        defer { writer.stop() }
        let consumers: BanConsumers
        do throws(BanFanOutError) { consumers = try BanConsumers(ledger: writer, logger: logger) } catch {
            throw RuntimeFailure("\(error)")
        }
        defer { consumers.stop() }
        let pipeline = Pipeline(
            policy: configuration.detection, firewall: fw, fanOut: consumers.fanOut, logger: logger, clock: systemClock)
        do throws(AdministrationError) {
            try body(OperatorBans(pipeline: pipeline, ledger: ledger, consumers: consumers))
        } catch {
            throw RuntimeFailure(error.message)
        }
    }

    /// Tells a daemon running on this state directory to apply the ledger change now
    /// (SIGUSR1; it also looks every 10 s). Returns a note for the operator.
    private func notifyDaemon() -> String {
        guard let pid = PidFile.runningPid(path: configuration.stateDirectory + "/sipwarden.pid"), pid > 1 else { return "" }
        return kill(pid, SIGUSR1) == 0
            ? "; the running daemon (pid \(pid)) applies it now"
            : "; could not signal the running daemon (pid \(pid)): it applies the change within 10 s"
    }

    /// Lifts a ban: through the running daemon, else through the same lift path here.
    public func remove(_ network: IPNetwork) throws(RuntimeFailure) -> String {
        if let result = try throughDaemon({ (c) throws(ControlPlaneClientError) in try c.lift(network: network.description) }) {
            return "unbanned \(network) (\(result.lifted) ledger entr\(result.lifted == 1 ? "y" : "ies") lifted)" + appliedByDaemon
        }
        var lifted = 0
        try withOneShotPipeline { (bans) throws(AdministrationError) in lifted = try bans.lift(network).count }
        return "unbanned \(network) (\(lifted) ledger entr\(lifted == 1 ? "y" : "ies") lifted)" + notifyDaemon()
    }

    /// Active bans (or all with `all`), with whether each is present in the kernel: from
    /// the running daemon, else from the ledger and the kernel.
    public func list(all: Bool, limit: Int, json: Bool) throws(RuntimeFailure) -> String {
        if let bans = try throughDaemon({ (c) throws(ControlPlaneClientError) in try c.bans(all: all, limit: limit) }) {
            return Self.render(bans, all: all, limit: limit, json: json, intel: json ? intelStore() : nil)
        }
        let ledger = try openLedger()
        let now = systemClock()
        let bans: [BanRecord]
        do {
            bans = all ? try ledger.bans(limit: limit, includeInactive: true, at: now) : try ledger.activeBans(at: now)
        } catch {
            throw RuntimeFailure("cannot read the ledger: \(error)")
        }
        var inKernel: Set<IPNetwork>?
        if configuration.firewall == .nftables {
            inKernel = try? Set(firewall().list().map(\.network))
        }
        let views = bans.map { b in BanView(b, inKernel: inKernel.map { $0.contains(b.network) }) }
        return Self.render(views, all: all, limit: limit, json: json, intel: json ? intelStore() : nil)
    }

    /// The intelligence store of the state directory, if it holds any data (docs/INTEL.md).
    func intelStore() -> IntelStore? {
        let store = IntelDirectory(stateDirectory: configuration.stateDirectory).loadStore().store
        return store.isEmpty ? nil : store
    }

    /// The table (or JSON Lines) of `bans list`.
    /// Each JSON object carries what the store knew of the network when it was banned
    /// (`asn`, `as_name`, `country`, `prefix`, `provider`, …); a ban recorded without a
    /// store gets, with `intel`, what the store knows of it now.
    static func render(_ bans: [BanView], all: Bool, limit: Int, json: Bool, intel: IntelStore? = nil) -> String {
        if json {
            // The API's view, as the API sends it (its keys, once, in BanView).
            var w = JSONLineWriter()
            for var b in bans.prefix(limit) {
                if b.lacksEnrichment, let intel, let network = IPNetwork(b.network) { b.setEnrichment(intel.enrichment(for: network.address)) }
                try? FlatJSONLineEncoder.append(b, to: &w)
            }
            return String(decoding: w.bytes, as: UTF8.self)
        }
        if bans.isEmpty { return all ? "no bans recorded" : "no active bans" }
        var lines = ["NETWORK                                   EXPIRES                  KERNEL  OFFENCE  RULE         REASON"]
        for b in bans.prefix(limit) {
            let expires = b.lifted.map { "lifted " + $0 } ?? b.expires ?? "permanent"
            let kernel = b.inKernel.map { $0 ? "yes" : "no" } ?? "-"
            lines.append(
                pad(b.network, 42) + pad(expires, 25) + pad(kernel, 8) + pad("\(b.offence)", 9)
                    + pad(b.kind, 13) + b.reason
            )
        }
        return lines.joined(separator: "\n")
    }

    /// Daemon, ledger and kernel at a glance: from the running daemon, else from the
    /// ledger, the kernel and the state directory's files.
    public func status() throws(RuntimeFailure) -> String {
        if let status = try throughDaemon({ (c) throws(ControlPlaneClientError) in try c.status() }) {
            return Self.render(status)
        }
        let ledger = try openLedger()
        let now = systemClock()
        var out: [String] = []
        if let pid = PidFile.runningPid(path: configuration.stateDirectory + "/sipwarden.pid") {
            out.append("daemon:        running (pid \(pid))")
        } else {
            out.append("daemon:        not running")
        }
        do {
            let s = try ledger.statistics(at: now)
            out.append("active bans:   \(s.activeBans) (\(s.permanentActiveBans) permanent)")
            out.append("bans recorded: \(s.totalBans) (\(s.liftedBans) lifted by hand), \(s.eventsStored) events of evidence")
            if let last = s.lastBanAt { out.append("last ban:      \(RFC3339.format(last))") }
        } catch {
            throw RuntimeFailure("cannot read the ledger: \(error)")
        }
        out.append("state:         \(configuration.stateDirectory)")
        if let unmatched = UnmatchedSummary.load(stateDirectory: configuration.stateDirectory) { out += unmatched.describe() }
        switch configuration.firewall {
        case .dryRun:
            out.append("firewall:      dry-run")
        case .nftables:
            do {
                let fw = try makeFirewall(configuration, logger: logger)
                let elements = try fw.list()
                let drops = try fw.dropCounters()
                out.append(
                    "firewall:      nftables table inet \(configuration.nftTable): \(elements.count) elements, \(drops.packets) packets dropped")
                if let guardSettings = configuration.floodGuard {
                    out.append(
                        "flood guard:   \(guardSettings.packetsPerSecond) packets/s, burst \(guardSettings.burst) per source on UDP \(guardSettings.ports.map(\.description).joined(separator: ",")): \(drops.floodPackets) packets dropped"
                    )
                } else {
                    out.append("flood guard:   off")
                }
            } catch {
                out.append("firewall:      nftables table inet \(configuration.nftTable) not readable (\(error))")
            }
        }
        return out.joined(separator: "\n")
    }

    /// `status` as the running daemon reports it.
    static func render(_ s: StatusView) -> String {
        var out = ["daemon:        running (pid \(s.pid))"]
        out.append("active bans:   \(s.ledger.activeBans) (\(s.ledger.permanentActiveBans) permanent)")
        out.append("bans recorded: \(s.ledger.totalBans) (\(s.ledger.liftedBans) lifted by hand), \(s.ledger.eventsStored) events of evidence")
        if let last = s.ledger.lastBan { out.append("last ban:      \(last)") }
        out.append("state:         \(s.stateDirectory)")
        var files: [String: UnmatchedLineCount] = [:]
        for u in s.unmatched { files[u.file] = UnmatchedLineCount(count: u.count, sample: u.sample) }
        out += UnmatchedSummary(files: files, updated: s.unmatchedAsOf).describe()
        if s.firewall.kind != FirewallKind.nftables.rawValue {
            out.append("firewall:      \(s.firewall.kind)")
        } else if let error = s.firewall.error {
            out.append("firewall:      nftables table inet \(s.firewall.table ?? "?") not readable (\(error))")
        } else {
            out.append(
                "firewall:      nftables table inet \(s.firewall.table ?? "?"): \(s.firewall.elements ?? 0) elements, \(s.firewall.packetsDropped ?? 0) packets dropped"
            )
            if let g = s.floodGuard {
                out.append(
                    "flood guard:   \(g.packetsPerSecond) packets/s, burst \(g.burst) per source on UDP \(g.ports.joined(separator: ",")): \(g.packetsDropped ?? 0) packets dropped"
                )
            } else {
                out.append("flood guard:   off")
            }
        }
        return out.joined(separator: "\n")
    }

    private static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
    }
}
