// SPDX-License-Identifier: GPL-2.0-or-later

import Netlink
import TestSupport
import Testing

/// One attribute as the reader reported it, copied out of the buffer.
private struct Read: Equatable {
    var type: UInt16
    var nested: Bool
    var networkOrder: Bool
    var payload: [UInt8]
    var offset: Int
}

/// Every attribute of `bytes`, or the error that ended the walk (with what came before).
private func readAll(_ bytes: [UInt8]) -> (attributes: [Read], error: NetlinkDecodeError?) {
    bytes.withUnsafeBytes { raw in
        var reader = NetlinkAttributeReader(raw)
        var result: [Read] = []
        do throws(NetlinkDecodeError) {
            while let attribute = try reader.next() {
                result.append(
                    Read(
                        type: attribute.type, nested: attribute.isNested, networkOrder: attribute.isNetworkByteOrder,
                        payload: Array(attribute.payload), offset: attribute.offset))
            }
            return (result, nil)
        } catch {
            return (result, error)
        }
    }
}

@Suite("netlink attributes")
struct AttributeTests {
    @Test func writerBytesByHand() throws {
        try #require(littleEndianHost)
        var writer = NetlinkAttributeWriter()
        writer.append(1, uint8: 0xAB)
        writer.append(2, bigEndian: UInt16(0x0102))
        writer.append(3, bigEndian: UInt32(0x0102_0304))
        writer.append(4, bigEndian: UInt64(600_000))
        writer.append(5, hostOrder: UInt32(0x0102_0304))
        try writer.append(6, string: "host4")
        try writer.append(7, bytes: [198, 18, 0, 2, 9])
        var expected = le16(5) + le16(1) + [0xAB, 0, 0, 0] // nla_len excludes padding
        expected += le16(6) + le16(2) + [1, 2, 0, 0]
        expected += le16(8) + le16(3) + [1, 2, 3, 4]
        expected += le16(12) + le16(4) + [0, 0, 0, 0, 0x00, 0x09, 0x27, 0xC0]
        expected += le16(8) + le16(5) + [4, 3, 2, 1]
        expected += le16(10) + le16(6) + Array("host4".utf8) + [0] + [0, 0] // NUL counted, padding not
        expected += le16(9) + le16(7) + [198, 18, 0, 2, 9] + [0, 0, 0]
        #expect(writer.bytes == expected)
    }

    @Test func nestedLengthsCoverPaddedChildren() throws {
        try #require(littleEndianHost)
        var writer = NetlinkAttributeWriter()
        try writer.appendNested(3) { (list) throws(NetlinkEncodeError) in
            try list.appendNested(1) { (item) throws(NetlinkEncodeError) in
                try item.append(1, bytes: [1, 2, 3]) // 7 → padded to 8
            }
            list.append(4, uint8: 9) // 5 → padded to 8
        }
        let expected =
            le16(24) + le16(0x8003) + le16(12) + le16(0x8001) + le16(7) + le16(1) + [1, 2, 3, 0]
            + le16(5) + le16(4) + [9, 0, 0, 0]
        #expect(writer.bytes == expected)
        // And read back through `nested`, with offsets into the outer buffer.
        try writer.bytes.withUnsafeBytes { raw throws in
            var outer = NetlinkAttributeReader(raw)
            let list = try #require(try outer.next())
            #expect(list.type == 3 && list.isNested)
            var inner = list.nested
            let item = try #require(try inner.next())
            #expect(item.type == 1 && item.isNested && item.offset == 4)
            var leaf = item.nested
            let value = try #require(try leaf.next())
            #expect(Array(value.payload) == [1, 2, 3] && value.offset == 8)
            #expect(try leaf.next() == nil)
            let last = try #require(try inner.next())
            #expect(try last.uint8() == 9 && last.offset == 16)
            #expect(try inner.next() == nil && (try outer.next()) == nil)
        }
    }

