// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An element as the kernel holds it: an interval (usually a prefix) and its remaining time.
struct KernelElement: Hashable, Sendable {
    let interval: AddressInterval
    /// Remaining time (whole seconds, as nft's JSON reports it); nil = permanent.
    let remaining: Duration?
}

/// Parsing of `nft -j list …` output (nft 1.0.x JSON schema 1).
///
/// The output comes from the kernel, but it is parsed defensively all the same: elements
/// that are not addresses, prefixes or ranges of the expected family are counted and
/// skipped, never trusted.
enum NFTListing {
    struct SetContents {
        var elements: [KernelElement] = []
        /// Elements that could not be understood (logged by the caller).
        var skipped: Int = 0
    }

    /// Parses a `list table` or `list set` listing: the contents of each of our sets found.
    static func parseSets(_ json: String) throws(FirewallError) -> [NFTSyntax.SetName: SetContents] {
        let document = try decode(json)
        var result: [NFTSyntax.SetName: SetContents] = [:]
        for item in document.nftables {
            guard let set = item.set, let name = NFTSyntax.SetName(rawValue: set.name) else { continue }
            var contents = result[name] ?? SetContents()
            for element in set.elem ?? [] {
                guard let interval = element.value.interval(family: name.family) else {
                    contents.skipped += 1
                    continue
                }
                contents.elements.append(KernelElement(interval: interval, remaining: element.remaining))
            }
            result[name] = contents
        }
        return result
    }

    /// Elements of the named IPv4 sets (used by the refresh probe).
    static func parseProbe(_ json: String, setNames: Set<String>) throws(FirewallError) -> [String: [KernelElement]] {
        let document = try decode(json)
        var result: [String: [KernelElement]] = [:]
        for item in document.nftables {
            guard let set = item.set, setNames.contains(set.name) else { continue }
            result[set.name, default: []] += (set.elem ?? []).compactMap { element in
                element.value.interval(family: .v4).map { KernelElement(interval: $0, remaining: element.remaining) }
            }
        }
        return result
    }

    static func parseCounter(_ json: String) throws(FirewallError) -> (packets: UInt64, bytes: UInt64) {
        let document = try decode(json)
        for item in document.nftables {
            if let counter = item.counter { return (counter.packets, counter.bytes) }
        }
        throw FirewallError(.unexpectedOutput, "nft listed no counter")
    }

    private static func decode(_ json: String) throws(FirewallError) -> Document {
        do {
            return try JSONDecoder().decode(Document.self, from: Data(json.utf8))
        } catch {
            throw FirewallError(.unexpectedOutput, "cannot parse nft JSON output: \(error)")
        }
    }

    // MARK: Schema

    private struct Document: Decodable {
        let nftables: [Item]
    }

    private struct Item: Decodable {
        let set: SetBody?
        let counter: CounterBody?
    }

    private struct SetBody: Decodable {
        let name: String
        let elem: [Element]?
    }

    private struct CounterBody: Decodable {
        let packets: UInt64
        let bytes: UInt64
    }

    private struct PrefixBody: Decodable {
        let addr: String
        let len: Int
    }

    private enum Value: Decodable {
        case address(String)
        case prefix(String, Int)
        case range(String, String)
        case unknown

        private enum Keys: String, CodingKey { case prefix, range }

        init(from decoder: any Decoder) throws {
            if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
                self = .address(text)
                return
            }
            let keyed = try decoder.container(keyedBy: Keys.self)
            if let prefix = try? keyed.decode(PrefixBody.self, forKey: .prefix) {
                self = .prefix(prefix.addr, prefix.len)
            } else if let range = try? keyed.decode([String].self, forKey: .range), range.count == 2 {
                self = .range(range[0], range[1])
            } else {
                self = .unknown
            }
        }

        func interval(family: IPAddress.Family) -> AddressInterval? {
            switch self {
            case .address(let text):
                guard let address = IPAddress(text), address.family == family else { return nil }
                return AddressInterval(IPNetwork(host: address))
            case .prefix(let text, let length):
                guard let address = IPAddress(text), address.family == family,
                    let network = IPNetwork(address: address, prefixLength: length),
                    network.address == address
                else { return nil }
                return AddressInterval(network)
            case .range(let lowText, let highText):
                guard let low = IPAddress(lowText), let high = IPAddress(highText),
                    low.family == family, high.family == family
                else { return nil }
                return AddressInterval(family: family, low: low.integer, high: high.integer)
            case .unknown:
                return nil
            }
        }
    }

    /// `"1.2.3.4"`, `{"prefix": …}`, `{"range": …}` or `{"elem": {"val": …, "timeout": s, "expires": s}}`.
    private struct Element: Decodable {
        let value: Value
        let timeout: Int64?
        let expires: Int64?

        /// Time left (`expires`, else `timeout`); nil = permanent.
        var remaining: Duration? {
            guard let seconds = expires ?? timeout else { return nil }
            return .seconds(max(0, seconds))
        }

        private enum OuterKeys: String, CodingKey { case elem }
        private enum InnerKeys: String, CodingKey { case val, timeout, expires }

        init(from decoder: any Decoder) throws {
            if let outer = try? decoder.container(keyedBy: OuterKeys.self), outer.contains(.elem) {
                let inner = try outer.nestedContainer(keyedBy: InnerKeys.self, forKey: .elem)
                value = (try? inner.decode(Value.self, forKey: .val)) ?? .unknown
                timeout = (try? inner.decodeIfPresent(Int64.self, forKey: .timeout)) ?? nil
                expires = (try? inner.decodeIfPresent(Int64.self, forKey: .expires)) ?? nil
            } else {
                value = (try? Value(from: decoder)) ?? .unknown
                timeout = nil
                expires = nil
            }
        }
    }
}
