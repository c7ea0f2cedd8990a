// SPDX-License-Identifier: GPL-2.0-or-later

/// Appends `struct nlattr`s to a byte buffer as the kernel reads them (`<linux/netlink.h>`):
/// u16 `nla_len` (header + payload, without padding) and u16 `nla_type` in host byte
/// order, the payload, zero padding to 4 bytes. Nested attributes carry `NLA_F_NESTED` and
/// a length that covers the (padded) attributes inside.
///
/// Integers are written big-endian (`bigEndian`), as nf_tables and nfnetlink_log read
/// them, or in host order (`hostOrder`). Nothing allocates beyond the buffer's growth:
/// reserve capacity up front for a hot path.
public struct NetlinkAttributeWriter: Sendable {
    /// The bytes written so far (always a multiple of 4 between calls, when started so).
    public internal(set) var bytes: [UInt8]

    /// A writer appending to `bytes`.
    public init(bytes: [UInt8] = [], reservingCapacity capacity: Int = 0) {
        self.bytes = bytes
        if capacity > 0 { self.bytes.reserveCapacity(capacity) }
    }

    /// An attribute whose payload is `payload`, as is.
    public mutating func append(_ type: UInt16, bytes payload: [UInt8]) throws(NetlinkEncodeError) {
        let length = NetlinkAttributeReader.headerSize + payload.count
        guard length <= Int(UInt16.max) else { throw .attributeTooLong(type: type, length: length) }
        appendHeader(length: length, type: type)
        bytes.append(contentsOf: payload)
        pad()
    }

    /// An attribute whose payload is `payload`, as is.
    public mutating func append(_ type: UInt16, bytes payload: UnsafeRawBufferPointer) throws(NetlinkEncodeError) {
        let length = NetlinkAttributeReader.headerSize + payload.count
        guard length <= Int(UInt16.max) else { throw .attributeTooLong(type: type, length: length) }
        appendHeader(length: length, type: type)
        bytes.append(contentsOf: payload)
        pad()
    }

    /// An attribute of one byte (`NLA_U8`).
    public mutating func append(_ type: UInt16, uint8 value: UInt8) {
        appendHeader(length: NetlinkAttributeReader.headerSize + 1, type: type)
        bytes.append(value)
        pad()
    }

    /// A 16-bit attribute in network byte order (`NLA_BE16`).
    public mutating func append(_ type: UInt16, bigEndian value: UInt16) { appendInteger(type, value, bigEndian: true) }
    /// A 32-bit attribute in network byte order (`NLA_BE32`).
    public mutating func append(_ type: UInt16, bigEndian value: UInt32) { appendInteger(type, value, bigEndian: true) }
    /// A 64-bit attribute in network byte order (`NLA_BE64`, nf_tables timeouts).
    public mutating func append(_ type: UInt16, bigEndian value: UInt64) { appendInteger(type, value, bigEndian: true) }
    /// A 16-bit attribute in host byte order (`NLA_U16`).
    public mutating func append(_ type: UInt16, hostOrder value: UInt16) { appendInteger(type, value, bigEndian: false) }
    /// A 32-bit attribute in host byte order (`NLA_U32`).
    public mutating func append(_ type: UInt16, hostOrder value: UInt32) { appendInteger(type, value, bigEndian: false) }
    /// A 64-bit attribute in host byte order (`NLA_U64`).
    public mutating func append(_ type: UInt16, hostOrder value: UInt64) { appendInteger(type, value, bigEndian: false) }

    /// A string attribute with its terminating NUL (`NLA_NUL_STRING`, as nf_tables names).
    /// The caller checks that the string holds no NUL itself.
    public mutating func append(_ type: UInt16, string: String) throws(NetlinkEncodeError) {
        let length = NetlinkAttributeReader.headerSize + string.utf8.count + 1
        guard length <= Int(UInt16.max) else { throw .attributeTooLong(type: type, length: length) }
        appendHeader(length: length, type: type)
        bytes.append(contentsOf: string.utf8)
        bytes.append(0)
        pad()
    }

    /// A nested attribute (`NLA_F_NESTED` set): `body` appends the attributes inside.
    /// Throws (and leaves the buffer as it was) when `body` throws or the attributes inside
    /// exceed what `nla_len` can express.
    public mutating func appendNested(
        _ type: UInt16, _ body: (inout NetlinkAttributeWriter) throws(NetlinkEncodeError) -> Void
    ) throws(NetlinkEncodeError) {
        let start = bytes.count
        appendHeader(length: 0, type: type | NetlinkAttributeFlag.nested)
        do throws(NetlinkEncodeError) {
            try body(&self)
        } catch {
            bytes.removeSubrange(start...)
            throw error
        }
        let length = bytes.count - start
        guard length <= Int(UInt16.max) else {
            bytes.removeSubrange(start...)
            throw .attributeTooLong(type: type, length: length)
        }
        patch(UInt16(length), at: start)
    }

    /// Zero bytes up to the next multiple of 4.
    public mutating func pad() {
        while bytes.count & 3 != 0 { bytes.append(0) }
    }

    // MARK: Raw pieces (for headers)

    /// `value` in host byte order, unpadded.
    mutating func appendHostOrder<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    /// `value` in network byte order, unpadded.
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var shift = T.bitWidth - 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
            shift -= 8
        }
    }

    /// Overwrites `value` (host order) at `offset`.
    mutating func patch<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value) { raw in
            for index in 0..<raw.count { bytes[offset + index] = raw[index] }
        }
    }

    private mutating func appendInteger<T: FixedWidthInteger>(_ type: UInt16, _ value: T, bigEndian: Bool) {
        appendHeader(length: NetlinkAttributeReader.headerSize + T.bitWidth / 8, type: type)
        if bigEndian { appendBigEndian(value) } else { appendHostOrder(value) }
        pad()
    }

    private mutating func appendHeader(length: Int, type: UInt16) {
        appendHostOrder(UInt16(truncatingIfNeeded: length))
        appendHostOrder(type)
    }
}