    @Test func roundTripOfEveryKind() throws {
        var writer = NetlinkAttributeWriter()
        writer.append(1, uint8: 7)
        writer.append(2, bigEndian: UInt16(0xBEEF))
        writer.append(3, bigEndian: UInt32(0xDEAD_BEEF))
        writer.append(4, bigEndian: UInt64(0x0102_0304_0506_0708))
        writer.append(5, hostOrder: UInt16(0xBEEF))
        writer.append(6, hostOrder: UInt32(0xDEAD_BEEF))
        writer.append(7, hostOrder: UInt64(0x0102_0304_0506_0708))
        try writer.append(8, string: "sipwarden ✓")
        try writer.append(9, bytes: [])
        try writer.writer(nestedIn: 10)
        try writer.bytes.withUnsafeBytes { raw throws in
            var reader = NetlinkAttributeReader(raw)
            let all = try reader.all()
            #expect(all.map(\.type) == Array(1...10))
            #expect(try all[0].uint8() == 7)
            #expect(try all[1].bigEndianUInt16() == 0xBEEF)
            #expect(try all[2].bigEndianUInt32() == 0xDEAD_BEEF)
            #expect(try all[3].bigEndianUInt64() == 0x0102_0304_0506_0708)
            #expect(try all[4].hostOrderUInt16() == 0xBEEF)
            #expect(try all[5].hostOrderUInt32() == 0xDEAD_BEEF)
            #expect(try all[6].hostOrderUInt64() == 0x0102_0304_0506_0708)
            #expect(all[7].string() == "sipwarden ✓")
            #expect(all[7].string(limit: 3) == "sip")
            #expect(all[8].payload.isEmpty)
            var nested = all[9].nested
            #expect(try nested.all().map { try $0.bigEndianUInt32() } == [1, 2])
            // Wrong sizes are typed errors, not traps.
            #expect(throws: NetlinkDecodeError.shortPayload(needed: 4, available: 8)) { try all[3].bigEndianUInt32() }
            #expect(throws: NetlinkDecodeError.shortPayload(needed: 1, available: 0)) { try all[8].uint8() }
        }
        #expect(writer.bytes.count % 4 == 0)
    }

    @Test func flagsAreMaskedFromTheType() throws {
        try #require(littleEndianHost)
        let bytes = attribute(0x4009, [1, 2, 3, 4]) + attribute(0x8001, []) + attribute(0xC002, [])
        let result = readAll(bytes)
        #expect(result.error == nil)
        #expect(result.attributes.map(\.type) == [9, 1, 2])
        #expect(result.attributes.map(\.networkOrder) == [true, false, true])
        #expect(result.attributes.map(\.nested) == [false, true, true])
    }

    @Test func hostileLengths() throws {
        try #require(littleEndianHost)
        let good = attribute(1, [1, 2, 3, 4])
        // nla_len below its own header: zero, 1..3.
        for length: UInt16 in [0, 1, 3] {
            let result = readAll(good + attribute(2, [0, 0, 0, 0], length: length))
            #expect(result.attributes.count == 1)
            #expect(result.error == .badAttributeLength(offset: 8, length: Int(length), available: 8))
        }
        // nla_len past the end.
        for length: UInt16 in [9, 0xFFFF] {
            let result = readAll(good + attribute(2, [0, 0, 0, 0], length: length))
            #expect(result.error == .badAttributeLength(offset: 8, length: Int(length), available: 8))
        }
        // Truncated at every length: 1..3 trailing bytes are padding, a cut payload an error.
        let whole = good + attribute(2, [5, 6, 7, 8, 9])
        for cut in 0...whole.count {
            let result = readAll(Array(whole.prefix(cut)))
            switch cut {
            case 0..<4: #expect(result.attributes.isEmpty && result.error == nil, "cut \(cut)")
            case 4..<8: #expect(result.attributes.isEmpty && result.error == .badAttributeLength(offset: 0, length: 8, available: cut), "cut \(cut)")
            case 8..<12: #expect(result.attributes.count == 1 && result.error == nil, "cut \(cut)")
            case 12..<17: #expect(result.error == .badAttributeLength(offset: 8, length: 9, available: cut - 8), "cut \(cut)")
            default: #expect(result.attributes.count == 2 && result.error == nil, "cut \(cut)")
            }
        }
    }

