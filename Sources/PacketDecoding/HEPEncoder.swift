// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
public import WardenCore

/// Builds HEPv3 datagrams (for tests, lab tools and relays). The output is what
/// `HEPDecoder` accepts and what Kamailio's siptrace sends: chunks 1–12, the optional auth
/// key (14), then the payload (15).
public enum HEPEncoder {
    /// The largest HEPv3 packet (the length field is 16 bits).
    public static let maximumLength = 65535

    /// Encodes `packet` as HEPv3, or returns nil when the result would exceed 65 535 bytes.
    /// When one address is IPv4 and the other IPv6, both are sent as IPv6 (the IPv4 one
    /// IPv4-mapped), which `HEPDecoder` turns back into the same flow.
    public static func encode(_ packet: HEPPacket, authKey: [UInt8]? = nil) -> [UInt8]? {
        var flow = packet.flow
        if flow.source.family != flow.destination.family {
            flow.source = mapped(flow.source)
            flow.destination = mapped(flow.destination)
        }
        let addressSize = flow.source.family == .v4 ? 4 : 16
        let keySize = authKey.map { 6 + $0.count } ?? 0
        let total = 6 + 7 + 7 + 2 * (6 + addressSize) + 2 * 8 + 2 * 10 + 7 + 10 + keySize + 6 + packet.payload.count
        guard total <= maximumLength else { return nil }

        var out: [UInt8] = []
        out.reserveCapacity(total)
        out += [0x48, 0x45, 0x50, 0x33]
        append16(&out, total)
        func chunk(_ type: UInt16, _ data: [UInt8]) {
            append16(&out, 0)
            append16(&out, Int(type))
            append16(&out, 6 + data.count)
            out += data
        }
        chunk(HEPChunkType.ipFamily, [flow.source.family == .v4 ? HEPFamily.ipv4 : HEPFamily.ipv6])
        chunk(HEPChunkType.ipProtocol, [packet.ipProtocol])
        chunk(addressSize == 4 ? HEPChunkType.ipv4Source : HEPChunkType.ipv6Source, bytes(of: flow.source))
        chunk(addressSize == 4 ? HEPChunkType.ipv4Destination : HEPChunkType.ipv6Destination, bytes(of: flow.destination))
        chunk(HEPChunkType.sourcePort, [UInt8(flow.sourcePort >> 8), UInt8(flow.sourcePort & 0xFF)])
        chunk(HEPChunkType.destinationPort, [UInt8(flow.destinationPort >> 8), UInt8(flow.destinationPort & 0xFF)])
        let micros = packet.time.microseconds
        let seconds = micros >= 0 ? micros / 1_000_000 : 0
        chunk(HEPChunkType.timestampSeconds, be32(UInt32(truncatingIfNeeded: seconds)))
        chunk(HEPChunkType.timestampMicroseconds, be32(UInt32(micros >= 0 ? micros % 1_000_000 : 0)))
        chunk(HEPChunkType.protocolType, [packet.protocolType])
        chunk(HEPChunkType.captureID, be32(packet.captureID))
        if let authKey { chunk(HEPChunkType.authKey, authKey) }
        chunk(HEPChunkType.payload, packet.payload)
        return out
    }

    /// The IP protocol id HEP uses for a transport (Kamailio's 22 for TLS, WS and WSS).
    public static func ipProtocol(for transport: Transport) -> UInt8 {
        switch transport {
        case .udp: 17
        case .tcp: 6
        case .sctp: 132
        case .tls, .ws, .wss: 22
        }
    }

    private static func mapped(_ address: IPAddress) -> IPAddress {
        if case .v4(let v) = address { return .v6(0, 0xFFFF_0000_0000 | UInt64(v)) }
        return address
    }

    private static func append16(_ out: inout [UInt8], _ value: Int) {
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }

    private static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    private static func bytes(of address: IPAddress) -> [UInt8] {
        switch address {
        case .v4(let v): be32(v)
        case .v6(let hi, let lo):
            be32(UInt32(truncatingIfNeeded: hi >> 32)) + be32(UInt32(truncatingIfNeeded: hi))
                + be32(UInt32(truncatingIfNeeded: lo >> 32)) + be32(UInt32(truncatingIfNeeded: lo))
        }
    }
}
