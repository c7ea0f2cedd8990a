// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import Testing
import WardenCore

@testable import SIPCorrelation

@Suite("Scanner, flood and malformed")
struct RequestSignalTests {
    @Test("attack-tool User-Agents make a scanner event on the request itself, once per source per minute")
    func userAgentScanner() throws {
        for agent in ["friendly-scanner", "SIPVicious 0.3.4", "sipcli/v1.8", "VaxSIPUserAgent/3.1", "PPLSIP", "sundayddr"] {
            var wire = Wire()
            var request = Request()
            request.method = "OPTIONS"
            request.userAgent = agent
            let events = wire.send(request.text, from: Net.attacker, 5070, to: Net.pbx, at: 5)
            #expect(events.map(\.kind) == [.scanner], "\(agent)")
            let event = try #require(events.first)
            #expect(event.userAgent == agent)
            #expect(event.source == Net.attacker)
            #expect(event.sourcePort == 5070)
            #expect(event.origin == .frame(file: "test.pcap", number: 1))
        }
        var wire = Wire()
        var request = Request()
        request.userAgent = "Friendly-Scanner"
        for k in 0..<10 {
            request.branch = "z9hG4bKs\(k)"
            wire.send(request.text, from: Net.attacker, to: Net.pbx, at: 5 + Double(k))
        }
        #expect(wire.events.count == 1)
        request.branch = "z9hG4bKlater"
        wire.send(request.text, from: Net.attacker, to: Net.pbx, at: 65.5)
        #expect(wire.events.map(\.kind) == [.scanner, .scanner])
        // Another source is reported on its own.
        wire.send(request.text, from: Net.other, to: Net.pbx, at: 66)
        #expect(wire.events.count == 3)
    }

    @Test(
        "ordinary user agents are not scanners",
        arguments: [
            "Yealink SIP-T46S 66.86.0.15", "Grandstream GXP2170 1.0.11.23", "Linphone/5.2.0 (belle-sip/5.2.0)",
            "MicroSIP/3.21.3", "Zoiper rv2.10.20.4", "Asterisk PBX 20.5.0", "MySIPClient 1.0", "Cisco-CP8845/14.2.1",
        ])
    func benignAgents(agent: String) {
        var wire = Wire()
        var request = Request()
        request.userAgent = agent
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        #expect(wire.events.isEmpty)
    }

    @Test(
        "sipvicious requests are recognised by their shape when the User-Agent is removed",
        arguments: [
            ("svcrack REGISTER", Sipvicious.svcrackRegister),
            ("svcrack REGISTER with credentials", Sipvicious.svcrackRegisterWithCredentials),
            ("svwar INVITE", Sipvicious.svwarInvite),
            ("svmap OPTIONS", Sipvicious.svmapOptions),
            ("svmap OPTIONS, compact headers", Sipvicious.svmapOptionsCompact),
            ("svmap REGISTER (Contact: None)", Sipvicious.svmapRegister),
        ])
    func sipviciousShape(name: String, request: String) throws {
        let stripped = Sipvicious.stripped(request)
        #expect(!stripped.contains("User-Agent"))
        var wire = Wire()
        let events = wire.send(stripped, from: Net.attacker, 5060, to: Net.pbx, at: 1)
        let scanner = try #require(events.of(.scanner).first, "\(name)")
        #expect(scanner.source == Net.attacker)
        #expect(scanner.reason?.hasPrefix("sipvicious request shape") == true)
        // And with its User-Agent the reason names the agent.
        var plain = Wire()
        let withAgent = plain.send(request, from: Net.attacker, to: Net.pbx, at: 1).of(.scanner)
        if request.contains("User-Agent: friendly-scanner") {
            #expect(withAgent.first?.reason == "User-Agent contains \"friendly-scanner\"")
        }
    }

