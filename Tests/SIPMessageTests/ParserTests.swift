// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import SIPMessage

@Suite("SIP message parser")
struct ParserTests {
    @Test func minimalRequest() throws {
        try withParsed(request(["User-Agent: friendly-scanner"])) { v in
            #expect(v.message.method == .options)
            #expect(v.method == "OPTIONS")
            #expect(v.requestURI == "sip:bob@example.com")
            #expect(v.statusCode == nil)
            #expect(v.callID == "a84b4c76e66710@pc33.example.com")
            #expect(v.cseq.number == 314_159 && v.cseq.method == "OPTIONS")
            #expect(v.topViaSentBy == "198.18.0.1:5060")
            #expect(v.topViaHost == "198.18.0.1")
            #expect(v.message.topVia.port == 5060)
            #expect(v.topViaBranch == "z9hG4bK776asdhds")
            #expect(v.fromUser == "alice" && v.fromTag == "1928301774" && v.fromDisplayName == "Alice")
            #expect(v.toUser == "bob" && v.toTag == nil)
            #expect(v.userAgent == "friendly-scanner")
            #expect(v.message.maxForwards == 70)
            #expect(v.message.contentLength == 0)
            #expect(!v.message.hasCredentials)
            #expect(v.message.endOffset == v.bytes.count)
        }
    }

    @Test func response() throws {
        let bytes = sip([
            "SIP/2.0 401 Unauthorized",
            "Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKnashds7;received=198.18.0.1",
            "To: <sip:100@example.com>;tag=as5f3e",
            "From: <sip:100@example.com>;tag=a73kszlfl",
            "Call-ID: 1j9FpLxk3uxtm8tn@198.18.0.1",
            "CSeq: 1 REGISTER",
            "WWW-Authenticate: Digest realm=\"asterisk\", nonce=\"6a8f2d3c\", algorithm=MD5",
            "Content-Length: 0",
        ])
        try withParsed(bytes) { v in
            #expect(v.statusCode == 401)
            #expect(v.reasonPhrase == "Unauthorized")
            #expect(v.method == nil && v.requestURI == nil)
            #expect(v.cseq.method == "REGISTER")
            #expect(v.toTag == "as5f3e")
            #expect(v.values(of: .wwwAuthenticate).count == 1)
        }
    }

    @Test func digestCredentials() throws {
        let bytes = request(
            [
                "Authorization: Digest username=\"al\\\"ice\", realm=\"asterisk\", nonce=\"6a8f\",\r\n uri=\"sip:198.18.0.2\", response=\"0123456789abcdef\", algorithm=MD5, nc=00000001, qop=auth"
            ], method: "REGISTER")
        try withParsed(bytes) { v in
            #expect(v.message.credentials?.header == .authorization)
            #expect(v.authorizationScheme == "Digest")
            #expect(v.authorizationUsername == "al\"ice")
        }
        let proxy = request(["Proxy-Authorization: Digest username=bob, realm=x"], method: "INVITE")
        try withParsed(proxy) { v in
            #expect(v.message.credentials?.header == .proxyAuthorization)
            #expect(v.authorizationUsername == "bob")
        }
        try withParsed(request(["Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="])) { v in
            #expect(v.authorizationScheme == "Basic" && v.authorizationUsername == nil)
        }
        #expect(parseError(request(["Authorization: Digest"])) == .badHeaderValue(.authorization))
        #expect(parseError(request(["Authorization: Digest username=\"x"])) == .unterminatedQuote(.authorization))
        #expect(parseError(request(["Proxy-Authorization: Digest a=b,,c=d"])) == .badHeaderValue(.proxyAuthorization))
    }

