// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// Turns a `block` feed's networks into bans (pure, clock given): each listed network
/// not on the allowlist is banned with origin `feed` for the feed's ban time, and banned
/// again (extended) once half of that time has passed while it is still listed; a
/// network that leaves the feed is not lifted — its ban runs out by itself.
public struct FeedBanPlanner: Sendable {
    /// When each network was last banned for each feed.
    private var lastBanned: [String: [IPNetwork: Timestamp]] = [:]

    public init() {}

    /// Notes bans already in force (from the ledger at start) so they are not made twice.
    public mutating func noteExisting(feed: String, network: IPNetwork, created: Timestamp) {
        lastBanned[feed, default: [:]][network] = created
    }

    /// Forgets a planned ban that was not made (the kernel refused it): the next plan makes it again.
    public mutating func forget(feed: String, network: IPNetwork) {
        lastBanned[feed]?[network] = nil
    }

    /// The bans to enforce now for `spec` listing `networks`.
    public mutating func plan(_ spec: FeedSpec, networks: [IPNetwork], allowlist: IPNetworkSet, now: Timestamp) -> [Ban] {
        let banTime = spec.effectiveBanTime
        var known = lastBanned[spec.name] ?? [:]
        var listed = Set<IPNetwork>()
        var bans: [Ban] = []
        for network in networks {
            listed.insert(network)
            guard !Self.touchesAllowlist(network, allowlist) else { continue }
            if let last = known[network], now - last < banTime / 2 { continue }
            known[network] = now
            bans.append(
                Ban(
                    network: network, rule: .feed, origin: .feed, created: now, duration: banTime,
                    reason: "listed by feed \(spec.name)"))
        }
        // Forget what left the feed (its ban runs out on its own).
        known = known.filter { listed.contains($0.key) }
        lastBanned[spec.name] = known
        return bans
    }

    /// True when banning `network` would cover an allowlisted address or sits inside an
    /// allowlisted prefix.
    static func touchesAllowlist(_ network: IPNetwork, _ allowlist: IPNetworkSet) -> Bool {
        if allowlist.contains(network.address) { return true }
        return allowlist.networks.contains { network.contains($0) }
    }
}
