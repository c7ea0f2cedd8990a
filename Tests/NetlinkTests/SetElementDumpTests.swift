// SPDX-License-Identifier: GPL-2.0-or-later

import Netlink
import Testing

// Written from <linux/netfilter/nf_tables.h>, independently of the codec's constants:
//   NFT_MSG_NEWSETELEM 12, NFT_MSG_GETSETELEM 13; NLM_F_DUMP 0x300
//   enum nft_set_elem_list_attributes: TABLE 1, SET 2, ELEMENTS 3
//   enum nft_list_attributes: NFTA_LIST_ELEM 1
//   enum nft_set_elem_attributes: KEY 1, DATA 2, FLAGS 3, TIMEOUT 4, EXPIRATION 5,
//       USERDATA 6, EXPR 7, PAD 8, OBJREF 9, KEY_END 10, EXPRESSIONS 11
//   enum nft_data_attributes: NFTA_DATA_VALUE 1
//   enum nft_expr_attributes: NAME 1, DATA 2
//   enum nft_counter_attributes: BYTES 1, PACKETS 2 (be64)
//   NFT_SET_ELEM_INTERVAL_END 0x1 (be32)

private func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * (3 - UInt32($0)))) } }
private func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * (7 - UInt64($0)))) } }
private func string(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }
private func nested(_ type: UInt16, _ inner: [UInt8]) -> [UInt8] { attribute(type | 0x8000, inner) }

private func counterExpression(_ attributeType: UInt16, packets: UInt64, bytes: UInt64, name: String = "counter") -> [UInt8] {
    let values: [UInt8] = attribute(1, be64(bytes)) + attribute(2, be64(packets)) + attribute(3, [0, 0, 0, 0])
    return nested(attributeType, attribute(1, string(name)) + nested(2, values))
}

/// One NFTA_LIST_ELEM as the kernel fills it (nf_tables_fill_setelem).
private func element(key: [UInt8], flags: UInt32? = nil, timeout: UInt64? = nil, expiration: UInt64? = nil, extra: [UInt8] = []) -> [UInt8] {
    var inner = nested(1, attribute(1, key))
    if let flags { inner += attribute(3, be32(flags)) }
    if let timeout { inner += attribute(4, be64(timeout)) }
    if let expiration { inner += attribute(5, be64(expiration)) }
    return nested(1, inner + extra)
}

/// An NFT_MSG_NEWSETELEM dump part: nlmsghdr, nfgenmsg (inet), table, set, elements.
private func dumpPart(_ elements: [[UInt8]], table: String = "sipwarden", set: String = "host4", sequence: UInt32 = 7) -> [UInt8] {
    let names: [UInt8] = attribute(1, string(table)) + attribute(2, string(set))
    let body: [UInt8] = [1, 0, 0, 0] + names + nested(3, elements.flatMap { $0 })
    return message(type: 10 << 8 | 12, flags: 0x2, sequence: sequence, portID: 99, body: body)
}

private func decode(_ bytes: [UInt8]) throws -> [NFTSetElementDump.Part] {
    try bytes.withUnsafeBytes { raw throws in
        var reader = NetlinkMessageReader(raw)
        var parts: [NFTSetElementDump.Part] = []
        while let message = try reader.next() {
            guard NFTSetElementDump.isElementMessage(message) else { continue }
            parts.append(try NFTSetElementDump.decode(message))
        }
        return parts
    }
}

@Suite("nf_tables set element dump: request and decoder")
struct SetElementDumpTests {
    @Test func requestIsAGetSetElemDumpOfTheNamedSet() throws {
        let bytes = try NFTSetElementDump.request(table: "sipwarden", set: "ban6", sequence: 0x0102_0304)
        let attributes: [UInt8] = attribute(1, string("sipwarden")) + attribute(2, string("ban6"))
        let header: [UInt8] = le32(UInt32(16 + 4 + attributes.count)) + le16(10 << 8 | 13) + le16(0x0301) + le32(0x0102_0304) + le32(0)
        let expected: [UInt8] = header + [1, 0, 0, 0] + attributes
        #expect(bytes == expected)
    }

