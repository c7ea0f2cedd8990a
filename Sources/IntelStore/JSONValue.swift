// SPDX-License-Identifier: GPL-2.0-or-later

/// A minimal JSON reader for the published range files: a small DOM with the line of
/// every value, a depth limit and no recursion beyond it, numbers kept as text. No
/// Foundation, so the parsers stay pure and fuzzable.
indirect enum JSONValue: Sendable {
    case object([(key: String, value: JSONValue)], line: Int)
    case array([JSONValue], line: Int)
    case string(String, line: Int)
    case number(String, line: Int)
    case bool(Bool, line: Int)
    case null(line: Int)

    var line: Int {
        switch self {
        case .object(_, let line), .array(_, let line), .string(_, let line), .number(_, let line),
            .bool(_, let line), .null(let line):
            line
        }
    }

    /// The member named `key` of an object (first occurrence).
    subscript(key: String) -> JSONValue? {
        guard case .object(let members, _) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    var stringValue: String? {
        if case .string(let s, _) = self { return s }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let a, _) = self { return a }
        return nil
    }

    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// Parses one JSON document from UTF-8 bytes.
struct JSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var line = 1
    private var depth = 0

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(IntelParseError) -> JSONValue {
        var reader = JSONReader(bytes: bytes)
        reader.skipBOM()
        let value = try reader.readValue()
        reader.skipSpace()
        guard reader.index == bytes.count else {
            throw IntelParseError(line: reader.line, "JSON: unexpected text after the document")
        }
        return value
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func skipBOM() {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x0A:
                line += 1
                index += 1
            case 0x20, 0x09, 0x0D: index += 1
            default: return
            }
        }
    }

    private func fail(_ message: String) -> IntelParseError { IntelParseError(line: line, "JSON: \(message)") }

    private mutating func readValue() throws(IntelParseError) -> JSONValue {
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end of file") }
        let start = line
        switch bytes[index] {
        case UInt8(ascii: "{"):
            depth += 1
            guard depth <= IntelLimits.maxJSONDepth else { throw fail("nested too deeply") }
            defer { depth -= 1 }
            index += 1
            var members: [(key: String, value: JSONValue)] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members, line: start)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let key = try readString()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                members.append((key, try readValue()))
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end of file in an object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members, line: start)
                }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            guard depth <= IntelLimits.maxJSONDepth else { throw fail("nested too deeply") }
            defer { depth -= 1 }
            index += 1
            var elements: [JSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements, line: start)
            }
            while true {
                elements.append(try readValue())
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end of file in an array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements, line: start)
                }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try readString(), line: start)
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .bool(true, line: start)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .bool(false, line: start)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .null(line: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let from = index
            while index < bytes.count, index - from < 64 {
                switch bytes[index] {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                    UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                    index += 1
                    continue
                default: break
                }
                break
            }
            return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<index]), as: UTF8.self), line: start)
        default:
            throw fail("unexpected character '\(excerpt(bytes, index..<index + 1))'")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(IntelParseError) {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw fail("unexpected end of file") }
        let p = word.utf8Start
        for k in 0..<n where bytes[index + k] != p[k] { throw fail("unexpected word") }
        index += n
    }

    /// Reads a string starting at the opening quote; decodes escapes; refuses control
    /// characters and overlong strings.
    private mutating func readString() throws(IntelParseError) -> String {
        index += 1
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let c = bytes[index]
            index += 1
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw fail("control character in a string") }
            if c == UInt8(ascii: "\\") {
                guard index < bytes.count else { throw fail("unterminated string") }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count else { throw fail("bad \\u escape") }
                    var v: UInt32 = 0
                    for k in 0..<4 {
                        guard let h = IntelText.hex(bytes[index + k]) else { throw fail("bad \\u escape") }
                        v = v << 4 | UInt32(h)
                    }
                    index += 4
                    // Surrogates (not used in the published files) become U+FFFD.
                    let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw fail("bad escape")
                }
            } else {
                out.append(c)
            }
            if out.count > 4096 { throw fail("string longer than 4096 bytes") }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
