// SPDX-License-Identifier: GPL-2.0-or-later

import BanFanOut
import ControlPlane
import Firewall
import Logging
import NetworkAddress
import RangePolicy
import Storage
import WardenCore

/// `ranges`: the range blocks (docs/RANGES.md). Starts after the enforcer: makes the range
/// table equal to `STATE/range-blocks.json` plus the configured blocks (`reconcile`), then
/// on every tick lifts expired blocks and refreshes those due (one netlink transaction per
/// block, a delta). Serves `/v1/ranges` through `administration`.
///
/// The opt-in AS rule (`ranges.asn-block`, `ASNRule`) is a fan-out consumer it subscribes
/// (`subscribeASNRule`): detector bans in, blocks of an AS's ranges out. The overdue-cases
/// rule (`ranges.overdue-block`, `OverdueRule`) is evaluated at every tick and whenever the
/// case service has been through its cases (`evaluateOverdueRule`).
///
/// Reload rule: the `ranges` section is restart-only (named in the log on SIGHUP) except
/// `asn-block` and `overdue-block`, which are live; the allowlist is live (every block is reloaded with the new
/// carve-outs, and the AS rule ignores bans of newly allowlisted addresses).
final class RangeBlocksService: DaemonService {
    let name = "ranges"
    let blocks: RangeBlocks
    /// The AS rule (off unless `ranges.asn-block` is configured; a reload may turn it on).
    let asnRule: ASNRule
    /// The overdue-cases rule (off unless `ranges.overdue-block` is configured).
    let overdueRule: OverdueRule
    private let firewall: RangeBlockFirewall?
    private let ownAddresses: [IPNetwork]
    private let logger: Logger

    /// - Parameters:
    ///   - ownAddresses: the host's own addresses, never blocked (nor is the allowlist).
    ///   - source: where selectors' ranges come from (the intelligence store, then named
    ///     lists and files); by default named lists and files only.
    ///   - cases: the ledger's abuse cases, for `overdue-block` (nil when `abuse:` is off).
    init(
        configuration: Configuration, ownAddresses: [IPNetwork], source: (any RangeSource)? = nil, cases: CaseStore? = nil,
        clock: @escaping TimeSource = systemClock, logger: Logger
    ) throws(DaemonError) {
        self.logger = logger
        self.ownAddresses = ownAddresses
        let neverBlocked = configuration.detection.allowlist.networks + ownAddresses
        if configuration.firewall == .nftables {
            do throws(FirewallError) {
                firewall = try RangeBlockFirewall(configuration: configuration.ranges.kernel, logger: logger)
            } catch {
                throw DaemonError("ranges: \(error.message)")
            }
        } else {
            firewall = nil
        }
        do throws(RangeBlocks.Failure) {
            blocks = try RangeBlocks(
                settings: configuration.ranges, stateDirectory: configuration.stateDirectory,
                allowlist: neverBlocked, firewall: firewall, source: source ?? configuration.ranges.fileSource,
                clock: clock, logger: logger)
        } catch {
            throw DaemonError("ranges: \(error.description)")
        }
        asnRule = ASNRule(rule: configuration.ranges.policy.asnRule, allowlist: neverBlocked, blocks: blocks, logger: logger)
        overdueRule = OverdueRule(
            rule: configuration.ranges.policy.overdueRule, blocks: blocks, cases: cases, stateDirectory: configuration.stateDirectory,
            clock: clock, logger: logger)
    }

    /// Applies the overdue-cases rule now (the case service calls it after each pass).
    func evaluateOverdueRule() { overdueRule.evaluate() }

    /// Subscribes the AS rule to the enforced bans. It follows the ledger: bans its queue
    /// loses are read back from it, so a burst of bans still counts.
    func subscribeASNRule(to consumers: BanConsumers, ledger: Ledger) throws(BanFanOutError) {
        let rule = asnRule
        let log = logger
        _ = try consumers.subscribeFollowingLedger(
            "asn-block", capacity: 4_096, ledger: ledger,
            failed: { error in log.warning("asn-block: cannot read the ledger to catch up", metadata: ["error": "\(error)"]) }
        ) { delivery in
            switch delivery {
            case .live(let enforced): rule.observe(enforced.ban)
            case .caughtUp(let record): rule.observe(record)
            case .lift: break
            }
        }
    }

    /// For the control plane.
    var administration: any RangeAdministration { DaemonRangeAdministration(blocks: blocks) }

    var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        asnRule.replace(rule: next.ranges.policy.asnRule, allowlist: next.detection.allowlist.networks + ownAddresses)
        overdueRule.replace(rule: next.ranges.policy.overdueRule)
        guard next.detection.allowlist != running.detection.allowlist else { return }
        for note in blocks.replaceAllowlist(next.detection.allowlist.networks + ownAddresses) {
            logger.warning("range block not reloaded with the new allowlist", metadata: ["reason": "\(note)"])
        }
    }

    func start() throws(DaemonError) -> [String] {
        do throws(FirewallError) { try firewall?.setUp() } catch {
            throw DaemonError("ranges: cannot set up the range table: \(error.message)")
        }
        let notes: [String]
        do throws(RangeBlocks.Failure) { notes = try blocks.reconcile() } catch {
            throw DaemonError("ranges: \(error.description)")
        }
        for note in notes { logger.warning("range block not loaded", metadata: ["reason": "\(note)"]) }
        let count = blocks.list().count
        return count == 0 ? [] : ["ranges:\(count)"]
    }

    func tick() {
        for note in blocks.tick() { logger.warning("range block refresh", metadata: ["reason": "\(note)"]) }
        overdueRule.evaluate()
    }

    var summary: Logger.Metadata { ["rangeBlocks": "\(blocks.list().count)"] }
}
