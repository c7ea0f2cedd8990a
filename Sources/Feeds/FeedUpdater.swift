// SPDX-License-Identifier: GPL-2.0-or-later

public import IntelUpdate
public import NetworkAddress

/// One feed's refresh.
public struct FeedRefresh: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// A new copy was stored.
        case updated
        /// 304 (or APIBAN had nothing new): the copy stays.
        case unchanged
        /// Nothing stored; the last good copy (if any) stays in use.
        case failed(String)
    }

    public var name: String
    public var outcome: Outcome
    /// The networks in use after the refresh (the new copy, or the last good one; empty
    /// when the feed never succeeded).
    public var networks: [IPNetwork]
    /// Entries skipped in the new copy: not addresses, or never bannable.
    public var rejected: Int
    public var unsafe: Int
}

/// Refreshes feeds: a conditional GET of a list (or APIBAN's paging), a full parse with
/// the size bound, then the copy is stored (`FeedStore`); any failure keeps the last good
/// copy.
public struct FeedUpdater: Sendable {
    public let store: FeedStore
    private let fetcher: any ConditionalFetcher
    private let clock: @Sendable () -> Int64
    /// Download bound per request.
    public var maxBytes: Int = 64 << 20
    /// APIBAN pages per refresh (250 addresses each).
    public var maxPages: Int = 400

    public init(store: FeedStore, fetcher: any ConditionalFetcher, clock: @escaping @Sendable () -> Int64) {
        self.store = store
        self.fetcher = fetcher
        self.clock = clock
    }

    public func refresh(_ spec: FeedSpec) async -> FeedRefresh {
        let now = clock()
        let previous = store.state(spec.name)
        let held = store.networks(spec.name)
        do throws(FeedFetchError) {
            let result = try await fetch(spec, previous: held == nil ? nil : previous, held: held ?? [], now: now)
            return result
        } catch {
            if var state = previous {
                state.checkedAt = now
                state.lastError = error.description
                try? store.saveState(spec.name, state)
            }
            return FeedRefresh(name: spec.name, outcome: .failed(error.description), networks: held ?? [], rejected: 0, unsafe: 0)
        }
    }

    private func fetch(_ spec: FeedSpec, previous: FeedState?, held: [IPNetwork], now: Int64) async throws(FeedFetchError) -> FeedRefresh {
        if spec.format == .apiban {
            let start = previous?.cursor ?? APIBAN.initialCursor
            let (addresses, cursor) = try await APIBAN.fetchAll(
                url: spec.url, key: spec.apiKey ?? "", set: spec.apibanSet, from: start, maxPages: maxPages, maxBytes: maxBytes, fetcher: fetcher)
            var builder = FeedListParser.Builder(maxEntries: Int.max)
            // Incremental: the new addresses join the held ones (newest kept within the bound).
            for network in held { try? builder.add(network.description) }
            for text in addresses { try? builder.add(text) }
            var merged = builder.list.networks
            if merged.count > spec.maxEntries { merged.removeFirst(merged.count - spec.maxEntries) }
            let state = FeedState(cursor: cursor, entries: merged.count, updatedAt: now, checkedAt: now)
            do { try store.save(spec.name, networks: merged, state: state) } catch { throw .store("\(error)") }
            return FeedRefresh(
                name: spec.name, outcome: addresses.isEmpty ? .unchanged : .updated, networks: merged, rejected: builder.list.rejected,
                unsafe: builder.list.unsafe)
        }
        let request = FetchRequest(url: spec.url, etag: previous?.etag, lastModified: previous?.lastModified, maxBytes: maxBytes)
        let response: FetchResponse
        do { response = try await fetcher.fetch(request) } catch { throw .fetch(error) }
        guard case .response(let status, let body, let etag, let lastModified) = response else {
            guard var state = previous else { throw .status(304) }
            state.checkedAt = now
            state.lastError = nil
            try? store.saveState(spec.name, state)
            return FeedRefresh(name: spec.name, outcome: .unchanged, networks: held, rejected: 0, unsafe: 0)
        }
        guard (200...299).contains(status) else { throw .status(status) }
        var bytes = body
        if Gunzip.isGzip(body) {
            do { bytes = try Gunzip.decompress(body, maxBytes: maxBytes * 8) } catch { throw .store("\(error)") }
        }
        let list: FeedList
        do { list = try FeedListParser.parse(bytes, format: spec.format, maxEntries: spec.maxEntries) } catch { throw .parse(error) }
        guard !list.networks.isEmpty else { throw .parse(FeedParseError("no address in the answer")) }
        let state = FeedState(etag: etag, lastModified: lastModified, entries: list.networks.count, updatedAt: now, checkedAt: now)
        do { try store.save(spec.name, networks: list.networks, state: state) } catch { throw .store("\(error)") }
        return FeedRefresh(name: spec.name, outcome: .updated, networks: list.networks, rejected: list.rejected, unsafe: list.unsafe)
    }
}
