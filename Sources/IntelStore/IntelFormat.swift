// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// The published formats the store reads.
public enum IntelFormat: String, Sendable, Hashable, Codable, CaseIterable {
    /// iptoasn `ip2asn-v4.tsv`, `ip2asn-v6.tsv`, `ip2asn-combined.tsv` and `ip2asn-v4-u32.tsv`:
    /// TAB-separated `start end asn country description`, inclusive ranges not aligned to CIDR.
    case ip2asn
    /// AWS `ip-ranges.json`.
    case aws
    /// Google Cloud `cloud.json`.
    case gcp
    /// Azure Service Tags (`ServiceTags_Public_*.json`).
    case azure
    /// Oracle Cloud `public_ip_ranges.json`.
    case oracle
    /// RFC 8805 geofeed CSV (DigitalOcean, Linode/Akamai …): `prefix,country,region,city,postal`.
    case geofeed
    /// One CIDR or address per line, `#` comments (Cloudflare's lists, an operator's named list).
    case cidrList = "list"

    /// Recognises a format from the file's content (not its name); nil when it is none of them.
    public static func detect(bytes: some Collection<UInt8>) -> IntelFormat? {
        let head = Array(bytes.prefix(1 << 20))
        return head.withUnsafeBufferPointer { detect($0) }
    }

    static func detect(_ b: UnsafeBufferPointer<UInt8>) -> IntelFormat? {
        var i = 0
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
        while i < b.count, IntelText.isSpace(b[i]) || b[i] == 0x0A { i += 1 }
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "{") {
            if contains(b, "\"ip_prefix\"") || contains(b, "\"ipv6_prefix\"") { return .aws }
            if contains(b, "\"ipv4Prefix\"") || contains(b, "\"ipv6Prefix\"") { return .gcp }
            if contains(b, "\"addressPrefixes\"") { return .azure }
            if contains(b, "\"cidrs\"") { return .oracle }
            return nil
        }
        // Text: judge by the first line that is neither blank nor a comment.
        var found: IntelFormat?
        try? IntelText.forEachLine(b) { _, range throws(IntelParseError) in
            guard found == nil else { return }
            let r = IntelText.trimmed(b, range)
            guard !r.isEmpty, b[r.lowerBound] != UInt8(ascii: "#") else { return }
            var tabs = 0
            var commas = 0
            for k in r {
                if b[k] == 0x09 { tabs += 1 } else if b[k] == UInt8(ascii: ",") { commas += 1 }
            }
            if tabs >= 4 {
                found = .ip2asn
            } else if commas >= 1, let comma = r.firstIndex(where: { b[$0] == UInt8(ascii: ",") }),
                IntelText.network(b, IntelText.trimmed(b, r.lowerBound..<comma)) != nil
            {
                found = .geofeed
            } else if IntelText.network(b, CIDRListParser.entryRange(b, r)) != nil {
                found = .cidrList
            } else {
                throw IntelParseError(line: 0, "stop")
            }
        }
        return found
    }

    private static func contains(_ b: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        let p = needle.utf8Start
        guard b.count >= n else { return false }
        var i = 0
        let last = b.count - n
        while i <= last {
            if b[i] == p[0] {
                var k = 1
                while k < n, b[i + k] == p[k] { k += 1 }
                if k == n { return true }
            }
            i += 1
        }
        return false
    }
}
