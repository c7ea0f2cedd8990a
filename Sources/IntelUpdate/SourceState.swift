// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What is known of the copy of a source kept on disk (`STATE/intel/NAME.meta.json`,
/// beside the copy itself): the validators for the next conditional request, its size,
/// and the last attempt's outcome.
public struct SourceState: Codable, Sendable, Hashable {
    /// The server's `ETag` for the copy in use.
    public var etag: String?
    /// The server's `Last-Modified` for the copy in use.
    public var lastModified: String?
    /// Entries the validator counted in the copy in use.
    public var entries: Int
    /// Bytes of the copy in use (decompressed).
    public var bytes: Int
    /// When the copy in use was stored (seconds since the epoch).
    public var updatedAt: Int64
    /// When the source was last asked (seconds since the epoch), whatever the outcome.
    public var checkedAt: Int64
    /// The last attempt's failure, nil when it succeeded.
    public var lastError: String?

    public init(etag: String?, lastModified: String?, entries: Int, bytes: Int, updatedAt: Int64, checkedAt: Int64, lastError: String? = nil) {
        self.etag = etag
        self.lastModified = lastModified
        self.entries = entries
        self.bytes = bytes
        self.updatedAt = updatedAt
        self.checkedAt = checkedAt
        self.lastError = lastError
    }

    /// Reads `path`; nil when it is missing or unreadable (the source is then fetched
    /// without validators, as the first time).
    public static func load(_ path: String) -> SourceState? {
        guard let bytes = try? FileBytes.read(path, maxBytes: 1 << 16) else { return nil }
        return try? JSONDecoder().decode(SourceState.self, from: Data(bytes))
    }

    /// Writes the state atomically.
    public func save(_ path: String) throws(FileIOError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        // Encoding plain strings and integers cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        try AtomicFile.write(Array(data), to: path)
    }
}
