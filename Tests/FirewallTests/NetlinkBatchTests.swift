// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Testing

@testable import Firewall

// Expected bytes below are written out by hand from the kernel uapi headers:
//   <linux/netlink.h>   struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }  (host order)
//                       struct nlattr { u16 nla_len; u16 nla_type; }, NLA_F_NESTED = 0x8000, 4-byte alignment
//                       NLM_F_REQUEST 0x1, NLM_F_ACK 0x4, NLM_F_CREATE 0x400, NLMSG_ERROR 0x2
//   <linux/netfilter/nfnetlink.h>  struct nfgenmsg { u8 family; u8 version; be16 res_id; }
//                       NFNL_MSG_BATCH_BEGIN 0x10, NFNL_MSG_BATCH_END 0x11, NFNL_SUBSYS_NFTABLES 10
//   <linux/netfilter/nf_tables.h>  NFT_MSG_NEWSETELEM 12, NFT_MSG_DELSETELEM 14,
//                       NFTA_SET_ELEM_LIST_{TABLE 1, SET 2, ELEMENTS 3}, NFTA_LIST_ELEM 1,
//                       NFTA_SET_ELEM_{KEY 1, TIMEOUT 4}, NFTA_DATA_VALUE 1
//   <linux/netfilter.h> NFPROTO_INET 1
// Host order is little-endian on every platform sipwarden targets (x86_64, aarch64).

#if _endian(little)
    private let littleEndianHost = true
#else
    private let littleEndianHost = false
#endif

/// Little-endian bytes of a u16 / u32 (nlmsghdr and nlattr fields).
private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * UInt32($0))) & 0xFF) } }

/// BATCH_BEGIN / BATCH_END: 16-byte header + nfgenmsg { AF_UNSPEC, V0, htons(10) }.
private func batchControl(type: UInt16, sequence: UInt32) -> [UInt8] {
    le32(20) + le16(type) + le16(0x0001) + le32(sequence) + le32(0) + [0x00, 0x00, 0x00, 0x0A]
}

/// Walks attributes with an independent reader; returns (type, payload) pairs.
private func attributes(_ bytes: ArraySlice<UInt8>) throws -> [(type: UInt16, payload: ArraySlice<UInt8>)] {
    var result: [(UInt16, ArraySlice<UInt8>)] = []
    var index = bytes.startIndex
    while index < bytes.endIndex {
        try #require(bytes.endIndex - index >= 4)
        let length = Int(bytes[index]) | Int(bytes[index + 1]) << 8
        let type = UInt16(bytes[index + 2]) | UInt16(bytes[index + 3]) << 8
        try #require(length >= 4 && index + length <= bytes.endIndex, "attribute length \(length) out of bounds")
        result.append((type, bytes[(index + 4)..<(index + length)]))
        index += (length + 3) & ~3
    }
    #expect(index == bytes.endIndex, "attributes end unaligned")
    return result
}

/// Splits a batch into messages with an independent reader.
private func messages(_ bytes: [UInt8]) throws -> [(type: UInt16, flags: UInt16, sequence: UInt32, body: ArraySlice<UInt8>)] {
    var result: [(UInt16, UInt16, UInt32, ArraySlice<UInt8>)] = []
    var index = 0
    while index < bytes.count {
        try #require(bytes.count - index >= 20)
        let length = Int(bytes[index]) | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2]) << 16 | Int(bytes[index + 3]) << 24
        try #require(length >= 20 && length % 4 == 0 && index + length <= bytes.count, "message length \(length)")
        let type = UInt16(bytes[index + 4]) | UInt16(bytes[index + 5]) << 8
        let flags = UInt16(bytes[index + 6]) | UInt16(bytes[index + 7]) << 8
        let sequence = UInt32(bytes[index + 8]) | UInt32(bytes[index + 9]) << 8 | UInt32(bytes[index + 10]) << 16 | UInt32(bytes[index + 11]) << 24
        result.append((type, flags, sequence, bytes[(index + 16)..<(index + length)]))
        index += length
    }
    return result
}

