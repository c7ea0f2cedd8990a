// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation

@testable import SIPMessage

/// Joins lines with CRLF; `body` follows the empty line.
func sip(_ lines: [String], body: String = "") -> [UInt8] {
    Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
}

/// Parses `bytes` and runs `check` with a view over them.
func withParsed<R>(
    _ bytes: [UInt8], options: SIPParseOptions = .datagram, _ check: (SIPMessageView) throws -> R
) throws -> R {
    try bytes.withUnsafeBytes { raw in
        let view = try SIPMessageView(parsing: raw, options: options)
        return try check(view)
    }
}

/// The error parsing `bytes` throws, or nil if it parses.
func parseError(_ bytes: [UInt8], options: SIPParseOptions = .datagram) -> SIPParseError? {
    do {
        _ = try SIPMessage(parsing: bytes, options: options)
        return nil
    } catch {
        return error
    }
}

/// A minimal valid request, with `extra` header lines inserted before Content-Length.
func request(_ extra: [String] = [], method: String = "OPTIONS", body: String = "") -> [UInt8] {
    sip(
        [
            "\(method) sip:bob@example.com SIP/2.0",
            "Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bK776asdhds",
            "Max-Forwards: 70",
            "To: Bob <sip:bob@example.com>",
            "From: Alice <sip:alice@example.com>;tag=1928301774",
            "Call-ID: a84b4c76e66710@pc33.example.com",
            "CSeq: 314159 \(method)",
        ] + extra + ["Content-Length: \(body.utf8.count)"], body: body)
}

/// The RFC 4475 fixtures, located next to this source file.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rfc4475", isDirectory: true)

    struct Entry: Sendable, CustomStringConvertible {
        let file: String
        let valid: Bool
        let section: String
        var description: String { file }
    }

    static func bytes(_ file: String) -> [UInt8] {
        let url = directory.appendingPathComponent(file)
        return (try? Data(contentsOf: url)).map { Array($0) } ?? []
    }

    /// Rows of index.tsv (empty if it cannot be read; a test checks there are 49).
    static let index: [Entry] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("index.tsv")),
            let text = String(data: data, encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard cols.count >= 3 else { return nil }
            return Entry(file: String(cols[0]), valid: cols[1] == "valid", section: String(cols[2]))
        }
    }()
}
