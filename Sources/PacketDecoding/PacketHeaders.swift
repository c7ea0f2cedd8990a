// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

// Pure header parsers: link layer → IP → UDP/TCP. Each works on a borrowed buffer, checks
// every length against the bytes actually present, and reports why it gave up.

/// Why a frame yielded no transport payload.
enum HeaderFailure: Error {
    /// The link type is not one the decoder understands.
    case unsupportedLink
    /// The frame carries something other than IPv4/IPv6 (ARP, LLDP, ...).
    case notIP
    /// The frame ends before a header or the length it announces.
    case truncated
    /// A header contradicts itself (bad version, lengths smaller than the header, ...).
    case malformed
    /// IP carrying neither UDP nor TCP (ICMP, ESP, ...).
    case notTransport
}

/// IP version of a network-layer packet.
enum IPVersion { case v4, v6 }

/// Finds where the IP header starts in a link-layer frame.
enum LinkLayer {
    static func network(linkType: LinkType, frame: UnsafeRawBufferPointer) -> Result<(IPVersion, Int), HeaderFailure> {
        switch linkType {
        case .ethernet:
            guard let type = frame.be16(12) else { return .failure(.truncated) }
            return ethertype(type, at: 14, in: frame)
        case .linuxSLL:
            guard let type = frame.be16(14) else { return .failure(.truncated) }
            return ethertype(type, at: 16, in: frame)
        case .linuxSLL2:
            guard let type = frame.be16(0), frame.count >= 20 else { return .failure(.truncated) }
            return ethertype(type, at: 20, in: frame)
        case .raw, .rawBSD, .rawOpenBSD:
            guard let first = frame.u8(0) else { return .failure(.truncated) }
            switch first >> 4 {
            case 4: return .success((.v4, 0))
            case 6: return .success((.v6, 0))
            default: return .failure(.notIP)
            }
        case .ipv4:
            return .success((.v4, 0))
        case .ipv6:
            return .success((.v6, 0))
        case .null, .loop:
            // The family is in the writer's byte order (null) or network order (loop); accept
            // either reading. AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (Net/OpenBSD),
            // 28 (FreeBSD) or 30 (Darwin).
            guard let be = frame.be32(0), frame.count >= 4 else { return .failure(.truncated) }
            let le = be.byteSwapped
            let family = be < 0x100 ? be : le
            switch family {
            case 2: return .success((.v4, 4))
            case 10, 24, 28, 30: return .success((.v6, 4))
            default: return .failure(.notIP)
            }
        default:
            return .failure(.unsupportedLink)
        }
    }

    /// Follows an EtherType through up to 4 VLAN tags (802.1Q 0x8100, 802.1ad 0x88A8, the
    /// pre-standard 0x9100) and a PPPoE session header.
    static func ethertype(_ first: UInt16, at start: Int, in frame: UnsafeRawBufferPointer) -> Result<(IPVersion, Int), HeaderFailure> {
        var type = first
        var offset = start
        for _ in 0..<5 {
            switch type {
            case 0x0800:
                return offset <= frame.count ? .success((.v4, offset)) : .failure(.truncated)
            case 0x86DD:
                return offset <= frame.count ? .success((.v6, offset)) : .failure(.truncated)
            case 0x8100, 0x88A8, 0x9100:
                guard let inner = frame.be16(offset + 2) else { return .failure(.truncated) }
                type = inner
                offset += 4
            case 0x8864:
                // PPPoE session: ver/type, code, session id, length, then the PPP protocol.
                guard let ppp = frame.be16(offset + 6) else { return .failure(.truncated) }
                switch ppp {
                case 0x0021: return .success((.v4, offset + 8))
                case 0x0057: return .success((.v6, offset + 8))
                default: return .failure(.notIP)
                }
            default:
                return .failure(.notIP)
            }
        }
        return .failure(.malformed)
    }
}