    @Test func compactFormsMapToFullNames() throws {
        let table: [(String, SIPHeaderName)] = [
            ("a", .acceptContact), ("b", .referredBy), ("c", .contentType), ("d", .requestDisposition),
            ("e", .contentEncoding), ("f", .from), ("i", .callID), ("j", .rejectContact), ("k", .supported),
            ("l", .contentLength), ("m", .contact), ("n", .identityInfo), ("o", .event), ("r", .referTo),
            ("s", .subject), ("t", .to), ("u", .allowEvents), ("v", .via), ("x", .sessionExpires), ("y", .identity),
        ]
        for (letter, name) in table {
            #expect(SIPHeaderName(letter) == name)
            #expect(SIPHeaderName(letter.uppercased()) == name)
            #expect(name.compactForm.map(String.init) == letter)
            #expect(SIPHeaderName(name.canonicalName) == name)
            #expect(SIPHeaderName(name.canonicalName.uppercased()) == name)
        }
        #expect(SIPHeaderName("g") == .other)
        #expect(SIPHeaderName("Call\rID") == .other)
        let bytes = sip(
            [
                "INVITE sip:bob@example.com SIP/2.0",
                "v: SIP/2.0/TCP 198.18.0.1;branch=z9hG4bKcompact",
                "f: <sip:alice@example.com>;tag=1",
                "t: sip:bob@example.com",
                "i: compact@198.18.0.1",
                "CSeq: 2 INVITE",
                "m: <sip:alice@198.18.0.1>",
                "c: application/sdp",
                "k: 100rel",
                "l: 4",
            ], body: "v=0\n")
        try withParsed(bytes) { v in
            #expect(v.callID == "compact@198.18.0.1")
            #expect(v.topViaTransport == "TCP")
            #expect(v.fromUser == "alice" && v.toUser == "bob")
            #expect(v.contactURI == "sip:alice@198.18.0.1")
            #expect(v.message.contentLength == 4)
            #expect(v.values(of: .supported) == ["100rel"])
            #expect(v.values(named: "Content-Type") == ["application/sdp"])
            #expect(Array(v.body) == Array("v=0\n".utf8))
        }
    }

    @Test func folding() throws {
        let bytes = sip([
            "REGISTER sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP",
            "   198.18.0.1",
            "\t;branch=z9hG4bKfold",
            "To: sip:u@example.com",
            "From: sip:u@example.com",
            "  ;tag=x",
            "Call-ID: fold@x",
            "CSeq: 7",
            " REGISTER",
            "Subject: one",
            "  two   ",
            "\tthree",
            "Content-Length:",
            " 0",
        ])
        try withParsed(bytes) { v in
            #expect(v.topViaHost == "198.18.0.1")
            #expect(v.topViaBranch == "z9hG4bKfold")
            #expect(v.fromTag == "x")
            #expect(v.cseq.number == 7 && v.cseq.method == "REGISTER")
            #expect(v.values(of: .subject) == ["one two three"])
            #expect(v.message.contentLength == 0)
        }
        // A line that starts with white space right after the start line continues nothing.
        #expect(parseError(Array("OPTIONS sip:a@b SIP/2.0\r\n Via: x\r\n\r\n".utf8)) == .badHeaderLine)
    }

    @Test func multipleVias() throws {
        let bytes = sip([
            "SIP/2.0 200 OK",
            "Via: SIP/2.0/UDP 198.18.0.1:5062;branch=z9hG4bKtop , SIP/2.0/TCP [2001:2::1]:5060;branch=z9hG4bK2",
            "v: SIP/2.0/TLS proxy.example.com;received=2001:2::7;rport=1;branch=z9hG4bK3",
            "To: <sip:a@b>;tag=1",
            "From: <sip:a@b>;tag=2",
            "Call-ID: v",
            "CSeq: 1 INVITE",
            "Content-Length: 0",
        ])
        try withParsed(bytes) { v in
            #expect(v.message.viaCount == 3)
            #expect(v.topViaSentBy == "198.18.0.1:5062")
            #expect(v.message.topVia.port == 5062)
            #expect(v.topViaBranch == "z9hG4bKtop")
            #expect(v.values(of: .via).count == 2)
        }
        for bad in [
            "Via: SIP/2.0/UDP 198.18.0.1,", "Via: SIP/2.0/UDP 198.18.0.1;;branch=x", "Via: SIP/2.0/UDP 198.18.0.1;branch=",
            "Via: SIP/2.0/UDP", "Via: SIP/2.0 198.18.0.1", "Via: SIP/2.0/UDP 198.18.0.1:70000", "Via: SIP/2.0/UDP [::1",
            "Via: SIP/2.0/UDP 198.18.0.1 extra",
        ] {
            let bytes = sip([
                "OPTIONS sip:a@b SIP/2.0", bad, "To: <sip:a@b>", "From: <sip:a@b>;tag=2", "Call-ID: v", "CSeq: 1 OPTIONS",
            ])
            let error = parseError(bytes)
            #expect(error == .badHeaderValue(.via) || error == .valueOutOfRange(.via), "\(bad): \(String(describing: error))")
        }
    }

