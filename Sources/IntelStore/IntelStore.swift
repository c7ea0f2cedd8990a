// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// The offline intelligence store: for any IPv4 or IPv6 address, the announced range and
/// its AS number, AS name and country (iptoasn), the provider, service and region where a
/// provider publishes its ranges (or owns the AS), and the operator's named lists that
/// hold it. Pure and immutable: built once from parsed datasets, then shared freely.
///
/// Storage: per address family, sorted non-overlapping ranges in parallel arrays
/// (`UInt32` for IPv4, `UInt128` for IPv6) searched by bisection; AS names, providers,
/// services and regions interned once.
public struct IntelStore: Sendable {
    // The announced ranges (iptoasn).
    var asn4 = RangeTable<UInt32>()
    var asn6 = RangeTable<UInt128>()
    var asRecords: [ASRecord] = []
    // Provider entries as published (original ranges), and their flattened segments.
    var providerEntries4: [ProviderEntry<UInt32>] = []
    var providerEntries6: [ProviderEntry<UInt128>] = []
    var provider4 = RangeTable<UInt32>()
    var provider6 = RangeTable<UInt128>()
    var labels: [ProviderLabel] = []
    // Named lists: entries as listed, and flattened segments whose value is a set of lists.
    var listNames: [String] = []
    var listEntries4: [RangeEntry<UInt32>] = []
    var listEntries6: [RangeEntry<UInt128>] = []
    var lists4 = RangeTable<UInt32>()
    var lists6 = RangeTable<UInt128>()
    var listSets: [[UInt32]] = []

    /// What each dataset contributed, in the order given.
    public private(set) var summaries: [IntelDatasetSummary] = []

    /// An empty store (every lookup answers nothing).
    public init() {}

    /// Builds the store. Overlapping announced ranges of different iptoasn datasets: the
    /// range that starts first keeps the overlap. Overlapping provider entries: the most
    /// specific range wins, then a specific label over a generic one (`AMAZON`,
    /// `AzureCloud.*`), then a published list over one derived from AS numbers, then the
    /// earlier dataset.
    public init(datasets: [IntelDataset], providerASNs: ProviderASNMap = .builtIn) {
        for d in datasets {
            summaries.append(IntelDatasetSummary(name: d.name, format: d.format, role: d.role, ipv4: d.ipv4Count, ipv6: d.ipv6Count))
        }
        buildASNLayer(datasets.filter { $0.role == .asn })
        buildProviderLayer(datasets.filter { $0.role == .provider }, providerASNs: providerASNs)
        buildListLayer(datasets.filter { $0.role == .namedList })
    }

    // MARK: Lookup

    /// The cheap answer: indices only, no string is touched (the hot path, and what the
    /// benchmark measures). `answer(for:)` turns it into values.
    @inline(__always)
    public func match(_ address: IPAddress) -> IntelMatch {
        switch address.unmapped {
        case .v4(let v):
            let a = asn4.find(v)
            let p = provider4.find(v)
            let l = lists4.isEmpty ? nil : lists4.find(v)
            return IntelMatch(
                asnRange: a.map(UInt32.init), providerSegment: p.map(UInt32.init), listSegment: l.map(UInt32.init), isV6: false
            )
        case .v6:
            let k = address.key128
            let a = asn6.find(k)
            let p = provider6.find(k)
            let l = lists6.isEmpty ? nil : lists6.find(k)
            return IntelMatch(
                asnRange: a.map(UInt32.init), providerSegment: p.map(UInt32.init), listSegment: l.map(UInt32.init), isV6: true
            )
        }
    }

