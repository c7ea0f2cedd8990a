// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import PacketDecoding
import Testing
import WardenCore

@testable import SIPCorrelation

@Suite("TCP framing, memory bounds, real capture")
struct StreamAndBoundsTests {
    private func tcpRequest(_ user: String, branch: String) -> Request {
        var request = Request()
        request.transport = "TCP"
        request.branch = branch
        request.withCredentials(user: user)
        return request
    }

    @Test("TCP: two messages in one segment, one message split across three segments")
    func tcpFraming() {
        var wire = Wire()
        let a = tcpRequest("2001", branch: "z9hG4bKtcpA")
        let b = tcpRequest("2002", branch: "z9hG4bKtcpB")
        // Both requests in one segment.
        wire.send(a.text + b.text, from: Net.attacker, 41000, to: Net.pbx, at: 1, transport: .tcp)
        #expect(wire.correlator.statistics.requests == 2)
        // Both 401s, the second split in three segments at awkward places.
        let responses = Array((a.response(401) + b.response(401)).utf8)
        let firstLength = a.response(401).utf8.count
        let cuts = [firstLength + 1, firstLength + 40, responses.count - 2]
        wire.send(bytes: Array(responses[0..<cuts[0]]), from: Net.pbx, 5060, to: Net.attacker, 41000, at: 1.1, transport: .tcp)
        #expect(wire.events.map(\.user) == ["2001"])
        wire.send(bytes: Array(responses[cuts[0]..<cuts[1]]), from: Net.pbx, 5060, to: Net.attacker, 41000, at: 1.2, transport: .tcp)
        wire.send(bytes: Array(responses[cuts[1]..<cuts[2]]), from: Net.pbx, 5060, to: Net.attacker, 41000, at: 1.3, transport: .tcp)
        #expect(wire.events.count == 1)
        wire.send(bytes: Array(responses[cuts[2]...]), from: Net.pbx, 5060, to: Net.attacker, 41000, at: 1.4, transport: .tcp)
        #expect(wire.events.map(\.user) == ["2001", "2002"])
        #expect(wire.events.allSatisfy { $0.transport == .tcp && $0.source == Net.attacker && $0.sourcePort == 41000 })
        #expect(wire.events.last?.origin == .frame(file: "test.pcap", number: 5))
        #expect(wire.correlator.memoryFootprint.tcpBytes == 0)
    }

