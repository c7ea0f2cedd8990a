// SPDX-License-Identifier: GPL-2.0-or-later
import Detection
import WardenCore
import Firewall
public import Logging
public import NetworkAddress
import Storage
import WardenCore
import Glibc

/// `sipwarden bans …` and `sipwarden status`: operator actions on the ledger and the kernel.
///
/// The ledger is the truth; the kernel follows it. A ban added here is written to both, so
/// a daemon started later (or restarted) reconciles it like any other.
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

    /// Bans a prefix by hand: kernel first, then the ledger.
    public func add(_ network: IPNetwork, banTime: Duration?, reason: String) throws(RuntimeFailure) -> String {
        if let allowed = configuration.detection.allowlist.match(network.address) {
            throw RuntimeFailure("\(network) is inside the allowlist (\(allowed)); remove it from the allowlist first")
        }
        let ledger = try openLedger()
        let fw = try firewall()
        let now = systemClock()
        let ban = Ban(network: network, rule: .manual, origin: .manual, created: now, duration: banTime, reason: reason)
        do {
            try fw.ban([BanElement(ban)])
        } catch {
            throw RuntimeFailure("kernel ban failed: \(error)")
        }
        do {
            _ = try ledger.recordBan(BanRecord(ban), evidence: [])
        } catch {
            throw RuntimeFailure("banned in the kernel, but the ledger write failed (the ban will not survive a restart): \(error)")
        }
        return "banned \(network) " + (banTime.map { "for \(DurationParser.format($0))" } ?? "permanently") + notifyDaemon()
    }

    /// Tells a daemon running on this state directory to apply the ledger change now
    /// (SIGUSR1; it also looks every 10 s). Returns a note for the operator.
    private func notifyDaemon() -> String {
        guard let pid = PidFile.runningPid(path: configuration.stateDirectory + "/sipwarden.pid"), pid > 1 else { return "" }
        return kill(pid, SIGUSR1) == 0 ? "; the running daemon (pid \(pid)) applies it now" : "; could not signal the running daemon (pid \(pid)): it applies the change within 10 s"
    }

    /// Lifts a ban: kernel and ledger.
    public func remove(_ network: IPNetwork) throws(RuntimeFailure) -> String {
        let ledger = try openLedger()
        let fw = try firewall()
        do {
            try fw.unban([network])
        } catch {
            throw RuntimeFailure("kernel unban failed: \(error)")
        }
        let lifted: Int
        do { lifted = try ledger.liftBan(network: network, at: systemClock()) } catch {
            throw RuntimeFailure("removed from the kernel, but the ledger update failed (a restart would restore the ban): \(error)")
        }
        return "unbanned \(network) (\(lifted) ledger entr\(lifted == 1 ? "y" : "ies") lifted)" + notifyDaemon()
    }

    /// Active bans (or all with `all`), with whether each is present in the kernel.
    public func list(all: Bool, limit: Int, json: Bool) throws(RuntimeFailure) -> String {
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
        if json {
            var w = JSONLineWriter()
            for b in bans.prefix(limit) {
                w.raw("{")
                w.key("network", first: true); w.string(b.network.description)
                w.key("kind"); w.string(b.rule.description)
                w.key("reason"); w.string(b.reason)
                w.key("origin"); w.string(b.origin.rawValue)
                w.key("offence"); w.number(Int64(b.offence))
                w.key("created"); w.string(RFC3339.format(b.createdAt))
                if let e = b.expiresAt { w.key("expires"); w.string(RFC3339.format(e)) }
                if let l = b.liftedAt { w.key("lifted"); w.string(RFC3339.format(l)) }
                w.key("ban_id"); w.string(b.banID.description)
                if let k = inKernel { w.key("in_kernel"); w.raw(k.contains(b.network) ? "true" : "false") }
                w.raw("}\n")
            }
            return String(decoding: w.bytes, as: UTF8.self)
        }
        if bans.isEmpty { return all ? "no bans recorded" : "no active bans" }
        var lines = ["NETWORK                                   EXPIRES                  KERNEL  OFFENCE  RULE         REASON"]
        for b in bans.prefix(limit) {
            let expires = b.liftedAt.map { "lifted " + RFC3339.format($0) } ?? b.expiresAt.map { RFC3339.format($0) } ?? "permanent"
            let kernel = inKernel.map { $0.contains(b.network) ? "yes" : "no" } ?? "-"
            lines.append(
                pad(b.network.description, 42) + pad(expires, 25) + pad(kernel, 8) + pad("\(b.offence)", 9)
                    + pad(b.rule.description, 13) + b.reason
            )
        }
        return lines.joined(separator: "\n")
    }

    /// Daemon, ledger and kernel at a glance.
    public func status() throws(RuntimeFailure) -> String {
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
                out.append("firewall:      nftables table inet \(configuration.nftTable): \(elements.count) elements, \(drops.packets) packets dropped")
                if let guardSettings = configuration.floodGuard {
                    out.append("flood guard:   \(guardSettings.packetsPerSecond) packets/s, burst \(guardSettings.burst) per source on UDP \(guardSettings.ports.map(\.description).joined(separator: ",")): \(drops.floodPackets) packets dropped")
                } else {
                    out.append("flood guard:   off")
                }
            } catch {
                out.append("firewall:      nftables table inet \(configuration.nftTable) not readable (\(error))")
            }
        }
        return out.joined(separator: "\n")
    }

    private func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
    }
}
