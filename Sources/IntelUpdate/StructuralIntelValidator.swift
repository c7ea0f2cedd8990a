// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A validator that needs no intelligence store: it checks each published format's shape
/// (every row of a table, the JSON document's structure) and counts its entries. A row or
/// prefix it cannot read makes the whole copy invalid, except where the real
/// publications are known to carry such rows (geofeed rows without a country).
///
/// The daemon replaces it with the store's own full parser when one is plugged in.
public struct StructuralIntelValidator: IntelSourceValidator {
    public init() {}

    public func validate(_ bytes: [UInt8], format: String, name: String) throws(IntelValidationError) -> Int {
        switch format {
        case "ip2asn": return try Self.ip2asn(bytes)
        case "geofeed": return try Self.lines(bytes, minimumFields: 1) { $0.first.map(Self.isPrefix) ?? false }
        case "list": return try Self.lines(bytes, minimumFields: 1) { $0.first.map(Self.isPrefix) ?? false }
        case "aws", "gcp", "azure", "oracle": return try Self.json(bytes, format: format)
        default: throw IntelValidationError("unknown format '\(format)'")
        }
    }

    /// Text rows (`#` comments and blank lines skipped), split on commas, each checked.
    static func lines(
        _ bytes: [UInt8], minimumFields: Int, _ isValid: ([Substring]) -> Bool
    ) throws(IntelValidationError) -> Int {
        let text = String(decoding: bytes, as: UTF8.self)
        var count = 0
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = trimmed(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { trimmed($0) }
            guard fields.count >= minimumFields, isValid(fields) else {
                throw IntelValidationError("line \(index + 1): not a prefix row: \(line.prefix(80))")
            }
            count += 1
        }
        return count
    }

    /// `text` without leading and trailing spaces, tabs and carriage returns.
    static func trimmed(_ text: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
        return text[first...last]
    }

    /// iptoasn rows: start, end (inclusive), AS number, country, description; TAB-separated.
    static func ip2asn(_ bytes: [UInt8]) throws(IntelValidationError) -> Int {
        var count = 0
        var lineNumber = 0
        for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if raw.isEmpty { continue }
            let fields = raw.split(separator: 0x09, maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.count == 5,
                isAddress(String(decoding: fields[0], as: UTF8.self)),
                isAddress(String(decoding: fields[1], as: UTF8.self)),
                UInt32(String(decoding: fields[2], as: UTF8.self)) != nil
            else {
                throw IntelValidationError("line \(lineNumber): not an ip2asn row")
            }
            count += 1
        }
        return count
    }

    static func json(_ bytes: [UInt8], format: String) throws(IntelValidationError) -> Int {
        let decoder = JSONDecoder()
        let data = Data(bytes)
        let prefixes: [String]
        do {
            switch format {
            case "aws":
                let doc = try decoder.decode(AWSRanges.self, from: data)
                prefixes = doc.prefixes.map(\.ipPrefix) + (doc.ipv6Prefixes ?? []).map(\.ipv6Prefix)
            case "gcp":
                let doc = try decoder.decode(GCPRanges.self, from: data)
                prefixes = try doc.prefixes.map { (p: GCPRanges.Prefix) throws -> String in
                    guard let text = p.ipv4Prefix ?? p.ipv6Prefix else { throw IntelValidationError("a prefix without ipv4Prefix or ipv6Prefix") }
                    return text
                }
            case "azure":
                let doc = try decoder.decode(AzureServiceTags.self, from: data)
                prefixes = doc.values.flatMap(\.properties.addressPrefixes)
            default:
                let doc = try decoder.decode(OracleRanges.self, from: data)
                prefixes = doc.regions.flatMap { $0.cidrs.map(\.cidr) }
            }
        } catch let error as IntelValidationError {
            throw error
        } catch {
            throw IntelValidationError("not a \(format) document: \(error)")
        }
        if let bad = prefixes.first(where: { !isPrefix($0[...]) }) {
            throw IntelValidationError("not a prefix: \(bad.prefix(80))")
        }
        return prefixes.count
    }

    /// ADDRESS/LENGTH with a numeric IPv4 or IPv6 address.
    static func isPrefix(_ text: Substring) -> Bool {
        guard let slash = text.firstIndex(of: "/"), let length = Int(text[text.index(after: slash)...]) else { return false }
        let address = String(text[..<slash])
        if address.contains(":") { return (0...128).contains(length) && isAddress(address) }
        return (0...32).contains(length) && isAddress(address)
    }

    static func isAddress(_ text: String) -> Bool {
        if text.contains(":") {
            return !text.isEmpty && text.count <= 45
                && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x3A) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) || $0 == 0x2E }
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { $0.count <= 3 && UInt8($0) != nil }
    }
}

private struct AWSRanges: Decodable {
    struct V4: Decodable {
        var ipPrefix: String
        enum CodingKeys: String, CodingKey { case ipPrefix = "ip_prefix" }
    }
    struct V6: Decodable {
        var ipv6Prefix: String
        enum CodingKeys: String, CodingKey { case ipv6Prefix = "ipv6_prefix" }
    }
    var prefixes: [V4]
    var ipv6Prefixes: [V6]?
    enum CodingKeys: String, CodingKey {
        case prefixes
        case ipv6Prefixes = "ipv6_prefixes"
    }
}

private struct GCPRanges: Decodable {
    struct Prefix: Decodable {
        var ipv4Prefix: String?
        var ipv6Prefix: String?
    }
    var prefixes: [Prefix]
}

private struct AzureServiceTags: Decodable {
    struct Value: Decodable {
        struct Properties: Decodable { var addressPrefixes: [String] }
        var properties: Properties
    }
    var values: [Value]
}

private struct OracleRanges: Decodable {
    struct Region: Decodable {
        struct CIDR: Decodable { var cidr: String }
        var cidrs: [CIDR]
    }
    var regions: [Region]
}