    @Test func quotedStrings() throws {
        try withParsed(request(["Contact: \"a \\\"b\\\" \\\\ c, d\" <sip:x@y>;q=0.5, <sip:z@w>"])) { v in
            #expect(v.contactURI == "sip:x@y")
            #expect(v.message.contact.map { v.unquotedString($0.displayName ?? .empty) } == "a \"b\" \\ c, d")
        }
        #expect(parseError(request(["Contact: \"open <sip:x@y>"])) == .unterminatedQuote(.contact))
        #expect(parseError(request(["Contact: \"ends with backslash\\"])) == .unterminatedQuote(.contact))
        #expect(parseError(request(["Contact: \"raw \u{1}\" <sip:x@y>"])) == .badHeaderValue(.contact))
        // Unknown headers are framed, not parsed: an odd quote there is fine.
        #expect(parseError(request(["X-Odd: \"unbalanced"])) == nil)
    }

    @Test func addresses() throws {
        #expect(parseError(request(["Contact: *"], method: "REGISTER")) == nil)
        try withParsed(request(["Contact: *"], method: "REGISTER")) { v in
            #expect(v.message.contactIsWildcard && v.contactURI == nil)
        }
        // addr-spec form may not carry ?headers; name-addr may.
        #expect(parseError(request(["Contact: sip:a@b?x=y"])) == .badHeaderValue(.contact))
        #expect(parseError(request(["Contact: <sip:a@b?x=y>"])) == nil)
        #expect(parseError(request(["Contact: < sip:a@b>"])) == .badHeaderValue(.contact))
        #expect(parseError(request(["Contact: <sip:a@b"])) == .badHeaderValue(.contact))
        #expect(parseError(request(["Contact: <sip:a%4@b>"])) == .invalidEscape(.contact))
        #expect(parseError(request(["Contact: <sip:a@b>;;x"])) == .badHeaderValue(.contact))
        #expect(parseError(request(["Contact: <sip:a@b>, "])) == .badHeaderValue(.contact))
        #expect(parseError(request(["Contact: Bell, Alexander <sip:a@b>"])) == .badHeaderValue(.contact))
        #expect(parseError(request(["Contact: <>"])) == .badHeaderValue(.contact))
        // Two values where one is required.
        let twoTo = sip([
            "OPTIONS sip:a@b SIP/2.0", "Via: SIP/2.0/UDP h", "To: <sip:a@b>, <sip:c@d>", "From: <sip:a@b>;tag=2",
            "Call-ID: v", "CSeq: 1 OPTIONS",
        ])
        #expect(parseError(twoTo) == .badHeaderValue(.to))
        try withParsed(request(["Contact: tel:+1-201-555-0123;ext=1"])) { v in
            #expect(v.message.contact.flatMap { SIPURIParts($0.uri, in: v.bytes)?.user }.map { v.string($0) } == "+1-201-555-0123")
        }
    }

