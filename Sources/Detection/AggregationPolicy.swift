// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// One aggregation step: the prefix its hosts are counted in together, and the threshold
/// that bans that prefix.
public struct AggregationStep: Hashable, Sendable {
    /// Which prefix of a failing address this step counts in.
    public enum Scope: Hashable, Sendable {
        /// A fixed prefix length per family (e.g. /24 and /48).
        case prefix(ipv4: Int, ipv6: Int)
        /// The announced (BGP) prefix holding the address, from the intel store through
        /// ``AnnouncedPrefixLookup``; skipped while no lookup is installed.
        case announced
    }

    public var scope: Scope
    /// Failures of the prefix's hosts (together) within `findTime` that ban it.
    public var failures: Int
    /// Of which at least this many distinct hosts.
    public var distinctHosts: Int
    public var findTime: Duration

    public init(scope: Scope, failures: Int, distinctHosts: Int, findTime: Duration) {
        self.scope = scope
        self.failures = failures
        self.distinctHosts = distinctHosts
        self.findTime = findTime
    }

    /// The prefix of `address` this step counts in (nil: no announced-prefix lookup, or
    /// the address has none, or the prefix is no wider than `host`, the network a host ban
    /// of this address covers — the step then does not apply to its family).
    func network(for address: IPAddress, host: IPNetwork, announced: (any AnnouncedPrefixLookup)?) -> IPNetwork? {
        let network: IPNetwork? =
            switch scope {
            case .prefix(let v4, let v6): IPNetwork(address: address, prefixLength: address.family == .v4 ? v4 : v6)
            case .announced: announced?.announcedPrefix(of: address)
            }
        guard let network, network.prefixLength < host.prefixLength else { return nil }
        return network
    }
}

/// The hook for the "whole announced prefix" step: the offline intel store answers it.
public protocol AnnouncedPrefixLookup: Sendable {
    /// The announced prefix that holds `address`, if known.
    func announcedPrefix(of address: IPAddress) -> IPNetwork?
}

/// Why a prefix that reached its threshold was not banned.
public enum AggregationBlock: String, Hashable, Sendable, CaseIterable {
    /// It contains an allowlisted address (`allow`).
    case allowlist
    /// It contains a configured SIP trunk.
    case trunk
    /// It contains one of the host's own addresses.
    case ownAddress = "own_address"
    /// It contains an inline or HEP peer (a HEP agent, the PBX behind the queue).
    case peer
    /// A host in it authenticated successfully within `success-memory`.
    case succeeded
}

/// Networks no prefix ban may ever cover, with the rule that protects each.
public struct ProtectedNetwork: Hashable, Sendable {
    public var network: IPNetwork
    public var reason: AggregationBlock

    public init(_ network: IPNetwork, reason: AggregationBlock) {
        self.network = network
        self.reason = reason
    }
}

/// Prefixes are sources too: the failures of all hosts of one prefix count together.
///
/// The allowlist (``DetectionPolicy/allowlist``) is always protected; `protected` adds
/// the trunks, the host's own addresses and the inline/HEP peers (the daemon fills it).
public struct AggregationPolicy: Hashable, Sendable {
    /// Narrowest first. Empty: aggregation off.
    public var steps: [AggregationStep]
    /// Never banned as part of a prefix (besides the allowlist).
    public var protected: [ProtectedNetwork]
    /// How long a successful authentication keeps a host's failures out of prefix
    /// windows and its prefixes from being banned.
    public var successMemory: Duration
    /// Prefixes tracked at once (nil: `max-tracked-sources` / 32); the least threatening
    /// are evicted beyond.
    public var maxTrackedPrefixes: Int?

    /// The default: a /24 (IPv4) or /48 (IPv6) is banned at 10 failures from at least 3
    /// hosts within 10 minutes; a success is remembered for a day.
    public init(
        steps: [AggregationStep] = [AggregationStep(scope: .prefix(ipv4: 24, ipv6: 48), failures: 10, distinctHosts: 3, findTime: .seconds(600))],
        protected: [ProtectedNetwork] = [],
        successMemory: Duration = .seconds(86_400),
        maxTrackedPrefixes: Int? = nil
    ) {
        self.steps = steps
        self.protected = protected
        self.successMemory = successMemory
        self.maxTrackedPrefixes = maxTrackedPrefixes
    }

    /// The default steps (`init()`'s).
    public static let defaultSteps = AggregationPolicy().steps

    /// Aggregation switched off.
    public static let off = AggregationPolicy(steps: [])

    /// Problems that make this policy unusable (empty = valid). `hostV4`/`hostV6` are the
    /// host ban granularity: every configured fixed step must be wider. The default step
    /// is not checked against them: where host bans are already as wide (`ipv4-prefix: 24`)
    /// it does not apply to that family, so a file that set only the host granularity
    /// stays valid.
    public func validationErrors(hostV4: Int, hostV6: Int) -> [String] {
        var errors: [String] = []
        let (hostV4, hostV6) = steps == Self.defaultSteps ? (32, 128) : (hostV4, hostV6)
        var previous: (Int, Int, Int)?
        for (i, s) in steps.enumerated() {
            let name = "aggregation step \(i + 1)"
            if s.failures < 2 || s.failures > 1000 { errors.append("\(name): failures must be between 2 and 1000, got \(s.failures)") }
            if s.distinctHosts < 2 || s.distinctHosts > s.failures {
                errors.append("\(name): distinct-hosts must be between 2 and failures, got \(s.distinctHosts)")
            }
            if s.findTime <= .zero { errors.append("\(name): find-time must be positive") }
            if case .prefix(let v4, let v6) = s.scope {
                // (A nonsense host granularity is reported once, by the detection policy.)
                if v4 < 8 || v4 > 31 || (v4 >= hostV4 && (8...32).contains(hostV4)) {
                    errors.append("\(name): ipv4 prefix must be between 8 and \(hostV4 - 1), got \(v4)")
                }
                if v6 < 16 || v6 > 127 || (v6 >= hostV6 && (32...128).contains(hostV6)) {
                    errors.append("\(name): ipv6 prefix must be between 16 and \(hostV6 - 1), got \(v6)")
                }
                // Wider steps only under stronger thresholds.
                if let (p4, pf, ph) = previous {
                    if v4 >= p4 { errors.append("\(name): steps go from narrow to wide (/\(v4) after /\(p4))") }
                    if s.failures <= pf || s.distinctHosts < ph {
                        errors.append("\(name): a wider step needs more failures and at least as many hosts as the one before")
                    }
                }
                previous = (v4, s.failures, s.distinctHosts)
            } else if i != steps.count - 1 {
                errors.append("\(name): the announced-prefix step must be the last")
            }
        }
        if successMemory < .zero { errors.append("aggregation: success-memory must not be negative") }
        if let m = maxTrackedPrefixes, m < 16 { errors.append("aggregation: max-tracked-prefixes must be at least 16") }
        return errors
    }
}