@Suite("nfnetlink set element batch encoding")
struct NetlinkBatchTests {
    @Test func ipv4AddWithTimeoutByteForByte() throws {
        try #require(littleEndianHost)
        var batch = try NetlinkSetElementBatch(table: "t", firstSequence: 100)
        try batch.append(.add, set: "host4", elements: [.init(key: [198, 18, 0, 2], timeoutMilliseconds: 600_000)])
        let bytes = batch.finish()

        var expected = batchControl(type: 0x0010, sequence: 100)
        // NEWSETELEM: 16 + 4 + table 8 + set 12 + elements 32 = 72
        expected += le32(72) + le16(0x0A0C) + le16(0x0405) + le32(101) + le32(0)
        expected += [0x01, 0x00, 0x00, 0x00] // NFPROTO_INET, V0, res_id 0
        expected += le16(6) + le16(1) + [0x74, 0x00] + [0, 0] // TABLE "t\0" + pad
        expected += le16(10) + le16(2) + Array("host4".utf8) + [0] + [0, 0] // SET "host4\0" + pad
        expected += le16(32) + le16(0x8003) // ELEMENTS, nested
        expected += le16(28) + le16(0x8001) //  LIST_ELEM, nested
        expected += le16(12) + le16(0x8001) //   KEY, nested
        expected += le16(8) + le16(1) + [198, 18, 0, 2] //    DATA_VALUE, network order
        expected += le16(12) + le16(4) + [0, 0, 0, 0, 0x00, 0x09, 0x27, 0xC0] //   TIMEOUT be64 600000 ms
        expected += batchControl(type: 0x0011, sequence: 102)

        #expect(bytes == expected)
        #expect(batch.beginSequence == 100)
        #expect(batch.changeSequences == [101])
        #expect(batch.sequenceAfter == 103)
        #expect(bytes.count % 4 == 0)
    }

    @Test func ipv6PermanentOmitsTimeout() throws {
        try #require(littleEndianHost)
        let address = try #require(IPAddress("2001:2::a"))
        let key = NetlinkSetElementBatch.key(address.integer, family: .v6)
        #expect(key == [0x20, 0x01, 0x00, 0x02] + [UInt8](repeating: 0, count: 11) + [0x0A])
        var batch = try NetlinkSetElementBatch(table: "sipwarden", firstSequence: 7)
        try batch.append(.add, set: "host6", elements: [.init(key: key, timeoutMilliseconds: nil)])
        let bytes = batch.finish()

        var expected = batchControl(type: 0x0010, sequence: 7)
        // 16 + 4 + table (4 + 10 = 14 → 16) + set 12 + elements (4 + 4 + 4 + 20 = 32) = 80
        expected += le32(80) + le16(0x0A0C) + le16(0x0405) + le32(8) + le32(0) + [0x01, 0x00, 0x00, 0x00]
        expected += le16(14) + le16(1) + Array("sipwarden".utf8) + [0] + [0, 0]
        expected += le16(10) + le16(2) + Array("host6".utf8) + [0] + [0, 0]
        expected += le16(32) + le16(0x8003) + le16(28) + le16(0x8001) + le16(24) + le16(0x8001)
        expected += le16(20) + le16(1) + key
        expected += batchControl(type: 0x0011, sequence: 9)
        #expect(bytes == expected)
    }

    @Test func deleteCarriesKeysOnlyAndNoCreateFlag() throws {
        try #require(littleEndianHost)
        var batch = try NetlinkSetElementBatch(table: "t", firstSequence: 0xFFFF_FFFF) // wraps
        try batch.append(
            .delete, set: "h",
            elements: [
                .init(key: [198, 18, 0, 3], timeoutMilliseconds: 5_000),
                .init(key: [198, 18, 0, 4], timeoutMilliseconds: nil),
            ])
        let bytes = batch.finish()
        var expected = batchControl(type: 0x0010, sequence: 0xFFFF_FFFF)
        // 16 + 4 + 8 + set "h\0" (6 → 8) + elements (4 + 2 × (4 + 12)) = 36 + 36 = 72
        expected += le32(72) + le16(0x0A0E) + le16(0x0005) + le32(0) + le32(0) + [0x01, 0x00, 0x00, 0x00]
        expected += le16(6) + le16(1) + [0x74, 0, 0, 0]
        expected += le16(6) + le16(2) + [0x68, 0, 0, 0]
        expected += le16(36) + le16(0x8003)
        expected += le16(16) + le16(0x8001) + le16(12) + le16(0x8001) + le16(8) + le16(1) + [198, 18, 0, 3]
        expected += le16(16) + le16(0x8001) + le16(12) + le16(0x8001) + le16(8) + le16(1) + [198, 18, 0, 4]
        expected += batchControl(type: 0x0011, sequence: 1)
        #expect(bytes == expected)
        #expect(batch.changeSequences == [0])
    }