    @Test func startLine() {
        func req(_ line: String) -> SIPParseError? {
            parseError(sip([line, "Via: SIP/2.0/UDP h", "To: <sip:a@b>", "From: <sip:a@b>;tag=2", "Call-ID: v", "CSeq: 1 OPTIONS"]))
        }
        func resp(_ line: String) -> SIPParseError? {
            parseError(sip([line, "Via: SIP/2.0/UDP h", "To: <sip:a@b>", "From: <sip:a@b>;tag=2", "Call-ID: v", "CSeq: 1 OPTIONS"]))
        }
        #expect(req("OPTIONS sip:a@b SIP/2.0") == nil)
        #expect(req("OPTIONS sip:a@b sip/2.0") == nil)
        #expect(req("OPTIONS sip:a@b SIP/3.0") == .badVersion)
        #expect(req("OPTIONS sip:a@b HTTP/1.1") == .badStartLine)
        #expect(req("OPTIONS  sip:a@b SIP/2.0") == .badStartLine)
        #expect(req("OPTIONS sip:a@b SIP/2.0 ") == .badStartLine)
        #expect(req("OPTIONS sip:a@b") == .badStartLine)
        #expect(req("OPT(IONS sip:a@b SIP/2.0") == .badMethod)
        #expect(req("OPTIONS <sip:a@b> SIP/2.0") == .badRequestURI)
        #expect(req("OPTIONS sip:a@b?Route=x SIP/2.0") == .headersInRequestURI)
        #expect(req("OPTIONS sip:a%zz@b SIP/2.0") == .invalidEscape(nil))
        #expect(req("OPTIONS sip:a%2 SIP/2.0") == .invalidEscape(nil))
        #expect(req("OPTIONS sip: SIP/2.0") == .badRequestURI)
        #expect(req("OPTIONS sip:a\u{7f}@b SIP/2.0") == .badRequestURI)
        #expect(resp("SIP/2.0 200 OK") == nil)
        #expect(resp("SIP/2.0 200") == nil)
        #expect(resp("SIP/2.0 099 Low") == .bigStatusCode)
        #expect(resp("SIP/2.0 700 High") == .bigStatusCode)
        #expect(resp("SIP/2.0 4294967301 x") == .bigStatusCode)
        #expect(resp("SIP/2.0 20 OK") == .badStatusCode)
        #expect(resp("SIP/2.0 2x0 OK") == .badStatusCode)
        #expect(resp("SIP/2.0 200 O\u{1}K") == .badReasonPhrase)
        #expect(resp("SIP/1.0 200 OK") == .badVersion)
        #expect(resp("SIP/2.0") == .badStartLine)
        #expect(parseError([]) == .empty)
        #expect(parseError(Array("\r\n\r\n".utf8)) == .empty)
        #expect(parseError(Array("OPTIONS sip:a@b SIP/2.0".utf8)) == .badStartLine)
    }

    @Test func scalars() {
        #expect(parseError(request(["Expires: 4294967295"])) == nil)
        #expect(parseError(request(["Expires: 4294967296"])) == .valueOutOfRange(.expires))
        #expect(parseError(request(["Expires: 1e3"])) == .badHeaderValue(.expires))
        #expect(parseError(request(["Max-Forwards: 256"])) == .duplicateHeader(.maxForwards))
        #expect(parseError(request(["Retry-After: 18446744073709551616 (x)"])) == .valueOutOfRange(.retryAfter))
        #expect(parseError(request(["Retry-After: 120 (lunch);duration=60"])) == nil)
        #expect(parseError(request(["Warning: 370 devnull \"Choose a bigger pipe\", 399 a.example \"x\""])) == nil)
        #expect(parseError(request(["Warning: 3700 devnull \"x\""])) == .valueOutOfRange(.warning))
        #expect(parseError(request(["Date: Sat, 13 Nov 2010 23:29:00 GMT"])) == nil)
        #expect(parseError(request(["Date: Sat, 13 Nov 2010 23:29:00 PST"])) == .badHeaderValue(.date))
        #expect(parseError(request(["Content-Type: text/plain;charset=\"utf-8\""], body: "hi")) == nil)
        #expect(parseError(request(["Content-Type: text"], body: "hi")) == .badHeaderValue(.contentType))
        let big = sip([
            "OPTIONS sip:a@b SIP/2.0", "Via: SIP/2.0/UDP h", "Max-Forwards: 256", "To: <sip:a@b>", "From: <sip:a@b>;tag=2",
            "Call-ID: v", "CSeq: 4294967295 OPTIONS",
        ])
        #expect(parseError(big) == .valueOutOfRange(.maxForwards))
        func cseq(_ value: String) -> SIPParseError? {
            parseError(sip(["OPTIONS sip:a@b SIP/2.0", "Via: SIP/2.0/UDP h", "To: <sip:a@b>", "From: <sip:a@b>", "Call-ID: v", "CSeq: \(value)"]))
        }
        #expect(cseq("4294967295 OPTIONS") == nil)
        #expect(cseq("0004294967295 OPTIONS") == nil)
        #expect(cseq("4294967296 OPTIONS") == .valueOutOfRange(.cseq))
        #expect(cseq("99999999999999999999999999999 OPTIONS") == .valueOutOfRange(.cseq))
        #expect(cseq("OPTIONS") == .badHeaderValue(.cseq))
        #expect(cseq("1OPTIONS") == .badHeaderValue(.cseq))
        #expect(cseq("1 OPTIONS x") == .badHeaderValue(.cseq))
        #expect(cseq("1 INVITE") == .cseqMethodMismatch)
        #expect(cseq("1 options") == .cseqMethodMismatch)
    }

