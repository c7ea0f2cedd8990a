// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import Testing
import WardenCore

@testable import SIPCorrelation

/// `malformed` only where the PBX would also reject the message: its own 400-class answer
/// to a request that departs from the grammar, or bytes no SIP server accepts.
@Suite("Malformed: only what the PBX rejects")
struct MalformedRuleTests {
    /// A request from an IPv6-era phone writing its address in Via without brackets
    /// (RFC 3261 §25.1: sent-by = host [COLON port], host's IPv6 form is an IPv6reference).
    static var deviating: Request {
        var request = Request()
        request.viaHost = "2001:2:0:0:0:0:0:20:5060"
        return request
    }

    @Test(
        "keep-alives and other non-SIP datagrams on a SIP port never count",
        arguments: [
            "hello", "hello\r\n", "ping", "jaK\n", "     ", " \t \r\n", "\r\n\r\n", "\u{0}\u{0}\u{0}\u{0}", "x",
            "GET / HTTP/1.1\r\nHost: 198.18.0.10\r\n\r\n", "NOTIFY * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n\r\n",
            "HTTP/1.1 403 Forbidden\r\n\r\n", "keep-alive SIP-ish words without a version",
        ])
    func keepAlives(payload: String) {
        var wire = Wire()
        for k in 0..<50 { wire.send(payload, from: Net.phone, to: Net.pbx, at: 1 + Double(k) / 100) }
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.malformed == 0)
        #expect(wire.correlator.statistics.ignoredPayloads == 50)
    }

    @Test("a request that departs from the grammar but is answered 200 is not malformed, however often")
    func toleratedByServer() {
        var wire = Wire()
        var request = Self.deviating
        for k in 0..<100 {
            request.branch = "z9hG4bKv6\(k)"
            request.cseq = k + 1
            wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1 + Double(k) * 0.5)
            wire.send(request.response(200, "OK"), from: Net.pbx, to: Net.phone, at: 1.01 + Double(k) * 0.5)
        }
        wire.correlator.expire(now: Timestamp(seconds: 100), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.deviatingMessages == 200) // the responses echo the Via
        #expect(wire.correlator.statistics.transactionsCompleted == 100)
    }

    @Test("a registrar's 200 listing hundreds of bindings (more than the request limit of header fields) completes its transaction")
    func registrarAnswerWithManyBindings() {
        var wire = Wire()
        var request = Request()
        request.withCredentials()
        let uris = (0..<600).map { "<sip:1001@198.18.0.20:\(10_000 + $0)>;expires=300" }
        // As many Contact fields (more than a request may have), or one field of 28 KB.
        let shapes = [uris.map { "Contact: \($0)" }, ["Contact: " + uris.joined(separator: ", ")]]
        for (k, bindings) in shapes.enumerated() {
            request.branch = "z9hG4bKmany\(k)"
            request.cseq = k + 1
            wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1 + Double(k))
            wire.send(request.response(200, "OK", extra: bindings), from: Net.pbx, to: Net.phone, at: 1.01 + Double(k))
        }
        wire.correlator.expire(now: Timestamp(seconds: 100), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.malformed == 0)
        #expect(wire.correlator.statistics.transactionsCompleted == 2)
    }

    @Test("a request over the header limits is still malformed (the lift is for responses only)")
    func requestOverHeaderLimits() {
        var wire = Wire()
        var request = Request()
        request.userAgent = (0..<300).map { _ in "X-Padding: x" }.joined(separator: "\r\n")
        wire.send(request.text, from: Net.attacker, to: Net.pbx, at: 1)
        request.userAgent = String(repeating: "x", count: 20_000)
        request.branch = "z9hG4bKlong"
        wire.send(request.text, from: Net.attacker, to: Net.pbx, at: 2)
        #expect(wire.correlator.statistics.malformed == 2)
    }

    @Test(
        "the same request answered with a 400-class refusal by the PBX is malformed, blamed on its IP source",
        arguments: [(400, "Bad Request"), (416, "Unsupported URI Scheme"), (505, "Version Not Supported")])
    func confirmedByServer(code: Int, phrase: String) throws {
        var wire = Wire()
        let request = Self.deviating
        #expect(wire.send(request.text, from: Net.attacker, 5077, to: Net.pbx, at: 1).isEmpty)
        let events = wire.send(request.response(code, phrase), from: Net.pbx, to: Net.attacker, 5077, at: 1.01)
        let event = try #require(events.first)
        #expect(events.count == 1)
        #expect(event.kind == .malformed)
        #expect(event.source == Net.attacker)
        #expect(event.sourcePort == 5077)
        #expect(event.reason == "\(code) to REGISTER: malformed Via value")
        #expect(event.origin == .frame(file: "test.pcap", number: 2))
    }

    @Test("a refusal that does not say 'broken' (403, 420, 481), or no answer, is not malformed")
    func otherRefusals() {
        for code in [403, 420, 481] {
            var wire = Wire()
            let request = Self.deviating
            wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
            wire.send(request.response(code), from: Net.pbx, to: Net.phone, at: 1.01)
            #expect(!wire.events.contains { $0.kind == .malformed }, "\(code)")
        }
        var silent = Wire()
        silent.send(Self.deviating.text, from: Net.phone, to: Net.pbx, at: 1)
        silent.correlator.expire(now: Timestamp(seconds: 60), sensor: "test.pcap") { silent.events.append($0) }
        #expect(silent.events.isEmpty)
    }

    @Test("a 400 to a request that conforms to the grammar is the PBX's own policy, not malformed")
    func conformingRefused() {
        var wire = Wire()
        let request = Request()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        wire.send(request.response(400, "Bad Request"), from: Net.pbx, to: Net.phone, at: 1.01)
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.refusedRequests == 1)
    }

    @Test(
        "bytes no SIP server accepts, after a start line that claims SIP, are malformed at once",
        arguments: [
            ("REGISTER sip:198.18.0.10 SIP/2.0\r\nthis is not a header\r\n\r\n", "malformed header line"),
            (
                "REGISTER sip:198.18.0.10 SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n\r\n",
                "missing required header Via"
            ),
            (
                "REGISTER sip:198.18.0.10 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: REGISTER\r\n\r\n",
                "malformed CSeq value"
            ),
            ("REGISTER sip:198.18.0.10 SIP/3.0\r\n\r\n", "unsupported SIP version (only SIP/2.0)"),
            ("SIP/2.0 2000 OK\r\n\r\n", "status code outside 100...699"),
        ])
    func unacceptableBytes(text: String, reason: String) throws {
        var wire = Wire()
        let events = wire.send(text, from: Net.attacker, to: Net.pbx, at: 1)
        let event = try #require(events.first)
        #expect(events.map(\.kind) == [.malformed])
        #expect(event.reason == reason)
        #expect(event.source == Net.attacker)
    }

    @Test("a message larger than the sensor's limit is the sensor's limit: not blamed, UDP or TCP")
    func oversize() {
        var wire = Wire(CorrelatorConfiguration(maxMessageSize: 1_000))
        var request = Request()
        request.body = String(repeating: "a", count: 2_000)
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        wire.send(request.text, from: Net.phone, 40000, to: Net.pbx, at: 2, transport: .tcp)
        #expect(wire.events.isEmpty)
    }
}
