// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import SIPMessage

/// Every RFC 4475 message is classified as index.tsv says, and every rejection has the
/// reason docs/RFC4475.md documents.
@Suite("RFC 4475 torture messages")
struct TortureTests {
    /// Our documented reason for each message index.tsv marks invalid.
    static func expectedReason(_ file: String, _ error: SIPParseError) -> Bool {
        switch (file, error) {
        case ("badinv01.dat", .badHeaderValue(.via)): true
        case ("clerr.dat", .contentLengthMismatch(declared: 9999, available: _)): true
        case ("ncl.dat", .badContentLength): true
        case ("scalar02.dat", .valueOutOfRange(.cseq)): true
        case ("scalarlg.dat", .valueOutOfRange(.cseq)): true
        case ("quotbal.dat", .unterminatedQuote(.to)): true
        case ("ltgtruri.dat", .badRequestURI): true
        case ("lwsruri.dat", .badStartLine): true
        case ("lwsstart.dat", .badStartLine): true
        case ("trws.dat", .badStartLine): true
        case ("escruri.dat", .headersInRequestURI): true
        case ("baddate.dat", .badHeaderValue(.date)): true
        case ("regbadct.dat", .badHeaderValue(.contact)): true
        case ("badaspec.dat", .badHeaderValue(.to)): true
        case ("baddn.dat", .badHeaderValue(.from)): true
        case ("badvers.dat", .badVersion): true
        case ("mismatch01.dat", .cseqMethodMismatch): true
        case ("mismatch02.dat", .cseqMethodMismatch): true
        case ("bigcode.dat", .bigStatusCode): true
        case ("insuf.dat", .missingRequiredHeader(.from)): true
        case ("multi01.dat", .duplicateHeader(.cseq)): true
        case ("mcl01.dat", .duplicateHeader(.contentLength)): true
        default: false
        }
    }

    @Test func indexHasAllMessages() {
        #expect(Fixtures.index.count == 49)
        #expect(Fixtures.index.filter(\.valid).count == 27)
        for entry in Fixtures.index {
            #expect(!Fixtures.bytes(entry.file).isEmpty, "missing fixture \(entry.file)")
        }
    }

    @Test(arguments: Fixtures.index)
    func classifiedAsIndexSays(_ entry: Fixtures.Entry) {
        let bytes = Fixtures.bytes(entry.file)
        let error = parseError(bytes)
        if entry.valid {
            #expect(error == nil, "\(entry.file) (\(entry.section)) rejected: \(error.map(\.description) ?? "")")
        } else {
            #expect(error != nil, "\(entry.file) (\(entry.section)) accepted")
            if let error {
                #expect(Self.expectedReason(entry.file, error), "\(entry.file): unexpected reason \(error)")
            }
        }
    }

    @Test func baddnWithFinalEmptyLineIsRejectedForTheDisplayName() {
        let bytes = Fixtures.bytes("extra/baddn.rtckit-with-final-crlf.dat")
        #expect(parseError(bytes) == .badHeaderValue(.from))
    }

    @Test func strayArchiveFileIsRejected() {
        #expect(parseError(Fixtures.bytes("extra/test.dat")) != nil)
    }

    @Test func wsinvFields() throws {
        try withParsed(Fixtures.bytes("wsinv.dat")) { v in
            #expect(v.message.method == .invite)
            #expect(v.requestURI == "sip:vivekg@chair-dnrc.example.com;unknownparam")
            #expect(v.callID == "wsinv.ndaksdj@192.0.2.1")
            #expect(v.cseq.number == 9 && v.cseq.method == "INVITE")
            #expect(v.message.maxForwards == 68)
            #expect(v.message.contentLength == 150)
            #expect(v.body.count == 150)
            #expect(v.message.viaCount == 3)
            #expect(v.topViaSentBy == "192.0.2.2")
            #expect(v.topViaTransport == "UDP")
            #expect(v.topViaBranch == "390skdjuw")
            #expect(v.toTag == "1918181833n")
            #expect(v.fromTag == "98asjd8")
            #expect(v.fromDisplayName == "J Rosenberg \\\"")
            #expect(v.fromUser == "jdrosen")
            #expect(v.toUser == "vivekg")
            #expect(v.contactURI == "sip:jdrosen@example.com")
            #expect(v.values(named: "NewFangledHeader") == ["newfangled value continued newfangled value"])
            #expect(v.values(of: .subject) == [""])
        }
    }