    @Test func callID() {
        func call(_ value: String) -> SIPParseError? {
            parseError(
                sip(["OPTIONS sip:a@b SIP/2.0", "Via: SIP/2.0/UDP h", "To: <sip:a@b>", "From: <sip:a@b>", "Call-ID: \(value)", "CSeq: 1 OPTIONS"]))
        }
        #expect(call("abc@def") == nil)
        #expect(call("a<b>:c\\\"/[]?{}") == nil)
        #expect(call("a@b@c") == .badHeaderValue(.callID))
        #expect(call("@b") == .badHeaderValue(.callID))
        #expect(call("a b") == .badHeaderValue(.callID))
        #expect(call("") == .badHeaderValue(.callID))
    }

    @Test func bodyAndContentLength() throws {
        #expect(parseError(request(body: "hello")) == nil)
        var short = request(body: "hello")
        short.removeLast()
        #expect(parseError(short) == .contentLengthMismatch(declared: 5, available: 4))
        #expect(parseError(request(["Content-Length: 1"])) == .duplicateHeader(.contentLength))
        let noCL = sip(
            ["OPTIONS sip:a@b SIP/2.0", "Via: SIP/2.0/UDP h", "To: <sip:a@b>", "From: <sip:a@b>", "Call-ID: v", "CSeq: 1 OPTIONS"], body: "tail")
        try withParsed(noCL) { v in #expect(Array(v.body) == Array("tail".utf8)) }
        #expect(parseError(noCL, options: .stream) == .missingRequiredHeader(.contentLength))
        // Bare-LF line ends are accepted; a lone CR inside a line is not.
        #expect(
            parseError(Array("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nTo: <sip:a@b>\nFrom: <sip:a@b>\nCall-ID: v\nCSeq: 1 OPTIONS\n\n".utf8))
                == nil)
        #expect(parseError(request(["X-A: a\rb"])) == .badHeaderLine)
        #expect(parseError(request(["Bad Header: x"])) == .badHeaderLine)
        #expect(parseError(request([": x"])) == .badHeaderLine)
    }

    @Test func limits() {
        let many = request((0..<250).map { "X-H\($0): v" })
        #expect(parseError(many) == .tooManyHeaders(limit: 256))
        #expect(parseError(many, options: SIPParseOptions(maxHeaderCount: 300)) == nil)
        let long = request(["X-Long: " + String(repeating: "a", count: 20_000)])
        #expect(parseError(long) == .headerTooLong(limit: 16_384))
        let huge = request(["X-Long: " + String(repeating: "a", count: 70_000)])
        #expect(parseError(huge) == .messageTooLarge(limit: 65_535))
        #expect(parseError(request(), options: SIPParseOptions(maxMessageSize: 100)) == .messageTooLarge(limit: 100))
    }

