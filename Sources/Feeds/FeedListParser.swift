// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A parsed feed body: the networks it lists (duplicates removed, order kept) and what
/// was skipped.
public struct FeedList: Sendable, Hashable {
    public var networks: [IPNetwork]
    /// Lines or items that are neither a comment nor an address/CIDR.
    public var rejected: Int
    /// Listed networks dropped because they can never be a remote attacker (private,
    /// loopback, link-local, multicast, unspecified) or are wider than /8 (v4) or /19 (v6).
    public var unsafe: Int

    public init(networks: [IPNetwork] = [], rejected: Int = 0, unsafe: Int = 0) {
        self.networks = networks
        self.rejected = rejected
        self.unsafe = unsafe
    }
}

/// Why a feed body was not accepted.
public struct FeedParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Pure parsers of the list formats (text, VoIPBL, FireHOL `.netset`, JSON). Untrusted
/// input never traps; every entry must be a numeric address or CIDR.
public enum FeedListParser {
    /// Parses `bytes` written in `format` (not `.apiban`, whose pages are JSON: use
    /// `APIBAN.parsePage`). More than `maxEntries` networks throws.
    public static func parse(_ bytes: [UInt8], format: FeedFormat, maxEntries: Int) throws(FeedParseError) -> FeedList {
        var builder = Builder(maxEntries: maxEntries)
        switch format {
        case .text, .voipbl, .netset:
            for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
                var line = raw[...]
                if let comment = line.firstIndex(where: { $0 == 0x23 || $0 == 0x3B }) { line = line[..<comment] }
                let token = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x2C }).first
                guard let token, !token.isEmpty else { continue }
                try builder.add(String(decoding: token, as: UTF8.self))
            }
        case .json:
            let value: JSONValue
            do {
                value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
            } catch {
                throw FeedParseError("not JSON: \(error)")
            }
            guard let items = value.addressItems else {
                throw FeedParseError("JSON without a list of addresses (an array, or ipaddress/addresses/ips/bans)")
            }
            for item in items {
                if let text = item.addressText { try builder.add(text) } else { builder.list.rejected += 1 }
            }
        case .apiban:
            throw FeedParseError("APIBAN answers are parsed page by page (APIBAN.parsePage)")
        }
        return builder.list
    }

    /// Accumulates networks with the bound, duplicates and safety filter.
    struct Builder {
        let maxEntries: Int
        var list = FeedList()
        var seen = Set<IPNetwork>()

        init(maxEntries: Int) { self.maxEntries = maxEntries }

        mutating func add(_ text: String) throws(FeedParseError) {
            guard text.utf8.count <= 49, let network = IPNetwork(text) else {
                list.rejected += 1
                return
            }
            guard FeedListParser.isSafeToBan(network) else {
                list.unsafe += 1
                return
            }
            guard seen.insert(network).inserted else { return }
            guard list.networks.count < maxEntries else {
                throw FeedParseError("more than \(maxEntries) entries (the feed's max-entries)")
            }
            list.networks.append(network)
        }
    }

    /// False for networks a feed must never ban: private, loopback, link-local, CGN,
    /// multicast, unspecified, and anything wider than /8 (IPv4) or /19 (IPv6).
    public static func isSafeToBan(_ network: IPNetwork) -> Bool {
        switch network.address {
        case .v4(let value):
            guard network.prefixLength >= 8 else { return false }
            let a = UInt8(value >> 24)
            let b = UInt8(truncatingIfNeeded: value >> 16)
            if a == 0 || a == 10 || a == 127 || a >= 224 { return false }
            if a == 169 && b == 254 { return false }
            if a == 172 && (16...31).contains(b) { return false }
            if a == 192 && b == 168 { return false }
            if a == 100 && (64...127).contains(b) { return false }
            return true
        case .v6(let high, let low):
            guard network.prefixLength >= 19 else { return false }
            let first = UInt8(high >> 56)
            let second = UInt8(truncatingIfNeeded: high >> 48)
            if first == 0xFF || first & 0xFE == 0xFC { return false }
            if first == 0xFE && second & 0xC0 == 0x80 { return false }
            if high == 0 && (low == 0 || low == 1) { return false }
            return true
        }
    }
}

/// A JSON value, decoded without Foundation's `JSONSerialization`.
indirect enum JSONValue: Decodable, Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The list of address items: the array itself, or the first array under a known key.
    var addressItems: [JSONValue]? {
        switch self {
        case .array(let items): return items
        case .object(let fields):
            for key in ["ipaddress", "addresses", "ips", "bans", "data"] {
                if case .array(let items)? = fields[key] { return items }
            }
            return nil
        default: return nil
        }
    }

    /// A string item, or an object item's `ip`/`address`/`network`/`cidr`/`prefix`.
    var addressText: String? {
        switch self {
        case .string(let s): return s
        case .object(let fields):
            for key in ["ip", "address", "network", "cidr", "prefix", "ipaddress"] {
                if case .string(let s)? = fields[key] { return s }
            }
            return nil
        default: return nil
        }
    }
}
