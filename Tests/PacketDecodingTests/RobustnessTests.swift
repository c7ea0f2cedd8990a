// SPDX-License-Identifier: GPL-2.0-or-later

import TestSupport
import Testing
import WardenCore

@testable import PacketDecoding

@Suite("Robustness: random and mutated input never traps, state stays bounded")
struct PacketRobustnessTests {
    @Test func randomFramesUnderEveryLinkType() {
        var rng = SplitMix64(seed: 0x5EED)
        var decoder = PacketDecoder(
            configuration: .init(
                ports: .all, reassembly: .init(maxDatagrams: 64, maxBufferedBytes: 1 << 20),
                tcp: .init(maxFlows: 64)))
        let links = LinkType.supported + [LinkType(rawValue: 9999)]
        var frames = 0
        for round in 0..<30_000 {
            let length = Int.random(in: 0...200, using: &rng)
            var frame = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Bias towards plausible headers so the deep paths run too.
            if length > 40, round % 2 == 0 {
                frame[0] = round % 4 == 0 ? 0x45 : 0x60
                if round % 8 == 0 {
                    frame[9] = 17
                    frame[6] = 17
                } else {
                    frame[9] = 6
                    frame[6] = 44
                }
            }
            let link = links[round % links.count]
            decoder.decode(linkType: link, timestamp: t0 + .milliseconds(Int64(round)), frame: frame, origin: .frame(round + 1)) { _ in }
            frames += 1
            #expect(decoder.statistics.tcpFlows <= 64)
            #expect(decoder.statistics.fragmentsPending <= 64)
        }
        let s = decoder.statistics
        #expect(s.frames == frames)
        #expect(s.frames == s.decoded + s.nonIP + s.unsupportedLink + s.truncated + s.malformed + s.otherProtocol + s.fragments - s.reassembled)
    }

    @Test func mutatedRealFrames() throws {
        var frames: [(LinkType, [UInt8])] = []
        var reader = CaptureFileReader(bytes: try fixtureBytes("generated-sip-sll2.pcap"))
        try reader.forEachFrame { frames.append(($0.linkType, Array($0.bytes))) }
        var rng = SplitMix64(seed: 7)
        var decoder = PacketDecoder()
        for round in 0..<20_000 {
            var (link, frame) = frames[round % frames.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !frame.isEmpty {
                frame[Int.random(in: 0..<frame.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if round % 5 == 0 { frame = Array(frame.prefix(Int.random(in: 0...frame.count, using: &rng))) }
            decoder.decode(linkType: link, timestamp: t0 + .milliseconds(Int64(round)), frame: frame, origin: .frame(round)) { output in
                if case .payload(let p) = output { #expect(p.bytes.count <= 65_535) }
            }
        }
        #expect(decoder.statistics.frames == 20_000)
    }

    @Test func mutatedCaptureFiles() throws {
        let seeds = [
            try fixtureBytes("zeek-wireshark.pcapng"), try fixtureBytes("zeek-sip-junk-before-request.pcap"),
            try fixtureBytes("generated-sip-sll.pcapng"),
        ]
        var rng = SplitMix64(seed: 99)
        var errors = 0
        for round in 0..<3_000 {
            var file = seeds[round % seeds.count]
            if round % 3 == 0 { file = Array(file.prefix(Int.random(in: 0...file.count, using: &rng))) }
            for _ in 0..<Int.random(in: 1...8, using: &rng) where file.count > 0 {
                // Hit the headers more often than the payloads.
                let limit = round % 2 == 0 ? min(file.count, 64) : file.count
                file[Int.random(in: 0..<limit, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            var reader = CaptureFileReader(bytes: file)
            var decoder = PacketDecoder()
            do {
                try reader.forEachFrame { frame in
                    #expect(frame.bytes.count <= CaptureFileReader.maxFrameLength)
                    decoder.decode(linkType: frame.linkType, timestamp: frame.timestamp, frame: frame.bytes, origin: .frame(frame.number)) { _ in }
                }
            } catch {
                errors += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(errors > 0)
    }

    @Test func randomFiles() {
        var rng = SplitMix64(seed: 1234)
        for round in 0..<5_000 {
            var file = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let magics: [[UInt8]] = [[0xD4, 0xC3, 0xB2, 0xA1], [0xA1, 0xB2, 0xC3, 0xD4], [0x0A, 0x0D, 0x0D, 0x0A], [0x4D, 0x3C, 0xB2, 0xA1]]
            if file.count > 12 {
                file.replaceSubrange(0..<4, with: magics[round % 4])
                if round % 4 == 2 { file.replaceSubrange(8..<12, with: [0x4D, 0x3C, 0x2B, 0x1A]) }
            }
            var reader = CaptureFileReader(bytes: file)
            _ = try? reader.forEachFrame { _ in }
        }
    }
}
