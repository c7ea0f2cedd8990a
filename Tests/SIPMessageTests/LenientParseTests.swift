// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import SIPMessage

/// Lenient mode: what a tolerant server still processes parses, with the first grammar
/// violation in `deviation`; what no server can use is still rejected. Cases from the RFC
/// 3261 §25.1 grammar.
@Suite("Lenient parsing")
struct LenientParseTests {
    static let lenient = SIPParseOptions(lenient: true)

    static func request(
        via: String = "SIP/2.0/UDP 198.18.0.20:5060;branch=z9hG4bK74bf9;rport",
        from: String = "<sip:1001@198.18.0.10>;tag=9fxced76sl",
        extra: [String] = [], cseq: String = "1 REGISTER", body: String = ""
    ) -> String {
        ([
            "REGISTER sip:198.18.0.10 SIP/2.0", "Via: \(via)", "From: \(from)", "To: <sip:1001@198.18.0.10>",
            "Call-ID: 3848276298220188511@198.18.0.20", "CSeq: \(cseq)",
        ] + extra + ["", body]).joined(separator: "\r\n")
    }

    static func parse(_ text: String, _ options: SIPParseOptions) throws(SIPParseError) -> (SIPMessage, [UInt8]) {
        let bytes = Array(text.utf8)
        return (try SIPMessage(parsing: bytes, options: options), bytes)
    }

    static func text(_ bytes: [UInt8], _ range: SIPRange?) -> String? {
        range.map { String(decoding: bytes[$0.lowerBound..<$0.upperBound], as: UTF8.self) }
    }

    @Test("a conforming message has no deviation")
    func conforming() throws {
        let (message, _) = try Self.parse(Self.request(), Self.lenient)
        #expect(message.deviation == nil)
    }

    @Test("sent-by host must be an IPv6reference in brackets; unbracketed, the branch is still found")
    func unbracketedIPv6Via() throws {
        let text = Self.request(via: "SIP/2.0/UDP 2001:2:0:0:0:0:0:20:5060;branch=z9hG4bKkd8376")
        #expect(throws: SIPParseError.badHeaderValue(.via)) { try Self.parse(text, .datagram) }
        let (message, bytes) = try Self.parse(text, Self.lenient)
        #expect(message.deviation == .badHeaderValue(.via))
        #expect(Self.text(bytes, message.topVia.branch) == "z9hG4bKkd8376")
        #expect(Self.text(bytes, message.topVia.transport) == "UDP")
    }

    @Test("display-name is tokens or a quoted-string; a backslash before the quote is neither, the URI and tag are still found")
    func escapedDisplayName() throws {
        for from in [#"\"arik\" <sip:816666@198.18.0.10>;tag=6433ef9"#, #""Bob "the builder"" <sip:bob@198.18.0.10>;tag=6433ef9"#] {
            let text = Self.request(from: from)
            #expect(throws: SIPParseError.badHeaderValue(.from)) { try Self.parse(text, .datagram) }
            let (message, bytes) = try Self.parse(text, Self.lenient)
            #expect(message.deviation == .badHeaderValue(.from))
            #expect(Self.text(bytes, message.from.tag) == "6433ef9")
            #expect(Self.text(bytes, message.from.uri)?.hasPrefix("sip:") == true)
        }
    }

    @Test("Content-Length = 1*DIGIT: otherwise the body is what the datagram holds")
    func badContentLength() throws {
        let text = Self.request(extra: ["Content-Length: bad"], body: "v=0\r\n")
        #expect(throws: SIPParseError.badContentLength) { try Self.parse(text, .datagram) }
        let (message, bytes) = try Self.parse(text, Self.lenient)
        #expect(message.deviation == .badContentLength)
        #expect(Self.text(bytes, message.bodyRange) == "v=0\r\n")
        let long = Self.request(extra: ["Content-Length: 500"], body: "v=0\r\n")
        #expect(try Self.parse(long, Self.lenient).0.deviation == .contentLengthMismatch(declared: 500, available: 5))
    }

    @Test("single-valued headers twice, a CSeq method unlike the request's, a missing final CRLF: tolerated, the first deviation kept")
    func otherDeviations() throws {
        let twice = Self.request(extra: ["To: <sip:other@198.18.0.10>"])
        let (message, bytes) = try Self.parse(twice, Self.lenient)
        #expect(message.deviation == .duplicateHeader(.to))
        #expect(Self.text(bytes, message.to.uri) == "sip:1001@198.18.0.10")
        #expect(try Self.parse(Self.request(cseq: "1 INVITE"), Self.lenient).0.deviation == .cseqMethodMismatch)
        let unterminated = String(Self.request().dropLast(2))
        #expect(try Self.parse(unterminated, Self.lenient).0.deviation == .unterminatedHeaderSection)
        let both = Self.request(via: "SIP/2.0/UDP fe80::1;branch=z9hG4bK1", cseq: "1 INVITE")
        #expect(try Self.parse(both, Self.lenient).0.deviation == .badHeaderValue(.via))
    }

    @Test("what no server can use is still rejected in lenient mode")
    func stillRejected() throws {
        #expect(throws: SIPParseError.badStartLine) { try Self.parse("hello\r\n\r\n", Self.lenient) }
        #expect(throws: SIPParseError.badVersion) {
            try Self.parse(Self.request().replacingOccurrences(of: " SIP/2.0\r\n", with: " SIP/3.0\r\n"), Self.lenient)
        }
        let noVia = Self.request().replacingOccurrences(of: "Via: SIP/2.0/UDP 198.18.0.20:5060;branch=z9hG4bK74bf9;rport\r\n", with: "")
        #expect(throws: SIPParseError.missingRequiredHeader(.via)) { try Self.parse(noVia, Self.lenient) }
        let noColon = Self.request(extra: ["this is not a header"])
        #expect(throws: SIPParseError.badHeaderLine) { try Self.parse(noColon, Self.lenient) }
        #expect(throws: SIPParseError.badHeaderValue(.cseq)) { try Self.parse(Self.request(cseq: "REGISTER"), Self.lenient) }
        #expect(throws: SIPParseError.messageTooLarge(limit: 100)) {
            try Self.parse(Self.request(), SIPParseOptions(maxMessageSize: 100, lenient: true))
        }
    }
}
