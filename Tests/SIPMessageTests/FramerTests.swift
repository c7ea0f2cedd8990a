// SPDX-License-Identifier: GPL-2.0-or-later

import TestSupport
import Testing

@testable import SIPMessage

@Suite("Stream framer")
struct FramerTests {
    static let register = sip([
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/TCP 198.18.0.1:5060;branch=z9hG4bKreg",
        "To: <sip:100@example.com>",
        "From: <sip:100@example.com>;tag=1",
        "Call-ID: reg@198.18.0.1",
        "CSeq: 1 REGISTER",
        "Content-Length: 0",
    ])
    static let invite = sip(
        [
            "INVITE sip:200@example.com SIP/2.0",
            "v: SIP/2.0/TCP 198.18.0.1:5060;branch=z9hG4bKinv",
            "t: <sip:200@example.com>",
            "f: <sip:100@example.com>;tag=2",
            "i: inv@198.18.0.1",
            "CSeq: 1 INVITE",
            "c: application/sdp",
            "l:",
            "  25",
        ], body: "v=0\r\n\r\n\r\nc=IN IP4 0.0.0.0")

    static func drain(_ framer: inout SIPStreamFramer) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for _ in 0..<1000 {
            guard let message = try framer.nextMessage() else { break }
            out.append(message)
        }
        return out
    }

    @Test func splitAtEveryByteBoundary() throws {
        // Keep-alives before, between and after the messages (RFC 5626 double-CRLF ping).
        let stream = Array("\r\n\r\n".utf8) + Self.register + Array("\r\n".utf8) + Self.invite + Array("\r\n\r\n".utf8)
        #expect(Self.invite.count - Self.invite.firstIndex(of: 0x76)! > 0)
        for cut in 0...stream.count {
            var framer = SIPStreamFramer()
            try framer.append(Array(stream[..<cut]))
            var messages = try Self.drain(&framer)
            try framer.append(Array(stream[cut...]))
            messages += try Self.drain(&framer)
            #expect(messages == [Self.register, Self.invite], "cut at \(cut)")
            #expect(framer.bufferedByteCount == 0)
            #expect(framer.keepAliveLineCount == 5)
        }
    }

    @Test func byteByByteAndRandomChunks() throws {
        let stream = Self.register + Self.invite + Self.register
        var rng = SplitMix64(seed: 42)
        for round in 0..<50 {
            var framer = SIPStreamFramer()
            var messages: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                let size = round == 0 ? 1 : Int.random(in: 1...64, using: &rng)
                let end = min(offset + size, stream.count)
                try framer.append(Array(stream[offset..<end]))
                messages += try Self.drain(&framer)
                offset = end
            }
            #expect(messages == [Self.register, Self.invite, Self.register])
        }
    }

    @Test func framedMessagesParseWithStreamOptions() throws {
        var framer = SIPStreamFramer()
        try framer.append(Self.register + Self.invite)
        for message in try Self.drain(&framer) {
            #expect(parseError(message, options: .stream) == nil)
        }
    }

    @Test func keepAlivesOnly() throws {
        var framer = SIPStreamFramer()
        try framer.append(Array("\r\n\r\n\r\n".utf8))
        #expect(try framer.nextMessage() == nil)
        #expect(framer.keepAliveLineCount == 3)
        #expect(framer.bufferedByteCount == 0)
    }

    @Test func missingContentLengthIsFatal() throws {
        var framer = SIPStreamFramer()
        try framer.append(Array("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n".utf8))
        #expect(throws: SIPFramingError.missingContentLength) { try framer.nextMessage() }
        // The stream stays failed: the connection must be closed.
        #expect(throws: SIPFramingError.missingContentLength) { try framer.nextMessage() }
        #expect(throws: SIPFramingError.missingContentLength) { try framer.append([0x41]) }
    }

    @Test func malformedContentLengths() throws {
        for (value, expected) in [
            ("-1", SIPFramingError.badContentLength), ("", .badContentLength), ("1 2", .badContentLength),
            ("99999999999999999999999999", .messageTooLarge(limit: 65_535)), ("70000", .messageTooLarge(limit: 65_535)),
        ] {
            var framer = SIPStreamFramer()
            try framer.append(Array("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: \(value)\r\n\r\n".utf8))
            #expect(throws: expected) { try framer.nextMessage() }
        }
        var same = SIPStreamFramer()
        try same.append(Array("OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\nContent-Length: 0\r\n\r\n".utf8))
        #expect(try same.nextMessage() != nil)
    }

    @Test func boundedBuffer() throws {
        var framer = SIPStreamFramer(maxMessageSize: 1000)
        #expect(framer.maxBufferedBytes == 2000)
        // Headers that never end.
        for _ in 0..<9 {
            try framer.append(Array(repeating: UInt8(ascii: "a"), count: 100))
            #expect(try framer.nextMessage() == nil)
        }
        try framer.append(Array(repeating: UInt8(ascii: "a"), count: 200))
        #expect(throws: SIPFramingError.messageTooLarge(limit: 1000)) { try framer.nextMessage() }

        var flood = SIPStreamFramer(maxMessageSize: 1000)
        #expect(throws: SIPFramingError.bufferFull(limit: 2000)) { try flood.append(Array(repeating: 0x41, count: 2001)) }

        // Complete messages are consumed, so a long stream within the bound never fills up.
        var steady = SIPStreamFramer(maxMessageSize: 1000)
        var count = 0
        for _ in 0..<500 {
            try steady.append(Self.register)
            count += try Self.drain(&steady).count
        }
        #expect(count == 500)
        #expect(steady.bufferedByteCount == 0)
    }
}