    @Test("TCP: a capture that starts mid-message picks the stream up at the next message")
    func tcpMidStream() {
        var wire = Wire()
        let a = tcpRequest("3001", branch: "z9hG4bKmidA")
        let b = tcpRequest("3002", branch: "z9hG4bKmidB")
        let bytes = Array((a.text + b.text).utf8)
        // The first 30 bytes were never captured.
        wire.send(bytes: Array(bytes[30...]), from: Net.attacker, 41001, to: Net.pbx, at: 1, transport: .tcp)
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.malformed == 0)
        #expect(wire.correlator.statistics.requests == 1)
        wire.send(b.response(403), from: Net.pbx, 5060, to: Net.attacker, 41001, at: 1.1, transport: .tcp)
        #expect(wire.events.map(\.user) == ["3002"])
        // After a reported gap the stream is resynchronised the same way.
        wire.correlator.resetStream(FlowKey(source: Net.attacker, sourcePort: 41001, destination: Net.pbx, destinationPort: 5060, transport: .tcp))
        #expect(wire.correlator.memoryFootprint.tcpFlows == 1) // only the response direction remains
    }

    @Test("TCP: a stream without Content-Length is malformed once, then ignored")
    func tcpFramingError() {
        var wire = Wire()
        var request = tcpRequest("4001", branch: "z9hG4bKnocl")
        request.body = ""
        let text = request.text.replacingOccurrences(of: "Content-Length: 0\r\n", with: "")
        wire.send(text, from: Net.attacker, 41002, to: Net.pbx, at: 1, transport: .tcp)
        wire.send(text, from: Net.attacker, 41002, to: Net.pbx, at: 2, transport: .tcp)
        #expect(wire.events.map(\.kind) == [.malformed])
        #expect(wire.events.first?.reason == "TCP stream: stream message without Content-Length")
        #expect(wire.correlator.memoryFootprint.tcpBytes == 0)
    }

    @Test("a million spoofed one-request transactions stay under every cap")
    func spoofedFlood() {
        let cap = 100_000
        var correlator = SIPCorrelator(
            configuration: CorrelatorConfiguration(
                maxOpenTransactions: cap, maxTrackedSources: cap, maxTCPFlows: 1_000
            ))
        // One template; the branch and the source change per request.
        var template = Array(Request().text.utf8)
        let marker = Array("776asdhds".utf8)
        let at = template.indices.first { template[$0..<min($0 + marker.count, template.count)].elementsEqual(marker) }!
        var events = 0
        var peakTransactions = 0
        var peakSources = 0
        for i in 0..<1_000_000 {
            var n = UInt32(i)
            for k in 0..<8 {
                template[at + k] = UInt8(ascii: "a") + UInt8(n & 15)
                n >>= 4
            }
            let payload = WirePayload(
                time: Timestamp(microseconds: Int64(i)), // 1 M requests within one second
                flow: FlowKey(source: .v4(0x0A00_0000 &+ UInt32(i)), sourcePort: 5060, destination: Net.pbx, destinationPort: 5060, transport: .udp),
                bytes: template, origin: .interface("eth0")
            )
            correlator.ingest(payload, sensor: "eth0") { _ in events += 1 }
            if i % 1000 == 0 {
                let footprint = correlator.memoryFootprint
                peakTransactions = max(peakTransactions, footprint.transactions)
                peakSources = max(peakSources, footprint.sources)
            }
        }
        let footprint = correlator.memoryFootprint
        #expect(footprint.transactions <= cap)
        #expect(peakTransactions <= cap)
        #expect(footprint.sources <= cap)
        #expect(peakSources <= cap)
        #expect(events == 0) // no source sent enough to flood, none is a scanner
        let stats = correlator.statistics
        #expect(stats.requests == 1_000_000)
        #expect(stats.transactionsEvicted == 1_000_000 - cap)
        #expect(stats.transactionsOpen == cap)
        #expect(stats.judgementsDropped == 1_000_000 - cap)
        // Time passes: the requests still queued are judged unanswered (each source once,
        // under the threshold), then everything expires.
        correlator.expire(now: Timestamp(seconds: 40), sensor: "eth0") { _ in events += 1 }
        #expect(events == 0)
        #expect(correlator.statistics.unansweredRequests == cap)
        #expect(correlator.memoryFootprint.sources <= cap)
        #expect(correlator.memoryFootprint.transactions == 0)
        #expect(correlator.statistics.transactionsExpired == cap)
    }

    @Test("an active flooder survives the source-table churn of a spoofed flood")
    func flooderSurvivesChurn() {
        var correlator = SIPCorrelator(configuration: CorrelatorConfiguration(maxTrackedSources: 1_000))
        var request = Request()
        request.method = "OPTIONS"
        var floods: [SecurityEvent] = []
        for i in 0..<20_000 {
            let spoofed = i % 2 == 0
            request.branch = "z9hG4bKf\(i)"
            let payload = WirePayload(
                time: Timestamp(microseconds: Int64(i) * 40), // 20 000 in 0.8 s
                flow: FlowKey(
                    source: spoofed ? .v4(0x0A00_0000 &+ UInt32(i)) : Net.attacker, sourcePort: 5060,
                    destination: Net.pbx, destinationPort: 5060, transport: .udp),
                bytes: Array(request.text.utf8), origin: .frame(i + 1)
            )
            correlator.ingest(payload, sensor: "live") { floods.append($0) }
        }
        correlator.expire(now: Timestamp(seconds: 5), sensor: "live") { floods.append($0) }
        #expect(floods.map(\.kind) == [.flood])
        #expect(floods.first?.source == Net.attacker)
        #expect(correlator.memoryFootprint.sources <= 1_000)
    }

    @Test("TCP flows and their buffered bytes are bounded")
    func tcpBounds() {
        var correlator = SIPCorrelator(configuration: CorrelatorConfiguration(maxTCPFlows: 100, maxBufferedTCPBytes: 64 << 10))
        // Many connections each holding an incomplete message.
        let partial =
            Array("INVITE sip:1@198.18.0.10 SIP/2.0\r\nVia: SIP/2.0/TCP x;branch=z9hG4bKq\r\n".utf8)
            + Array(repeating: UInt8(ascii: "a"), count: 2_000)
        for i in 0..<5_000 {
            let payload = WirePayload(
                time: Timestamp(microseconds: Int64(i)),
                flow: FlowKey(source: .v4(0x0A00_0000 &+ UInt32(i)), sourcePort: 40000, destination: Net.pbx, destinationPort: 5060, transport: .tcp),
                bytes: partial, origin: .interface("eth0")
            )
            _ = correlator.ingest(payload, sensor: "eth0")
            let footprint = correlator.memoryFootprint
            #expect(footprint.tcpFlows <= 100)
            #expect(footprint.tcpBytes <= 64 << 10)
            if footprint.tcpFlows > 100 || footprint.tcpBytes > 64 << 10 { break }
        }
        #expect(correlator.statistics.tcpFlowsEvicted >= 4_900)
    }

    /// zeek's wireshark.pcap: a softphone (192.168.1.2) against two providers. Per RFC 3261
    /// a correct correlator reports exactly the requests that carried credentials and were
    /// refused:
    /// - 403 "Wrong password" to REGISTER CSeq 69 (frame 5);
    /// - 401 "nonce has changed" to REGISTERs with credentials, CSeq 71, 73, 77, 79, 4
    ///   (frames 9, 13, 48, 52, 64): the challenge says `stale=false`, so the provider
    ///   does reject the credentials, not merely an expired nonce;
    /// - 403 "Wrong password or domain" to INVITEs with Proxy-Authorization (frames 43, 67).
    /// Not events: the ten 401s and three 407s to requests without credentials (the normal
    /// challenge), the 408s to the INVITE and CANCEL, the 480 after authenticating, and the
    /// 200s. No scanner (Nero SIPPS), no flood, nothing malformed. The user is the digest
    /// username for REGISTER (the phone switched accounts from voi18063 to voi18062) and
    /// the dialled number for INVITE.
    @Test("zeek wireshark.pcap: eight auth_failed against the phone, nothing else")
    func realCapture() throws {
        // The copy kept with the packet decoder's fixtures (BSD-3, see its README).
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PacketDecodingTests/Fixtures/zeek-wireshark.pcap").path
        guard let data = FileManager.default.contents(atPath: path) else {
            Issue.record("corpus file \(path) missing")
            return
        }
        var reader = CaptureFileReader(bytes: Array(data))
        var decoder = PacketDecoder()
        var correlator = SIPCorrelator()
        var events: [SecurityEvent] = []
        try reader.forEachFrame { frame in
            decoder.decode(linkType: frame.linkType, timestamp: frame.timestamp, frame: frame.bytes, origin: .frame(frame.number)) { output in
                correlator.ingest(output, sensor: "zeek-wireshark.pcap") { events.append($0) }
            }
        }
        #expect(reader.framesRead == 81)
        #expect(events.allSatisfy { $0.kind == .authFailed })
        #expect(events.map(\.origin) == [5, 9, 13, 43, 48, 52, 64, 67].map { EventOrigin.frame(file: "zeek-wireshark.pcap", number: $0) })
        #expect(events.allSatisfy { $0.source == IPAddress("192.168.1.2")! && $0.sourcePort == 5060 && $0.transport == .udp })
        #expect(events.map(\.user) == ["voi18063", "voi18063", "voi18062", "0097239287044", "voi18062", "voi18062", "voi18062", "0097239287044"])
        #expect(events.allSatisfy { $0.userAgent == "Nero SIPPS IP Phone Version 2.0.51.16" })
        #expect(events.map(\.reason).filter { $0 == "403 to INVITE with credentials" }.count == 2)
        let stats = correlator.statistics
        #expect(stats.malformed == 0)
        #expect(stats.messagesParsed == 81)
        // The only unmatched response: 408 to the CANCEL 32.97 s after it was first sent,
        // past timer F (32 s), when the client transaction has already given up. (The 408
        // to the INVITE, 36.8 s after it, matches: a proceeding INVITE has no timer.)
        #expect(stats.responsesWithoutRequest == 1)
    }
}
