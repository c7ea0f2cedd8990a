// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// The clouds' JSON publications:
/// - AWS `ip-ranges.json`: `prefixes[].{ip_prefix, region, service}`, `ipv6_prefixes[].{ipv6_prefix, …}`;
///   service `AMAZON` repeats the other services' prefixes (marked generic);
/// - Google Cloud `cloud.json`: `prefixes[].{ipv4Prefix|ipv6Prefix, service, scope}`;
/// - Azure Service Tags: `values[].{name, properties.{region, systemService, addressPrefixes[]}}`;
///   tags without a system service (`AzureCloud.westeurope`) are generic;
/// - Oracle `public_ip_ranges.json`: `regions[].{region, cidrs[].{cidr, tags[]}}`.
enum CloudJSONParser {
    static func parse(_ b: UnsafeBufferPointer<UInt8>, format: IntelFormat, name: String) throws(IntelParseError) -> IntelDataset {
        let root = try JSONReader.parse(b)
        guard case .object = root else { throw IntelParseError(line: root.line, "expected a JSON object") }
        var dataset = IntelDataset(name: name, format: format, role: .provider)
        var interner = LabelInterner()
        switch format {
        case .aws:
            for (list, key) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
                for item in try array(root, list, optional: list == "ipv6_prefixes") {
                    let network = try prefix(item, key)
                    let service = try string(item, "service")
                    let label = ProviderLabel(
                        provider: "aws", service: service, region: try optionalString(item, "region"),
                        country: 0, generic: service == "AMAZON")
                    try dataset.add(network, interner.id(label), line: item.line)
                }
            }
        case .gcp:
            for item in try array(root, "prefixes") {
                let network = try item["ipv4Prefix"] != nil ? prefix(item, "ipv4Prefix") : prefix(item, "ipv6Prefix")
                let label = ProviderLabel(
                    provider: "gcp", service: try optionalString(item, "service"),
                    region: try optionalString(item, "scope"), country: 0, generic: false)
                try dataset.add(network, interner.id(label), line: item.line)
            }
        case .azure:
            for value in try array(root, "values") {
                guard let properties = value["properties"], case .object = properties else {
                    throw IntelParseError(line: value.line, "Azure value without 'properties'")
                }
                let tag = try string(value, "name")
                let system = try optionalString(properties, "systemService")
                let service = system ?? String(tag.split(separator: ".").first ?? Substring(tag))
                let label = ProviderLabel(
                    provider: "azure", service: service, region: try optionalString(properties, "region"),
                    country: 0, generic: system == nil)
                let id = interner.id(label)
                for text in try array(properties, "addressPrefixes") {
                    try dataset.add(try network(text), id, line: text.line)
                }
            }
        case .oracle:
            for region in try array(root, "regions") {
                let regionName = try optionalString(region, "region")
                for cidr in try array(region, "cidrs") {
                    let network = try prefix(cidr, "cidr")
                    var tags: [String] = []
                    if cidr["tags"] != nil {
                        for tag in try array(cidr, "tags") {
                            guard let s = tag.stringValue, s.utf8.count <= 64 else {
                                throw IntelParseError(line: tag.line, "tag is not a short string")
                            }
                            tags.append(s)
                        }
                    }
                    let label = ProviderLabel(
                        provider: "oracle", service: tags.isEmpty ? nil : tags.joined(separator: ","),
                        region: regionName, country: 0, generic: false)
                    try dataset.add(network, interner.id(label), line: cidr.line)
                }
            }
        case .ip2asn, .geofeed, .cidrList:
            throw IntelParseError(line: 0, "not a JSON format")
        }
        dataset.labels = interner.labels
        return dataset
    }

    private static func array(_ object: JSONValue, _ key: String, optional: Bool = false) throws(IntelParseError) -> [JSONValue] {
        guard let value = object[key] else {
            if optional { return [] }
            throw IntelParseError(line: object.line, "missing '\(key)'")
        }
        guard let items = value.arrayValue else {
            throw IntelParseError(line: value.line, "'\(key)' is \(value.kindName), expected an array")
        }
        return items
    }

    private static func string(_ object: JSONValue, _ key: String) throws(IntelParseError) -> String {
        guard let value = object[key] else { throw IntelParseError(line: object.line, "missing '\(key)'") }
        guard let s = value.stringValue else {
            throw IntelParseError(line: value.line, "'\(key)' is \(value.kindName), expected a string")
        }
        guard s.utf8.count <= IntelLimits.maxFieldBytes else {
            throw IntelParseError(line: value.line, "'\(key)' longer than \(IntelLimits.maxFieldBytes) bytes")
        }
        return s
    }

    /// A string member, nil when absent, null or empty.
    private static func optionalString(_ object: JSONValue, _ key: String) throws(IntelParseError) -> String? {
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        let s = try string(object, key)
        return s.isEmpty ? nil : s
    }

    private static func prefix(_ object: JSONValue, _ key: String) throws(IntelParseError) -> IPNetwork {
        guard case .object = object else { throw IntelParseError(line: object.line, "expected an object, found \(object.kindName)") }
        guard let value = object[key] else { throw IntelParseError(line: object.line, "missing '\(key)'") }
        return try network(value)
    }

    private static func network(_ value: JSONValue) throws(IntelParseError) -> IPNetwork {
        guard let text = value.stringValue, text.utf8.count <= 64, let network = IPNetwork(text) else {
            throw IntelParseError(line: value.line, "not a CIDR prefix")
        }
        return network
    }
}
