// SPDX-License-Identifier: GPL-2.0-or-later

public import Logging
public import NetworkAddress
import Synchronization

/// A firewall that changes nothing: it logs what it would do and keeps the bans in memory,
/// with expiry, so that `list()` and `reconcile(with:)` behave like the real one.
///
/// It applies the same validation as `NFTablesFirewall` (minimum prefix lengths, timeout
/// bounds), so a configuration that works in dry-run does not fail once enforced. Unlike
/// the kernel's interval sets it keeps overlapping prefixes side by side.
public final class DryRunFirewall: Firewall {
    private let logger: Logger
    private let configuration: NFTablesConfiguration
    private let clock: ContinuousClock
    /// Network → expiry instant (nil = permanent).
    private let bans = Mutex<[IPNetwork: ContinuousClock.Instant?]>([:])

    /// - Parameter configuration: used only for validation limits.
    public init(logger: Logger = Logger(label: "sipwarden.firewall.dry-run"), configuration: NFTablesConfiguration = NFTablesConfiguration()) {
        self.logger = logger
        self.configuration = configuration
        clock = ContinuousClock()
    }

    public func setUp() throws(FirewallError) {
        try configuration.validate()
        logger.info("dry run: would create table inet \(configuration.tableName)")
    }

    public func ban(_ elements: [BanElement]) throws(FirewallError) {
        let planned = try BanPlanner.normalize(elements, configuration: configuration).elements
        guard !planned.isEmpty else { return }
        let now = clock.now
        bans.withLock { bans in
            for element in planned {
                guard let network = element.interval.network else { continue }
                bans.updateValue(element.lifetime.map { now + $0 }, forKey: network)
            }
        }
        for element in planned {
            logger.info("dry run: would ban \(element.interval.nftKey)", metadata: ["timeout": "\(element.lifetime.map { "\($0)" } ?? "permanent")"])
        }
    }

    public func unban(_ networks: [IPNetwork]) throws(FirewallError) {
        let targets = networks.map(BanPlanner.unmapped)
        let removed = bans.withLock { bans in
            let doomed = bans.keys.filter { key in targets.contains { $0.contains(key) } }
            for key in doomed { bans[key] = nil }
            return doomed
        }
        for network in removed.sorted() {
            logger.info("dry run: would unban \(network)")
        }
    }

    public func list() throws(FirewallError) -> [BanElement] {
        let now = clock.now
        return bans.withLock { bans in
            bans = bans.filter { $0.value.map { $0 > now } ?? true }
            return bans.map { network, expiry in
                BanElement(network: network, timeout: expiry.map { now.duration(to: $0) })
            }.sorted { $0.network < $1.network }
        }
    }

    public func reconcile(with elements: [BanElement]) throws(FirewallError) {
        let (planned, rejected) = try BanPlanner.normalize(elements, configuration: configuration, lenient: true)
        for (element, error) in rejected {
            logger.warning("dry run: not restoring ban", metadata: ["element": "\(element)", "reason": "\(error.message)"])
        }
        let now = clock.now
        bans.withLock { bans in
            bans = [:]
            for element in planned {
                guard let network = element.interval.network else { continue }
                bans.updateValue(element.lifetime.map { now + $0 }, forKey: network)
            }
        }
        logger.info("dry run: would reconcile the kernel sets to \(planned.count) elements")
    }

    public func tearDown() throws(FirewallError) {
        bans.withLock { $0 = [:] }
        logger.info("dry run: would delete table inet \(configuration.tableName)")
    }

    /// Always zero: nothing is dropped in a dry run.
    public func dropCounters() throws(FirewallError) -> DropCounters { DropCounters() }
}
