// SPDX-License-Identifier: GPL-2.0-or-later

import Netlink
import TestSupport
import Testing

/// What the walker saw: the messages (header, payload bytes) and the error that ended it.
private struct Walk {
    var messages: [(header: NetlinkHeader, payload: [UInt8], offset: Int)] = []
    var error: NetlinkDecodeError?
}

private func walk(_ bytes: [UInt8]) -> Walk {
    bytes.withUnsafeBytes { raw in
        var result = Walk()
        var reader = NetlinkMessageReader(raw)
        do throws(NetlinkDecodeError) {
            while let message = try reader.next() {
                result.messages.append((message.header, Array(message.payload), message.offset))
            }
        } catch {
            result.error = error
            // After an error the reader stays finished.
            #expect((try? reader.next()) == nil)
        }
        return result
    }
}

private func acknowledgement(_ bytes: [UInt8]) throws -> NetlinkAcknowledgement {
    try bytes.withUnsafeBytes { raw throws in
        var reader = NetlinkMessageReader(raw)
        let message = try #require(try reader.next())
        #expect(message.isError)
        return try message.acknowledgement()
    }
}

@Suite("netlink message walk")
struct MessageWalkTests {
    @Test func acknowledgementsErrorsAndOthers() throws {
        try #require(littleEndianHost)
        let done = message(type: 3, flags: 2, sequence: 9, portID: 77, body: le32(0))
        let datagram = errorReply(0, sequence: 5, portID: 77) + errorReply(-2, sequence: 6, portID: 77) + done
        let result = walk(datagram)
        #expect(result.error == nil)
        #expect(result.messages.map(\.header.type) == [2, 2, 3])
        #expect(result.messages.map(\.header.sequence) == [5, 6, 9])
        #expect(result.messages.map(\.offset) == [0, 36, 72])

        let ack = try acknowledgement(errorReply(0, sequence: 5, portID: 77))
        #expect(
            ack
                == NetlinkAcknowledgement(
                    sequence: 5, portID: 77, errno: 0,
                    request: NetlinkHeader(length: 72, type: 0x0A0C, flags: 0x0405, sequence: 5, portID: 77)))
        #expect(try acknowledgement(errorReply(-2, sequence: 6)).errno == 2) // ENOENT
        #expect(try acknowledgement(errorReply(-16, sequence: 6)).errno == 16) // EBUSY
        #expect(try acknowledgement(errorReply(1, sequence: 6)).errno == 1) // positive taken as is
        #expect(try acknowledgement(errorReply(.min, sequence: 6)).errno == .max) // no positive counterpart
    }

    @Test func errorMessagesShortOfTheirCodeOrEcho() throws {
        try #require(littleEndianHost)
        // Only the error code (the echo cut): acceptable, no request header.
        let bare = message(type: 2, sequence: 3, body: le32(UInt32(bitPattern: -1)))
        #expect(try acknowledgement(bare) == NetlinkAcknowledgement(sequence: 3, portID: 0, errno: 1, request: nil))
        // Fewer than 4 bytes: no error code at all.
        for count in 0..<4 {
            let short = message(type: 2, sequence: 3, body: [UInt8](repeating: 0xFF, count: count))
            #expect(throws: NetlinkDecodeError.shortPayload(needed: 4, available: count)) { try acknowledgement(short) }
        }
    }

    @Test func multipartReplyEndsWithDone() throws {
        try #require(littleEndianHost)
        // Two NLM_F_MULTI parts of 5 and 6 payload bytes (padded in between), then NLMSG_DONE.
        let first = padded(message(type: 0x0A0D, flags: 2, sequence: 1, body: [1, 2, 3, 4, 5]))
        let second = padded(message(type: 0x0A0D, flags: 2, sequence: 1, body: [6, 7, 8, 9, 10, 11]))
        let done = message(type: 3, flags: 2, sequence: 1, body: le32(0))
        let result = walk(first + second + done)
        #expect(result.error == nil)
        #expect(result.messages.map(\.payload) == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [0, 0, 0, 0]])
        #expect(result.messages.map(\.header.flags) == [2, 2, 2])
        #expect(result.messages.map(\.offset) == [0, 24, 48])
        // The last message may lack its padding.
        let unpadded = walk(first + message(type: 0x0A0D, body: [1]))
        #expect(unpadded.error == nil && unpadded.messages.count == 2)
    }

    @Test func truncatedAtEveryLength() throws {
        try #require(littleEndianHost)
        let first = errorReply(0, sequence: 1)
        let whole = first + errorReply(-1, sequence: 2)
        for cut in 0...whole.count {
            let result = walk(Array(whole.prefix(cut)))
            let complete = cut >= whole.count ? 2 : (cut >= first.count ? 1 : 0)
            #expect(result.messages.count == complete, "cut at \(cut)")
            let start = complete * first.count
            let left = cut - start
            if cut == start {
                #expect(result.error == nil, "cut at \(cut)")
            } else if left < 16 {
                #expect(result.error == .truncatedMessageHeader(offset: start, available: left), "cut at \(cut)")
            } else {
                #expect(result.error == .badMessageLength(offset: start, length: 36, available: left), "cut at \(cut)")
            }
        }
    }

    @Test func hostileLengthsEndTheWalk() throws {
        try #require(littleEndianHost)
        let good = errorReply(0, sequence: 1)
        for length: UInt32 in [0, 1, 15] {
            let result = walk(good + message(type: 2, body: [0, 0, 0, 0], length: length))
            #expect(result.messages.count == 1)
            #expect(result.error == .badMessageLength(offset: 36, length: Int(length), available: 20))
        }
        for length: UInt32 in [21, 400, .max] {
            let result = walk(good + message(type: 2, body: [0, 0, 0, 0], length: length))
            #expect(result.messages.count == 1)
            #expect(result.error == .badMessageLength(offset: 36, length: Int(length), available: 20))
        }
        #expect(walk([]).messages.isEmpty && walk([]).error == nil)
    }

    @Test func nfgenHeaderAndItsAttributes() throws {
        try #require(littleEndianHost)
        let body: [UInt8] = [2, 0, 0x7A, 0x19] + attribute(10, Array("pfx".utf8) + [0])
        let bytes = message(type: 0x0400, body: body)
        try bytes.withUnsafeBytes { raw throws in
            var reader = NetlinkMessageReader(raw)
            let message = try #require(try reader.next())
            var (header, attributes) = try message.nfnetlink()
            #expect(header == NFGenHeader(family: 2, version: 0, resourceID: 0x7A19))
            let prefix = try #require(try attributes.next())
            #expect(prefix.type == 10 && prefix.string() == "pfx")
            #expect(prefix.offset == 20) // relative to the datagram: 16 + 4
            #expect(try attributes.next() == nil)
        }
        let short = message(type: 0x0400, body: [2, 0, 0])
        try short.withUnsafeBytes { raw throws in
            var reader = NetlinkMessageReader(raw)
            let message = try #require(try reader.next())
            #expect(throws: NetlinkDecodeError.shortPayload(needed: 4, available: 3)) { try message.nfnetlink() }
        }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix64(seed: 0x4E4C_0001)
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 160)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if count >= 16, generator.next() % 2 == 0 {
                bytes.replaceSubrange(0..<4, with: le32(UInt32(16 + generator.next() % UInt64(count - 15))))
            }
            let result = walk(bytes)
            #expect(result.messages.count <= count / 16)
            for message in result.messages {
                #expect(Int(message.header.length) == 16 + message.payload.count)
                #expect(message.offset + Int(message.header.length) <= count)
            }
        }
    }
}
