// SPDX-License-Identifier: GPL-2.0-or-later

/// One intelligence source: where it is fetched from, the format its bytes are in (the
/// name the validator and the store's parser know it by), and the file it is kept in
/// under `STATE/intel/`.
public struct IntelSource: Sendable, Hashable, Codable {
    /// Unique name; also the file name under `STATE/intel/` (letters, digits, `-`, `_`, `.`).
    public var name: String
    /// Where it is fetched: `https://…` by default; `http://` (a local mirror) and
    /// `file://` (a file on this host) are accepted for air-gapped hosts and tests.
    public var url: String
    /// The published format (`ip2asn`, `aws`, `gcp`, `azure`, `oracle`, `geofeed`,
    /// `list`): handed to the validator with the bytes.
    public var format: String
    /// The body is gzip-compressed (`.gz`): decompressed before validation and storage.
    /// Also detected from the gzip magic bytes whatever this says.
    public var gzip: Bool

    public init(name: String, url: String, format: String, gzip: Bool? = nil) {
        self.name = name
        self.url = url
        self.format = format
        self.gzip = gzip ?? url.hasSuffix(".gz")
    }

    /// True when `name` can be used as a file name under the state directory.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.first != "."
            && name.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
            }
    }
}

extension IntelSource {
    /// The sources fetched when the configuration names none, from their real public
    /// addresses (checked 2026-12; see docs/INTEL.md "Updates").
    ///
    /// Azure publishes its Service Tags under a URL that changes every week
    /// (`…/download/…/ServiceTags_Public_YYYYMMDD.json`, linked from Microsoft's download
    /// page 56519); no stable address exists, so Azure is fetched only when configured
    /// (`intel.sources.azure.url`).
    public static let defaults: [IntelSource] = [
        IntelSource(name: "ip2asn", url: "https://iptoasn.com/data/ip2asn-combined.tsv.gz", format: "ip2asn"),
        IntelSource(name: "aws", url: "https://ip-ranges.amazonaws.com/ip-ranges.json", format: "aws"),
        IntelSource(name: "gcp", url: "https://www.gstatic.com/ipranges/cloud.json", format: "gcp"),
        IntelSource(name: "oracle", url: "https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json", format: "oracle"),
        IntelSource(name: "digitalocean", url: "https://digitalocean.com/geo/google.csv", format: "geofeed"),
        IntelSource(name: "linode", url: "https://geoip.linode.com/", format: "geofeed"),
        IntelSource(name: "cloudflare-v4", url: "https://www.cloudflare.com/ips-v4", format: "list"),
        IntelSource(name: "cloudflare-v6", url: "https://www.cloudflare.com/ips-v6", format: "list"),
    ]

    /// Formats a source can have (what the validator is asked to parse).
    public static let knownFormats: Set<String> = ["ip2asn", "aws", "gcp", "azure", "oracle", "geofeed", "list"]
}
