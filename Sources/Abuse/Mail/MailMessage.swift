// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation

/// An Internet message (RFC 5322) with its MIME structure (RFC 2045/2046), read leniently:
/// mail from abuse desks, MTAs and auto-responders is untrusted input. Header fields are
/// unfolded, encoded words (RFC 2047) in the subject decoded, multipart bodies split at
/// their boundaries to a bounded depth. Never traps; sizes are bounded.
public struct MailMessage: Sendable {
    /// Header fields in order (name as written, value unfolded).
    public var headers: [(name: String, value: String)]
    /// The body's bytes (for a multipart, everything after the header).
    public var body: [UInt8]
    /// The MIME parts of a multipart body (empty otherwise), each parsed the same way.
    public var parts: [MailMessage]

    /// Largest message read; the rest is ignored.
    public static let maxBytes = 4 << 20
    static let maxDepth = 4
    static let maxParts = 64
    /// Parts at all depths together (nested multiparts cannot multiply into millions).
    static let maxTotalParts = 512

    public init(parsing bytes: some Collection<UInt8>) {
        var budget = Self.maxTotalParts
        self.init(parsing: Array(bytes.prefix(Self.maxBytes)), depth: 0, budget: &budget)
    }

    init(parsing bytes: [UInt8], depth: Int, budget: inout Int) {
        // Lines end in CRLF or LF; the header ends at the first empty line.
        var headers: [(String, String)] = []
        var i = 0
        var current: (String, String)?
        while i < bytes.count {
            var end = i
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > i, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = String(decoding: bytes[i..<lineEnd], as: UTF8.self)
            i = min(end + 1, bytes.count)
            if line.isEmpty { break }
            if line.first == " " || line.first == "\t" {
                if current != nil { current!.1 += " " + line.trimmingCharacters(in: .whitespaces) }
                continue
            }
            if let c = current { headers.append(c) }
            if let colon = line.firstIndex(of: ":"), colon != line.startIndex {
                current = (
                    String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                )
            } else {
                current = nil // a line that is not a field (mbox "From " line): skipped
            }
            if headers.count > 500 { break }
        }
        if let c = current { headers.append(c) }
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        body = i < bytes.count ? Array(bytes[i...]) : []
        parts = []
        let type = MailMessage.parameterised(self.header("Content-Type") ?? "")
        if depth < Self.maxDepth, type.value.hasPrefix("multipart/"), let boundary = type.parameters["boundary"], !boundary.isEmpty {
            for chunk in Self.split(body, boundary: boundary, limit: min(Self.maxParts, budget)) {
                guard budget > 0 else { break }
                budget -= 1
                parts.append(MailMessage(parsing: chunk, depth: depth + 1, budget: &budget))
            }
        } else if depth < Self.maxDepth, budget > 0,
            type.value == "message/rfc822" || type.value == "message/delivery-status" || type.value == "message/feedback-report"
        {
            // These bodies are header blocks themselves: read as a message without a body.
            budget -= 1
            parts = [MailMessage(parsing: body, depth: depth + 1, budget: &budget)]
        }
    }

    /// The first field named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Every field named `name`.
    public func headers(_ name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    /// The media type, lowercased, without parameters (`text/plain` when absent).
    public var contentType: String { Self.parameterised(header("Content-Type") ?? "text/plain").value }

    /// A Content-Type parameter (lowercased name).
    public func contentTypeParameter(_ name: String) -> String? {
        Self.parameterised(header("Content-Type") ?? "").parameters[name.lowercased()]
    }

    /// The subject, encoded words decoded.
    public var subject: String { EncodedWords.decode(header("Subject") ?? "") }

    /// The body as text: quoted-printable and base64 undone, charset read as UTF-8 or
    /// Latin-1; for a multipart, the text of its text parts.
    public var text: String {
        if !parts.isEmpty, contentType.hasPrefix("multipart/") {
            return parts.filter { $0.contentType.hasPrefix("text/") || $0.contentType.hasPrefix("multipart/") }.map(\.text).joined(separator: "\n")
        }
        let encoding = (header("Content-Transfer-Encoding") ?? "").lowercased()
        let decoded: [UInt8] =
            switch encoding {
            case "base64": Data(base64Encoded: String(decoding: body, as: UTF8.self).filter { !$0.isWhitespace }).map(Array.init) ?? body
            case "quoted-printable": EncodedWords.quotedPrintable(body, underscoreIsSpace: false)
            default: body
            }
        if let utf8 = String(validating: decoded, as: UTF8.self) { return utf8 }
        return String(decoded.map { Character(Unicode.Scalar($0)) })
    }

    /// Every part at any depth, this message first.
    public var allParts: [MailMessage] { [self] + parts.flatMap(\.allParts) }

    /// The Message-IDs this message answers (In-Reply-To, References), without brackets.
    public var referencedMessageIDs: [String] {
        (headers("In-Reply-To") + headers("References")).flatMap(Self.messageIDs)
    }

    /// The `<…>` Message-IDs written in a field value, without brackets (at most 250
    /// characters each).
    public static func messageIDs(_ text: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            let id = rest[rest.index(after: open)..<close]
            if !id.isEmpty, id.count <= 250 { ids.append(String(id)) }
            rest = rest[rest.index(after: close)...]
        }
        return ids
    }