    @Test(arguments: 1...9)
    func namesOfEveryLengthStayAligned(length: Int) throws {
        let name = String(repeating: "s", count: length)
        var batch = try NetlinkSetElementBatch(table: name, firstSequence: 1)
        try batch.append(.add, set: name, elements: [.init(key: [198, 18, 0, 1], timeoutMilliseconds: 1)])
        try batch.append(.delete, set: name, elements: [.init(key: [198, 18, 0, 1], timeoutMilliseconds: nil)])
        let parsed = try messages(batch.finish())
        #expect(parsed.map(\.type) == [0x10, 0x0A0C, 0x0A0E, 0x11])
        #expect(parsed.map(\.sequence) == [1, 2, 3, 4])
        for message in parsed where message.type > 0x11 {
            let top = try attributes(message.body.dropFirst(4))
            #expect(top.map(\.type) == [1, 2, 0x8003])
            #expect(Array(top[0].payload) == Array(name.utf8) + [0]) // nla_len excludes padding
            #expect(Array(top[1].payload) == Array(name.utf8) + [0])
        }
    }

    @Test func longListsAreSplitAcrossMessages() throws {
        let elements = (0..<2_500).map { index in
            NetlinkSetElementBatch.Element(key: NetlinkSetElementBatch.key(UInt128(0xC612_0000 + index), family: .v4), timeoutMilliseconds: 60_000)
        }
        var batch = try NetlinkSetElementBatch(table: "sipwarden", firstSequence: 10)
        try batch.append(.add, set: "host4", elements: elements)
        let parsed = try messages(batch.finish())
        #expect(parsed.map(\.type) == [0x10, 0x0A0C, 0x0A0C, 0x0A0C, 0x11])
        #expect(batch.changeSequences == [11, 12, 13])
        var keys: [[UInt8]] = []
        for message in parsed where message.type == 0x0A0C {
            let top = try attributes(message.body.dropFirst(4))
            let list = try #require(top.first { $0.type == 0x8003 })
            for item in try attributes(list.payload) {
                #expect(item.type == 0x8001)
                let fields = try attributes(item.payload)
                let key = try #require(fields.first { $0.type == 0x8001 })
                let value = try attributes(key.payload)
                keys.append(Array(try #require(value.first).payload))
                let timeout = try #require(fields.first { $0.type == 4 })
                #expect(Array(timeout.payload) == [0, 0, 0, 0, 0, 0, 0xEA, 0x60])
            }
        }
        #expect(keys == elements.map(\.key))
    }

    @Test func emptyChangesAddNoMessage() throws {
        var batch = try NetlinkSetElementBatch(table: "t", firstSequence: 1)
        try batch.append(.add, set: "host4", elements: [])
        #expect(batch.isEmpty)
        #expect(try messages(batch.finish()).map(\.type) == [0x10, 0x11])
    }

    @Test func badNamesAndKeysAreRefused() throws {
        for name in ["", "a\u{0}b", String(repeating: "x", count: 256)] {
            let error = try #require(throws: FirewallError.self) { try NetlinkSetElementBatch(table: name, firstSequence: 1) }
            #expect(error.kind == .invalidArgument)
        }
        #expect(throws: Never.self) { try NetlinkSetElementBatch(table: String(repeating: "x", count: 255), firstSequence: 1) }
        var batch = try NetlinkSetElementBatch(table: "t", firstSequence: 1)
        let before = batch.finish()
        batch = try NetlinkSetElementBatch(table: "t", firstSequence: 1)
        #expect(throws: FirewallError.self) { try batch.append(.add, set: "", elements: [.init(key: [1, 2, 3, 4], timeoutMilliseconds: nil)]) }
        #expect(throws: FirewallError.self) { try batch.append(.add, set: "s", elements: [.init(key: [], timeoutMilliseconds: nil)]) }
        #expect(throws: FirewallError.self) {
            try batch.append(.add, set: "s", elements: [.init(key: [UInt8](repeating: 1, count: 65), timeoutMilliseconds: nil)])
        }
        #expect(batch.finish() == before, "a refused append left the batch unchanged")
    }

    @Test func timeoutsRoundUpToMillisecondsLikeNft() {
        #expect(NetlinkSetElementBatch.milliseconds(.seconds(600)) == 600_000)
        #expect(NetlinkSetElementBatch.milliseconds(.milliseconds(120_500)) == 120_500)
        #expect(NetlinkSetElementBatch.milliseconds(.microseconds(1_500)) == 2)
        #expect(NetlinkSetElementBatch.milliseconds(.nanoseconds(1)) == 1)
        #expect(NetlinkSetElementBatch.milliseconds(.seconds(365 * 86_400)) == 31_536_000_000)
        #expect(NetlinkSetElementBatch.milliseconds(.zero) == nil)
        #expect(NetlinkSetElementBatch.milliseconds(.seconds(-1)) == nil)
        #expect(NetlinkSetElementBatch.milliseconds(.seconds(Int64.max)) == nil)
        #expect(NetlinkSetElementBatch.bigEndianBytes(UInt64(31_536_000_000)) == [0, 0, 0, 0x07, 0x57, 0xB1, 0x2C, 0x00])
    }

    @Test func keysAreNetworkOrder() {
        #expect(NetlinkSetElementBatch.key(0xC612_0102, family: .v4) == [198, 18, 1, 2])
        let v6 = UInt128(0x2001_0002_0000_0000) << 64 | 0x0000_0000_0000_00FF
        #expect(NetlinkSetElementBatch.key(v6, family: .v6) == [0x20, 0x01, 0x00, 0x02] + [UInt8](repeating: 0, count: 11) + [0xFF])
    }

    // MARK: What the firewall sends

    @Test(arguments: [true, false])
    func firewallBatchMatchesTheTextTransaction(inPlace: Bool) throws {
        let firewall = try NFTablesFirewall(configuration: .init(tableName: "swnl"))
        let planned = try BanPlanner.normalize(
            [
                BanElement(network: network("2001:2::5"), timeout: nil),
                BanElement(network: network("198.18.0.5"), timeout: .seconds(30)),
                BanElement(network: network("::ffff:198.18.0.6"), timeout: .milliseconds(1_500)),
            ], configuration: firewall.configuration
        ).elements
        var batch = try #require(try firewall.netlinkBatch(planned, refreshesInPlace: inPlace, firstSequence: 40))
        let parsed = try messages(batch.finish())
        let perSet = inPlace ? [0x0A0C] : [0x0A0C, 0x0A0E, 0x0A0C]
        #expect(parsed.map { Int($0.type) } == [0x10] + perSet + perSet + [0x11])
        var sets: [String] = []
        for message in parsed where message.type > 0x11 {
            let top = try attributes(message.body.dropFirst(4))
            #expect(Array(top[0].payload) == Array("swnl".utf8) + [0])
            sets.append(String(decoding: top[1].payload.dropLast(), as: UTF8.self))
            let items = try attributes(top[2].payload)
            let fields = try items.map { try attributes($0.payload) }
            let keys = try fields.map { try attributes(try #require($0.first { $0.type == 0x8001 }).payload)[0].payload }
            let timeouts = fields.map { $0.first { $0.type == 4 }.map { Array($0.payload) } }
            if sets.last == "host4" {
                #expect(keys.map(Array.init) == [[198, 18, 0, 5], [198, 18, 0, 6]])
                let expected: [[UInt8]?] = message.type == 0x0A0E ? [nil, nil] : [[0, 0, 0, 0, 0, 0, 0x75, 0x30], [0, 0, 0, 0, 0, 0, 0x05, 0xDC]]
                #expect(timeouts == expected)
            } else {
                #expect(keys.map(Array.init) == [[0x20, 0x01, 0x00, 0x02] + [UInt8](repeating: 0, count: 11) + [5]])
                #expect(timeouts == [nil])
            }
        }
        #expect(sets == (inPlace ? ["host4", "host6"] : ["host4", "host4", "host4", "host6", "host6", "host6"]))
        // A prefix goes to the interval set as nft sends it: its first address (with the
        // timeout) and the address after its last, flagged as the interval's end.
        let prefix = try BanPlanner.normalize(
            [BanElement(network: network("198.18.0.0/24"), timeout: .seconds(60))],
            configuration: firewall.configuration
        ).elements
        var prefixBatch = try #require(try firewall.netlinkBatch(prefix, refreshesInPlace: inPlace, firstSequence: 1))
        let prefixMessages = try messages(prefixBatch.finish()).filter { $0.type > 0x11 }
        #expect(prefixMessages.count == (inPlace ? 1 : 3))
        for message in prefixMessages {
            let top = try attributes(message.body.dropFirst(4))
            #expect(String(decoding: top[1].payload.dropLast(), as: UTF8.self) == "ban4")
            let fields = try attributes(top[2].payload).map { try attributes($0.payload) }
            let keys = try fields.map { try attributes(try #require($0.first { $0.type == 0x8001 }).payload)[0].payload }
            #expect(keys.map(Array.init) == [[198, 18, 0, 0], [198, 18, 1, 0]])
            let flags = fields.map { $0.first { $0.type == 3 }.map { Array($0.payload) } }
            #expect(flags == [nil, [0, 0, 0, 1]])
            let endTimeout = fields[1].first { $0.type == 4 }
            #expect(endTimeout == nil, "the end element carries no timeout")
        }
    }
}
