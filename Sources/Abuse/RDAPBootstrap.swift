// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress

/// An IANA RDAP bootstrap registry (RFC 9224): which RDAP service answers for which
/// address block or AS number range. Pure: the caller fetches the file (its location is
/// configurable, so air-gapped hosts and tests can serve their own copy).
public struct RDAPBootstrap: Sendable, Hashable {
    /// The file's `publication` member, as written.
    public var publication: String?
    /// Address blocks and the services for them (IPv4 and IPv6 files alike).
    private var networkEntries: [NetworkEntry] = []
    /// AS number ranges (inclusive) and the services for them.
    private var asnEntries: [ASNEntry] = []

    private struct NetworkEntry: Sendable, Hashable {
        var network: IPNetwork
        var services: [URL]
    }

    private struct ASNEntry: Sendable, Hashable {
        var range: ClosedRange<UInt32>
        var services: [URL]
    }

    public init() {}

    /// Address blocks and AS ranges known.
    public var count: Int { networkEntries.count + asnEntries.count }

    /// Reads one bootstrap file (`ipv4.json`, `ipv6.json` or `asn.json`) and adds its
    /// entries; entries that are not blocks or ranges are skipped and counted.
    @discardableResult
    public mutating func add(_ document: JSONValue) throws(AbuseInputError) -> (added: Int, skipped: Int) {
        guard case .array = document["services"] ?? .null else { throw .unexpectedShape("no `services` array") }
        if publication == nil { publication = document["publication"]?.text }
        var added = 0
        var skipped = 0
        for service in document["services"]?.elements ?? [] {
            let parts = service.elements
            guard parts.count >= 2 else {
                skipped += 1
                continue
            }
            let urls = parts[1].elements.compactMap(\.text).compactMap(Self.serviceURL)
            guard !urls.isEmpty else {
                skipped += 1
                continue
            }
            for key in parts[0].elements.compactMap(\.text) {
                if let network = IPNetwork(key) {
                    networkEntries.append(NetworkEntry(network: network, services: urls))
                    added += 1
                } else if let range = Self.asnRange(key) {
                    asnEntries.append(ASNEntry(range: range, services: urls))
                    added += 1
                } else {
                    skipped += 1
                }
            }
        }
        return (added, skipped)
    }

    /// The RDAP base URLs for `address` (longest matching block), HTTPS first.
    public func services(for address: IPAddress) -> [URL] {
        let a = address.unmapped
        var best: NetworkEntry?
        for entry in networkEntries where entry.network.contains(a) {
            if best == nil || entry.network.prefixLength > best!.network.prefixLength { best = entry }
        }
        return best.map { Self.httpsFirst($0.services) } ?? []
    }

    /// The RDAP base URLs for AS `number`, HTTPS first.
    public func services(forAS number: UInt32) -> [URL] {
        asnEntries.first { $0.range.contains(number) }.map { Self.httpsFirst($0.services) } ?? []
    }

    /// The URL of the `ip` query for `address` at `base` (RFC 9082 §3.1.1).
    public static func ipQuery(_ address: IPAddress, base: URL) -> URL {
        base.appending(path: "ip").appending(path: address.unmapped.description)
    }

    /// The URL of the `autnum` query for AS `number` at `base`.
    public static func autnumQuery(_ number: UInt32, base: URL) -> URL {
        base.appending(path: "autnum").appending(path: String(number))
    }

    private static func serviceURL(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            url.host != nil
        else { return nil }
        return url
    }

    private static func httpsFirst(_ urls: [URL]) -> [URL] {
        urls.filter { $0.scheme?.lowercased() == "https" } + urls.filter { $0.scheme?.lowercased() != "https" }
    }

    /// `"36864-37887"` or `"1234"`.
    static func asnRange(_ text: String) -> ClosedRange<UInt32>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2,
            let low = UInt32(parts[0]), let high = UInt32(parts.count == 2 ? parts[1] : parts[0]), low <= high
        else { return nil }
        return low...high
    }
}
