// SPDX-License-Identifier: GPL-2.0-or-later

import TestSupport
import Testing

@testable import SIPMessage

/// Untrusted input: nothing may crash, trap or hang, and every accessor stays in bounds.
@Suite("Robustness")
struct RobustnessTests {
    /// Touches every accessor, so a bad range would be caught by the bounds checks of
    /// the test build.
    static func exercise(_ bytes: [UInt8], options: SIPParseOptions = .datagram) {
        bytes.withUnsafeBytes { raw in
            guard let view = try? SIPMessageView(parsing: raw, options: options) else { return }
            let m = view.message
            #expect(m.endOffset <= raw.count)
            #expect(m.bodyRange.upperBound <= raw.count)
            for field in m.headers {
                #expect(field.nameRange.upperBound <= field.valueRange.lowerBound || field.valueRange.isEmpty)
                #expect(field.valueRange.upperBound <= raw.count)
                _ = view.string(field.valueRange)
            }
            _ = (view.method, view.requestURI, view.requestURIParts, view.statusCode, view.reasonPhrase)
            _ = (view.callID, view.cseq, view.topViaBranch, view.topViaSentBy, view.topViaHost, view.topViaTransport)
            _ = (view.fromURI, view.fromUser, view.fromTag, view.fromDisplayName, view.toURI, view.toUser, view.toTag)
            _ = (view.contactURI, view.userAgent, view.authorizationUsername, view.authorizationScheme, view.body.count)
        }
    }

    static let corpus: [[UInt8]] = Fixtures.index.map { Fixtures.bytes($0.file) }

    @Test func randomBytes() {
        var rng = SplitMix64(seed: 0x5eed)
        let alphabet = Array("SIP/2.0 INVITE sip:@;,<>\"\\%:=\r\n\t 0123456789abcxyzVvLlCcTtFfMm-".utf8)
        for round in 0..<20_000 {
            let length = Int.random(in: 0...400, using: &rng)
            let bytes: [UInt8] = (0..<length).map { _ in
                round % 2 == 0 ? UInt8.random(in: 0...255, using: &rng) : alphabet.randomElement(using: &rng)!
            }
            Self.exercise(bytes)
            var framer = SIPStreamFramer(maxMessageSize: 512)
            try? framer.append(bytes)
            _ = try? framer.nextMessage()
        }
    }

    @Test func everyTruncationOfEveryTortureMessage() {
        for (entry, bytes) in zip(Fixtures.index, Self.corpus) {
            let full = try? SIPMessage(parsing: bytes)
            for cut in 0..<bytes.count {
                let prefix = Array(bytes[..<cut])
                Self.exercise(prefix)
                // A message that declares Content-Length is never accepted when cut short.
                if let full, full.contentLength != nil, cut < full.endOffset {
                    #expect((try? SIPMessage(parsing: prefix)) == nil, "\(entry.file) accepted when cut at \(cut)")
                }
            }
        }
    }

    @Test func mutatedTortureMessages() {
        var rng = SplitMix64(seed: 4475)
        let interesting = Array("\r\n \t\"\\%<>;,:=@?/\u{0}\u{7f}".utf8) + [0xff, 0xc3]
        for bytes in Self.corpus where !bytes.isEmpty {
            for _ in 0..<200 {
                var mutated = bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let at = Int.random(in: 0..<mutated.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: mutated[at] = interesting.randomElement(using: &rng)!
                    case 1: mutated.insert(interesting.randomElement(using: &rng)!, at: at)
                    default: if mutated.count > 1 { mutated.remove(at: at) }
                    }
                }
                Self.exercise(mutated)
                Self.exercise(mutated, options: .stream)
            }
        }
    }

    @Test func validTortureMessagesFrameFromOneStream() throws {
        // Every valid message that declares Content-Length, back to back.
        var expected: [[UInt8]] = []
        for (entry, bytes) in zip(Fixtures.index, Self.corpus) where entry.valid {
            guard let m = try? SIPMessage(parsing: bytes), m.contentLength != nil else { continue }
            expected.append(Array(bytes[..<m.endOffset]))
        }
        #expect(expected.count >= 20)
        let stream = expected.flatMap { $0 }
        var rng = SplitMix64(seed: 7)
        var framer = SIPStreamFramer()
        var got: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + Int.random(in: 1...700, using: &rng))
            try framer.append(Array(stream[offset..<end]))
            while let message = try framer.nextMessage() { got.append(message) }
            offset = end
        }
        #expect(got == expected)
    }
}