    /// Everything known about `address`.
    public func lookup(_ address: IPAddress) -> IntelAnswer {
        let address = address.unmapped
        let m = match(address)
        var answer = IntelAnswer(address: address)
        var geoCountry: UInt16 = 0
        if let i = m.asnRange.map(Int.init) {
            let record: ASRecord
            if m.isV6 {
                record = asRecords[Int(asn6.values[i])]
                answer.range = (IPAddress(key128: asn6.starts[i]), IPAddress(key128: asn6.ends[i]))
                let length = CIDRSplit.widestBlock(around: address.key128, in: asn6.starts[i], asn6.ends[i], width: 128)
                answer.enrichment.prefix = IPNetwork(address: address, prefixLength: length)
            } else {
                record = asRecords[Int(asn4.values[i])]
                answer.range = (.v4(asn4.starts[i]), .v4(asn4.ends[i]))
                if case .v4(let v) = address {
                    let length = CIDRSplit.widestBlock(around: v, in: asn4.starts[i], asn4.ends[i], width: 32)
                    answer.enrichment.prefix = IPNetwork(address: address, prefixLength: length)
                }
            }
            answer.enrichment.asn = record.asn
            answer.enrichment.asName = record.name.isEmpty ? nil : record.name
            answer.enrichment.country = IntelText.countryString(record.country)
        }
        if let s = m.providerSegment.map(Int.init) {
            let label: ProviderLabel
            if m.isV6 {
                let entry = providerEntries6[Int(provider6.values[s])]
                label = labels[Int(entry.label)]
                answer.providerRange = (IPAddress(key128: entry.start), IPAddress(key128: entry.end))
            } else {
                let entry = providerEntries4[Int(provider4.values[s])]
                label = labels[Int(entry.label)]
                answer.providerRange = (.v4(entry.start), .v4(entry.end))
            }
            answer.enrichment.provider = label.provider
            answer.enrichment.service = label.service
            answer.enrichment.region = label.region
            geoCountry = label.country
        }
        if answer.enrichment.country == nil { answer.enrichment.country = IntelText.countryString(geoCountry) }
        if let s = m.listSegment.map(Int.init) {
            let set = listSets[Int(m.isV6 ? lists6.values[s] : lists4.values[s])]
            answer.lists = set.map { listNames[Int($0)] }
        }
        return answer
    }

    /// Just the enrichment of `address` (what events and bans carry).
    public func enrichment(for address: IPAddress) -> IntelEnrichment { lookup(address).enrichment }

    /// True when nothing is loaded.
    public var isEmpty: Bool { asn4.count + asn6.count + provider4.count + provider6.count + lists4.count + lists6.count == 0 }

    /// Announced ranges held (IPv4, IPv6).
    public var announcedRangeCount: (ipv4: Int, ipv6: Int) { (asn4.count, asn6.count) }

    /// The providers present, with their services (sorted), for listings and selectors.
    public var providers: [String: [String]] {
        var out: [String: Set<String>] = [:]
        for l in labels {
            out[l.provider, default: []].formUnion(l.service.map { [$0] } ?? [])
        }
        return out.mapValues { $0.sorted() }
    }

    /// The named lists present.
    public var lists: [String] { listNames }
}

/// Indices of what matched one address (no strings): `IntelStore.match(_:)`.
public struct IntelMatch: Sendable, Hashable {
    /// Index of the announced range, if the address is routed.
    public let asnRange: UInt32?
    /// Index of the provider segment, if a provider owns the address.
    public let providerSegment: UInt32?
    /// Index of the named-list segment, if a list holds the address.
    public let listSegment: UInt32?
    let isV6: Bool
}

/// Everything the store knows about one address.
public struct IntelAnswer: Sendable {
    /// The address asked about (IPv4-mapped IPv6 addresses are answered as IPv4).
    public let address: IPAddress
    /// AS, country, announced prefix, provider, service, region.
    public var enrichment = IntelEnrichment()
    /// The announced range as published (inclusive; not always a CIDR block).
    public var range: (start: IPAddress, end: IPAddress)?
    /// The provider's published range that matched (inclusive).
    public var providerRange: (start: IPAddress, end: IPAddress)?
    /// The operator's named lists that hold the address.
    public var lists: [String] = []

    init(address: IPAddress) { self.address = address }

    /// True when the address lies in an announced range.
    public var isRouted: Bool { range != nil }
}

/// One dataset's share of a store.
public struct IntelDatasetSummary: Sendable, Hashable, Codable {
    public let name: String
    public let format: IntelFormat
    public let role: IntelDatasetRole
    public let ipv4: Int
    public let ipv6: Int
}

/// A provider's published (or AS-derived) range.
struct ProviderEntry<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    var start: Key
    var end: Key
    var label: UInt32
    /// 2: a specific published label; 1: a generic published label; 0: derived from AS numbers.
    var priority: UInt8
}
