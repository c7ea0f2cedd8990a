// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import TestSupport
import Testing
import WardenCore

@Suite("HEP decoder")
struct HEPDecoderTests {
    @Test func decodesIPv4SIPOverUDP() throws {
        let p = try #require(sipPayload(RawHEP.standard().bytes()))
        #expect(p.flow.source == IPAddress("198.18.20.66"))
        #expect(p.flow.sourcePort == 5070)
        #expect(p.flow.destination == IPAddress("198.18.20.1"))
        #expect(p.flow.destinationPort == 5060)
        #expect(p.flow.transport == .udp)
        #expect(p.time == Timestamp(seconds: 1_735_689_600, microseconds: 123_456))
        #expect(p.bytes == hepSamplePayload)
        #expect(p.origin == .hep(agent: hepAgent, captureID: 2001))
    }

    @Test func decodesIPv6() throws {
        let p = try #require(sipPayload(RawHEP.standard(v6: true).bytes()))
        #expect(p.flow.source == IPAddress("2001:2::66"))
        #expect(p.flow.destination == IPAddress("2001:2::1"))
        #expect(p.flow.sourcePort == 5070)
    }

    @Test func mappedAddressesBecomeIPv4() throws {
        var raw = RawHEP.standard(v6: true)
        raw.set(5, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 18, 20, 77])
        let mappedAgent = try #require(IPAddress("::ffff:127.0.0.1"))
        let decoded = try HEPDecoder().decode(raw.bytes(), agent: mappedAgent, receivedAt: hepReceivedAt)
        guard case .sip(let p) = decoded else {
            Issue.record("not SIP")
            return
        }
        #expect(p.flow.source == IPAddress("198.18.20.77"))
        #expect(p.origin == .hep(agent: hepAgent, captureID: 2001))
    }

    @Test func encoderRoundTrips() throws {
        for (src, dst, transport) in [
            ("198.18.0.9", "198.18.0.10", Transport.udp), ("2001:2::9", "2001:2::a", .tcp), ("198.18.1.1", "198.18.1.2", .sctp),
            ("198.18.1.1", "198.18.1.2", .tls),
        ] {
            let flow = FlowKey(
                source: IPAddress(src)!, sourcePort: 40000, destination: IPAddress(dst)!, destinationPort: 5061,
                transport: transport)
            let packet = HEPPacket(
                flow: flow, ipProtocol: HEPEncoder.ipProtocol(for: transport),
                time: Timestamp(seconds: 1_700_000_000, microseconds: 999_999), captureID: 7, payload: hepSamplePayload)
            let bytes = try #require(HEPEncoder.encode(packet, authKey: Array("k".utf8)))
            let back = try HEPDecoder(authKey: "k").packet(bytes, receivedAt: hepReceivedAt)
            #expect(back == packet)
        }
    }

    @Test func encoderMapsMixedFamiliesAndRefusesOversize() throws {
        let flow = FlowKey(source: IPAddress("198.18.0.1")!, sourcePort: 1, destination: IPAddress("2001:2::1")!, destinationPort: 2, transport: .udp)
        let mixed = HEPPacket(flow: flow, ipProtocol: 17, time: hepReceivedAt, payload: [1])
        let mixedBytes = try #require(HEPEncoder.encode(mixed))
        #expect(mixedBytes[6 + 6] == 10, "sent as IPv6")
        #expect(try HEPDecoder().packet(mixedBytes, receivedAt: hepReceivedAt) == mixed)
        let ok = FlowKey(source: IPAddress("198.18.0.1")!, sourcePort: 1, destination: IPAddress("198.18.0.2")!, destinationPort: 2, transport: .udp)
        #expect(HEPEncoder.encode(HEPPacket(flow: ok, ipProtocol: 17, time: hepReceivedAt, payload: [UInt8](repeating: 65, count: 65535))) == nil)
        let largest = [UInt8](repeating: 65, count: 65535 - 99)
        let bytes = HEPEncoder.encode(HEPPacket(flow: ok, ipProtocol: 17, time: hepReceivedAt, payload: largest))
        #expect(bytes?.count == 65535)
        #expect(bytes.flatMap { sipPayload($0) }?.bytes == largest)
    }

    // MARK: Authentication

    @Test func authKeyChecks() {
        let secret = Array("s3cret".utf8)
        #expect(sipPayload(RawHEP.standard(key: secret).bytes(), key: "s3cret") != nil)
        #expect(sipPayload(RawHEP.standard(key: secret + [0]).bytes(), key: "s3cret") != nil, "one trailing NUL is tolerated")
        #expect(hepError(RawHEP.standard().bytes(), key: "s3cret") == .authenticationMissing)
        #expect(hepError(RawHEP.standard(key: Array("s3creT".utf8)).bytes(), key: "s3cret") == .authenticationFailed)
        #expect(hepError(RawHEP.standard(key: Array("s3cre".utf8)).bytes(), key: "s3cret") == .authenticationFailed)
        #expect(hepError(RawHEP.standard(key: secret + [0, 0]).bytes(), key: "s3cret") == .authenticationFailed)
        #expect(hepError(RawHEP.standard(key: Array("s3cret!".utf8)).bytes(), key: "s3cret") == .authenticationFailed)
        #expect(hepError(RawHEP.standard(key: []).bytes(), key: "s3cret") == .authenticationFailed)
        // Without a configured key, a carried key is ignored; an empty configured key means none.
        #expect(sipPayload(RawHEP.standard(key: secret).bytes()) != nil)
        #expect(sipPayload(RawHEP.standard().bytes(), key: "") != nil)
        // A key in a vendor chunk does not count.
        var vendor = RawHEP.standard()
        vendor.chunks.insert(RawHEP.Chunk(vendor: 3, type: 14, data: secret), at: 2)
        #expect(hepError(vendor.bytes(), key: "s3cret") == .authenticationMissing)
    }

    // MARK: Tolerated extras

    @Test func skipsVendorAndUnknownChunks() throws {
        var raw = RawHEP.standard()
        raw.chunks.insert(RawHEP.Chunk(vendor: 3, type: 15, data: Array("not the payload".utf8)), at: 0)
        raw.chunks.insert(RawHEP.Chunk(vendor: 0x1234, type: 1, data: [99, 99, 99]), at: 3)
        raw.chunks.append(RawHEP.Chunk(type: 0x20, data: []))
        raw.chunks.append(RawHEP.Chunk(type: 0x26, data: Array("tags".utf8)))
        raw.chunks.append(RawHEP.Chunk(type: 17, data: Array("call-id@host".utf8)))
        raw.chunks.append(RawHEP.Chunk(type: 13, data: hepBE16(30)))
        let p = try #require(sipPayload(raw.bytes()))
        #expect(p.bytes == hepSamplePayload)
        #expect(p.flow.source == IPAddress("198.18.20.66"))
    }

    @Test func optionalChunksDefault() throws {
        var raw = RawHEP.standard()
        raw.remove(10)
        raw.remove(12)
        let p = try #require(sipPayload(raw.bytes()))
        #expect(p.time == Timestamp(seconds: 1_735_689_600))
        #expect(p.origin == .hep(agent: hepAgent, captureID: 0))
    }

    @Test func transportMapping() throws {
        for (id, transport) in [(UInt8(17), Transport.udp), (6, .tcp), (132, .sctp), (22, .tls)] {
            var raw = RawHEP.standard()
            raw.set(2, [id])
            #expect(sipPayload(raw.bytes())?.flow.transport == transport)
        }
        var raw = RawHEP.standard()
        raw.set(2, [1])
        #expect(hepError(raw.bytes()) == .unsupportedTransport(1))
    }

    @Test func nonSIPIsReportedNotDecoded() throws {
        var raw = RawHEP.standard(protocolType: 5)
        #expect(throws: Never.self) {
            let d = try HEPDecoder().decode(raw.bytes(), agent: hepAgent, receivedAt: hepReceivedAt)
            guard case .nonSIP(5) = d else {
                Issue.record("expected nonSIP(5), got \(d)")
                return
            }
        }
        // Non-SIP packets need no payload and no known transport (e.g. a log chunk).
        raw.remove(15)
        raw.set(2, [0])
        raw.set(11, [100])
        let d = try HEPDecoder().decode(raw.bytes(), agent: hepAgent, receivedAt: hepReceivedAt)
        guard case .nonSIP(100) = d else {
            Issue.record("expected nonSIP(100), got \(d)")
            return
        }
        // ...but they are still authenticated.
        #expect(hepError(raw.bytes(), key: "k") == .authenticationMissing)
    }

    // MARK: Malformed input

    @Test func truncatedAtEveryByteIsRejected() {
        for raw in [RawHEP.standard(), RawHEP.standard(v6: true), RawHEP.standard(key: Array("k".utf8))] {
            let full = raw.bytes()
            for cut in 0..<full.count {
                let prefix = Array(full[..<cut])
                #expect(hepError(prefix) != nil, "prefix of \(cut) bytes accepted")
                // Same prefix with a total length that agrees with it: chunk checks must catch it.
                if cut >= 6 {
                    var patched = prefix
                    patched[4] = UInt8(cut >> 8)
                    patched[5] = UInt8(cut & 0xFF)
                    let error = hepError(patched)
                    #expect(error != nil, "patched prefix of \(cut) bytes accepted")
                }
            }
            #expect(hepError(full) == nil)
        }
    }

    @Test func specificTruncationReasons() {
        let full = RawHEP.standard().bytes()
        #expect(hepError([]) == .truncated(length: 0))
        #expect(hepError(Array(full[..<5])) == .truncated(length: 5))
        #expect(hepError(Array(full[..<100])) == .lengthMismatch(declared: full.count, received: 100))
        // A chunk header cut short after a patched total length.
        var cut = Array(full[..<(6 + 7 + 3)])
        cut[4] = 0
        cut[5] = UInt8(cut.count)
        #expect(hepError(cut) == .chunkOverrun(offset: 13, length: 3, remaining: 3))
    }

    @Test func wrongLengthsAreRejected() {
        var raw = RawHEP.standard()
        raw.totalAdjust = 1
        #expect(hepError(raw.bytes()) == .lengthMismatch(declared: raw.bytes().count + 1, received: raw.bytes().count))
        raw.totalAdjust = -1
        #expect(hepError(raw.bytes())?.reason == .lengthMismatch)

        for adjust in [-6, -1] {
            var r = RawHEP.standard()
            r.chunks[0].lengthAdjust = adjust // family chunk: 7 bytes → 1 or 6
            let e = hepError(r.bytes())
            #expect(e?.reason == (adjust == -6 ? .chunkTooShort : .badChunkSize), "\(String(describing: e))")
        }
        var overrun = RawHEP.standard()
        overrun.chunks[overrun.chunks.count - 1].lengthAdjust = 1
        #expect(hepError(overrun.bytes())?.reason == .chunkOverrun)
        var huge = RawHEP.standard()
        huge.chunks[0].lengthAdjust = 60000
        #expect(hepError(huge.bytes())?.reason == .chunkOverrun)

        // Every fixed-size chunk with one byte too many or too few.
        for type: UInt16 in [1, 2, 3, 4, 7, 8, 9, 10, 11, 12] {
            for delta in [-1, 1] {
                var r = RawHEP.standard()
                let i = r.chunks.firstIndex { $0.type == type }!
                if delta < 0 { r.chunks[i].data.removeLast() } else { r.chunks[i].data.append(0) }
                #expect(hepError(r.bytes()) == .badChunkSize(type: type, dataLength: r.chunks[i].data.count))
            }
        }
        var v6 = RawHEP.standard(v6: true)
        v6.set(6, [UInt8](repeating: 1, count: 4))
        #expect(hepError(v6.bytes()) == .badChunkSize(type: 6, dataLength: 4))
    }

    @Test func missingMandatoryChunks() {
        for type: UInt16 in [1, 2, 3, 4, 7, 8, 9, 11, 15] {
            var r = RawHEP.standard()
            r.remove(type)
            #expect(hepError(r.bytes()) == .missingChunk(type: type), "type \(type)")
        }
        for type: UInt16 in [5, 6] {
            var r = RawHEP.standard(v6: true)
            r.remove(type)
            #expect(hepError(r.bytes()) == .missingChunk(type: type), "type \(type)")
        }
    }

    @Test func duplicatesAreRejected() {
        for type: UInt16 in [1, 3, 9, 14, 15] {
            var r = RawHEP.standard(key: [1])
            let c = r.chunks.first { $0.type == type }!
            r.chunks.append(c)
            #expect(hepError(r.bytes()) == .duplicateChunk(type: type))
        }
    }

    @Test func familyRules() {
        var r = RawHEP.standard()
        r.set(1, [10])
        #expect(hepError(r.bytes()) == .familyMismatch(family: 10))
        r = RawHEP.standard()
        r.chunks.append(RawHEP.Chunk(type: 5, data: [UInt8](repeating: 0, count: 16)))
        #expect(hepError(r.bytes()) == .familyMismatch(family: 2))
        r = RawHEP.standard(v6: true)
        r.set(1, [2])
        #expect(hepError(r.bytes()) == .familyMismatch(family: 2))
        r = RawHEP.standard()
        r.set(1, [7])
        #expect(hepError(r.bytes()) == .unsupportedFamily(7))
    }

    @Test func timestampAndPayloadRules() {
        var r = RawHEP.standard()
        r.set(10, hepBE32(1_000_000))
        #expect(hepError(r.bytes()) == .invalidTimestamp(microseconds: 1_000_000))
        r = RawHEP.standard(payload: [])
        #expect(hepError(r.bytes()) == .emptyPayload)
        r = RawHEP.standard()
        r.remove(15)
        r.chunks.append(RawHEP.Chunk(type: 16, data: [0x1F, 0x8B, 8, 0]))
        #expect(hepError(r.bytes()) == .compressedPayload)
        #expect(hepError(Array("GARBAGE!".utf8)) == .unknownVersion(firstByte: 0x47))
        #expect(hepError(Array("HEP2xxxxxxxxxx".utf8)) == .unknownVersion(firstByte: 0x48))
    }

    @Test func errorsDescribeThemselves() {
        let all: [HEPError] = [
            .truncated(length: 1), .unknownVersion(firstByte: 0x47), .lengthMismatch(declared: 1, received: 2), .badHeaderLength(3),
            .chunkTooShort(offset: 6, length: 2), .chunkOverrun(offset: 6, length: 9, remaining: 8),
            .badChunkSize(type: 1, dataLength: 2), .duplicateChunk(type: 1), .missingChunk(type: 15), .unsupportedFamily(3),
            .familyMismatch(family: 2), .unsupportedTransport(1), .invalidTimestamp(microseconds: 1_000_000),
            .authenticationMissing, .authenticationFailed, .compressedPayload, .emptyPayload,
        ]
        #expect(Set(all.map(\.reason)) == Set(HEPRejection.allCases))
        #expect(Set(all.map(\.description)).count == all.count)
    }

    // MARK: HEPv1 / v2

    static func v2(version: UInt8 = 2, v6: Bool = false, payload: [UInt8] = hepSamplePayload, headerLength: UInt8? = nil) -> [UInt8] {
        var addresses: [UInt8] = [198, 18, 20, 66, 198, 18, 20, 1]
        if v6 {
            let source: [UInt8] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66]
            let destination: [UInt8] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
            addresses = source + destination
        }
        let length: UInt8 = headerLength ?? UInt8(8 + addresses.count)
        let family: UInt8 = v6 ? 10 : 2
        var out: [UInt8] = [version, length, family, 17]
        out += hepBE16(5070)
        out += hepBE16(5060)
        out += addresses
        if version == 2 {
            out += hepLE32(1_735_689_600)
            out += hepLE32(250_000)
            out += [0xD1, 0x07, 0, 0]
        }
        return out + payload
    }

    @Test func decodesHEPv2() throws {
        let p = try #require(sipPayload(Self.v2()))
        #expect(p.flow.source == IPAddress("198.18.20.66"))
        #expect(p.flow.destination == IPAddress("198.18.20.1"))
        #expect(p.flow.sourcePort == 5070 && p.flow.destinationPort == 5060)
        #expect(p.time == Timestamp(seconds: 1_735_689_600, microseconds: 250_000))
        #expect(p.origin == .hep(agent: hepAgent, captureID: 2001))
        #expect(p.bytes == hepSamplePayload)
        let p6 = try #require(sipPayload(Self.v2(v6: true)))
        #expect(p6.flow.source == IPAddress("2001:2::66"))
        #expect(p6.bytes == hepSamplePayload)
    }

    @Test func decodesHEPv1WithReceiveTime() throws {
        let p = try #require(sipPayload(Self.v2(version: 1)))
        #expect(p.time == hepReceivedAt)
        #expect(p.bytes == hepSamplePayload)
        #expect(p.origin == .hep(agent: hepAgent, captureID: 0))
    }

    @Test func hepV2Rules() {
        #expect(hepError(Self.v2(), key: "k") == .authenticationMissing)
        #expect(hepError(Self.v2(headerLength: 40)) == .badHeaderLength(40))
        #expect(hepError(Self.v2(payload: [])) == .emptyPayload)
        let full = Self.v2()
        for cut in 0..<(8 + 8 + 12 + 1) {
            #expect(hepError(Array(full[..<cut])) != nil, "v2 prefix of \(cut) bytes accepted")
        }
    }

    // MARK: Robustness

    @Test func randomMutationsNeverTrap() {
        var rng = SplitMix64(seed: 0x5EED)
        let seeds = [RawHEP.standard().bytes(), RawHEP.standard(v6: true, key: [1, 2]).bytes(), Self.v2(), Self.v2(v6: true)]
        var accepted = 0
        for i in 0..<20000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0: b[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.removeSubrange(at...)
                default: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                }
                if b.isEmpty { break }
            }
            if case .sip? = try? HEPDecoder().decode(b, agent: hepAgent, receivedAt: hepReceivedAt) { accepted += 1 }
        }
        // Some mutations (payload bytes, ports) stay valid; most do not.
        #expect(accepted > 0 && accepted < 20000)
    }
}
