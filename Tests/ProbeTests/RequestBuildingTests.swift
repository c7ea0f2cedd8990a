// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import SIPMessage
import TestSupport
import Testing

@testable import Probe

@Suite struct RequestBuildingTests {
    /// The first request of each method, as sent.
    func firstRequest(_ method: ProbeMethod, target: ProbeTarget = loopbackTarget, domain: String? = nil) throws -> (ParsedRequest, [UInt8]) {
        var configuration = ProbeConfiguration(existingUser: "100", version: "9.9.9", methods: [method], repetitions: 1)
        configuration.domain = domain
        var probe = try EnumerationProbe(target: target, local: localEndpoint, configuration: configuration, random: SplitMix64(seed: 7))
        let out = probe.start(at: .zero)
        try #require(out.count == 1)
        return (try ParsedRequest(out[0]), out[0])
    }

    @Test(arguments: ProbeMethod.allCases)
    func commonHeaders(method: ProbeMethod) throws {
        let (r, bytes) = try firstRequest(method)
        #expect(r.method == method.rawValue)
        #expect(r.cseqMethod == method.rawValue)
        #expect(r.cseqNumber == 1)
        #expect(r.maxForwards == 70)
        #expect(r.contentLength == 0)
        #expect(r.bodyCount == 0)
        #expect(r.userAgent == "sipwarden-probe/9.9.9")
        #expect(!r.hasCredentials)
        #expect(r.viaCount == 1)
        #expect(r.viaSentBy == "127.0.0.1:40000")
        #expect(r.rport)
        let branch = try #require(r.branch)
        #expect(branch.hasPrefix("z9hG4bK") && branch.count == 27)
        #expect(r.fromUser == "100" && r.toUser == "100")
        #expect(r.fromURI == "sip:100@127.0.0.1" && r.toURI == "sip:100@127.0.0.1")
        #expect((r.fromTag ?? "").count == 10)
        #expect(r.toTag == nil)
        #expect(r.callID.count == 24)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasSuffix("Content-Length: 0\r\n\r\n"))
        #expect(!text.contains("Authorization"))
        // Every line ends in CRLF, no bare LF.
        #expect(!text.replacingCRLF.contains("\n"))
    }

    @Test func registerIsHarmless() throws {
        let (r, _) = try firstRequest(.register)
        #expect(r.requestURI == "sip:127.0.0.1:5070")
        #expect(r.expires == ["0"])
        #expect(r.contactURI == "sip:100@127.0.0.1:40000")
    }

    @Test func inviteHasContactAndNoBody() throws {
        let (r, bytes) = try firstRequest(.invite)
        #expect(r.requestURI == "sip:100@127.0.0.1:5070")
        #expect(r.contactURI == "sip:100@127.0.0.1:40000")
        #expect(!r.headerNames.contains(.contentType))
        #expect(!String(decoding: bytes, as: UTF8.self).contains("application/sdp"))
    }

    @Test func optionsAcceptsSDP() throws {
        let (r, bytes) = try firstRequest(.options)
        #expect(r.requestURI == "sip:100@127.0.0.1:5070")
        #expect(r.headerNames.contains(.accept))
        #expect(String(decoding: bytes, as: UTF8.self).contains("Accept: application/sdp\r\n"))
        #expect(r.contactURI == nil)
    }

    @Test func ipv6TargetAndDomain() throws {
        let target = try ProbeTarget(parsing: "[::1]:5060", iOwnThisHost: false)
        let (r, _) = try firstRequest(.invite, target: target)
        #expect(r.requestURI == "sip:100@[::1]")
        let (d, _) = try firstRequest(.register, domain: "pbx.example")
        #expect(d.requestURI == "sip:pbx.example")
        #expect(d.toURI == "sip:100@pbx.example")
    }

