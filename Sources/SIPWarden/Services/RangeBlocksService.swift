// SPDX-License-Identifier: GPL-2.0-or-later
import ControlPlane
import Firewall
import Logging
import NetworkAddress

/// `ranges`: the range blocks (docs/RANGES.md). Starts after the enforcer: makes the range
/// table equal to `STATE/range-blocks.json` plus the configured blocks (`reconcile`), then
/// on every tick lifts expired blocks and refreshes those due (one netlink transaction per
/// block, a delta). Serves `/v1/ranges` through `administration`.
///
/// Reload rule: the `ranges` section is restart-only (named in the log on SIGHUP).
final class RangeBlocksService: DaemonService {
    let name = "ranges"
    let blocks: RangeBlocks
    private let firewall: RangeBlockFirewall?
    private let logger: Logger

    /// - Parameter neverBlocked: the allowlist and the host's own addresses.
    init(configuration: Configuration, neverBlocked: [IPNetwork], logger: Logger) throws(DaemonError) {
        self.logger = logger
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
            blocks = try RangeBlocks(settings: configuration.ranges, stateDirectory: configuration.stateDirectory,
                                     allowlist: neverBlocked, firewall: firewall, source: configuration.ranges.fileSource,
                                     clock: systemClock, logger: logger)
        } catch {
            throw DaemonError("ranges: \(error.description)")
        }
    }

    /// For the control plane.
    var administration: any RangeAdministration { DaemonRangeAdministration(blocks: blocks) }

    var restartOnly: [RestartOnlySetting] { [RestartOnlySetting("ranges", \.ranges)] }

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
