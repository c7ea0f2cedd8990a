// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// A validated request: which set, which interval, how long (`nil` = permanent).
struct PlannedElement: Hashable, Sendable {
    let set: NFTSyntax.SetName
    let interval: AddressInterval
    let lifetime: Duration?
}

/// Set changes to apply in one transaction: all deletions first, then all additions.
struct SetChanges: Sendable {
    var deletes: [NFTSyntax.SetName: [AddressInterval]] = [:]
    var adds: [NFTSyntax.SetName: [(AddressInterval, Duration?)]] = [:]

    var isEmpty: Bool { deletes.values.allSatisfy(\.isEmpty) && adds.values.allSatisfy(\.isEmpty) }

    /// The nft commands, deletions before additions (so a prefix may replace the ones it covers).
    func commands(table: String) -> String {
        var text = ""
        for set in NFTSyntax.SetName.allCases {
            let items = (deletes[set] ?? []).map(\.nftKey)
            if let command = NFTSyntax.elementCommand("delete", table: table, set: set, items) { text += command }
        }
        for set in NFTSyntax.SetName.allCases {
            let items = (adds[set] ?? []).map { NFTSyntax.element($0.0, timeout: $0.1) }
            if let command = NFTSyntax.elementCommand("add", table: table, set: set, items) { text += command }
        }
        return text
    }
}

/// Pure decisions about what to send to the kernel; no I/O, unit-testable.
enum BanPlanner {
    /// True when `a` lasts longer than `b` (`nil` = forever).
    static func outlasts(_ a: Duration?, _ b: Duration?) -> Bool {
        switch (a, b) {
        case (nil, nil): false
        case (nil, _): true
        case (_, nil): false
        case (let a?, let b?): a > b
        }
    }

    /// The longer of two lifetimes.
    static func longest(_ a: Duration?, _ b: Duration?) -> Duration? {
        outlasts(a, b) ? a : b
    }

    /// Validates and normalises ban requests: IPv4-mapped IPv6 becomes IPv4, prefixes
    /// shorter than the configured minimum and non-positive or excessive timeouts are
    /// refused, duplicates are merged keeping the longest lifetime.
    ///
    /// With `lenient`, refused elements are returned in `rejected` instead of throwing
    /// (reconciliation must still enforce everything else).
    static func normalize(
        _ elements: [BanElement], configuration: NFTablesConfiguration, lenient: Bool = false
    ) throws(FirewallError) -> (elements: [PlannedElement], rejected: [(BanElement, FirewallError)]) {
        var byInterval: [AddressInterval: PlannedElement] = [:]
        var order: [AddressInterval] = []
        var rejected: [(BanElement, FirewallError)] = []
        for element in elements {
            let network = unmapped(element.network)
            var problem: String?
            let minimum = network.family == .v4 ? configuration.minimumPrefixLengthV4 : configuration.minimumPrefixLengthV6
            if network.prefixLength < minimum {
                problem = "refusing to ban \(network): prefixes shorter than /\(minimum) are not allowed"
            } else if let timeout = element.timeout {
                if timeout <= .zero {
                    problem = "refusing to ban \(network) with a non-positive timeout (\(timeout))"
                } else if timeout > configuration.maximumTimeout {
                    problem =
                        "refusing to ban \(network) for \(timeout): longer than the maximum \(configuration.maximumTimeout); use a permanent ban"
                }
            }
            if let problem {
                let error = FirewallError(.invalidArgument, problem)
                guard lenient else { throw error }
                rejected.append((element, error))
                continue
            }
            let interval = AddressInterval(network)
            if let existing = byInterval[interval] {
                byInterval[interval] = PlannedElement(set: existing.set, interval: interval, lifetime: longest(existing.lifetime, element.timeout))
            } else {
                byInterval[interval] = PlannedElement(set: .forNetwork(network), interval: interval, lifetime: element.timeout)
                order.append(interval)
            }
        }
        return (order.compactMap { byInterval[$0] }, rejected)
    }

