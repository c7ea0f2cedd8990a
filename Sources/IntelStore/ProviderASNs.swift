// SPDX-License-Identifier: GPL-2.0-or-later

/// Providers known by their AS numbers, for the hosts that publish no list of ranges:
/// every range the ip2asn table gives to one of these ASes is that provider's.
public struct ProviderASNMap: Sendable, Hashable {
    /// Provider name → AS numbers.
    public var providers: [String: [UInt32]]

    public init(_ providers: [String: [UInt32]]) { self.providers = providers }

    /// The built-in map: hosting providers often seen in SIP attacks that publish no range list.
    public static let builtIn = ProviderASNMap([
        "hetzner": [24940],
        "ovh": [16276],
        "contabo": [51167],
        "vultr": [20473],
        "scaleway": [12876],
    ])

    /// This map with `other`'s entries replacing or adding providers (an empty list removes one).
    public func merging(_ other: ProviderASNMap) -> ProviderASNMap {
        var merged = providers
        for (name, asns) in other.providers {
            merged[name] = asns.isEmpty ? nil : asns
        }
        return ProviderASNMap(merged)
    }
}