    @Test func oddButValidMessages() throws {
        try withParsed(Fixtures.bytes("intmeth.dat")) { v in
            #expect(v.message.method == .extension)
            #expect(v.method == "!interesting-Method0123456789_*+`.%indeed'~")
            #expect(v.message.maxForwards == 255)
            #expect(v.fromTag == "_token~1'+`*%!-.")
            #expect(v.fromDisplayName == "token1~` token2'+_ token3*%!.-")
            #expect(v.toDisplayNameBytes == Array("BEL:\u{7} NUL:\u{0} DEL:\u{7f}".utf8))
        }
        try withParsed(Fixtures.bytes("esc01.dat")) { v in
            #expect(v.toUser == "user")
            #expect(v.fromUser == "I have spaces")
            #expect(v.requestURIParts.map { v.percentDecodedString($0.user ?? .empty) } == "sips:user@example.com")
        }
        try withParsed(Fixtures.bytes("escnull.dat")) { v in
            #expect(v.fromUser == "null-\u{0}-null")
            #expect(v.values(of: .contact).count == 2)
            #expect(v.message.contentLength == 0)
        }
        try withParsed(Fixtures.bytes("esc02.dat")) { v in
            #expect(v.message.method == .extension)
            #expect(v.method == "RE%47IST%45R")
            #expect(v.values(of: .contact).count == 2)
            #expect(v.values(named: "C%6Fntact") == ["<sip:alias2@host2.example.com>"])
        }
        try withParsed(Fixtures.bytes("semiuri.dat")) { v in
            let user = v.requestURIParts?.user.map { v.percentDecodedString($0) }
            #expect(user == "user;par=u@example.net")
            #expect(v.requestURIParts.map { v.string($0.host) } == "example.com")
        }
        try withParsed(Fixtures.bytes("dblreq.dat")) { v in
            #expect(v.message.method == .register)
            #expect(v.callID == "dblreq.0ha0isndaksdj99sdfafnl3lk233412")
            #expect(v.message.endOffset < v.bytes.count)
        }
        try withParsed(Fixtures.bytes("noreason.dat")) { v in
            #expect(v.statusCode == 100)
            #expect(v.reasonPhrase == "")
        }
        try withParsed(Fixtures.bytes("unreason.dat")) { v in
            #expect(v.statusCode == 200)
            #expect(v.reasonPhrase?.hasPrefix("= 2**3 * 5**2 ") == true)
            #expect(v.reasonPhrase?.unicodeScalars.contains { $0.value > 0x400 } == true)
        }
        try withParsed(Fixtures.bytes("longreq.dat")) { v in
            #expect(v.message.viaCount == 34)
            #expect(v.topViaSentBy == "sip33.example.com")
            #expect(v.message.topVia.branch == nil)
        }
        try withParsed(Fixtures.bytes("transports.dat")) { v in
            #expect(v.message.viaCount == 5)
            #expect(v.values(of: .via).last?.contains("TCP t5.example.com") == true)
        }
        try withParsed(Fixtures.bytes("mpart01.dat")) { v in
            #expect(v.body.count == 553)
            #expect(v.body.contains(0))
            #expect(v.userAgent == "SIPimp.org/0.2.5 (curses)")
        }
        try withParsed(Fixtures.bytes("regaut01.dat")) { v in
            #expect(v.message.hasCredentials)
            #expect(v.authorizationScheme == "NoOneKnowsThisScheme")
            #expect(v.authorizationUsername == nil)
        }
        try withParsed(Fixtures.bytes("badbranch.dat")) { v in
            #expect(v.topViaBranch == "z9hG4bK")
        }
        try withParsed(Fixtures.bytes("unkscm.dat")) { v in
            #expect(v.requestURI == "nobodyKnowsThisScheme:totallyopaquecontent")
            #expect(v.requestURIParts?.user == nil)
        }
        try withParsed(Fixtures.bytes("zeromf.dat")) { v in #expect(v.message.maxForwards == 0) }
        try withParsed(Fixtures.bytes("cparam01.dat")) { v in
            #expect(v.contactURI == "sip:+19725552222@gw1.example.net")
        }
        try withParsed(Fixtures.bytes("cparam02.dat")) { v in
            #expect(v.contactURI == "sip:+19725552222@gw1.example.net;unknownparam")
        }
        try withParsed(Fixtures.bytes("regescrt.dat")) { v in
            #expect(v.contactURI == "sip:user@example.com?Route=%3Csip:sip.example.com%3E")
        }
        try withParsed(Fixtures.bytes("inv2543.dat")) { v in
            #expect(v.message.maxForwards == nil)
            #expect(v.message.contentLength == nil)
            #expect(v.topViaBranch == nil)
            #expect(v.fromTag == nil)
            #expect(v.body.count == v.bytes.count - v.message.bodyRange.lowerBound)
        }
        try withParsed(Fixtures.bytes("bcast.dat")) { v in
            #expect(v.message.viaCount == 2)
            #expect(v.values(of: .via)[1].contains("255.255.255.255"))
        }
    }

    /// On a stream, clerr is incomplete (wait for more), ncl and mcl01 break framing and
    /// inv2543 has no Content-Length.
    @Test func streamFramingOfTortureMessages() throws {
        var framer = SIPStreamFramer()
        try framer.append(Fixtures.bytes("clerr.dat"))
        #expect(try framer.nextMessage() == nil)

        for (file, expected) in [
            ("ncl.dat", SIPFramingError.badContentLength),
            ("mcl01.dat", .conflictingContentLength),
            ("inv2543.dat", .missingContentLength),
        ] {
            var f = SIPStreamFramer()
            try f.append(Fixtures.bytes(file))
            #expect(throws: expected) { try f.nextMessage() }
        }
    }
}

extension SIPMessageView {
    /// The To display name, unquoted, as bytes (it contains NUL).
    var toDisplayNameBytes: [UInt8]? {
        message.to.displayName.map { Array(unquotedString($0).utf8) }
    }
}