    /// `::ffff:a.b.c.d/len` (len ≥ 96) → `a.b.c.d/(len-96)`; everything else unchanged.
    static func unmapped(_ network: IPNetwork) -> IPNetwork {
        guard network.family == .v6, network.prefixLength >= 96,
            case .v4 = network.address.unmapped,
            let mapped = IPNetwork(address: network.address.unmapped, prefixLength: network.prefixLength - 96)
        else { return network }
        return mapped
    }

    /// Merges requested prefixes into the current contents of one interval set, which
    /// the kernel keeps free of overlaps.
    ///
    /// - An identical element gets the requested lifetime (a refresh).
    /// - Otherwise the request and every element it overlaps become one element — their
    ///   hull (the covering prefix when one covers the rest) — living as long as the
    ///   longest of them. No address is ever unbanned earlier than asked; the price is that
    ///   a covering prefix may be kept longer than its own ban asked for.
    /// - A request already covered by an element that lives at least as long is a no-op.
    static func mergeIntervals(
        current: [KernelElement], requested: [(AddressInterval, Duration?)]
    ) -> (deletes: [AddressInterval], adds: [(AddressInterval, Duration?)]) {
        struct Entry {
            var interval: AddressInterval
            var lifetime: Duration?
            var inKernel: Bool
            var dirty: Bool
        }
        var entries = current.map { Entry(interval: $0.interval, lifetime: $0.remaining, inKernel: true, dirty: false) }
        var deletes: [AddressInterval] = []
        // Broadest first, so that narrower requests fall inside what is already planned.
        let ordered = requested.sorted { ($0.0.high - $0.0.low) > ($1.0.high - $1.0.low) }
        for (interval, lifetime) in ordered {
            if let index = entries.firstIndex(where: { $0.interval == interval }) {
                entries[index].lifetime = lifetime
                entries[index].dirty = true
                continue
            }
            var hull = interval
            var merged = lifetime
            var absorbed: [Entry] = []
            // Each round absorbs at least one entry, so this ends within entries.count + 1 rounds.
            for _ in 0...entries.count {
                let hits = entries.indices.filter { entries[$0].interval.overlaps(hull) }
                if hits.isEmpty { break }
                for index in hits.reversed() {
                    let entry = entries.remove(at: index)
                    hull = hull.hull(entry.interval)
                    merged = longest(merged, entry.lifetime)
                    absorbed.append(entry)
                }
            }
            if absorbed.count == 1, absorbed[0].interval == hull, !outlasts(lifetime, absorbed[0].lifetime) {
                entries.append(absorbed[0]) // already covered for long enough
                continue
            }
            deletes += absorbed.filter(\.inKernel).map(\.interval)
            entries.append(Entry(interval: hull, lifetime: merged, inKernel: false, dirty: true))
        }
        deletes += entries.filter { $0.dirty && $0.inKernel }.map(\.interval)
        let adds = entries.filter(\.dirty).map { ($0.interval, $0.lifetime) }
        return (deletes, adds)
    }

    /// What turns `current` into `desired` for one set. Lifetimes within `tolerance` of
    /// each other count as equal (nft reports whole seconds).
    static func difference(
        current: [KernelElement], desired: [(AddressInterval, Duration?)], tolerance: Duration = .seconds(2)
    ) -> (deletes: [AddressInterval], adds: [(AddressInterval, Duration?)]) {
        var wanted: [AddressInterval: Duration?] = [:]
        for (interval, lifetime) in desired { wanted.updateValue(lifetime, forKey: interval) }
        var deletes: [AddressInterval] = []
        var adds: [(AddressInterval, Duration?)] = []
        var present: Set<AddressInterval> = []
        for element in current {
            present.insert(element.interval)
            guard let lifetime = wanted[element.interval] else {
                deletes.append(element.interval)
                continue
            }
            if !sameLifetime(element.remaining, lifetime, tolerance: tolerance) {
                deletes.append(element.interval)
                adds.append((element.interval, lifetime))
            }
        }
        for (interval, lifetime) in desired where !present.contains(interval) {
            adds.append((interval, lifetime))
        }
        return (deletes, adds)
    }

    static func sameLifetime(_ a: Duration?, _ b: Duration?, tolerance: Duration) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): a - b <= tolerance && b - a <= tolerance
        default: false
        }
    }
}