    @Test("svmap's REGISTER (Contact: None) is a scanner; malformed only once the PBX answers 400")
    func malformedScanner() {
        var wire = Wire()
        let register = Sipvicious.stripped(Sipvicious.svmapRegister)
        let events = wire.send(register, from: Net.attacker, to: Net.pbx, at: 1)
        #expect(events.map(\.kind) == [.scanner])
        #expect(wire.correlator.statistics.deviatingMessages == 1)
        // The PBX's answer echoes Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2).
        let echoed = register.split(separator: "\r\n", omittingEmptySubsequences: false)
            .filter { ["Via:", "From:", "To:", "Call-ID:", "CSeq:", "v:", "f:", "t:", "i:"].contains(where: $0.hasPrefix) }
        let answer = (["SIP/2.0 400 Bad Request"] + echoed + ["Content-Length: 0", "", ""]).joined(separator: "\r\n")
        let confirmed = wire.send(answer, from: Net.pbx, to: Net.attacker, at: 1.01)
        #expect(confirmed.map(\.kind) == [.malformed])
        #expect(confirmed.first?.reason == "400 to REGISTER: malformed Contact value")
        #expect(confirmed.first?.source == Net.attacker)
    }

    @Test("sipvicious signatures: one half alone is not enough")
    func shapeNeedsBothHalves() {
        // The branch format alone: z9hG4bK- and digits, with an ordinary tag.
        var wire = Wire()
        var request = Request()
        request.branch = "z9hG4bK-1234567890"
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        // The tag format alone, with an ordinary branch.
        request.branch = "z9hG4bKPj5f0e1a2b"
        request.fromTag = "3130310131363935373533393938"
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 2)
        // Typical branches of real stacks with numeric tags.
        for (k, branch) in ["z9hG4bK1318573390", "z9hG4bK-524287-1---a4b3c2d1e0f9", "z9hG4bK.Vx8cQ2", "z9hG4bK-d8754z-1a2b3c-1---d8754z-"]
            .enumerated()
        {
            request.branch = branch
            request.fromTag = "1785446012"
            wire.send(request.text, from: Net.phone, to: Net.pbx, at: 3 + Double(k))
        }
        #expect(wire.events.isEmpty)
    }

    @Test(
        "sipvicious tag and branch formats",
        arguments: [
            ("3206210844", true), ("3130310131363935373533393938", true), ("313030303a3132333401313631303432363438", true),
            ("0131", true), ("1785446012", false), ("as5f2c1e", false), ("31303101", false), ("313031013", false),
            ("3130310a31", false), ("01" + String(repeating: "31", count: 11), false), ("", false),
        ])
    func tagFormat(tag: String, expected: Bool) {
        let bytes = Array(tag.utf8)
        #expect(bytes.withUnsafeBytes { ScannerSignatures.isSipviciousTag($0) } == expected)
    }

    @Test(
        "branch format",
        arguments: [
            ("z9hG4bK-1", true), ("z9hG4bK-4294967295", true), ("z9hG4bK-12345678901", false), ("z9hG4bK-", false),
            ("z9hG4bK-12a", false), ("z9hG4bK1234", false), ("Z9HG4BK-1234", false),
        ])
    func branchFormat(branch: String, expected: Bool) {
        let bytes = Array(branch.utf8)
        #expect(bytes.withUnsafeBytes { ScannerSignatures.isSipviciousBranch($0) } == expected)
    }

    @Test("unanswered requests above the threshold make one flood event per source per window")
    func flood() throws {
        var wire = Wire(CorrelatorConfiguration(floodThreshold: 200, floodWindow: .seconds(1)))
        var request = Request()
        request.method = "OPTIONS"
        // 150 unanswered requests in one second from the phone: under the threshold.
        for k in 0..<150 {
            request.branch = "z9hG4bKp\(k)"
            wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1 + Double(k) / 200)
        }
        // 250 within 0.5 s from the attacker: one event, when the 200th is overdue.
        for k in 0..<250 {
            request.branch = "z9hG4bKa\(k)"
            wire.send(request.text, from: Net.attacker, 5080, to: Net.pbx, at: 10 + Double(k) / 500)
        }
        // The next second floods again.
        for k in 0..<250 {
            request.branch = "z9hG4bKb\(k)"
            wire.send(request.text, from: Net.attacker, 5080, to: Net.pbx, at: 11 + Double(k) / 500)
        }
        #expect(wire.events.isEmpty)
        wire.correlator.expire(now: Timestamp(seconds: 20), sensor: "test.pcap") { wire.events.append($0) }
        let floods = wire.events.of(.flood)
        #expect(floods.count == 2)
        let event = try #require(floods.first)
        #expect(event.source == Net.attacker)
        #expect(event.sourcePort == 5080)
        #expect(event.reason == "200 unproductive requests within 1.0 s")
        #expect(event.origin == .frame(file: "test.pcap", number: 150 + 200))
        #expect(event.time == Timestamp(microseconds: 10_000_000 + 199 * 2_000 + 4_000_000))
        #expect(wire.correlator.statistics.events(.flood) == 2)
    }

    @Test("malformed SIP from a client is blamed on its IP source")
    func malformedFromClient() throws {
        var wire = Wire()
        let text = "REGISTER sip:198.18.0.10 SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.1.66\r\nUser-Agent: fuzz\r\n\r\n"
        let events = wire.send(text, from: Net.attacker, 6000, to: Net.pbx, at: 1)
        let event = try #require(events.first)
        #expect(events.count == 1)
        #expect(event.kind == .malformed)
        #expect(event.source == Net.attacker)
        #expect(event.sourcePort == 6000)
        #expect(event.userAgent == "fuzz")
        #expect(event.reason?.hasPrefix("missing required header") == true)
        #expect(wire.correlator.statistics.malformed == 1)
    }

    @Test("malformed responses from a server are never blamed on it")
    func malformedFromServer() {
        // Inferred: the PBX answered a request we saw, so it is a server.
        var wire = Wire()
        let request = Request()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        wire.send(request.response(200, "OK"), from: Net.pbx, to: Net.phone, at: 1.1)
        let broken = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.18.0.20;branch=z9hG4bKx\r\nCSeq: 1 OPTIONS\r\n\r\n"
        wire.send(broken, from: Net.pbx, to: Net.phone, at: 2)
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.malformed == 1)
        // The same bytes from an address never seen answering are blamed.
        wire.send(broken, from: Net.other, to: Net.phone, at: 3)
        #expect(wire.events.map(\.kind) == [.malformed])
        #expect(wire.events.map(\.source) == [Net.other])

        // Configured: the server never is, even before answering anything.
        var configured = Wire(CorrelatorConfiguration(serverAddresses: IPNetworkSet([IPNetwork(host: Net.pbx)])))
        configured.send(broken, from: Net.pbx, to: Net.phone, at: 1)
        #expect(configured.events.isEmpty)
        // Nor is a message to a port that is not a SIP port (phone's ephemeral port).
        var other = Wire()
        other.send(broken, from: Net.other, 5060, to: Net.phone, 40000, at: 1)
        #expect(other.events.isEmpty)
    }

    @Test("keep-alives, STUN, TLS and other binary payloads on SIP ports are not malformed")
    func notSIP() {
        var wire = Wire()
        wire.send("\r\n\r\n", from: Net.phone, to: Net.pbx, at: 1)
        wire.send(bytes: [0, 0, 0, 0], from: Net.phone, to: Net.pbx, at: 2)
        wire.send(bytes: [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42] + Array(repeating: 7, count: 12), from: Net.phone, to: Net.pbx, at: 3)
        wire.send(bytes: [0x16, 0x03, 0x01, 0x00, 0xa5, 0x01], from: Net.phone, 40001, to: Net.pbx, 5061, at: 4, transport: .tcp)
        wire.send("REGISTER sip:x SIP/2.0\r\n", from: Net.phone, 40001, to: Net.pbx, 5061, at: 5, transport: .tcp)
        wire.send(bytes: [], from: Net.phone, to: Net.pbx, at: 6)
        wire.send(Request().text, from: Net.phone, 40000, to: Net.pbx, 8080, at: 7) // no SIP port
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.malformed == 0)
        #expect(wire.correlator.statistics.ignoredPayloads == 7)
    }
}