    @Test func freshIdentifiersAndUnknownUsers() throws {
        var probe = try makeProbe(methods: [.options], repetitions: 3)
        #expect(probe.unknownUsers.count == 3)
        #expect(Set(probe.unknownUsers).count == 3)
        for u in probe.unknownUsers {
            #expect(u.count == 12 && u.allSatisfy(\.isNumber) && u.first != "0" && u != "100")
        }
        // Answer everything with 200 so the probe goes through all six requests.
        let sent = try simulate(&probe) { request, bytes in
            [(.milliseconds(1), try response(to: bytes, status: 200, reason: "OK"))]
        }
        let requests = try sent.map { try ParsedRequest($0.bytes) }
        #expect(requests.count == 6)
        #expect(Set(requests.compactMap(\.branch)).count == 6)
        #expect(Set(requests.map(\.callID)).count == 6)
        #expect(Set(requests.compactMap(\.fromTag)).count == 6)
        // Alternating order: existing first in even repetitions, unknown first in odd ones.
        let users = requests.compactMap(\.toUser)
        #expect(users[0] == "100" && users[1] == probe.unknownUsers[0])
        #expect(users[2] == probe.unknownUsers[1] && users[3] == "100")
        #expect(users[4] == "100" && users[5] == probe.unknownUsers[2])
    }

    @Test func configurationValidation() {
        let bad: [ProbeConfiguration] = [
            ProbeConfiguration(existingUser: "", version: "1"),
            ProbeConfiguration(existingUser: "10 0", version: "1"),
            ProbeConfiguration(existingUser: "100\r\nX: y", version: "1"),
            ProbeConfiguration(existingUser: "<100>", version: "1"),
            ProbeConfiguration(existingUser: String(repeating: "1", count: 65), version: "1"),
            ProbeConfiguration(existingUser: "%4", version: "1"),
            ProbeConfiguration(existingUser: "100", version: "1 2"),
            ProbeConfiguration(existingUser: "100", version: "1", domain: "pbx example"),
            ProbeConfiguration(existingUser: "100", version: "1", domain: "a..b"),
            ProbeConfiguration(existingUser: "100", version: "1", methods: []),
            ProbeConfiguration(existingUser: "100", version: "1", methods: [.invite, .invite]),
            ProbeConfiguration(existingUser: "100", version: "1", repetitions: 0),
            ProbeConfiguration(existingUser: "100", version: "1", repetitions: 6),
            ProbeConfiguration(existingUser: "100", version: "1", requestTimeout: .seconds(60)),
        ]
        for c in bad {
            #expect(throws: ProbeConfigurationError.self, "\(c.existingUser) \(c.version)") { try c.validate() }
        }
        let good = [
            ProbeConfiguration(existingUser: "100", version: "0.1.0"),
            ProbeConfiguration(existingUser: "+4930123%40x", version: "0.1.0", domain: "pbx.example.com"),
            ProbeConfiguration(existingUser: "alice.smith", version: "0.1.0", domain: "::1"),
        ]
        for c in good { #expect(throws: Never.self) { try c.validate() } }
    }

    @Test func safeCopiesFromResponses() {
        #expect(ProbeSyntax.isSafeURI("sip:100@127.0.0.1:5070;transport=udp"))
        #expect(ProbeSyntax.isSafeURI("SIPS:a@b"))
        #expect(!ProbeSyntax.isSafeURI("tel:+123"))
        #expect(!ProbeSyntax.isSafeURI("sip:a@b c"))
        #expect(!ProbeSyntax.isSafeURI("sip:a@b\r\nX: y"))
        #expect(!ProbeSyntax.isSafeURI("sip:a@b>"))
        #expect(ProbeSyntax.isSafeRoute("<sip:127.0.0.1;lr>"))
        #expect(ProbeSyntax.isSafeRoute("<sip:p1.example;lr>;foo=bar"))
        #expect(!ProbeSyntax.isSafeRoute("sip:p1.example;lr"))
        #expect(!ProbeSyntax.isSafeRoute("<sip:p1.example;lr>\r\nX: y"))
        #expect(ProbeSyntax.isToken("as7f-9.x"))
        #expect(!ProbeSyntax.isToken("a b"))
        #expect(!ProbeSyntax.isToken(""))
    }
}

extension String {
    /// The text with every CRLF pair removed (a CRLF is one Character in Swift).
    var replacingCRLF: String { String(filter { $0 != "\r\n" }) }
}
