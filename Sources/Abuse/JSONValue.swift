// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation

/// A JSON document as data, for answers whose shape varies by server (RDAP registries
/// each add members of their own). Decoding never traps: anything that is not JSON is a
/// thrown error, and members are looked up, never assumed.
public enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses `data` (at most `maxBytes`).
    public static func parse(_ data: Data, maxBytes: Int = 4 << 20) throws(AbuseInputError) -> JSONValue {
        guard data.count <= maxBytes else { throw .tooLarge(bytes: data.count, limit: maxBytes) }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw .notJSON(String(describing: error).prefix(200).description)
        }
    }

    /// The member `key` of an object (nil otherwise).
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The elements of an array (empty otherwise).
    public var elements: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }

    /// The text of a string (nil otherwise).
    public var text: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value of a number, or of a string holding a decimal integer (registries write
    /// both: APNIC's vCard `pref` is `"1"`).
    public var integer: Int? {
        switch self {
        case .number(let value) where value.rounded() == value && abs(value) < 1e15: Int(value)
        case .string(let value): Int(value.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }
}

/// Input that cannot be used: an answer, a bootstrap file, a configuration value.
public enum AbuseInputError: Error, Hashable, Sendable, CustomStringConvertible {
    case tooLarge(bytes: Int, limit: Int)
    case notJSON(String)
    /// The document is JSON but not what was expected (what was missing).
    case unexpectedShape(String)

    public var description: String {
        switch self {
        case .tooLarge(let bytes, let limit): "answer of \(bytes) bytes exceeds the limit of \(limit)"
        case .notJSON(let detail): "not JSON: \(detail)"
        case .unexpectedShape(let detail): "unexpected document: \(detail)"
        }
    }
}
