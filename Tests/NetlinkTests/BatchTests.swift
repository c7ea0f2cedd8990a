// SPDX-License-Identifier: GPL-2.0-or-later

import Netlink
import Testing

/// BATCH_BEGIN / BATCH_END: 16-byte header (NLM_F_REQUEST) + nfgenmsg { AF_UNSPEC, V0, be16 subsystem }.
private func control(type: UInt16, sequence: UInt32, subsystem: UInt16 = 10) -> [UInt8] {
    message(type: type, flags: 1, sequence: sequence, body: [0, 0, UInt8(subsystem >> 8), UInt8(subsystem & 0xFF)])
}

@Suite("nfnetlink batches and requests")
struct BatchTests {
    @Test func batchLayoutByteForByte() throws {
        try #require(littleEndianHost)
        var batch = NetlinkBatch(subsystem: 10, firstSequence: 100)
        let first = try batch.append(message: 12, flags: 0x0400 | 0x04, family: 1) { (body) throws(NetlinkEncodeError) in
            try body.append(1, string: "t")
        }
        let second = try batch.append(message: 14, flags: 0, family: 1, resourceID: 0x0102) { _ in }
        #expect((first, second) == (101, 102))
        #expect(batch.sequenceAfter == 104) // END will be 103
        let bytes = batch.finish()
        var expected = control(type: 0x10, sequence: 100)
        // NFNL_SUBSYS_NFTABLES << 8 | 12; REQUEST | ACK | CREATE; nfgenmsg { NFPROTO_INET, V0, be16 0 }
        expected += message(type: 0x0A0C, flags: 0x0405, sequence: 101, body: [1, 0, 0, 0] + le16(6) + le16(1) + [0x74, 0, 0, 0])
        expected += message(type: 0x0A0E, flags: 0x0001, sequence: 102, body: [1, 0, 1, 2])
        expected += control(type: 0x11, sequence: 103)
        #expect(bytes == expected)
        #expect(batch.beginSequence == 100)
        #expect(batch.acknowledgedSequences == [101]) // only the message with NLM_F_ACK
        #expect(batch.messageCount == 2 && !batch.isEmpty)
        #expect(batch.sequenceAfter == 104)
        #expect(batch.finish() == bytes, "finish is idempotent")
        #expect(batch.isFinished)
    }

    @Test func sequencesWrap() throws {
        var batch = NetlinkBatch(subsystem: 10, firstSequence: .max - 1)
        let sequences = try (0..<3).map { _ throws(NetlinkEncodeError) in
            try batch.append(message: 12, flags: 4, family: 1) { _ in }
        }
        #expect(sequences == [.max, 0, 1])
        #expect(batch.acknowledgedSequences == [.max, 0, 1])
        #expect(batch.sequenceAfter == 3)
        _ = batch.finish()
        #expect(batch.sequenceAfter == 3)
        let walked: [UInt32] = batch.bytes.withUnsafeBytes { raw in
            var reader = NetlinkMessageReader(raw)
            var result: [UInt32] = []
            while let message = try? reader.next() { result.append(message.header.sequence) }
            return result
        }
        #expect(walked == [.max - 1, .max, 0, 1, 2])
    }

    @Test func emptyBatchIsBeginAndEnd() {
        var batch = NetlinkBatch(subsystem: 4, firstSequence: 7)
        #expect(batch.isEmpty)
        #expect(batch.finish() == control(type: 0x10, sequence: 7, subsystem: 4) + control(type: 0x11, sequence: 8, subsystem: 4))
        #expect(batch.acknowledgedSequences.isEmpty)
    }

    @Test func refusedMessageLeavesTheBatchUnchanged() throws {
        var batch = NetlinkBatch(subsystem: 10, firstSequence: 1)
        try batch.append(message: 12, flags: 4, family: 1) { _ in }
        let before = batch.bytes
        #expect(throws: NetlinkEncodeError.attributeTooLong(type: 2, length: 65_540)) {
            try batch.append(message: 12, flags: 4, family: 1) { (body) throws(NetlinkEncodeError) in
                try body.append(1, string: "kept out")
                try body.append(2, bytes: [UInt8](repeating: 0, count: 65_536))
            }
        }
        #expect(batch.bytes == before)
        #expect(batch.acknowledgedSequences == [2] && batch.messageCount == 1)
        #expect(try batch.append(message: 12, flags: 4, family: 1) { _ in } == 3, "the refused message took no number")
    }

    @Test func singleRequestWithoutNfgen() throws {
        try #require(littleEndianHost)
        var writer = NetlinkMessageWriter()
        try writer.append(type: 0x0401, flags: 0x0005, sequence: 9, nfgen: NFGenHeader(family: 0, resourceID: 0x7A19)) { body in
            body.append(1, uint8: 1)
        }
        try writer.append(type: 0x12, flags: 0x0301, sequence: 10, nfgen: nil)
        let expected =
            message(type: 0x0401, flags: 5, sequence: 9, body: [0, 0, 0x7A, 0x19] + le16(5) + le16(1) + [1, 0, 0, 0])
            + message(type: 0x12, flags: 0x0301, sequence: 10)
        #expect(writer.bytes == expected)
        writer.removeAll()
        #expect(writer.bytes.isEmpty)
    }

    @Test func messageTypeCombinesSubsystemAndMessage() {
        #expect(NFNetlink.messageType(subsystem: 10, message: 12) == 0x0A0C)
        #expect(NFNetlink.messageType(subsystem: 4, message: 1) == 0x0401)
        #expect(NFLogConstant.packetType == 0x0400 && NFLogConstant.configType == 0x0401)
    }
}
