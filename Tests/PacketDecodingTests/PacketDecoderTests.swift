// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Testing
import WardenCore

@testable import PacketDecoding

@Suite("PacketDecoder: link layers, IP, UDP")
struct PacketDecoderTests {
    let request = Frames.sipRequest("a")
    var udpV4: [UInt8] { Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 5060, request)) }

    func single(_ linkType: LinkType, _ frame: [UInt8], ports: PortSet = .sipDefault) -> (payloads: [WirePayload], stats: PacketDecoder.Statistics) {
        var decoder = PacketDecoder(configuration: .init(ports: ports))
        let payloads = decoder.payloads(linkType: linkType, timestamp: t0, frame: frame, origin: .frame(7))
        return (payloads, decoder.statistics)
    }

    @Test func ethernetIPv4UDP() throws {
        let (payloads, stats) = single(.ethernet, Frames.ethernet(udpV4))
        let p = try #require(payloads.first)
        #expect(payloads.count == 1)
        #expect(p.bytes == request)
        #expect(
            p.flow
                == FlowKey(
                    source: IPAddress("198.18.0.2")!, sourcePort: 40000, destination: IPAddress("198.18.0.1")!,
                    destinationPort: 5060, transport: .udp))
        #expect(p.origin == .frame(7))
        #expect(p.time == t0)
        #expect(stats.decoded == 1 && stats.udpPayloads == 1 && stats.frames == 1)
    }

    @Test func vlanAndQinQ() {
        #expect(single(.ethernet, Frames.ethernet(udpV4, vlans: [100])).payloads.first?.bytes == request)
        #expect(single(.ethernet, Frames.ethernet(udpV4, vlans: [100, 200])).payloads.first?.bytes == request)
        // Five stacked tags is more than any real network uses: refused, not looped over.
        let deep = Frames.ethernet(udpV4, vlans: [1, 2, 3, 4, 5])
        let result = single(.ethernet, deep)
        #expect(result.payloads.isEmpty)
        #expect(result.stats.malformed == 1)
    }

    @Test func pppoeSession() {
        let frame = Frames.ethernet([0x11, 0, 0, 1] + Frames.be16(UInt16(udpV4.count + 2)) + Frames.be16(0x0021) + udpV4, type: 0x8864)
        #expect(single(.ethernet, frame).payloads.first?.bytes == request)
    }

    @Test func ipv4OptionsAndEthernetPadding() {
        let withOptions = Frames.ipv4(
            "198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 5060, request),
            options: [0x94, 0x04, 0, 0, 1, 1, 1, 0])
        #expect(single(.ethernet, Frames.ethernet(withOptions)).payloads.first?.bytes == request)
        // A short packet padded to Ethernet's 60-byte minimum: the padding is not payload.
        let tiny = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 5060, Array("\r\n\r\n".utf8)))
        let padded = Frames.ethernet(tiny) + [UInt8](repeating: 0xEE, count: 20)
        #expect(single(.ethernet, padded).payloads.first?.bytes == Array("\r\n\r\n".utf8))
    }

    @Test func everyLinkType() {
        let v6 = Frames.ipv6("2001:2::2", "2001:2::1", next: 17, Frames.udp(40000, 5060, request))
        let cases: [(LinkType, [UInt8])] = [
            (.linuxSLL, Frames.sll(udpV4)), (.linuxSLL, Frames.sll(v6, type: 0x86DD)),
            (.linuxSLL2, Frames.sll2(udpV4)), (.linuxSLL2, Frames.sll2(v6, type: 0x86DD)),
            (.raw, udpV4), (.raw, v6), (.rawBSD, udpV4), (.rawOpenBSD, v6),
            (.ipv4, udpV4), (.ipv6, v6),
            (.null, Frames.le32(2) + udpV4), (.null, Frames.le32(30) + v6), (.null, Frames.be32(2) + udpV4),
            (.null, Frames.le32(10) + v6), (.null, Frames.le32(24) + v6), (.null, Frames.le32(28) + v6),
            (.loop, Frames.be32(2) + udpV4), (.loop, Frames.be32(24) + v6),
        ]
        for (linkType, frame) in cases {
            let result = single(linkType, frame)
            #expect(result.payloads.count == 1, "\(linkType)")
            #expect(result.payloads.first?.bytes == request, "\(linkType)")
        }
        #expect(single(LinkType(rawValue: 147), udpV4).stats.unsupportedLink == 1)
        #expect(single(.null, Frames.le32(7) + udpV4).stats.nonIP == 1)
    }

    @Test func ipv6ExtensionHeaders() throws {
        // hop-by-hop → routing → destination options → UDP
        let body =
            Frames.extensionHeader(next: 43) + Frames.extensionHeader(next: 60, length: 16)
            + Frames.extensionHeader(next: 17) + Frames.udp(40000, 5060, request)
        let frame = Frames.ethernet(Frames.ipv6("2001:2::2", "2001:2::1", next: 0, body), type: 0x86DD)
        let p = try #require(single(.ethernet, frame).payloads.first)
        #expect(p.bytes == request)
        #expect(p.flow.source == IPAddress("2001:2::2"))
        #expect(p.flow.destination == IPAddress("2001:2::1"))
        // An atomic fragment (offset 0, no more fragments) is just a packet.
        let atomic = Frames.fragmentHeader(next: 17, offset: 0, more: false, id: 9) + Frames.udp(40000, 5060, request)
        #expect(single(.ipv6, Frames.ipv6("2001:2::2", "2001:2::1", next: 44, atomic)).payloads.first?.bytes == request)
        // A chain longer than the decoder walks is refused.
        var long: [UInt8] = []
        for _ in 0..<12 { long += Frames.extensionHeader(next: 60) }
        long += Frames.udp(40000, 5060, request)
        let refused = single(.ipv6, Frames.ipv6("2001:2::2", "2001:2::1", next: 60, long))
        #expect(refused.payloads.isEmpty)
        #expect(refused.stats.malformed == 1)
    }

    @Test func bothDirectionsAndPortFilter() {
        let response = Frames.ipv4("198.18.0.1", "198.18.0.2", proto: 17, Frames.udp(5060, 40000, Array("SIP/2.0 401 Unauthorized\r\n\r\n".utf8)))
        #expect(single(.raw, response).payloads.first?.flow.sourcePort == 5060)
        let other = Frames.ipv4("198.18.0.1", "198.18.0.2", proto: 17, Frames.udp(53, 40000, request))
        let filtered = single(.raw, other)
        #expect(filtered.payloads.isEmpty)
        #expect(filtered.stats.filteredByPort == 1)
        #expect(single(.raw, other, ports: .all).payloads.count == 1)
        #expect(single(.raw, other, ports: PortSet(parsing: "50-60,5060")!).payloads.count == 1)
    }

    @Test func countersForBadFrames() {
        var decoder = PacketDecoder()
        let arp = Frames.ethernet([UInt8](repeating: 0, count: 28), type: 0x0806)
        let icmp = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 1, [8, 0, 0, 0, 0, 0, 0, 0])
        var truncatedIP = udpV4
        truncatedIP.removeLast(10)
        var badUDPLength = udpV4
        badUDPLength[24] = 0
        badUDPLength[25] = 4 // UDP length 4 < 8
        let frames: [(LinkType, [UInt8])] = [
            (.ethernet, arp), (.raw, icmp), (.raw, truncatedIP), (.raw, badUDPLength), (.ethernet, [1, 2, 3]),
            (.raw, [0x45]), (.raw, [0x75, 0, 0]), (.raw, udpV4),
        ]
        for (linkType, frame) in frames {
            #expect(decoder.payloads(linkType: linkType, timestamp: t0, frame: frame, origin: .frame(1)).count <= 1)
        }
        let s = decoder.statistics
        #expect(s.frames == 8)
        #expect(s.nonIP == 2) // ARP, raw with version 7
        #expect(s.otherProtocol == 1)
        #expect(s.truncated == 3) // IP longer than captured, 3-byte Ethernet, 1-byte IPv4
        #expect(s.malformed == 1)
        #expect(s.udpPayloads == 1)
    }

    @Test func emptyDatagramsAreSkippedUnlessAsked() {
        let empty = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 5060, []))
        #expect(single(.raw, empty).payloads.isEmpty)
        var decoder = PacketDecoder(configuration: .init(deliverEmptyDatagrams: true))
        #expect(decoder.payloads(linkType: .raw, timestamp: t0, frame: empty, origin: .frame(1)).count == 1)
    }

    @Test func portSetParsing() {
        #expect(PortSet(parsing: "5060")?.ranges == [5060...5060])
        #expect(PortSet(parsing: "5061,5060,5062-5070")?.ranges == [5060...5070])
        #expect(PortSet(parsing: "5080-5090,5060")?.description == "5060,5080-5090")
        for bad in ["", "0", "70000", "5060-5000", "a", "5060,", "-5", "1-2-3", " 5060"] {
            #expect(PortSet(parsing: bad) == nil, "\(bad)")
        }
        let many = (1...65).map { String($0 * 2) }.joined(separator: ",")
        #expect(PortSet(parsing: many) == nil)
        #expect(PortSet.sipDefault.contains(5061) && !PortSet.sipDefault.contains(5062))
    }
}
