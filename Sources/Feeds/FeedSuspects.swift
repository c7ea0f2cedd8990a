// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
import Synchronization

/// The networks listed by `suspect` feeds: a listed source is not banned for being
/// listed, but its first failure bans it (max-retry 1). Read on the sensors' threads
/// (one atomic load when no suspect feed lists anything), replaced by the feed service.
public final class FeedSuspects: Sendable {
    /// A suspect feed's match: its name and the ban time its sources get.
    public struct Listing: Sendable, Hashable {
        public var feed: String
        public var banTime: Duration
    }

    private struct Entry {
        var networks: IPNetworkSet
        var banTime: Duration
    }

    private let lists = Mutex<[String: Entry]>([:])
    private let active = Atomic<Bool>(false)

    public init() {}

    /// Replaces the networks of feed `name` (empty: the feed lists nothing any more).
    public func replace(feed name: String, networks: [IPNetwork], banTime: Duration) {
        lists.withLock { lists in
            lists[name] = networks.isEmpty ? nil : Entry(networks: IPNetworkSet(networks), banTime: banTime)
            active.store(!lists.isEmpty, ordering: .releasing)
        }
    }

    /// Forgets every feed not in `names` (feeds removed by a reload).
    public func keep(only names: Set<String>) {
        lists.withLock { lists in
            lists = lists.filter { names.contains($0.key) }
            active.store(!lists.isEmpty, ordering: .releasing)
        }
    }

    /// The suspect feed listing `address`, or nil.
    public func listing(_ address: IPAddress) -> Listing? {
        guard active.load(ordering: .acquiring) else { return nil }
        return lists.withLock { lists in
            for (name, entry) in lists where entry.networks.contains(address) {
                return Listing(feed: name, banTime: entry.banTime)
            }
            return nil
        }
    }
}
