// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import IntelStore
import NetworkAddress

/// The published range files in ../shared/corpus/ranges (read in place, never copied).
enum Corpus {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/corpus/ranges").standardizedFileURL

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    static func dataset(_ file: String, name: String, format: IntelFormat? = nil) throws -> IntelDataset {
        try IntelParser.parse(bytes: try bytes(file), format: format, name: name)
    }

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try bytes(name))) as? [String: Any] ?? [:]
    }
}

/// One iptoasn row, split by the test itself from the format's definition.
struct TSVRow {
    let start: IPAddress
    let end: IPAddress
    let asn: UInt32
    let country: String
    let name: String

    static func rows(_ text: String) -> [TSVRow] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
            guard f.count == 5, let asn = UInt32(f[2]) else { return nil }
            func address(_ s: Substring) -> IPAddress? { IPAddress(s) ?? UInt32(s).map { .v4($0) } }
            guard let start = address(f[0]), let end = address(f[1]) else { return nil }
            return TSVRow(start: start, end: end, asn: asn, country: String(f[3]), name: String(f[4]))
        }
    }
}

extension IPAddress {
    /// The next address (wrapping at the family's end).
    var next: IPAddress {
        switch self {
        case .v4(let v): .v4(v &+ 1)
        case .v6(let hi, let lo): lo == .max ? .v6(hi &+ 1, 0) : .v6(hi, lo + 1)
        }
    }

    var previous: IPAddress {
        switch self {
        case .v4(let v): .v4(v &- 1)
        case .v6(let hi, let lo): lo == 0 ? .v6(hi &- 1, .max) : .v6(hi, lo - 1)
        }
    }
}
