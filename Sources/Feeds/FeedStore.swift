// SPDX-License-Identifier: GPL-2.0-or-later

public import IntelUpdate
public import NetworkAddress

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What is known of a feed's last good copy (`STATE/feeds/NAME.meta.json`).
public struct FeedState: Codable, Sendable, Hashable {
    public var etag: String?
    public var lastModified: String?
    /// APIBAN: the cursor to ask from next.
    public var cursor: String?
    public var entries: Int
    /// When the copy was stored / last asked (seconds since the epoch).
    public var updatedAt: Int64
    public var checkedAt: Int64
    /// The last attempt's failure, nil when it succeeded.
    public var lastError: String?

    public init(
        etag: String? = nil, lastModified: String? = nil, cursor: String? = nil, entries: Int, updatedAt: Int64, checkedAt: Int64,
        lastError: String? = nil
    ) {
        self.etag = etag
        self.lastModified = lastModified
        self.cursor = cursor
        self.entries = entries
        self.updatedAt = updatedAt
        self.checkedAt = checkedAt
        self.lastError = lastError
    }
}

/// The last good copy of each feed: `DIRECTORY/NAME.list` (one canonical network per
/// line) and `DIRECTORY/NAME.meta.json`, both replaced atomically.
public struct FeedStore: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func listPath(_ name: String) -> String { "\(directory)/\(name).list" }
    public func statePath(_ name: String) -> String { "\(directory)/\(name).meta.json" }

    /// The networks of the last good copy; nil when there is none.
    public func networks(_ name: String) -> [IPNetwork]? {
        guard let bytes = try? FileBytes.read(listPath(name), maxBytes: 64 << 20) else { return nil }
        return bytes.split(separator: 0x0A).compactMap { IPNetwork(String(decoding: $0, as: UTF8.self)) }
    }

    public func state(_ name: String) -> FeedState? {
        guard let bytes = try? FileBytes.read(statePath(name), maxBytes: 1 << 16) else { return nil }
        return try? JSONDecoder().decode(FeedState.self, from: Data(bytes))
    }

    /// Replaces the copy (list first, then its state).
    public func save(_ name: String, networks: [IPNetwork], state: FeedState) throws(FileIOError) {
        try AtomicFile.makeDirectory(directory)
        var text = ""
        text.reserveCapacity(networks.count * 16)
        for network in networks { text += network.description + "\n" }
        try AtomicFile.write(Array(text.utf8), to: listPath(name))
        try saveState(name, state)
    }

    /// Replaces the state alone (validators refreshed, a failure recorded).
    public func saveState(_ name: String, _ state: FeedState) throws(FileIOError) {
        try AtomicFile.makeDirectory(directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(Array((try? encoder.encode(state)) ?? Data()), to: statePath(name))
    }
}
