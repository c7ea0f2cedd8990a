// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
public import NetworkAddress

/// Named lists and CIDR files: the thin I/O shell around `CIDRList`. Reads the file at
/// each call (files are small; a refresh sees the operator's edits). Providers and AS
/// numbers are `.unsupported` here (the intelligence store answers them).
public struct CIDRFileRangeSource: RangeSource {
    /// Named lists: name → file path.
    public let namedLists: [String: String]
    /// Largest file read (bytes).
    public static let maximumFileSize = 64 << 20

    public init(namedLists: [String: String]) {
        self.namedLists = namedLists
    }

    public func networks(for selector: RangeSelector) throws(RangeSourceError) -> [IPNetwork] {
        switch selector {
        case .list(let name):
            guard let path = namedLists[name] else { throw RangeSourceError(.unknown, "no named list \"\(name)\" is configured") }
            return try Self.read(path)
        case .file(let path):
            return try Self.read(path)
        case .provider, .asn:
            throw RangeSourceError(.unsupported, "\(selector) is not a list or a file")
        }
    }

    /// The prefixes of the CIDR file at `path`.
    public static func read(_ path: String) throws(RangeSourceError) -> [IPNetwork] {
        // Regular files only: never a FIFO (would block) nor a device (/dev/zero never ends).
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw RangeSourceError(.unreadable, "\(path): no such file")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw RangeSourceError(.unreadable, "\(path): not a regular file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RangeSourceError(.unreadable, "\(path): cannot be opened") }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumFileSize + 1) ?? Data()
        } catch {
            throw RangeSourceError(.unreadable, "\(path): \(error.localizedDescription)")
        }
        guard data.count <= maximumFileSize else { throw RangeSourceError(.unreadable, "\(path): larger than \(maximumFileSize) bytes") }
        return CIDRList(parsing: String(decoding: data, as: UTF8.self)).networks
    }
}
