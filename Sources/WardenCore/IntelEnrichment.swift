// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// What the offline intelligence store knew about an address at one moment: the AS that
/// announces it, the announced prefix, the country, and the cloud provider, service and
/// region where one publishes its ranges. Events, bans and JSON outputs carry it as it
/// was when they were made (a ban keeps the value of the moment it was banned).
///
/// JSON keys: `asn`, `as_name`, `country`, `prefix`, `provider`, `service`, `region`;
/// unknown fields are left out.
public struct IntelEnrichment: Hashable, Sendable, Codable {
    /// Origin AS number; nil where the address is not routed or no table is loaded.
    public var asn: UInt32?
    /// The AS's description as iptoasn publishes it (`HETZNER-AS`, `CLOUDFLARENET - Cloudflare, Inc.`).
    public var asName: String?
    /// ISO 3166 alpha-2 country (the AS's, or a geofeed's where no AS is known).
    public var country: String?
    /// The widest CIDR block around the address inside its announced range.
    public var prefix: IPNetwork?
    /// Provider (`aws`, `gcp`, `azure`, `oracle`, `cloudflare`, a geofeed's name, or one
    /// derived from its AS numbers such as `hetzner`).
    public var provider: String?
    /// The provider's service (`EC2`, `Google Cloud`, `AzureStorage`, `OCI`), where published.
    public var service: String?
    /// The provider's region (`eu-central-1`, `europe-west3`, `germanywc`, `US-TX`), where published.
    public var region: String?

    public init(
        asn: UInt32? = nil, asName: String? = nil, country: String? = nil, prefix: IPNetwork? = nil,
        provider: String? = nil, service: String? = nil, region: String? = nil
    ) {
        self.asn = asn
        self.asName = asName
        self.country = country
        self.prefix = prefix
        self.provider = provider
        self.service = service
        self.region = region
    }

    /// True when nothing is known.
    public var isEmpty: Bool {
        asn == nil && asName == nil && country == nil && prefix == nil && provider == nil && service == nil && region == nil
    }

    enum CodingKeys: String, CodingKey {
        case asn
        case asName = "as_name"
        case country, prefix, provider, service, region
    }
}
