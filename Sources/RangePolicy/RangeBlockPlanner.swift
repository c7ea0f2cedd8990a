// SPDX-License-Identifier: GPL-2.0-or-later

public import AddressRanges
public import NetworkAddress

/// What goes into the kernel for a block: the selector's prefixes, without those shorter
/// than the policy allows, merged (`RangeSet`), with the allowlist (and any other
/// never-block networks: the host's own addresses, trunks, peers) carved out. Pure.
public enum RangeBlockPlanner {
    /// The plan of one block.
    public struct Plan: Hashable, Sendable {
        /// The ranges to load.
        public var ranges: RangeSet
        /// Input prefixes dropped as too short.
        public var tooShort: [IPNetwork]
        /// True when the allowlist removed something.
        public var carvedOut: Bool
    }

    /// Plans a block of `networks` under `policy`'s guards, never covering `allowlist`.
    public static func plan(_ networks: [IPNetwork], policy: RangePolicy, allowlist: [IPNetwork]) -> Plan {
        var kept: [IPNetwork] = []
        var tooShort: [IPNetwork] = []
        kept.reserveCapacity(networks.count)
        for network in networks {
            let minimum = network.family == .v4 ? policy.minimumPrefixLengthV4 : policy.minimumPrefixLengthV6
            if network.prefixLength < minimum { tooShort.append(network) } else { kept.append(network) }
        }
        let merged = RangeSet(kept)
        let carved = merged.subtracting(allowlist)
        return Plan(ranges: carved, tooShort: tooShort, carvedOut: carved != merged)
    }
}