/// Where a fragment sits in its datagram.
struct FragmentInfo {
    /// IPv4: the 16-bit identification; IPv6: the 32-bit one.
    var identification: UInt32
    /// Byte offset of this fragment's data in the reassembled payload.
    var offset: Int
    var moreFragments: Bool
}

/// An IP packet with its transport payload located.
struct IPPacket {
    var version: IPVersion
    var source: IPAddress
    var destination: IPAddress
    /// The upper-layer protocol (after IPv6 extension headers, or the fragment header's
    /// next header for a fragment).
    var proto: UInt8
    /// For an unfragmented packet: the transport header and its data, trimmed to the
    /// length the IP header states. For a fragment: the fragment's data.
    var payload: UnsafeRawBufferPointer
    var fragment: FragmentInfo?
}

enum IPLayer {
    /// The IPv6 extension headers the decoder walks through (RFC 8200 §4, plus AH).
    static let maxExtensionHeaders = 8

    static func parse(_ version: IPVersion, _ bytes: UnsafeRawBufferPointer) -> Result<IPPacket, HeaderFailure> {
        switch version {
        case .v4: parseIPv4(bytes)
        case .v6: parseIPv6(bytes)
        }
    }

    static func parseIPv4(_ p: UnsafeRawBufferPointer) -> Result<IPPacket, HeaderFailure> {
        guard let first = p.u8(0) else { return .failure(.truncated) }
        guard first >> 4 == 4 else { return .failure(.malformed) }
        let headerLength = Int(first & 0x0F) * 4
        guard headerLength >= 20 else { return .failure(.malformed) }
        guard p.count >= headerLength, let total16 = p.be16(2), let id = p.be16(4), let flags = p.be16(6),
            let src = p.be32(12), let dst = p.be32(16), let proto = p.u8(9)
        else { return .failure(.truncated) }
        var total = Int(total16)
        if total == 0 {
            // Outgoing TSO/GSO super-packets can be captured with a zero length: trust the capture.
            total = p.count
        }
        guard total >= headerLength else { return .failure(.malformed) }
        guard total <= p.count else { return .failure(.truncated) }
        guard let payload = p.slice(headerLength, total - headerLength) else { return .failure(.truncated) }
        let moreFragments = flags & 0x2000 != 0
        let offset = Int(flags & 0x1FFF) * 8
        var fragment: FragmentInfo?
        if moreFragments || offset != 0 {
            fragment = FragmentInfo(identification: UInt32(id), offset: offset, moreFragments: moreFragments)
        }
        return .success(IPPacket(version: .v4, source: .v4(src), destination: .v4(dst), proto: proto, payload: payload, fragment: fragment))
    }

    static func parseIPv6(_ p: UnsafeRawBufferPointer) -> Result<IPPacket, HeaderFailure> {
        guard let first = p.u8(0) else { return .failure(.truncated) }
        guard first >> 4 == 6 else { return .failure(.malformed) }
        guard p.count >= 40, let length16 = p.be16(4), let next = p.u8(6),
            let src = p.ipv6Address(8), let dst = p.ipv6Address(24)
        else { return .failure(.truncated) }
        var length = Int(length16)
        if length == 0 {
            // Jumbogram or captured GSO packet: use what was captured.
            length = p.count - 40
        }
        guard let body = p.slice(40, length) else { return .failure(.truncated) }
        var packet = IPPacket(version: .v6, source: .v6(src.0, src.1), destination: .v6(dst.0, dst.1), proto: next, payload: body, fragment: nil)
        switch skipExtensions(next, body) {
        case .failure(let failure):
            return .failure(failure)
        case .success(let walk):
            packet.proto = walk.proto
            packet.payload = walk.rest
            if walk.proto == 44 {
                // Fragment header: next header, reserved, offset+flags, identification.
                let h = walk.rest
                guard let nextHeader = h.u8(0), let offsetFlags = h.be16(2), let id = h.be32(4),
                    let data = h.suffix(from: 8)
                else { return .failure(.truncated) }
                packet.proto = nextHeader
                packet.payload = data
                let offset = Int(offsetFlags >> 3) * 8
                let more = offsetFlags & 1 != 0
                if offset == 0 && !more {
                    // An atomic fragment (RFC 6946): not really fragmented.
                    switch skipExtensions(nextHeader, data) {
                    case .failure(let failure): return .failure(failure)
                    case .success(let inner):
                        guard inner.proto != 44 else { return .failure(.malformed) }
                        packet.proto = inner.proto
                        packet.payload = inner.rest
                    }
                } else {
                    packet.fragment = FragmentInfo(identification: id, offset: offset, moreFragments: more)
                }
            }
            return .success(packet)
        }
    }

