// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import TestSupport
import Testing
import WardenCore

@testable import PacketDecoding

@Suite("TCP stream tracking")
struct TCPStreamTests {
    static let syn: UInt8 = 0x02, ack: UInt8 = 0x10, fin: UInt8 = 0x01, rst: UInt8 = 0x04, psh: UInt8 = 0x08

    /// A client→server segment (client 198.18.0.2:40000 → server 198.18.0.1:5060).
    static func c2s(_ seq: UInt32, _ flags: UInt8, _ data: String = "") -> [UInt8] {
        Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 6, Frames.tcp(40000, 5060, seq: seq, flags: flags, Array(data.utf8)))
    }

    static func s2c(_ seq: UInt32, _ flags: UInt8, _ data: String = "") -> [UInt8] {
        Frames.ipv4("198.18.0.1", "198.18.0.2", proto: 6, Frames.tcp(5060, 40000, seq: seq, flags: flags, Array(data.utf8)))
    }

    static let client = FlowKey(
        source: IPAddress("198.18.0.2")!, sourcePort: 40000, destination: IPAddress("198.18.0.1")!,
        destinationPort: 5060, transport: .tcp)

    struct Run {
        var decoder: PacketDecoder
        var outputs: [DecodedOutput] = []

        init(_ configuration: PacketDecoder.Configuration = .init()) { decoder = PacketDecoder(configuration: configuration) }

        mutating func feed(_ frames: [[UInt8]], at time: Timestamp = t0) {
            for (i, frame) in frames.enumerated() {
                decoder.decode(linkType: .raw, timestamp: time + .milliseconds(Int64(i)), frame: frame, origin: .frame(i + 1)) {
                    outputs.append($0)
                }
            }
        }

        func stream(_ flow: FlowKey) -> String {
            String(decoding: outputs.compactMap(\.payload).filter { $0.flow == flow }.flatMap(\.bytes), as: UTF8.self)
        }

        var gaps: [Int] {
            outputs.compactMap { if case .streamGap(_, let skipped, _) = $0 { skipped } else { nil } }
        }

        var closes: [(FlowKey, StreamCloseReason)] {
            outputs.compactMap { if case .streamClosed(let flow, let reason, _) = $0 { (flow, reason) } else { nil } }
        }
    }

    @Test func handshakeAndBothDirections() {
        var run = Run()
        run.feed([
            Self.c2s(1000, Self.syn), Self.s2c(5000, Self.syn | Self.ack), Self.c2s(1001, Self.ack),
            Self.c2s(1001, Self.ack | Self.psh, "REGISTER sip:a SIP/2.0\r\n"),
            Self.c2s(1025, Self.ack | Self.psh, "Content-Length: 0\r\n\r\n"),
            Self.s2c(5001, Self.ack | Self.psh, "SIP/2.0 401 Unauthorized\r\n\r\n"),
            Self.c2s(1046, Self.ack | Self.fin), Self.s2c(5029, Self.ack | Self.fin),
        ])
        #expect(run.stream(Self.client) == "REGISTER sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        #expect(run.stream(Self.client.reversed) == "SIP/2.0 401 Unauthorized\r\n\r\n")
        #expect(run.closes.map(\.1) == [.fin, .fin])
        #expect(run.decoder.statistics.tcpFlows == 0)
        #expect(run.decoder.statistics.tcpPayloads == 3)
    }

    @Test func outOfOrderIsBufferedAndRetransmissionsDropped() {
        var run = Run()
        run.feed([
            Self.c2s(1000, Self.syn),
            Self.c2s(1011, Self.ack, "WORLD"), // ahead: buffered
            Self.c2s(1006, Self.ack, "HELLO"), // ahead: buffered
            Self.c2s(1001, Self.ack, "12345"), // fills the hole: all three delivered
            Self.c2s(1001, Self.ack, "12345"), // retransmission: dropped
            Self.c2s(1011, Self.ack, "WORLD!!"), // partly old: only "!!" is new
        ])
        #expect(run.stream(Self.client) == "12345HELLOWORLD!!")
        #expect(run.decoder.statistics.tcpDuplicateBytes == 10)
        #expect(run.gaps.isEmpty)
    }

    @Test func midStreamPickup() {
        var run = Run()
        run.feed([
            Self.c2s(777_000, Self.ack, "ter sip:x SIP/2.0\r\n\r\n"), // capture began after the handshake
            Self.c2s(777_021, Self.ack, "OPTIONS sip:y SIP/2.0\r\n\r\n"),
        ])
        #expect(run.stream(Self.client) == "ter sip:x SIP/2.0\r\n\r\nOPTIONS sip:y SIP/2.0\r\n\r\n")
        #expect(run.decoder.tcpStatistics.midStreamPickups == 1)
        // A pure ACK for an unknown stream creates no state.
        var quiet = Run()
        quiet.feed([Self.s2c(1, Self.ack)])
        #expect(quiet.decoder.statistics.tcpFlows == 0)
    }

    @Test func sequenceWrapAround() {
        var run = Run()
        run.feed([Self.c2s(UInt32.max - 2, Self.syn), Self.c2s(UInt32.max &- 1, Self.ack, "ABCD"), Self.c2s(2, Self.ack, "EF")])
        #expect(run.stream(Self.client) == "ABCDEF")
    }

    @Test func resetClosesBothDirections() {
        var run = Run()
        run.feed([Self.c2s(1000, Self.syn), Self.s2c(5000, Self.syn | Self.ack), Self.c2s(1001, Self.ack, "X"), Self.s2c(5001, Self.rst)])
        #expect(Set(run.closes.map(\.0)) == [Self.client, Self.client.reversed])
        #expect(run.closes.allSatisfy { $0.1 == .reset })
        #expect(run.decoder.statistics.tcpFlows == 0)
    }

    @Test func lostSegmentBecomesAGapWhenTheBufferFills() {
        var run = Run(.init(tcp: .init(maxBufferedBytesPerFlow: 1000)))
        var frames = [Self.c2s(1000, Self.syn)]
        // Bytes 1001..<1101 are never seen; then 12 segments of 100 bytes arrive.
        for i in 0..<12 {
            frames.append(Self.c2s(UInt32(1101 + i * 100), Self.ack, String(repeating: Character(UnicodeScalar(65 + i)!), count: 100)))
        }
        run.feed(frames)
        #expect(run.gaps == [100])
        let stream = run.stream(Self.client)
        #expect(stream.count == 1200)
        #expect(stream.hasPrefix(String(repeating: "A", count: 100)))
        #expect(run.decoder.statistics.tcpBytesDropped == 100)
        // A gap event comes before the bytes after it.
        let firstGap = run.outputs.firstIndex { if case .streamGap = $0 { true } else { false } }
        let firstData = run.outputs.firstIndex { $0.payload != nil }
        #expect(firstGap! < firstData!)
    }

    @Test func farAheadSegmentsIgnoredThenResynchronised() {
        var run = Run(.init(tcp: .init(maxWindow: 10_000, resyncAfter: 3)))
        run.feed([Self.c2s(1000, Self.syn), Self.c2s(1001, Self.ack, "ok"), Self.c2s(900_000, Self.ack, "bogus")])
        #expect(run.stream(Self.client) == "ok")
        run.feed([Self.c2s(900_005, Self.ack, "x"), Self.c2s(900_006, Self.ack, "y")])
        // The third far segment in a row resynchronises there.
        #expect(run.gaps.count == 1)
        #expect(run.stream(Self.client) == "oky")
    }

    @Test func newSYNOnSameTupleResynchronises() {
        var run = Run()
        run.feed([
            Self.c2s(1000, Self.syn), Self.c2s(1001, Self.ack, "first"), Self.c2s(1000, Self.syn),
            Self.c2s(50_000, Self.syn), Self.c2s(50_001, Self.ack, "second"),
        ])
        #expect(run.stream(Self.client) == "firstsecond")
        #expect(run.gaps == [0]) // the retransmitted SYN did not count, the new one did
    }

    @Test func flowsAreBoundedAndIdleOnesExpire() {
        var run = Run(.init(tcp: .init(maxFlows: 8, idleTimeout: .seconds(60))))
        var frames: [[UInt8]] = []
        for port in 0..<20 {
            frames.append(
                Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 6, Frames.tcp(UInt16(41000 + port), 5060, seq: 1, flags: Self.ack, Array("x".utf8))))
        }
        run.feed(frames)
        #expect(run.decoder.statistics.tcpFlows == 8)
        #expect(run.decoder.tcpStatistics.pressureEvictions == 12)
        #expect(run.closes.filter { $0.1 == .evicted }.count == 12)
        // 61 s later (packet time) one more segment arrives: the 8 idle flows go.
        run.feed([Self.c2s(5, Self.ack, "y")], at: t0 + .seconds(61))
        #expect(run.decoder.tcpStatistics.idleEvictions == 8)
        #expect(run.decoder.statistics.tcpFlows == 1)
    }

    @Test func finishClosesEverything() {
        var run = Run()
        run.feed([Self.c2s(1000, Self.syn), Self.c2s(1001, Self.ack, "x"), Self.s2c(1, Self.ack, "y")])
        run.decoder.finish(time: t0) { run.outputs.append($0) }
        #expect(run.closes.count == 2)
        #expect(run.decoder.statistics.tcpFlows == 0)
    }

    @Test func trackerBoundsHoldUnderRandomSegments() {
        var tracker = TCPStreamTracker(
            limits: .init(
                maxFlows: 16, maxBufferedBytesPerFlow: 4096, maxBufferedSegmentsPerFlow: 8,
                maxBufferedBytesTotal: 20_000))
        var rng = SplitMix64(seed: 42)
        let data = [UInt8](repeating: 0x61, count: 1500)
        var delivered = 0
        for i in 0..<20_000 {
            let port = UInt16.random(in: 1...40, using: &rng)
            let key = FlowKey(source: .v4(0xC612_0002), sourcePort: port, destination: .v4(0xC612_0001), destinationPort: 5060, transport: .tcp)
            let length = Int.random(in: 0...1500, using: &rng)
            data.withUnsafeBytes { raw in
                tracker.add(
                    flow: key, sequence: UInt32.random(in: 0...20_000, using: &rng), syn: rng.next() % 50 == 0,
                    fin: rng.next() % 50 == 0, rst: rng.next() % 200 == 0,
                    payload: UnsafeRawBufferPointer(rebasing: raw[0..<length]), time: t0 + .milliseconds(Int64(i))
                ) { _, event in
                    if case .data(let bytes) = event { delivered += bytes.count }
                }
            }
            #expect(tracker.flowCount <= 16)
            #expect(tracker.bufferedBytes <= 20_000)
            #expect(tracker.bufferedBytes >= 0)
        }
        #expect(delivered == tracker.statistics.bytesDelivered)
    }
}
