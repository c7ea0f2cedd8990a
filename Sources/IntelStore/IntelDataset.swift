// SPDX-License-Identifier: GPL-2.0-or-later

/// What a dataset contributes to a lookup.
public enum IntelDatasetRole: String, Sendable, Hashable, Codable {
    /// Announced ranges with AS number, AS name and country (iptoasn).
    case asn
    /// A provider's published ranges, with service and region where it publishes them.
    case provider
    /// An operator's named list of CIDRs.
    case namedList = "list"
}

/// An AS row's attributes, shared by every range of the same AS, country and name.
struct ASRecord: Sendable, Hashable {
    var asn: UInt32
    var country: UInt16
    var name: String
}

/// A provider entry's attributes.
struct ProviderLabel: Sendable, Hashable {
    var provider: String
    var service: String?
    var region: String?
    var country: UInt16
    /// True for entries that repeat other entries by design (AWS's `AMAZON` service,
    /// Azure's regional `AzureCloud.*` tags): a more specific label of the same range wins.
    var generic: Bool
}

/// Ranges of one address family in parallel arrays: start, inclusive end, attribute index.
struct RangeColumn<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    var starts: [Key] = []
    var ends: [Key] = []
    var attributes: [UInt32] = []

    var count: Int { starts.count }

    mutating func append(_ start: Key, _ end: Key, _ attribute: UInt32) {
        starts.append(start)
        ends.append(end)
        attributes.append(attribute)
    }

    /// True when the ranges are sorted by start and do not overlap.
    var isSortedDisjoint: Bool {
        var i = 1
        while i < starts.count {
            if starts[i] <= ends[i - 1] { return false }
            i += 1
        }
        return true
    }
}

/// One parsed intelligence file: its ranges (IPv4 and IPv6) and their attributes.
/// Produced by `IntelParser.parse(bytes:format:name:)`, consumed by `IntelStore(datasets:)`.
public struct IntelDataset: Sendable {
    /// The dataset's name (the provider or list name for lists and geofeeds; the source name otherwise).
    public let name: String
    /// The format it was parsed from.
    public let format: IntelFormat
    /// What it contributes; defaults from the format (a plain CIDR list is a named list
    /// unless its name is a known publishing provider such as `cloudflare`).
    public var role: IntelDatasetRole
    /// Rows in the file that were valid but carry nothing to store (iptoasn's "Not routed" gaps).
    public internal(set) var skippedRows: Int = 0

    var v4 = RangeColumn<UInt32>()
    var v6 = RangeColumn<UInt128>()
    var asRecords: [ASRecord] = []
    var labels: [ProviderLabel] = []

    init(name: String, format: IntelFormat, role: IntelDatasetRole) {
        self.name = name
        self.format = format
        self.role = role
    }

    /// Number of ranges stored (IPv4 + IPv6).
    public var entryCount: Int { v4.count + v6.count }
    /// Number of IPv4 ranges.
    public var ipv4Count: Int { v4.count }
    /// Number of IPv6 ranges.
    public var ipv6Count: Int { v6.count }
}

/// Interns provider labels while a file is parsed.
struct LabelInterner {
    private var index: [ProviderLabel: UInt32] = [:]
    private(set) var labels: [ProviderLabel] = []

    mutating func id(_ label: ProviderLabel) -> UInt32 {
        if let id = index[label] { return id }
        let id = UInt32(labels.count)
        labels.append(label)
        index[label] = id
        return id
    }
}
