// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import Testing
import WardenCore

@testable import SIPCorrelation

@Suite("Transaction correlation")
struct TransactionTests {
    @Test("REGISTER → 401 → REGISTER with credentials → 200 is the normal handshake: no event")
    func digestHandshake() {
        var wire = Wire()
        var first = Request()
        wire.send(first.text, from: Net.phone, to: Net.pbx, at: 1.0)
        wire.send(
            first.response(401, "Unauthorized", extra: ["WWW-Authenticate: Digest realm=\"asterisk\", nonce=\"5e1b3c\""]),
            from: Net.pbx, to: Net.phone, at: 1.01)
        first.branch = "z9hG4bK776asdhdt"
        first.cseq = 2
        first.withCredentials()
        wire.send(first.text, from: Net.phone, to: Net.pbx, at: 1.05)
        wire.send(first.response(200, "OK"), from: Net.pbx, to: Net.phone, at: 1.06)
        #expect(wire.events.isEmpty)
        let stats = wire.correlator.statistics
        #expect(stats.transactionsCompleted == 2)
        #expect(stats.responsesWithoutRequest == 0)
        #expect(stats.messagesParsed == 4)
    }

    @Test("wrong credentials answered 401 give one auth_failed with the client's address, port, user and agent")
    func wrongPassword() throws {
        var wire = Wire()
        var request = Request()
        request.withCredentials(user: "1001")
        wire.send(request.text, from: Net.phone, 5071, to: Net.pbx, at: 10)
        let events = wire.send(request.response(401, "Unauthorized"), from: Net.pbx, to: Net.phone, 5071, at: 10.02)
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.kind == .authFailed)
        #expect(event.source == Net.phone)
        #expect(event.sourcePort == 5071)
        #expect(event.transport == .udp)
        #expect(event.user == "1001")
        #expect(event.userAgent == "Yealink SIP-T46S 66.86.0.15")
        #expect(event.reason == "401 to REGISTER with credentials")
        #expect(event.dialect == .sip)
        #expect(event.origin == .frame(file: "test.pcap", number: 2))
        #expect(event.time == Timestamp(microseconds: 10_020_000))
    }

    @Test("retransmitted requests and responses still make one event per transaction")
    func retransmissions() {
        var wire = Wire()
        var request = Request()
        request.withCredentials()
        for k in 0..<3 { wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1 + Double(k) * 0.5) }
        for k in 0..<4 { wire.send(request.response(401), from: Net.pbx, to: Net.phone, at: 2.6 + Double(k) * 0.5) }
        // A late request retransmission after the response: still the same transaction.
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 5)
        wire.send(request.response(401), from: Net.pbx, to: Net.phone, at: 5.1)
        #expect(wire.events.count == 1)
        #expect(wire.events.first?.kind == .authFailed)
        // 2 request copies, 3 response copies, then one more of each.
        #expect(wire.correlator.statistics.retransmissions == 2 + 3 + 1 + 1)
    }

    @Test("407 and 403 to requests with credentials are auth_failed; 401/407 without credentials are not")
    func authCodes() {
        var wire = Wire()
        var invite = Request()
        invite.method = "INVITE"
        invite.uri = "sip:0046701234567@198.18.0.10"
        invite.branch = "z9hG4bKinv1"
        wire.send(invite.text, from: Net.phone, to: Net.pbx, at: 1)
        wire.send(invite.response(407), from: Net.pbx, to: Net.phone, at: 1.1)
        #expect(wire.events.isEmpty)

        invite.branch = "z9hG4bKinv2"
        invite.cseq = 2
        invite.withCredentials(header: "Proxy-Authorization")
        wire.send(invite.text, from: Net.phone, to: Net.pbx, at: 2)
        wire.send(invite.response(407), from: Net.pbx, to: Net.phone, at: 2.1)
        invite.branch = "z9hG4bKinv3"
        invite.cseq = 3
        wire.send(invite.text, from: Net.phone, to: Net.pbx, at: 3)
        wire.send(invite.response(403, "Forbidden"), from: Net.pbx, to: Net.phone, at: 3.1)
        #expect(wire.events.map(\.kind) == [.authFailed, .authFailed])
        #expect(wire.events.map(\.reason) == ["407 to INVITE with credentials", "403 to INVITE with credentials"])
        #expect(wire.events.allSatisfy { $0.user == "0046701234567" })
    }

    @Test("a 401 whose challenge says stale=true is a stale nonce, not a wrong password")
    func staleNonce() {
        var wire = Wire()
        var request = Request()
        request.withCredentials()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        wire.send(
            request.response(401, extra: ["WWW-Authenticate: Digest realm=\"asterisk\", nonce=\"77aa\", stale=TRUE, algorithm=MD5"]),
            from: Net.pbx, to: Net.phone, at: 1.1)
        #expect(wire.events.isEmpty)
        request.branch = "z9hG4bKother"
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 2)
        wire.send(
            request.response(401, extra: ["WWW-Authenticate: Digest realm=\"asterisk\", nonce=\"77ab\", stale=false"]),
            from: Net.pbx, to: Net.phone, at: 2.1)
        #expect(wire.events.map(\.kind) == [.authFailed])
        // Quoted, in a Proxy-Authenticate: still stale. "unstale=true" is not the parameter.
        request.branch = "z9hG4bKquoted"
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 3)
        wire.send(
            request.response(407, extra: ["Proxy-Authenticate: Digest realm=\"a\",nonce=\"77ac\",stale=\"TRUE\""]),
            from: Net.pbx, to: Net.phone, at: 3.1)
        request.branch = "z9hG4bKunstale"
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 4)
        wire.send(
            request.response(401, extra: ["WWW-Authenticate: Digest realm=\"a\", unstale=true, nonce=\"77ad\""]),
            from: Net.pbx, to: Net.phone, at: 4.1)
        #expect(wire.events.map(\.kind) == [.authFailed, .authFailed])
    }

    @Test("404 and 403 without credentials to REGISTER are unknown_user, with the To user")
    func unknownUser() {
        var wire = Wire()
        var request = Request()
        request.toURI = "sip:9999@198.18.0.10"
        wire.send(request.text, from: Net.attacker, to: Net.pbx, at: 1)
        wire.send(request.response(404, "Not Found"), from: Net.pbx, to: Net.attacker, at: 1.1)
        request.branch = "z9hG4bKsecond"
        request.toURI = "sip:9998@198.18.0.10"
        wire.send(request.text, from: Net.attacker, to: Net.pbx, at: 2)
        wire.send(request.response(403, "Forbidden"), from: Net.pbx, to: Net.attacker, at: 2.1)
        #expect(wire.events.map(\.kind) == [.unknownUser, .unknownUser])
        #expect(wire.events.map(\.user) == ["9999", "9998"])
        #expect(wire.events.map(\.reason) == ["404 to REGISTER", "403 to REGISTER without credentials"])
        #expect(wire.events.allSatisfy { $0.source == Net.attacker })
    }

    @Test("404, 484 and 403 to an unauthenticated INVITE are unauthenticated_call; 404 after authenticating and 480 are not")
    func unauthenticatedCall() {
        var wire = Wire()
        var invite = Request()
        invite.method = "INVITE"
        let cases: [(Int, Bool, EventKind?)] = [
            (404, false, .unauthenticatedCall), (484, false, .unauthenticatedCall), (403, false, .unauthenticatedCall),
            (404, true, nil), (480, false, nil), (488, false, nil), (486, false, nil), (603, false, nil), (200, false, nil),
        ]
        for (index, (code, credentials, expected)) in cases.enumerated() {
            invite.uri = "sip:00972\(index)@198.18.0.10"
            invite.branch = "z9hG4bKcall\(index)"
            invite.authorization = nil
            if credentials { invite.withCredentials() }
            let t = Double(index)
            wire.send(invite.text, from: Net.attacker, 5099, to: Net.pbx, at: t)
            let events = wire.send(invite.response(code), from: Net.pbx, to: Net.attacker, 5099, at: t + 0.1)
            #expect(events.map(\.kind) == (expected.map { [$0] } ?? []), "code \(code) credentials \(credentials)")
            if let event = events.first {
                #expect(event.user == "00972\(index)")
                #expect(event.sourcePort == 5099)
            }
        }
    }

    @Test("a response sent to another address than the request's source makes no event")
    func responseToOtherAddress() {
        var wire = Wire()
        var request = Request()
        request.withCredentials()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        // Same Via branch, but the IP header sends it to someone else.
        wire.send(request.response(401), from: Net.pbx, to: Net.other, at: 1.1)
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.responsesWithoutRequest == 1)
        // A response from a third party (not where the request went) is dropped too.
        wire.send(request.response(401), from: Net.other, to: Net.phone, at: 1.2)
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.responsesFromWrongServer == 1)
        // The real one still counts once.
        wire.send(request.response(401), from: Net.pbx, to: Net.phone, at: 1.3)
        #expect(wire.events.map(\.source) == [Net.phone])
    }

    @Test("the banned address is the IP source, never Via, Contact or From")
    func addressFromIPHeader() {
        var wire = Wire()
        var request = Request()
        request.viaHost = "203.0.113.5:5060"
        request.contact = "<sip:1001@203.0.113.6>"
        request.fromURI = "sip:1001@203.0.113.7"
        request.withCredentials()
        wire.send(request.text, from: Net.attacker, 40000, to: Net.pbx, at: 1)
        wire.send(request.response(403), from: Net.pbx, to: Net.attacker, 40000, at: 1.1)
        #expect(wire.events.map(\.source) == [Net.attacker])
        #expect(wire.events.map(\.sourcePort) == [40000])
    }

    @Test("a transaction with no response expires after the timeout; a late response is then unmatched")
    func timeout() {
        var wire = Wire()
        var request = Request()
        request.withCredentials()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 100)
        #expect(wire.correlator.memoryFootprint.transactions == 1)
        wire.correlator.expire(now: Timestamp(seconds: 131), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.correlator.memoryFootprint.transactions == 1)
        wire.correlator.expire(now: Timestamp(seconds: 132), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.correlator.memoryFootprint.transactions == 0)
        #expect(wire.correlator.statistics.transactionsExpired == 1)
        wire.send(request.response(401), from: Net.pbx, to: Net.phone, at: 133)
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.responsesWithoutRequest == 1)
    }

    @Test("RFC 2543 requests without the magic cookie match on Call-ID, From tag and CSeq")
    func legacyMatching() {
        var wire = Wire()
        var request = Request()
        request.branch = "1a2b3c"
        request.withCredentials()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        var other = request
        other.cseq = 7 // a different transaction of the same dialog
        wire.send(other.response(401), from: Net.pbx, to: Net.phone, at: 1.1)
        #expect(wire.events.isEmpty)
        wire.send(request.response(401), from: Net.pbx, to: Net.phone, at: 1.2)
        #expect(wire.events.map(\.kind) == [.authFailed])
    }

    @Test("IPv6 clients and servers")
    func ipv6() {
        var wire = Wire()
        var request = Request()
        request.viaHost = "[2001:2::66]:5060"
        request.withCredentials(user: "admin")
        wire.send(request.text, from: Net.attacker6, 5062, to: Net.pbx6, at: 1)
        let events = wire.send(request.response(401), from: Net.pbx6, to: Net.attacker6, 5062, at: 1.1)
        #expect(events.map(\.kind) == [.authFailed])
        #expect(events.first?.source == Net.attacker6)
        #expect(events.first?.user == "admin")
    }

    @Test("requests from configured servers are never blamed")
    func configuredServers() {
        var wire = Wire(CorrelatorConfiguration(serverAddresses: IPNetworkSet([IPNetwork("198.18.0.10/32")!])))
        var request = Request()
        request.withCredentials()
        // The PBX registering to a trunk with a wrong password.
        wire.send(request.text, from: Net.pbx, to: Net.other, at: 1)
        wire.send(request.response(403), from: Net.other, to: Net.pbx, at: 1.1)
        #expect(wire.events.isEmpty)
        // A phone failing against the PBX is still reported.
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 2)
        wire.send(request.response(403), from: Net.pbx, to: Net.phone, at: 2.1)
        #expect(wire.events.map(\.source) == [Net.phone])
    }

    @Test("the same payloads give the same events (deterministic)")
    func deterministic() {
        func run() -> [SecurityEvent] {
            var wire = Wire(CorrelatorConfiguration(maxOpenTransactions: 50, maxTrackedSources: 20))
            for i in 0..<500 {
                var request = Request()
                request.branch = "z9hG4bK\(i)"
                if i % 3 == 0 { request.withCredentials(user: "u\(i)") }
                if i % 7 == 0 { request.userAgent = "friendly-scanner" }
                let source = IPAddress.v4(0xC612_0100 + UInt32(i % 40))
                wire.send(request.text, from: source, to: Net.pbx, at: Double(i) * 0.01)
                if i % 2 == 0 { wire.send(request.response(i % 4 == 0 ? 401 : 404), from: Net.pbx, to: source, at: Double(i) * 0.01 + 0.005) }
            }
            return wire.events
        }
        let first = run()
        #expect(!first.isEmpty)
        #expect(first == run())
    }
}