    /// `type/subtype; a=b; c="d"` → ("type/subtype", [a: b, c: d]).
    static func parameterised(_ text: String) -> (value: String, parameters: [String: String]) {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        for c in text {
            if c == "\"" {
                quoted.toggle()
                continue
            }
            if c == ";", !quoted {
                pieces.append(current)
                current = ""
                continue
            }
            current.append(c)
        }
        pieces.append(current)
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let eq = piece.firstIndex(of: "=") else { continue }
            parameters[piece[..<eq].trimmingCharacters(in: .whitespaces).lowercased()] = piece[piece.index(after: eq)...].trimmingCharacters(
                in: .whitespaces)
        }
        return (pieces[0].trimmingCharacters(in: .whitespaces).lowercased(), parameters)
    }

    /// The parts between `--boundary` lines, up to `--boundary--` (at most `limit`).
    static func split(_ body: [UInt8], boundary: String, limit: Int) -> [[UInt8]] {
        guard limit > 0 else { return [] }
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [[UInt8]] = []
        var start: Int?
        var i = 0
        while i < body.count {
            var end = i
            while end < body.count, body[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > i, body[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = body[i..<lineEnd]
            if line.starts(with: delimiter) {
                let after = line.dropFirst(delimiter.count)
                if let s = start { parts.append(Array(body[s..<max(s, i - 1)])) }
                if after.starts(with: [0x2D, 0x2D]) || parts.count >= limit { return parts }
                start = min(end + 1, body.count)
            }
            i = end + 1
        }
        if let s = start, s < body.count { parts.append(Array(body[s...])) }
        return parts
    }
}

/// RFC 2047 encoded words and quoted-printable.
enum EncodedWords {
    /// `=?charset?B|Q?text?=` sequences decoded (UTF-8 or Latin-1; others left as written).
    static func decode(_ text: String) -> String {
        guard text.contains("=?") else { return text }
        var out = ""
        var rest = Substring(text)
        var lastWasEncoded = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            let pieces = after.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard pieces.count == 4, pieces[3].hasPrefix("="), let decoded = word(charset: pieces[0], encoding: pieces[1], text: pieces[2]) else {
                out += before + "=?"
                rest = after
                lastWasEncoded = false
                continue
            }
            // Whitespace between two encoded words is not part of the text.
            if !(lastWasEncoded && before.allSatisfy(\.isWhitespace)) { out += before }
            out += decoded
            lastWasEncoded = true
            rest = pieces[3].dropFirst()
        }
        return out + rest
    }

    static func word(charset: Substring, encoding: Substring, text: Substring) -> String? {
        let bytes: [UInt8]
        switch encoding.uppercased() {
        case "B":
            guard let d = Data(base64Encoded: String(text)) else { return nil }
            bytes = Array(d)
        case "Q": bytes = quotedPrintable(Array(text.utf8), underscoreIsSpace: true)
        default: return nil
        }
        let cs = charset.lowercased()
        if cs.hasPrefix("utf-8") || cs == "us-ascii" { return String(decoding: bytes, as: UTF8.self) }
        if cs.hasPrefix("iso-8859-1") || cs.hasPrefix("windows-1252") || cs == "latin1" {
            return String(bytes.map { Character(Unicode.Scalar($0)) })
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func quotedPrintable(_ bytes: [UInt8], underscoreIsSpace: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: b - 0x30
            case 0x41...0x46: b - 0x37
            case 0x61...0x66: b - 0x57
            default: nil
            }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x3D {
                if i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                    continue
                }
                // Soft line break: "=" at the end of a line.
                var j = i + 1
                if j < bytes.count, bytes[j] == 0x0D { j += 1 }
                if j < bytes.count, bytes[j] == 0x0A {
                    i = j + 1
                    continue
                }
                if j >= bytes.count { break }
            }
            out.append(underscoreIsSpace && b == 0x5F ? 0x20 : b)
            i += 1
        }
        return out
    }
}
