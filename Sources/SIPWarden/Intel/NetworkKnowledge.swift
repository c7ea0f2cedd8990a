// SPDX-License-Identifier: GPL-2.0-or-later

public import Detection
public import IntelStore
public import NetworkAddress
public import RangePolicy
import Synchronization
import WardenCore

/// The intelligence store the daemon answers from, replaced as a whole when its files
/// change (`intel update`, `intel import`, SIGHUP). Readers take the current store — a
/// value whose arrays are shared, so taking it is a reference count, not a copy — and
/// never see half of a reload.
public final class IntelStoreHolder: Sendable {
    private let current: Mutex<IntelStore>

    public init(_ store: IntelStore = IntelStore()) { current = Mutex(store) }

    /// The store in force.
    public var store: IntelStore { current.withLock { $0 } }

    /// Puts `store` in force.
    public func replace(_ store: IntelStore) { current.withLock { $0 = store } }
}

/// Provider and AS selectors (`aws:EC2`, `AS14061`) — and named lists imported with
/// `intel import` — answered by the intelligence store. Lists configured under
/// `ranges.lists` and CIDR files are left to `CIDRFileRangeSource` (`.unsupported` here),
/// so a configured list always wins over an imported one of the same name.
public struct IntelRangeSource: RangeSource {
    private let holder: IntelStoreHolder
    private let configuredLists: Set<String>

    public init(holder: IntelStoreHolder, configuredLists: Set<String> = []) {
        self.holder = holder
        self.configuredLists = configuredLists
    }

    public func networks(for selector: RangeSelector) throws(RangeSourceError) -> [IPNetwork] {
        let store = holder.store
        let wanted: IntelSelector
        switch selector {
        case .file:
            throw RangeSourceError(.unsupported, "\(selector) is a file")
        case .list(let name):
            let networks = configuredLists.contains(name) ? [] : store.networks(matching: .list(name))
            guard !networks.isEmpty else { throw RangeSourceError(.unsupported, "no list \"\(name)\" in the intelligence store") }
            return networks
        case .asn(let number):
            wanted = .asn(number)
        case .provider(let provider, let service, let region):
            wanted = .provider(provider, service: service, region: region)
        }
        guard !store.isEmpty else {
            throw RangeSourceError(.unknown, "\(selector): the intelligence store is empty (sipwarden intel update, or intel import FILE)")
        }
        let networks = store.networks(matching: wanted)
        guard !networks.isEmpty else {
            if case .provider(let provider, let service, _?) = selector {
                throw RangeSourceError(.unknown, Self.unknownRegion(selector, known: store.regions(provider: provider, service: service)))
            }
            throw RangeSourceError(.unknown, "\(selector): no ranges of it in the intelligence store")
        }
        return networks
    }

    /// The refusal of a region the store does not know, naming a few it does.
    static func unknownRegion(_ selector: RangeSelector, known: [String]) -> String {
        guard !known.isEmpty else {
            return "\(selector): no such region (the loaded publications give no region for it)"
        }
        let shown = known.prefix(8).joined(separator: ", ")
        let more = known.count > 8 ? ", … (\(known.count) in all)" : ""
        return "\(selector): no such region; known: \(shown)\(more)"
    }
}

/// Aggregation's widest step: the announced prefix of an address as the store knows it
/// (the widest CIDR block around the address inside its announced range).
public struct IntelAnnouncedPrefixes: AnnouncedPrefixLookup {
    private let store: IntelStore

    public init(_ store: IntelStore) { self.store = store }

    public func announcedPrefix(of address: IPAddress) -> IPNetwork? { store.lookup(address).enrichment.prefix }
}

/// The range policy's lower max-retries (`aws:EC2: { max-retry: 1 }`) as the detector asks them.
public struct RangeRuleThresholds: SourceThresholdLookup {
    private let lookup: MaxRetryLookup

    public init(_ lookup: MaxRetryLookup) { self.lookup = lookup }

    public func maxRetry(for address: IPAddress) -> (maxRetry: Int, rule: String)? {
        lookup.maxRetry(for: address).map { ($0.maxRetry, $0.selector.description) }
    }
}

/// What the daemon knows about networks, built from the intelligence store and the range
/// policy: the range source for blocks and rules, and the detector's hooks.
public struct NetworkKnowledge: Sendable {
    /// Providers and AS numbers from the store, then named lists and CIDR files.
    public let rangeSource: any RangeSource
    /// The lower max-retries, resolved now (empty when no rule has one).
    public let thresholds: MaxRetryLookup
    /// Rules whose ranges could not be had (left out, named in the log).
    public let unresolved: [(RangeSelector, RangeSourceError)]
    /// The store they were built from.
    public let store: IntelStore

    /// Providers and AS numbers from the store in `holder` (whichever is in force when
    /// asked), then the named lists and CIDR files of `settings`.
    public static func rangeSource(holder: IntelStoreHolder, settings: RangesSettings) -> any RangeSource {
        ChainedRangeSource([IntelRangeSource(holder: holder, configuredLists: Set(settings.lists.keys)), settings.fileSource])
    }

    /// Resolves `settings`' rules against the store in `holder` (its current store).
    public init(holder: IntelStoreHolder, settings: RangesSettings) {
        rangeSource = Self.rangeSource(holder: holder, settings: settings)
        store = holder.store
        (thresholds, unresolved) = MaxRetryLookup.resolve(settings.policy, source: rangeSource)
    }

    /// Gives the detector the announced prefixes and the lower max-retries.
    public func install(into pipeline: Pipeline) {
        let store = store
        let announced: (any AnnouncedPrefixLookup)? = store.isEmpty ? nil : IntelAnnouncedPrefixes(store)
        let lowered: (any SourceThresholdLookup)? = thresholds.isEmpty ? nil : RangeRuleThresholds(thresholds)
        var enrichment: (@Sendable (IPAddress) -> IntelEnrichment)?
        if !store.isEmpty { enrichment = { address in store.enrichment(for: address) } }
        pipeline.installNetworkKnowledge(announced: announced, thresholds: lowered, enrichment: enrichment)
    }
}