    @Test func missingHeaders() {
        let lines = ["Via: SIP/2.0/UDP h", "To: <sip:a@b>", "From: <sip:a@b>", "Call-ID: v", "CSeq: 1 OPTIONS"]
        let names: [SIPHeaderName] = [.via, .to, .from, .callID, .cseq]
        for (index, name) in names.enumerated() {
            var kept = lines
            kept.remove(at: index)
            #expect(parseError(sip(["OPTIONS sip:a@b SIP/2.0"] + kept)) == .missingRequiredHeader(name))
        }
    }

    @Test func uriParts() throws {
        let bytes = Array("sips:alice:secret@[2001:2::5]:5061;transport=tcp;lr?subject=x".utf8)
        try bytes.withUnsafeBytes { raw in
            let parts = try #require(SIPURIParts(SIPRange(0, raw.count), in: raw))
            let v = SIPMessageView(message: try SIPMessage(parsing: request()), bytes: raw)
            #expect(v.string(parts.scheme) == "sips")
            #expect(parts.user.map { v.string($0) } == "alice")
            #expect(v.string(parts.host) == "[2001:2::5]")
            #expect(parts.port == 5061)
            #expect(v.string(parts.parameters) == "transport=tcp;lr")
            #expect(v.string(parts.headers) == "subject=x")
        }
    }

    @Test func methodsAreRecognised() {
        for method in SIPMethod.allCases {
            guard let token = method.token else { continue }
            let parsed = try? SIPMessage(parsing: request(method: token))
            #expect(parsed?.method == method)
        }
        #expect((try? SIPMessage(parsing: request(method: "INVITEX")))?.method == .extension)
        #expect((try? SIPMessage(parsing: request(method: "invite")))?.method == .extension)
    }

    @Test func errorsDescribeThemselves() {
        let errors: [SIPParseError] = [
            .empty, .badStartLine, .badVersion, .bigStatusCode, .missingRequiredHeader(.callID),
            .duplicateHeader(.cseq), .badHeaderValue(.via), .unterminatedQuote(.to), .invalidEscape(nil),
            .contentLengthMismatch(declared: 9, available: 1), .valueOutOfRange(.maxForwards),
        ]
        #expect(Set(errors.map(\.description)).count == errors.count)
        #expect(SIPParseError.missingRequiredHeader(.callID).description.contains("Call-ID"))
    }
}

@Suite("Character classes")
struct CharClassTests {
    static func mask(_ chars: String) -> (UInt64, UInt64) {
        var lo: UInt64 = 0
        var hi: UInt64 = 0
        for c in chars.utf8 {
            if c < 64 { lo |= 1 << UInt64(c) } else { hi |= 1 << UInt64(c - 64) }
        }
        return (lo, hi)
    }

    static let alphanum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    @Test func masksMatchTheirDefinitions() {
        func same(_ a: (UInt64, UInt64), _ b: (UInt64, UInt64)) -> Bool { a.0 == b.0 && a.1 == b.1 }
        #expect(same(CharClass.token, Self.mask(Self.alphanum + "-.!%*_+`'~")))
        #expect(same(CharClass.word, Self.mask(Self.alphanum + "-.!%*_+`'~()<>:\\\"/[]?{}")))
        #expect(same(CharClass.uri, Self.mask(Self.alphanum + "-_.!~*'()" + ";/?:@&=+$," + "[]#")))
        #expect(same(CharClass.paramValue, Self.mask(Self.alphanum + "-.!%*_+`'~" + ":[]")))
        #expect(same(CharClass.scheme, Self.mask(Self.alphanum + "+-.")))
        for c in UInt8(128)...UInt8(255) {
            #expect(!CharClass.isToken(c) && !CharClass.isAlpha(c) && !CharClass.isDigit(c) && !CharClass.isHex(c))
        }
    }
}