    @Test func hostElementWithCounterTimeoutAndExpiration() throws {
        let bytes = dumpPart([
            element(key: [198, 18, 0, 7], timeout: 600_000, expiration: 599_120, extra: counterExpression(7, packets: 42, bytes: 2_310))
        ])
        let parts = try decode(bytes)
        try #require(parts.count == 1)
        #expect(parts[0].table == "sipwarden")
        #expect(parts[0].set == "host4")
        #expect(parts[0].skipped == 0)
        #expect(
            parts[0].elements == [
                NFTSetElement(
                    key: [198, 18, 0, 7], timeoutMilliseconds: 600_000, expirationMilliseconds: 599_120,
                    counter: .init(packets: 42, bytes: 2_310))
            ])
    }

    @Test func intervalEndAndElementsWithoutCounterOrTimeout() throws {
        let bytes = dumpPart(
            [
                element(key: [198, 18, 2, 0], flags: 1),
                element(key: [198, 18, 1, 0], timeout: 60_000, expiration: 1_000, extra: counterExpression(7, packets: 0, bytes: 0)),
                element(key: [198, 18, 9, 9]),
            ], set: "ban4")
        let elements = try decode(bytes)[0].elements
        #expect(elements.count == 3)
        #expect(elements[0].isIntervalEnd && elements[0].counter == nil)
        #expect(!elements[1].isIntervalEnd && elements[1].counter == .init(packets: 0, bytes: 0))
        #expect(elements[2].counter == nil && elements[2].timeoutMilliseconds == nil && elements[2].flags == 0)
    }

    @Test func counterInsideTheExpressionsListOfASetWithSeveralExpressions() throws {
        // NFTA_SET_ELEM_EXPRESSIONS { NFTA_LIST_ELEM { name "limit" … }, NFTA_LIST_ELEM { name "counter" … } }
        let limit = nested(1, attribute(1, string("limit")) + nested(2, attribute(1, be64(10))))
        let expressions = nested(11, limit + counterExpression(1, packets: 5, bytes: 300))
        let elements = try decode(dumpPart([element(key: [198, 18, 0, 1], extra: expressions)]))[0].elements
        #expect(elements.first?.counter == .init(packets: 5, bytes: 300))
    }

    @Test func anotherExpressionIsNoCounter() throws {
        let elements = try decode(dumpPart([element(key: [198, 18, 0, 1], extra: counterExpression(7, packets: 5, bytes: 3, name: "quota"))]))[0]
            .elements
        #expect(elements.first?.counter == nil)
    }

    @Test func ipv6KeyAndSeveralPartsInOneDatagramEndedByDone() throws {
        let key6: [UInt8] = [0x20, 0x01, 0x00, 0x02] + [UInt8](repeating: 0, count: 11) + [1]
        let bytes =
            padded(dumpPart([element(key: key6, extra: counterExpression(7, packets: 1, bytes: 80))], set: "host6"))
            + padded(dumpPart([element(key: key6.map { $0 ^ 0x01 }, extra: counterExpression(7, packets: 2, bytes: 160))], set: "host6"))
            + message(type: 3, flags: 0x2, sequence: 7, body: le32(0))
        let parts = try decode(bytes)
        #expect(parts.map { $0.elements.first?.counter?.packets } == [1, 2])
        #expect(parts[0].elements[0].key == key6)
    }

    @Test func elementWithoutKeyOrWithOversizedKeyIsSkipped() throws {
        let noKey = nested(1, attribute(4, be64(1)))
        let longKey = element(key: [UInt8](repeating: 1, count: 65))
        let part = try decode(dumpPart([noKey, longKey, element(key: [1, 2, 3, 4])]))[0]
        #expect(part.skipped == 2)
        #expect(part.elements.map(\.key) == [[1, 2, 3, 4]])
    }

    @Test func wrongSizedFieldsAreDroppedNotTrusted() throws {
        // A 4-byte timeout and a counter whose packets value is 4 bytes long.
        let badCounter = nested(7, attribute(1, string("counter")) + nested(2, attribute(1, be64(9)) + attribute(2, be32(9))))
        let item = nested(1, nested(1, attribute(1, [9, 9, 9, 9])) + attribute(4, be32(5)) + badCounter)
        let part = try decode(dumpPart([item]))[0]
        #expect(part.elements.count == 1)
        #expect(part.elements[0].timeoutMilliseconds == nil)
        #expect(part.elements[0].counter == nil)
    }

    @Test func attributeOverrunningItsContainerThrows() {
        // The element list claims more bytes than the message holds.
        var bytes = dumpPart([element(key: [1, 2, 3, 4])])
        let listOffset = 16 + 4 + attribute(1, string("sipwarden")).count + attribute(2, string("host4")).count
        bytes[listOffset] = 0xFF
        bytes[listOffset + 1] = 0x0F
        #expect(throws: NetlinkDecodeError.self) { _ = try decode(bytes) }
    }
}
