// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Testing
import WardenCore

@testable import PacketDecoding

@Suite("Capture files: pcap and pcapng")
struct CaptureFileTests {
    static func isRequestLine(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes.prefix(200), as: UTF8.self)
        guard let line = text.split(separator: "\r\n", maxSplits: 1).first else { return false }
        let parts = line.split(separator: " ")
        return parts.count == 3 && parts[2] == "SIP/2.0" && parts[0].allSatisfy { $0.isUppercase }
    }

    static func isStatusLine(_ bytes: [UInt8]) -> Bool {
        String(decoding: bytes.prefix(12), as: UTF8.self).hasPrefix("SIP/2.0 ")
    }

    @Test func zeekWireshark() throws {
        let (outputs, decoder) = try decodeCapture(try fixtureBytes("zeek-wireshark.pcap"))
        let payloads = outputs.compactMap(\.payload)
        #expect(decoder.statistics.frames == 81)
        #expect(payloads.count == 81)
        #expect(payloads.filter { Self.isRequestLine($0.bytes) }.count == 47)
        #expect(payloads.filter { Self.isStatusLine($0.bytes) }.count == 34)
        #expect(payloads.map(\.frameNumber) == (1...81).map { Optional($0) })
        #expect(payloads.allSatisfy { $0.flow.transport == .udp && ($0.flow.sourcePort == 5060 || $0.flow.destinationPort == 5060) })
        let first = try #require(payloads.first)
        #expect(first.flow.source == IPAddress("192.168.1.2"))
        #expect(first.flow.destination == IPAddress("212.242.33.35"))
        #expect(first.text.hasPrefix("REGISTER sip:sip.cybercity.dk SIP/2.0\r\n"))
        // 09:32:52.844249 (tcpdump, UTC): 1120469572.844249
        #expect(first.time == Timestamp(microseconds: 1_120_469_572_844_249))
        #expect(payloads[1].text.hasPrefix("SIP/2.0 401 Unauthorized"))
        #expect(payloads[1].flow == first.flow.reversed)
        let sources = Set(payloads.map(\.flow.source))
        #expect(sources == [IPAddress("192.168.1.2")!, IPAddress("212.242.33.35")!, IPAddress("200.68.120.81")!])
    }

    @Test func sameFramesFromPcapngAndNanosecondPcap() throws {
        let reference = try decodeCapture(try fixtureBytes("zeek-wireshark.pcap")).outputs.compactMap(\.payload)
        for name in ["zeek-wireshark.pcapng", "zeek-wireshark-nsec.pcap"] {
            let other = try decodeCapture(try fixtureBytes(name)).outputs.compactMap(\.payload)
            #expect(other.count == reference.count, "\(name)")
            #expect(other.map(\.bytes) == reference.map(\.bytes), "\(name)")
            #expect(other.map(\.time) == reference.map(\.time), "\(name)")
            #expect(other.map(\.flow) == reference.map(\.flow), "\(name)")
            #expect(other.map(\.origin) == reference.map(\.origin), "\(name)")
        }
        var reader = CaptureFileReader(bytes: try fixtureBytes("zeek-wireshark.pcapng"))
        _ = try reader.nextFrame { _ in }
        #expect(reader.format == .pcapng)
    }

    @Test func junkBeforeRequest() throws {
        let payloads = try decodeCapture(try fixtureBytes("zeek-sip-junk-before-request.pcap")).outputs.compactMap(\.payload)
        #expect(payloads.count == 2)
        #expect(payloads.allSatisfy { $0.flow.destinationPort == 5060 && $0.flow.source == IPAddress("1.1.1.1") })
        #expect(payloads[1].text.hasPrefix("REGISTER sip:1.1.1.1:5060 SIP/2.0"))
    }

    /// The generated captures: Linux cooked v1/v2, IPv4 and IPv6 fragments, TCP split messages.
    @Test(arguments: ["generated-sip-sll2.pcap", "generated-sip-sll.pcapng"])
    func generatedTraffic(name: String) throws {
        let (outputs, decoder) = try decodeCapture(try fixtureBytes(name), finish: true)
        let payloads = outputs.compactMap(\.payload)
        let udp = payloads.filter { $0.flow.transport == .udp }
        #expect(udp.count == 4)
        #expect(udp.filter { $0.bytes.count > 3000 }.count == 2, "both 3 KB REGISTERs reassembled")
        #expect(udp.allSatisfy { Self.isRequestLine($0.bytes) && $0.flow.destinationPort == 5060 })
        #expect(Set(udp.map(\.flow.source.family)) == [.v4, .v6])
        #expect(udp.contains { $0.text.contains("Call-ID: gen-big6\r\n") && $0.text.hasSuffix("\r\n\r\n") })
        #expect(decoder.statistics.reassembled == 2)
        #expect(decoder.statistics.filteredByPort >= 1) // the datagram to 9999
        #expect(decoder.statistics.otherProtocol >= 4) // ICMP unreachables

        let tcp = payloads.filter { $0.flow.transport == .tcp }
        let toServer = tcp.filter { $0.flow.destinationPort == 5060 }
        let toClient = tcp.filter { $0.flow.sourcePort == 5060 }
        let request = String(decoding: toServer.flatMap(\.bytes), as: UTF8.self)
        #expect(request.components(separatedBy: "REGISTER sip:198.18.0.1 SIP/2.0\r\n").count == 3)
        #expect(request.hasSuffix("Content-Length: 0\r\n\r\n"))
        #expect(request.contains("Call-ID: gen-t1\r\n") && request.contains("Call-ID: gen-t2\r\n"))
        #expect(toServer.count == 3)
        let responses = String(decoding: toClient.flatMap(\.bytes), as: UTF8.self)
        #expect(responses.components(separatedBy: "SIP/2.0 401 Unauthorized\r\n").count == 3)
        let closes = outputs.compactMap { if case .streamClosed(_, let reason, _) = $0 { reason } else { nil } }
        #expect(closes == [.fin, .fin])
        #expect(decoder.statistics.tcpBytesDropped == 0)
    }

    // MARK: Hand-built files

    @Test func classicPcapVariants() throws {
        let frame = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(1, 5060, Frames.sipRequest()))
        for bigEndian in [false, true] {
            for nanosecond in [false, true] {
                let file = Frames.pcap(
                    [(1_700_000_000, nanosecond ? 123_456_789 : 123_456, frame), (1_700_000_001, 0, frame)],
                    linkType: 101, nanosecond: nanosecond, bigEndian: bigEndian)
                var reader = CaptureFileReader(bytes: file)
                var frames: [(Int, LinkType, Timestamp, [UInt8])] = []
                try reader.forEachFrame { frames.append(($0.number, $0.linkType, $0.timestamp, Array($0.bytes))) }
                #expect(reader.format == .pcap(nanosecond: nanosecond, bigEndian: bigEndian))
                #expect(frames.count == 2)
                #expect(frames[0].0 == 1 && frames[1].0 == 2)
                #expect(frames[0].1 == .raw)
                #expect(frames[0].2 == Timestamp(microseconds: 1_700_000_000_123_456))
                #expect(frames[1].2 == Timestamp(seconds: 1_700_000_001))
                #expect(frames[0].3 == frame)
            }
        }
    }

    @Test func pcapngInterfacesResolutionsAndSections() throws {
        let v4 = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(1, 5060, Frames.sipRequest("a")))
        let eth = Frames.ethernet(v4)
        var w = PcapngWriter()
        w.sectionHeader()
        w.interface(linkType: 1) // µs
        w.interface(linkType: 101, tsresol: 9) // ns
        w.block(0x0000_0BAD, [1, 2, 3, 4, 5, 6, 7, 8]) // custom/unknown: skipped
        w.block(4, [0, 0, 0, 0]) // name resolution: skipped
        w.enhancedPacket(interface: 0, units: 1_700_000_000_000_001, eth)
        w.enhancedPacket(interface: 1, units: 1_700_000_000_000_002_999, v4)
        w.simplePacket(eth)
        // A second section, big-endian, binary resolution 2^-10 and a 100 s offset.
        var be = PcapngWriter(bigEndian: true)
        be.sectionHeader()
        be.interface(linkType: 113, tsresol: 0x80 | 10, tsoffset: 100)
        be.enhancedPacket(interface: 0, units: 1024 * 5 + 512, Frames.sll(v4))
        let file = w.bytes + be.bytes

        var reader = CaptureFileReader(bytes: file)
        var frames: [CapturedFrameCopy] = []
        try reader.forEachFrame { frames.append(CapturedFrameCopy($0)) }
        #expect(frames.map(\.number) == [1, 2, 3, 4])
        #expect(frames.map(\.linkType) == [.ethernet, .raw, .ethernet, .linuxSLL])
        #expect(frames[0].timestamp == Timestamp(microseconds: 1_700_000_000_000_001))
        #expect(frames[1].timestamp == Timestamp(microseconds: 1_700_000_000_000_002))
        #expect(frames[2].timestamp == frames[1].timestamp) // simple packet block: previous time
        #expect(frames[3].timestamp == Timestamp(microseconds: 105_500_000))
        #expect(frames[1].interface == 1)
        #expect(frames[0].bytes == eth && frames[2].bytes == eth)

        let (outputs, _) = try decodeCapture(file)
        #expect(outputs.compactMap(\.payload).count == 4)
    }

    @Test func pcapngSnapLengthAndOriginalLength() throws {
        var w = PcapngWriter()
        w.sectionHeader()
        w.interface(linkType: 101, snapLength: 20)
        w.simplePacket([UInt8](repeating: 0x45, count: 60))
        w.enhancedPacket(interface: 0, units: 1, [UInt8](repeating: 0x45, count: 20), originalLength: 60)
        var reader = CaptureFileReader(bytes: w.bytes)
        var frames: [CapturedFrameCopy] = []
        try reader.forEachFrame { frames.append(CapturedFrameCopy($0)) }
        #expect(frames.map(\.bytes.count) == [20, 20])
        #expect(frames.map(\.originalLength) == [60, 60])
    }

    @Test func incrementalSourceMatchesInMemory() throws {
        for name in ["zeek-wireshark.pcap", "zeek-wireshark.pcapng", "generated-sip-sll2.pcap"] {
            let bytes = try fixtureBytes(name)
            var memory = CaptureFileReader(bytes: bytes)
            var expected: [CapturedFrameCopy] = []
            try memory.forEachFrame { expected.append(CapturedFrameCopy($0)) }
            // Deliver the file 1..97 bytes at a time.
            var position = 0
            var step = 1
            var chunked = CaptureFileReader { buffer in
                step = step % 97 + 1
                let n = min(step, buffer.count, bytes.count - position)
                for i in 0..<n { buffer[i] = bytes[position + i] }
                position += n
                return n
            }
            var got: [CapturedFrameCopy] = []
            try chunked.forEachFrame { got.append(CapturedFrameCopy($0)) }
            #expect(got == expected, "\(name)")
            #expect(chunked.framesRead == expected.count)
        }
    }

    @Test func typedErrorsForMalformedFiles() throws {
        func error(_ bytes: [UInt8]) -> CaptureFileError? {
            var reader = CaptureFileReader(bytes: bytes)
            do {
                try reader.forEachFrame { _ in }
                return nil
            } catch {
                return error
            }
        }
        let frame = [UInt8](repeating: 0x45, count: 40)
        let good = Frames.pcap([(1, 0, frame), (2, 0, frame)])
        #expect(error([]) == .empty)
        #expect(error(Array("GIF89a..".utf8)) == .unknownFormat(magic: 0x4749_4638))
        #expect(error(Array(good[0..<10])) == .truncated(what: "the pcap file header", offset: 0))
        #expect(error(Array(good[0..<(24 + 16 + 40 + 5)])) == .truncated(what: "the record header of frame 2", offset: 80))
        #expect(error(Array(good.dropLast(1))) == .truncated(what: "frame 2", offset: 80))
        var huge = good
        huge.replaceSubrange(32..<36, with: Frames.le32(0x7FFF_FFFF))
        #expect(error(huge) == .frameTooLarge(frame: 1, length: 0x7FFF_FFFF, limit: 262_144))
        var version = good
        version[4] = 3
        #expect(error(version) == .unsupportedVersion(major: 3, minor: 4))
        #expect(error(good) == nil)

        var w = PcapngWriter()
        w.sectionHeader()
        w.enhancedPacket(interface: 0, units: 0, frame)
        #expect(error(w.bytes) == .undefinedInterface(frame: 1, interface: 0))
        var badMagic = PcapngWriter()
        badMagic.sectionHeader()
        badMagic.bytes[8] = 0
        #expect(error(badMagic.bytes) == .badByteOrderMagic(offset: 0))
        var badLength = PcapngWriter()
        badLength.sectionHeader()
        badLength.interface(linkType: 1)
        badLength.bytes[28 + 4] = 13 // IDB length not a multiple of 4
        #expect(error(badLength.bytes) == .badBlockLength(offset: 28, length: 13))
        var mismatch = PcapngWriter()
        mismatch.sectionHeader()
        mismatch.interface(linkType: 1)
        mismatch.bytes[mismatch.bytes.count - 4] ^= 4 // trailing length differs
        #expect(error(mismatch.bytes) == .badBlockLength(offset: 28, length: 20))
        var inconsistent = PcapngWriter()
        inconsistent.sectionHeader()
        inconsistent.interface(linkType: 1)
        inconsistent.enhancedPacket(interface: 0, units: 0, frame)
        inconsistent.bytes.replaceSubrange(48 + 20..<48 + 24, with: Frames.le32(41)) // captured 41 > 40 present
        #expect(error(inconsistent.bytes) == .inconsistentBlock(frame: 1, offset: 48))
        var cut = PcapngWriter()
        cut.sectionHeader()
        cut.interface(linkType: 1)
        cut.enhancedPacket(interface: 0, units: 0, frame)
        #expect(error(Array(cut.bytes.dropLast(3))) == .truncated(what: "a pcapng block", offset: 48))
        // Every error has a readable reason.
        #expect(CaptureFileError.truncated(what: "frame 2", offset: 80).description == "the capture file ends inside frame 2 (at byte 80)")
    }

    @Test func sourceErrorsAreReported() {
        var reader = CaptureFileReader { _ in -5 }
        #expect(throws: CaptureFileError.readFailed(errno: 5)) { try reader.forEachFrame { _ in } }
    }
}

/// An owned copy of a frame for comparisons.
struct CapturedFrameCopy: Equatable {
    var number: Int
    var linkType: LinkType
    var timestamp: Timestamp
    var originalLength: Int
    var interface: Int
    var bytes: [UInt8]

    init(_ frame: CapturedFrame) {
        number = frame.number
        linkType = frame.linkType
        timestamp = frame.timestamp
        originalLength = frame.originalLength
        interface = frame.interface
        bytes = Array(frame.bytes)
    }
}
