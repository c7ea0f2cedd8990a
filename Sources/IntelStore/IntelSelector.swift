// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// Names a set of ranges: a provider (optionally one service of it), an AS, or a named list.
public enum IntelSelector: Sendable, Hashable, CustomStringConvertible {
    /// `aws`, `aws:EC2`, `aws:EC2:eu-west-1`, `digitalocean:*:US-TX`, `hetzner` (service and
    /// region compared without regard to case; nil = any).
    case provider(String, service: String? = nil, region: String? = nil)
    /// `AS14061`.
    case asn(UInt32)
    /// `list:NAME` (or a bare name that is no provider).
    case list(String)

    /// Parses `AS14061`, `PROVIDER`, `PROVIDER:SERVICE`, `PROVIDER:SERVICE:REGION` (`*` for
    /// any service) or `list:NAME`. A bare name is a provider;
    /// `IntelStore.networks(matching:)` falls back to a list of that name.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 256 else { return nil }
        let lower = text.lowercased()
        if lower.hasPrefix("as"), let n = UInt32(text.dropFirst(2)) {
            self = .asn(n)
        } else if lower.hasPrefix("list:") {
            let name = String(text.dropFirst(5))
            guard !name.isEmpty else { return nil }
            self = .list(name)
        } else if text.contains(":") {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 3, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
            let service = parts[1] == "*" ? nil : parts[1]
            guard service != nil || parts.count == 3 else { return nil }
            self = .provider(parts[0], service: service, region: parts.count == 3 ? parts[2] : nil)
        } else {
            self = .provider(text, service: nil)
        }
    }

    public var description: String {
        switch self {
        case .provider(let p, nil, nil): p
        case .provider(let p, let s?, nil): "\(p):\(s)"
        case .provider(let p, let s, let r?): "\(p):\(s ?? "*"):\(r)"
        case .asn(let n): "AS\(n)"
        case .list(let name): "list:\(name)"
        }
    }
}

extension IntelStore {
    /// Every range of a provider or service, an AS or a named list, as CIDR blocks
    /// (ranges not aligned to CIDR are split; overlapping and adjacent ranges merged
    /// first), IPv4 before IPv6, sorted. A bare provider name that matches no provider
    /// but names a list gives that list.
    public func networks(matching selector: IntelSelector) -> [IPNetwork] {
        var v4: [(UInt32, UInt32)] = []
        var v6: [(UInt128, UInt128)] = []
        switch selector {
        case .provider(let name, let service, let region):
            let wanted = Set(labelIndices(provider: name, service: service, region: region).map(UInt32.init))
            if wanted.isEmpty, service == nil, region == nil, listNames.contains(name) { return networks(matching: .list(name)) }
            v4 = providerEntries4.filter { wanted.contains($0.label) }.map { ($0.start, $0.end) }
            v6 = providerEntries6.filter { wanted.contains($0.label) }.map { ($0.start, $0.end) }
        case .asn(let n):
            for i in 0..<asn4.count where asRecords[Int(asn4.values[i])].asn == n { v4.append((asn4.starts[i], asn4.ends[i])) }
            for i in 0..<asn6.count where asRecords[Int(asn6.values[i])].asn == n { v6.append((asn6.starts[i], asn6.ends[i])) }
        case .list(let name):
            guard let id = listNames.firstIndex(of: name).map(UInt32.init) else { return [] }
            v4 = listEntries4.filter { $0.entry == id }.map { ($0.start, $0.end) }
            v6 = listEntries6.filter { $0.entry == id }.map { ($0.start, $0.end) }
        }
        var out: [IPNetwork] = []
        for (s, e) in Self.merged(v4) {
            for (base, length) in CIDRSplit.split(s, e, width: 32) {
                if let n = IPNetwork(address: .v4(base), prefixLength: length) { out.append(n) }
            }
        }
        for (s, e) in Self.merged(v6) {
            for (base, length) in CIDRSplit.split(s, e, width: 128) {
                if let n = IPNetwork(address: IPAddress(key128: base), prefixLength: length) { out.append(n) }
            }
        }
        return out
    }

    /// The regions the loaded publications give for a provider (and service): the names a
    /// region selector may use, sorted, each once (compared without regard to case).
    public func regions(provider: String, service: String? = nil) -> [String] {
        var seen: Set<String> = []
        var out: [String] = []
        for i in labelIndices(provider: provider, service: service, region: nil) {
            guard let region = labels[i].region, seen.insert(region.lowercased()).inserted else { continue }
            out.append(region)
        }
        return out.sorted()
    }

    /// The labels of a provider, service (nil = any) and region (nil = any).
    private func labelIndices(provider: String, service: String?, region: String?) -> [Int] {
        let provider = provider.lowercased()
        let service = service?.lowercased()
        let region = region?.lowercased()
        return labels.indices.filter { i in
            labels[i].provider.lowercased() == provider
                && (service == nil || labels[i].service?.lowercased() == service)
                && (region == nil || labels[i].region?.lowercased() == region)
        }
    }

    /// Sorted, with overlapping and adjacent ranges joined.
    static func merged<Key: FixedWidthInteger & UnsignedInteger>(_ ranges: [(Key, Key)]) -> [(Key, Key)] {
        let sorted = ranges.sorted { $0.0 < $1.0 }
        var out: [(Key, Key)] = []
        for (s, e) in sorted {
            if let last = out.last, last.1 == Key.max || s <= last.1 + 1 {
                if e > last.1 { out[out.count - 1].1 = e }
            } else {
                out.append((s, e))
            }
        }
        return out
    }
}
