// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Firewall
import Logging
import NetworkAddress
import RangePolicy

/// `ranges`: the range blocks (docs/RANGES.md). Starts after the enforcer: makes the range
/// table equal to `STATE/range-blocks.json` plus the configured blocks (`reconcile`), then
/// on every tick lifts expired blocks and refreshes those due (one netlink transaction per
/// block, a delta). Serves `/v1/ranges` through `administration`.
///
/// Reload rule: the `ranges` section is restart-only (named in the log on SIGHUP); the
/// allowlist is live (every block is reloaded with the new carve-outs).
final class RangeBlocksService: DaemonService {
    let name = "ranges"
    let blocks: RangeBlocks
    private let firewall: RangeBlockFirewall?
    private let ownAddresses: [IPNetwork]
    private let logger: Logger

    /// - Parameters:
    ///   - ownAddresses: the host's own addresses, never blocked (nor is the allowlist).
    ///   - source: where selectors' ranges come from (the intelligence store, then named
    ///     lists and files); by default named lists and files only.
    init(configuration: Configuration, ownAddresses: [IPNetwork], source: (any RangeSource)? = nil, logger: Logger) throws(DaemonError) {
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
                clock: systemClock, logger: logger)
        } catch {
            throw DaemonError("ranges: \(error.description)")
        }
    }

    /// For the control plane.
    var administration: any RangeAdministration { DaemonRangeAdministration(blocks: blocks) }

    var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
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
    }

    var summary: Logger.Metadata { ["rangeBlocks": "\(blocks.list().count)"] }
}
