// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import Testing
import WardenCore

@testable import SIPCorrelation

/// The destination of wire events is the offending request's IP destination and port (the
/// PBX as the packet addressed it); the Call-ID is the message's, clipped. Neither is ever
/// the source.
@Suite("Wire events: destination and Call-ID")
struct EventAddressingTests {
    @Test("auth_failed from a response: the request's IP destination and port, and its Call-ID")
    func responseEvent() throws {
        var wire = Wire()
        var request = Request()
        request.withCredentials()
        wire.send(request.text, from: Net.attacker, 5071, to: Net.pbx, 5061, at: 1)
        let events = wire.send(request.response(403, "Forbidden"), from: Net.pbx, 5061, to: Net.attacker, 5071, at: 1.01)
        let event = try #require(events.first)
        #expect(event.kind == .authFailed)
        #expect(event.source == Net.attacker && event.sourcePort == 5071)
        #expect(event.destination == Net.pbx)
        #expect(event.destinationPort == 5061)
        #expect(event.callID == request.callID)
    }

    @Test("over IPv6 the destination is the IPv6 server")
    func ipv6() throws {
        var wire = Wire()
        var request = Request()
        request.withCredentials()
        wire.send(request.text, from: Net.attacker6, 40000, to: Net.pbx6, at: 1)
        let event = try #require(wire.send(request.response(401, "Unauthorized"), from: Net.pbx6, to: Net.attacker6, 40000, at: 1.01).first)
        #expect(event.source == Net.attacker6)
        #expect(event.destination == Net.pbx6 && event.destinationPort == 5060)
    }

    @Test("a scanner event on the request carries the request's destination and Call-ID")
    func scanner() throws {
        var wire = Wire()
        var request = Request()
        request.method = "OPTIONS"
        request.userAgent = "friendly-scanner"
        request.callID = "1234567890"
        let event = try #require(wire.send(request.text, from: Net.attacker, 5099, to: Net.pbx, 5060, at: 1).of(.scanner).first)
        #expect(event.source == Net.attacker)
        #expect(event.destination == Net.pbx && event.destinationPort == 5060)
        #expect(event.callID == "1234567890")
    }

    @Test("a long Call-ID is clipped to the field limit")
    func longCallIDClipped() throws {
        var wire = Wire()
        var request = Request()
        request.withCredentials()
        request.callID = String(repeating: "k", count: 1000) + "@198.18.1.66"
        wire.send(request.text, from: Net.attacker, to: Net.pbx, at: 1)
        let event = try #require(wire.send(request.response(403, "Forbidden"), from: Net.pbx, to: Net.attacker, at: 1.01).first)
        #expect(event.callID == String(repeating: "k", count: SecurityEvent.maximumFieldLength))
    }

    @Test("bytes that are no SIP message: the destination from the packet, no Call-ID")
    func malformed() throws {
        var wire = Wire()
        let text = "REGISTER sip:198.18.0.10 SIP/2.0\r\nVia: broken\r\nCall-ID: c1\r\n\r\n"
        let event = try #require(wire.send(text, from: Net.attacker, 5072, to: Net.pbx, 5060, at: 1).of(.malformed).first)
        #expect(event.source == Net.attacker)
        #expect(event.destination == Net.pbx && event.destinationPort == 5060)
        #expect(event.callID == nil)
    }

    @Test("a flood event names the destination of the request that reached the threshold")
    func flood() throws {
        var wire = Wire(CorrelatorConfiguration(floodThreshold: 1))
        let request = Request()
        wire.send(request.text, from: Net.attacker, 5073, to: Net.pbx, 5061, at: 1)
        wire.correlator.expire(now: Timestamp(seconds: 60), sensor: "test.pcap") { wire.events.append($0) }
        let event = try #require(wire.events.of(.flood).first)
        #expect(event.source == Net.attacker && event.sourcePort == 5073)
        #expect(event.destination == Net.pbx && event.destinationPort == 5061)
    }
}