    /// Walks IPv6 extension headers (hop-by-hop 0, routing 43, destination options 60,
    /// AH 51) starting at `next`; stops at the first other header, including the fragment
    /// header (44), and returns it with the bytes that follow.
    static func skipExtensions(_ next: UInt8, _ bytes: UnsafeRawBufferPointer) -> Result<(proto: UInt8, rest: UnsafeRawBufferPointer), HeaderFailure>
    {
        var proto = next
        var rest = bytes
        for _ in 0...maxExtensionHeaders {
            switch proto {
            case 0, 43, 60:
                guard let nh = rest.u8(0), let units = rest.u8(1) else { return .failure(.truncated) }
                let length = (Int(units) + 1) * 8
                guard let after = rest.suffix(from: length) else { return .failure(.truncated) }
                proto = nh
                rest = after
            case 51:
                guard let nh = rest.u8(0), let units = rest.u8(1) else { return .failure(.truncated) }
                let length = (Int(units) + 2) * 4
                guard let after = rest.suffix(from: length) else { return .failure(.truncated) }
                proto = nh
                rest = after
            default:
                return .success((proto, rest))
            }
        }
        return .failure(.malformed)
    }
}

/// TCP flag bits.
struct TCPFlags: OptionSet {
    var rawValue: UInt8
    static let fin = TCPFlags(rawValue: 0x01)
    static let syn = TCPFlags(rawValue: 0x02)
    static let rst = TCPFlags(rawValue: 0x04)
    static let ack = TCPFlags(rawValue: 0x10)
}

/// A UDP datagram's ports and data.
struct UDPDatagram {
    var sourcePort: UInt16
    var destinationPort: UInt16
    var payload: UnsafeRawBufferPointer
}

/// A TCP segment's ports, sequence number, flags and data.
struct TCPSegment {
    var sourcePort: UInt16
    var destinationPort: UInt16
    var sequence: UInt32
    var flags: TCPFlags
    var payload: UnsafeRawBufferPointer
}

enum TransportLayer {
    static func udp(_ p: UnsafeRawBufferPointer) -> Result<UDPDatagram, HeaderFailure> {
        guard let sport = p.be16(0), let dport = p.be16(2), let length16 = p.be16(4), p.count >= 8 else {
            return .failure(.truncated)
        }
        var length = Int(length16)
        if length == 0 {
            // Jumbo UDP over IPv6, or an offloaded packet: the IP length bounds it.
            length = p.count
        }
        guard length >= 8 else { return .failure(.malformed) }
        guard length <= p.count, let data = p.slice(8, length - 8) else { return .failure(.truncated) }
        return .success(UDPDatagram(sourcePort: sport, destinationPort: dport, payload: data))
    }

    static func tcp(_ p: UnsafeRawBufferPointer) -> Result<TCPSegment, HeaderFailure> {
        guard let sport = p.be16(0), let dport = p.be16(2), let seq = p.be32(4),
            let offsetByte = p.u8(12), let flags = p.u8(13)
        else { return .failure(.truncated) }
        let headerLength = Int(offsetByte >> 4) * 4
        guard headerLength >= 20 else { return .failure(.malformed) }
        guard let data = p.suffix(from: headerLength) else { return .failure(.truncated) }
        return .success(TCPSegment(sourcePort: sport, destinationPort: dport, sequence: seq, flags: TCPFlags(rawValue: flags), payload: data))
    }
}
