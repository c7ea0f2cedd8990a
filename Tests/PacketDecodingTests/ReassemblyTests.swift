// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Testing
import WardenCore

@testable import PacketDecoding

@Suite("IP fragment reassembly")
struct ReassemblyTests {
    /// A UDP datagram to 5060 of `size` payload bytes, split into IPv4 fragments of `chunk` bytes.
    static func v4Fragments(size: Int = 3000, chunk: Int = 1480, id: UInt16 = 77, src: String = "198.18.0.2") -> (payload: [UInt8], frames: [[UInt8]])
    {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let datagram = Frames.udp(40000, 5060, payload)
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < datagram.count {
            let end = min(offset + chunk, datagram.count)
            frames.append(
                Frames.ipv4(
                    src, "198.18.0.1", proto: 17, Array(datagram[offset..<end]), id: id,
                    moreFragments: end < datagram.count, fragmentOffset: offset))
            offset = end
        }
        return (payload, frames)
    }

    static func v6Fragments(size: Int = 3000, chunk: Int = 1448, id: UInt32 = 0xABCD, withDestinationOptions: Bool = false) -> (
        payload: [UInt8], frames: [[UInt8]]
    ) {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 5 &+ 1) }
        var fragmentable = Frames.udp(40000, 5060, payload)
        var first: UInt8 = 17
        if withDestinationOptions {
            fragmentable = Frames.extensionHeader(next: 17) + fragmentable
            first = 60
        }
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < fragmentable.count {
            let end = min(offset + chunk, fragmentable.count)
            let body =
                Frames.extensionHeader(next: 44) + Frames.fragmentHeader(next: first, offset: offset, more: end < fragmentable.count, id: id)
                + fragmentable[offset..<end]
            frames.append(Frames.ipv6("2001:2::2", "2001:2::1", next: 0, body))
            offset = end
        }
        return (payload, frames)
    }

    func run(_ frames: [[UInt8]], decoder: inout PacketDecoder, step: Duration = .milliseconds(1)) -> [WirePayload] {
        var out: [WirePayload] = []
        var time = t0
        for frame in frames {
            out += decoder.payloads(linkType: .raw, timestamp: time, frame: frame, origin: .frame(1))
            time = time + step
        }
        return out
    }

    @Test func inOrder() throws {
        let (payload, frames) = Self.v4Fragments()
        #expect(frames.count == 3)
        var decoder = PacketDecoder()
        let out = run(frames, decoder: &decoder)
        #expect(out.count == 1)
        #expect(out.first?.bytes == payload)
        #expect(out.first?.flow.destinationPort == 5060)
        #expect(decoder.statistics.reassembled == 1)
        #expect(decoder.statistics.fragmentsPending == 0)
    }

    @Test func outOfOrderAndDuplicates() {
        let (payload, frames) = Self.v4Fragments(size: 5000, chunk: 1000)
        var decoder = PacketDecoder()
        let shuffled = [frames[3], frames[1], frames[1], frames[5], frames[0], frames[3], frames[2], frames[4]]
        let out = run(shuffled, decoder: &decoder)
        #expect(out.map(\.bytes) == [payload])
        #expect(decoder.reassemblyStatistics.duplicates == 2)
    }

    @Test func overlapDiscardsTheDatagram() {
        let (_, frames) = Self.v4Fragments(size: 3000, chunk: 1000)
        // A forged fragment overlapping the second one with other bytes (a classic evasion).
        let forged = Frames.ipv4(
            "198.18.0.2", "198.18.0.1", proto: 17, [UInt8](repeating: 0x41, count: 16), id: 77,
            moreFragments: true, fragmentOffset: 1000)
        var decoder = PacketDecoder()
        let out = run([frames[0], frames[1], forged, frames[2], frames[3]], decoder: &decoder)
        #expect(out.isEmpty)
        #expect(decoder.reassemblyStatistics.overlapDiscards >= 1)
        // Same-offset different-bytes of the same length is an overlap too, not a duplicate.
        var changed = frames[1]
        changed[changed.count - 1] ^= 0xFF
        var second = PacketDecoder()
        #expect(run([frames[0], frames[1], changed, frames[2], frames[3]], decoder: &second).isEmpty)
        #expect(second.reassemblyStatistics.overlapDiscards == 1)
    }

    @Test func inconsistentEnds() {
        let (_, frames) = Self.v4Fragments(size: 3000, chunk: 1000)
        // A second "last" fragment ending elsewhere.
        let otherLast = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, [1, 2, 3, 4, 5, 6, 7, 8], id: 77, fragmentOffset: 4000)
        var decoder = PacketDecoder()
        #expect(run([frames[3], otherLast, frames[0], frames[1], frames[2]], decoder: &decoder).isEmpty)
        #expect(decoder.reassemblyStatistics.overlapDiscards == 1)
    }

    @Test func oversizeAndMalformed() {
        // Ping of death: data past 65,535 bytes.
        let huge = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, [UInt8](repeating: 1, count: 600), id: 5, fragmentOffset: 65_000)
        var decoder = PacketDecoder()
        #expect(run([huge], decoder: &decoder).isEmpty)
        #expect(decoder.reassemblyStatistics.oversizeDiscards == 1)
        // A non-final fragment whose length is not a multiple of 8.
        let odd = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, [UInt8](repeating: 1, count: 13), id: 6, moreFragments: true)
        #expect(run([odd], decoder: &decoder).isEmpty)
        #expect(decoder.reassemblyStatistics.malformed == 1)
        // Too many fragments for one datagram.
        var tiny: [[UInt8]] = []
        for i in 0..<80 {
            tiny.append(
                Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, [UInt8](repeating: 2, count: 8), id: 7, moreFragments: true, fragmentOffset: i * 8)
            )
        }
        #expect(run(tiny, decoder: &decoder).isEmpty)
        #expect(decoder.reassemblyStatistics.oversizeDiscards >= 2)
        #expect(decoder.statistics.fragmentsPending <= 1)
    }

    @Test func boundedConcurrencyEvictsOldest() {
        var decoder = PacketDecoder(configuration: .init(reassembly: .init(maxDatagrams: 4)))
        var firsts: [[UInt8]] = []
        var rests: [[[UInt8]]] = []
        for id in 0..<10 {
            let (_, frames) = Self.v4Fragments(size: 2000, chunk: 1480, id: UInt16(id))
            firsts.append(frames[0])
            rests.append(Array(frames.dropFirst()))
        }
        #expect(run(firsts, decoder: &decoder).isEmpty)
        #expect(decoder.statistics.fragmentsPending == 4)
        #expect(decoder.reassemblyStatistics.evicted == 6)
        // The four newest complete.
        let completed = run(rests[6...].flatMap { $0 }, decoder: &decoder)
        #expect(completed.count == 4)
        #expect(decoder.statistics.fragmentsPending == 0)
        // The evicted ones cannot: their second halves wait alone, still bounded.
        #expect(run(rests[..<6].flatMap { $0 }, decoder: &decoder).isEmpty)
        #expect(decoder.statistics.fragmentsPending == 4)
        #expect(decoder.reassemblyStatistics.evicted == 8)
    }

    @Test func timeoutByPacketTime() {
        let (_, frames) = Self.v4Fragments()
        var decoder = PacketDecoder(configuration: .init(reassembly: .init(timeout: .seconds(30))))
        // First fragment, then the rest 31 s later: too late.
        #expect(run([frames[0]], decoder: &decoder).isEmpty)
        var out: [WirePayload] = []
        for frame in frames.dropFirst() {
            out += decoder.payloads(linkType: .raw, timestamp: t0 + .seconds(31), frame: frame, origin: .frame(2))
        }
        #expect(out.isEmpty)
        #expect(decoder.reassemblyStatistics.timedOut == 1)
        // Within the timeout it works.
        var patient = PacketDecoder()
        out = patient.payloads(linkType: .raw, timestamp: t0, frame: frames[0], origin: .frame(1))
        for frame in frames.dropFirst() {
            out += patient.payloads(linkType: .raw, timestamp: t0 + .seconds(29), frame: frame, origin: .frame(2))
        }
        #expect(out.count == 1)
    }

    @Test func ipv6Fragments() {
        let (payload, frames) = Self.v6Fragments()
        var decoder = PacketDecoder()
        let out = run(frames.reversed(), decoder: &decoder)
        #expect(out.map(\.bytes) == [payload])
        #expect(out.first?.flow.source == IPAddress("2001:2::2"))
        // Destination options inside the fragmentable part are walked after reassembly.
        let (payload2, frames2) = Self.v6Fragments(id: 2, withDestinationOptions: true)
        #expect(run(frames2, decoder: &decoder).map(\.bytes) == [payload2])
    }

    @Test func fragmentsOfOtherPortsAreReassembledThenFiltered() {
        let payload = [UInt8](repeating: 9, count: 2000)
        let datagram = Frames.udp(1111, 2222, payload)
        let a = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Array(datagram[0..<1000]), id: 3, moreFragments: true)
        let b = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Array(datagram[1000...]), id: 3, fragmentOffset: 1000)
        var decoder = PacketDecoder()
        #expect(run([a, b], decoder: &decoder).isEmpty)
        #expect(decoder.statistics.reassembled == 1)
        #expect(decoder.statistics.filteredByPort == 1)
    }
}
