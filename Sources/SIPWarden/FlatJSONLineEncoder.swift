// SPDX-License-Identifier: GPL-2.0-or-later

/// Writes a flat `Encodable` value — a struct of strings, integers, booleans and optionals,
/// as the control plane's views are — as one JSON object followed by a newline, through
/// `JSONLineWriter` (its escaping). The keys, their names and their order are the type's
/// own `CodingKeys`, so a view's fields are listed once, in the view (`bans list --json`
/// prints `BanView` exactly as the API sends it). Optionals that are nil are left out;
/// nested values are refused.
enum FlatJSONLineEncoder {
    /// Appends `value` as one line to `writer`.
    /// `members` may add members after the value's own (each written with `key(_:)`, which
    /// puts the comma before it).
    static func append(
        _ value: some Encodable, to writer: inout JSONLineWriter, members: (inout JSONLineWriter) -> Void = { _ in }
    ) throws {
        let encoder = FlatObjectEncoder()
        try value.encode(to: encoder)
        writer.raw("{" + String(decoding: encoder.body.bytes, as: UTF8.self))
        members(&writer)
        writer.raw("}\n")
    }
}

/// A value that is not flat (a nested object or array, a float).
struct NotFlatJSON: Error, CustomStringConvertible {
    var path: [any CodingKey]
    var description: String { "not a flat JSON value at \(path.map(\.stringValue).joined(separator: "."))" }
}

private final class FlatObjectEncoder: Encoder {
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    var body = JSONLineWriter()
    var first = true

    func key(_ key: some CodingKey) {
        if !first { body.raw(",") }
        first = false
        body.string(key.stringValue)
        body.raw(":")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(FlatKeyedContainer<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { RefusingContainer(codingPath: codingPath) }

    func singleValueContainer() -> any SingleValueEncodingContainer { RefusingContainer(codingPath: codingPath) }
}

private struct FlatKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: FlatObjectEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil(forKey key: Key) throws {
        encoder.key(key)
        encoder.body.raw("null")
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        encoder.key(key)
        encoder.body.raw(value ? "true" : "false")
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        encoder.key(key)
        encoder.body.string(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws { throw NotFlatJSON(path: codingPath + [key]) }
    mutating func encode(_ value: Float, forKey key: Key) throws { throw NotFlatJSON(path: codingPath + [key]) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: some Encodable, forKey key: Key) throws { throw NotFlatJSON(path: codingPath + [key]) }

    private func integer(_ value: some BinaryInteger, _ key: Key) throws {
        guard let v = Int64(exactly: value) else { throw NotFlatJSON(path: codingPath + [key]) }
        encoder.key(key)
        encoder.body.number(v)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        // Not flat: the nested keys would be written at the top level; views have none.
        KeyedEncodingContainer(FlatKeyedContainer<NestedKey>(encoder: encoder))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        RefusingContainer(codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { encoder }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
}

/// Every value in an array or a single-value container is refused.
private struct RefusingContainer: UnkeyedEncodingContainer, SingleValueEncodingContainer {
    var codingPath: [any CodingKey]
    var count: Int { 0 }

    mutating func encodeNil() throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: Bool) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: String) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: Double) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: Float) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: Int) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: Int8) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: Int16) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: Int32) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: Int64) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: UInt) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: UInt8) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: UInt16) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: UInt32) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: UInt64) throws { throw NotFlatJSON(path: codingPath) }
    mutating func encode(_ value: some Encodable) throws { throw NotFlatJSON(path: codingPath) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(FlatKeyedContainer<NestedKey>(encoder: FlatObjectEncoder()))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
    mutating func superEncoder() -> any Encoder { FlatObjectEncoder() }
}