    @Test func nestedOverflowIsCaughtInside() throws {
        try #require(littleEndianHost)
        // The inner attribute claims 12 bytes; its container holds 8 (4 header + 4), yet the
        // outer buffer is long enough: the nested reader must stop at the container's end.
        let inner = le16(12) + le16(1) + [1, 2, 3, 4]
        let bytes = le16(12) + le16(0x8005) + inner + attribute(6, [9, 9, 9, 9])
        try bytes.withUnsafeBytes { raw throws in
            var outer = NetlinkAttributeReader(raw)
            let container = try #require(try outer.next())
            #expect(container.payload.count == 8)
            var nested = container.nested
            #expect(throws: NetlinkDecodeError.badAttributeLength(offset: 4, length: 12, available: 8)) { try nested.next() }
            #expect(try nested.next() == nil)
            // The outer walk goes on to the sibling.
            #expect(try outer.next()?.type == 6)
        }
    }

    @Test func oversizedAttributesAreRefusedAndLeaveTheBufferUnchanged() throws {
        var writer = NetlinkAttributeWriter()
        writer.append(1, uint8: 1)
        let before = writer.bytes
        #expect(throws: NetlinkEncodeError.attributeTooLong(type: 2, length: 65_536)) {
            try writer.append(2, bytes: [UInt8](repeating: 0, count: 65_532))
        }
        #expect(throws: NetlinkEncodeError.attributeTooLong(type: 3, length: 65_536)) {
            try writer.append(3, string: String(repeating: "x", count: 65_531))
        }
        try writer.append(2, bytes: [UInt8](repeating: 0, count: 65_531)) // exactly 65535
        writer = NetlinkAttributeWriter(bytes: before)
        // Nested: 2 × 32768-byte children overflow the container's 16-bit length.
        #expect(throws: NetlinkEncodeError.attributeTooLong(type: 4, length: 4 + 2 * 32_768)) {
            try writer.appendNested(4) { (body) throws(NetlinkEncodeError) in
                try body.append(1, bytes: [UInt8](repeating: 1, count: 32_764))
                try body.append(1, bytes: [UInt8](repeating: 1, count: 32_764))
            }
        }
        #expect(writer.bytes == before)
    }

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix64(seed: 0x4E4C_0002)
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 96)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next() % 4 == 0 ? generator.next() % 24 : generator.next()) }
            bytes.withUnsafeBytes { raw in
                // Containers and contents overlap: at most count / 4 per level, 9 levels.
                #expect(walkRecursively(NetlinkAttributeReader(raw), depth: 0, end: count) <= 9 * (count / 4))
            }
        }
    }
}

/// Reads every attribute, descending into all of them; returns how many were read. Checks
/// that each lies inside the buffer.
private func walkRecursively(_ reader: NetlinkAttributeReader, depth: Int, end: Int) -> Int {
    var reader = reader
    var count = 0
    while let attribute = try? reader.next() {
        #expect(attribute.offset >= 0 && attribute.offset + 4 + attribute.payload.count <= end)
        count += 1
        if depth < 8 { count += walkRecursively(attribute.nested, depth: depth + 1, end: end) }
    }
    return count
}

extension NetlinkAttributeWriter {
    /// A nested attribute of two be32 values, 1 and 2.
    fileprivate mutating func writer(nestedIn type: UInt16) throws(NetlinkEncodeError) {
        try appendNested(type) { (body) throws(NetlinkEncodeError) in
            body.append(1, bigEndian: UInt32(1))
            body.append(2, bigEndian: UInt32(2))
        }
    }
}
