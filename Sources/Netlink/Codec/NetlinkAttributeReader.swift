// SPDX-License-Identifier: GPL-2.0-or-later

/// One `struct nlattr` and its payload, read from received bytes.
///
/// A view: `payload` points into the buffer the reader walks and is valid only as long as
/// that buffer is (do not let it escape the `withUnsafeBytes` or receive call it came from).
/// The typed accessors check sizes and never trap.
public struct NetlinkAttribute {
    /// `nla_type & NLA_TYPE_MASK`.
    public let type: UInt16
    /// `NLA_F_NESTED` was set.
    public let isNested: Bool
    /// `NLA_F_NET_BYTEORDER` was set.
    public let isNetworkByteOrder: Bool
    /// The payload, `nla_len - 4` bytes, without padding.
    public let payload: UnsafeRawBufferPointer
    /// Where the attribute header starts, relative to the reader's buffer.
    public let offset: Int

    /// The payload as one byte (`NLA_U8`).
    public func uint8() throws(NetlinkDecodeError) -> UInt8 {
        try checkSize(1)
        return payload[0]
    }

    /// The payload as a big-endian u16 (`NLA_BE16`); its size must be exactly 2.
    public func bigEndianUInt16() throws(NetlinkDecodeError) -> UInt16 { try integer(bigEndian: true) }
    /// The payload as a big-endian u32 (`NLA_BE32`); its size must be exactly 4.
    public func bigEndianUInt32() throws(NetlinkDecodeError) -> UInt32 { try integer(bigEndian: true) }
    /// The payload as a big-endian u64 (`NLA_BE64`); its size must be exactly 8.
    public func bigEndianUInt64() throws(NetlinkDecodeError) -> UInt64 { try integer(bigEndian: true) }
    /// The payload as a host-order u16 (`NLA_U16`); its size must be exactly 2.
    public func hostOrderUInt16() throws(NetlinkDecodeError) -> UInt16 { try integer(bigEndian: false) }
    /// The payload as a host-order u32 (`NLA_U32`); its size must be exactly 4.
    public func hostOrderUInt32() throws(NetlinkDecodeError) -> UInt32 { try integer(bigEndian: false) }
    /// The payload as a host-order u64 (`NLA_U64`); its size must be exactly 8.
    public func hostOrderUInt64() throws(NetlinkDecodeError) -> UInt64 { try integer(bigEndian: false) }

    /// The payload as a string up to its first NUL (or its end), at most `limit` bytes;
    /// invalid UTF-8 is replaced, never rejected.
    public func string(limit: Int = .max) -> String {
        let end = min(payload.count, max(0, limit))
        var length = 0
        while length < end, payload[length] != 0 { length += 1 }
        return String(decoding: payload[0..<length], as: UTF8.self)
    }

    /// A reader over the attributes nested in the payload (whether or not `NLA_F_NESTED`
    /// was set: older kernels and some subsystems omit it). Offsets stay relative to the
    /// outer buffer.
    public var nested: NetlinkAttributeReader {
        NetlinkAttributeReader(payload, baseOffset: offset + NetlinkAttributeReader.headerSize)
    }

    private func integer<T: FixedWidthInteger>(bigEndian: Bool) throws(NetlinkDecodeError) -> T {
        try checkSize(T.bitWidth / 8)
        let value = payload.loadUnaligned(as: T.self)
        return bigEndian ? T(bigEndian: value) : value
    }

    private func checkSize(_ size: Int) throws(NetlinkDecodeError) {
        guard payload.count == size else { throw .shortPayload(needed: size, available: payload.count) }
    }
}

/// Walks the `struct nlattr`s of a buffer (`<linux/netlink.h>`: u16 `nla_len` including the
/// 4-byte header, u16 `nla_type`, payload, padding to 4 bytes; host byte order).
///
/// Untrusted input never traps it: every length is checked against the bytes left, each
/// step advances by at least 4 bytes, and a bad length ends the walk with a typed error.
/// Trailing bytes too short for an attribute header (1 to 3) are padding, as the kernel's
/// `nla_for_each_attr` treats them. The last attribute may lack its padding.
public struct NetlinkAttributeReader {
    /// `NLA_HDRLEN`: `sizeof(struct nlattr)`.
    public static let headerSize = 4

    private let bytes: UnsafeRawBufferPointer
    private let baseOffset: Int
    private var position = 0
    private var failed = false

    /// A reader over `bytes`; `baseOffset` is added to the offsets it reports.
    public init(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) {
        self.bytes = bytes
        self.baseOffset = baseOffset
    }

    /// The next attribute; nil at the end. After an error it returns nil.
    public mutating func next() throws(NetlinkDecodeError) -> NetlinkAttribute? {
        guard !failed, bytes.count - position >= Self.headerSize else { return nil }
        let length = Int(bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
        let rawType = bytes.loadUnaligned(fromByteOffset: position + 2, as: UInt16.self)
        let available = bytes.count - position
        guard length >= Self.headerSize, length <= available else {
            failed = true
            throw .badAttributeLength(offset: baseOffset + position, length: length, available: available)
        }
        let attribute = NetlinkAttribute(
            type: rawType & NetlinkAttributeFlag.typeMask,
            isNested: rawType & NetlinkAttributeFlag.nested != 0,
            isNetworkByteOrder: rawType & NetlinkAttributeFlag.networkByteOrder != 0,
            payload: UnsafeRawBufferPointer(rebasing: bytes[(position + Self.headerSize)..<(position + length)]),
            offset: baseOffset + position)
        position += netlinkAligned(length) // may pass the end: the walk then stops
        return attribute
    }

    /// Every attribute, or the first error.
    public mutating func all() throws(NetlinkDecodeError) -> [NetlinkAttribute] {
        var result: [NetlinkAttribute] = []
        while let attribute = try next() { result.append(attribute) }
        return result
    }
}
