// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

extension IntelStore {
    mutating func buildASNLayer(_ datasets: [IntelDataset]) {
        if datasets.count == 1, let d = datasets.first, d.v4.isSortedDisjoint, d.v6.isSortedDisjoint {
            // The usual case (one ip2asn file, sorted as published): take the columns as they are.
            asn4 = RangeTable(starts: d.v4.starts, ends: d.v4.ends, values: d.v4.attributes)
            asn6 = RangeTable(starts: d.v6.starts, ends: d.v6.ends, values: d.v6.attributes)
            asRecords = d.asRecords
            asn4.buildIndex()
            asn6.buildIndex()
            return
        }
        var parts4: [(RangeColumn<UInt32>, UInt32)] = []
        var parts6: [(RangeColumn<UInt128>, UInt32)] = []
        for d in datasets {
            let offset = UInt32(asRecords.count)
            asRecords.append(contentsOf: d.asRecords)
            parts4.append((d.v4, offset))
            parts6.append((d.v6, offset))
        }
        asn4 = Self.mergeDisjoint(parts4)
        asn6 = Self.mergeDisjoint(parts6)
        asn4.buildIndex()
        asn6.buildIndex()
    }

    /// Sorts ranges from several columns by start and clips overlaps (the earlier start keeps them).
    static func mergeDisjoint<Key>(_ parts: [(RangeColumn<Key>, UInt32)]) -> RangeTable<Key> {
        var all: [RangeEntry<Key>] = []
        all.reserveCapacity(parts.reduce(0) { $0 + $1.0.count })
        for (column, offset) in parts {
            for i in 0..<column.count {
                all.append(RangeEntry(start: column.starts[i], end: column.ends[i], entry: column.attributes[i] + offset))
            }
        }
        all.sort { $0.start < $1.start }
        var table = RangeTable<Key>()
        table.reserve(all.count)
        for e in all {
            var start = e.start
            if let lastEnd = table.ends.last {
                if e.end <= lastEnd { continue }
                if start <= lastEnd { start = lastEnd + 1 }
            }
            table.append(start, e.end, e.entry)
        }
        return table
    }

    mutating func buildProviderLayer(_ datasets: [IntelDataset], providerASNs: ProviderASNMap) {
        // Providers known by AS number: every announced range of their ASes.
        var labelOfASN: [UInt32: UInt32] = [:]
        for name in providerASNs.providers.keys.sorted() {
            let id = UInt32(labels.count)
            labels.append(ProviderLabel(provider: name, service: nil, region: nil, country: 0, generic: false))
            for asn in providerASNs.providers[name] ?? [] where labelOfASN[asn] == nil { labelOfASN[asn] = id }
        }
        if !labelOfASN.isEmpty {
            let recordLabel = asRecords.map { labelOfASN[$0.asn] }
            Self.deriveEntries(asn4, recordLabel, into: &providerEntries4)
            Self.deriveEntries(asn6, recordLabel, into: &providerEntries6)
        }
        for d in datasets {
            let offset = UInt32(labels.count)
            labels.append(contentsOf: d.labels)
            for i in 0..<d.v4.count {
                let label = d.v4.attributes[i] + offset
                providerEntries4.append(
                    ProviderEntry(
                        start: d.v4.starts[i], end: d.v4.ends[i], label: label,
                        priority: labels[Int(label)].generic ? 1 : 2))
            }
            for i in 0..<d.v6.count {
                let label = d.v6.attributes[i] + offset
                providerEntries6.append(
                    ProviderEntry(
                        start: d.v6.starts[i], end: d.v6.ends[i], label: label,
                        priority: labels[Int(label)].generic ? 1 : 2))
            }
        }
        provider4 = Self.flattenProviders(providerEntries4)
        provider6 = Self.flattenProviders(providerEntries6)
    }

    private static func deriveEntries<Key>(_ table: RangeTable<Key>, _ recordLabel: [UInt32?], into entries: inout [ProviderEntry<Key>]) {
        for i in 0..<table.count {
            guard let label = recordLabel[Int(table.values[i])] else { continue }
            // Adjacent rows of the same provider become one entry.
            if let last = entries.last, last.label == label, last.priority == 0, last.end < Key.max, last.end + 1 == table.starts[i] {
                entries[entries.count - 1].end = table.ends[i]
            } else {
                entries.append(ProviderEntry(start: table.starts[i], end: table.ends[i], label: label, priority: 0))
            }
        }
    }

    private static func flattenProviders<Key>(_ entries: [ProviderEntry<Key>]) -> RangeTable<Key> {
        let ranges = entries.enumerated().map { RangeEntry(start: $1.start, end: $1.end, entry: UInt32($0)) }
        return RangeFlattener.flatten(ranges) { active in
            var best = active[0]
            for candidate in active.dropFirst() {
                let b = entries[Int(best)]
                let c = entries[Int(candidate)]
                let bSize = b.end - b.start
                let cSize = c.end - c.start
                if cSize < bSize || (cSize == bSize && (c.priority > b.priority || (c.priority == b.priority && candidate < best))) {
                    best = candidate
                }
            }
            return best
        }
    }

    mutating func buildListLayer(_ datasets: [IntelDataset]) {
        var index: [String: UInt32] = [:]
        for d in datasets {
            let id: UInt32
            if let known = index[d.name] {
                id = known
            } else {
                id = UInt32(listNames.count)
                listNames.append(d.name)
                index[d.name] = id
            }
            for i in 0..<d.v4.count { listEntries4.append(RangeEntry(start: d.v4.starts[i], end: d.v4.ends[i], entry: id)) }
            for i in 0..<d.v6.count { listEntries6.append(RangeEntry(start: d.v6.starts[i], end: d.v6.ends[i], entry: id)) }
        }
        var setIndex: [[UInt32]: UInt32] = [:]
        var sets: [[UInt32]] = []
        func resolve(_ active: [UInt32]) -> UInt32? {
            let set = Array(Set(active)).sorted()
            if let id = setIndex[set] { return id }
            let id = UInt32(sets.count)
            sets.append(set)
            setIndex[set] = id
            return id
        }
        lists4 = RangeFlattener.flatten(listEntries4, resolve: resolve)
        lists6 = RangeFlattener.flatten(listEntries6, resolve: resolve)
        listSets = sets
    }
}

extension RangeTable {
    var isEmpty: Bool { starts.isEmpty }
}
