// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import NetworkAddress
import WardenCore

@testable import PacketDecoding

/// Hand-built frames for the decoder tests. Checksums are left zero: the decoder never
/// verifies them (offloaded outgoing packets carry partial checksums anyway).
enum Frames {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func le16(_ v: UInt16) -> [UInt8] { be16(v).reversed() }
    static func le32(_ v: UInt32) -> [UInt8] { be32(v).reversed() }

    static func addressBytes(_ text: String) -> [UInt8] {
        switch IPAddress(text)! {
        case .v4(let v): return be32(v)
        case .v6(let hi, let lo):
            return be32(UInt32(hi >> 32)) + be32(UInt32(hi & 0xFFFF_FFFF)) + be32(UInt32(lo >> 32)) + be32(UInt32(lo & 0xFFFF_FFFF))
        }
    }

    static func udp(_ sport: UInt16, _ dport: UInt16, _ payload: [UInt8]) -> [UInt8] {
        be16(sport) + be16(dport) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
    }

    static func tcp(_ sport: UInt16, _ dport: UInt16, seq: UInt32, flags: UInt8, _ payload: [UInt8] = [], options: [UInt8] = []) -> [UInt8] {
        let headerLength = 20 + options.count
        return be16(sport) + be16(dport) + be32(seq) + be32(0) + [UInt8(headerLength / 4) << 4, flags] + be16(65535) + [0, 0, 0, 0]
            + options + payload
    }

    /// An IPv4 packet. `fragmentOffset` in bytes (multiple of 8).
    static func ipv4(
        _ src: String, _ dst: String, proto: UInt8, _ body: [UInt8], id: UInt16 = 1, moreFragments: Bool = false,
        fragmentOffset: Int = 0, options: [UInt8] = []
    ) -> [UInt8] {
        let ihl = (20 + options.count) / 4
        let flags = UInt16(moreFragments ? 0x2000 : 0) | UInt16(fragmentOffset / 8)
        return [0x40 | UInt8(ihl), 0] + be16(UInt16(ihl * 4 + body.count)) + be16(id) + be16(flags) + [64, proto, 0, 0]
            + addressBytes(src) + addressBytes(dst) + options + body
    }

    /// An IPv6 packet with optional extension headers already encoded in `body`; `next` names the first.
    static func ipv6(_ src: String, _ dst: String, next: UInt8, _ body: [UInt8]) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(UInt16(body.count)) + [next, 64] + addressBytes(src) + addressBytes(dst) + body
    }

    /// A generic 8-byte-multiple extension header (hop-by-hop, routing, destination options).
    static func extensionHeader(next: UInt8, length: Int = 8) -> [UInt8] {
        [next, UInt8(length / 8 - 1)] + [UInt8](repeating: 1, count: length - 2)
    }

    static func fragmentHeader(next: UInt8, offset: Int, more: Bool, id: UInt32) -> [UInt8] {
        [next, 0] + be16(UInt16(offset / 8) << 3 | (more ? 1 : 0)) + be32(id)
    }

    static func ethernet(_ payload: [UInt8], type: UInt16 = 0x0800, vlans: [UInt16] = []) -> [UInt8] {
        var frame: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]
        for (i, vlan) in vlans.enumerated() {
            frame += be16(i == 0 && vlans.count > 1 ? 0x88A8 : 0x8100) + be16(vlan)
        }
        return frame + be16(type) + payload
    }

    static func sll(_ payload: [UInt8], type: UInt16 = 0x0800) -> [UInt8] {
        be16(0) + be16(1) + be16(6) + [2, 0, 0, 0, 0, 1, 0, 0] + be16(type) + payload
    }

    static func sll2(_ payload: [UInt8], type: UInt16 = 0x0800) -> [UInt8] {
        be16(type) + [0, 0] + be32(2) + be16(1) + [0, 6] + [2, 0, 0, 0, 0, 1, 0, 0] + payload
    }

    static func sipRequest(_ tag: String = "x") -> [UInt8] {
        Array("REGISTER sip:198.18.0.1 SIP/2.0\r\nCall-ID: \(tag)\r\nContent-Length: 0\r\n\r\n".utf8)
    }

    /// A classic pcap file (little-endian unless `bigEndian`).
    static func pcap(
        _ frames: [(seconds: UInt32, fraction: UInt32, bytes: [UInt8])], linkType: UInt32 = 1,
        nanosecond: Bool = false, bigEndian: Bool = false
    ) -> [UInt8] {
        func w16(_ v: UInt16) -> [UInt8] { bigEndian ? be16(v) : le16(v) }
        func w32(_ v: UInt32) -> [UInt8] { bigEndian ? be32(v) : le32(v) }
        var file = w32(nanosecond ? 0xA1B2_3C4D : 0xA1B2_C3D4) + w16(2) + w16(4) + w32(0) + w32(0) + w32(65535) + w32(linkType)
        for frame in frames {
            file += w32(frame.seconds) + w32(frame.fraction) + w32(UInt32(frame.bytes.count)) + w32(UInt32(frame.bytes.count)) + frame.bytes
        }
        return file
    }
}

/// Builds pcapng files block by block.
struct PcapngWriter {
    var bigEndian = false
    var bytes: [UInt8] = []

    func w16(_ v: UInt16) -> [UInt8] { bigEndian ? Frames.be16(v) : Frames.le16(v) }
    func w32(_ v: UInt32) -> [UInt8] { bigEndian ? Frames.be32(v) : Frames.le32(v) }

    static func pad(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (4 - b.count % 4) % 4) }

    mutating func block(_ type: UInt32, _ body: [UInt8]) {
        let length = UInt32(12 + body.count)
        bytes += w32(type) + w32(length) + body + w32(length)
    }

    mutating func sectionHeader() {
        block(0x0A0D_0D0A, w32(0x1A2B_3C4D) + w16(1) + w16(0) + [UInt8](repeating: 0xFF, count: 8))
    }

    mutating func interface(linkType: UInt16, snapLength: UInt32 = 0, tsresol: UInt8? = nil, tsoffset: Int64? = nil) {
        var options: [UInt8] = []
        if let tsresol { options += w16(9) + w16(1) + [tsresol, 0, 0, 0] }
        if let tsoffset {
            let v = UInt64(bitPattern: tsoffset)
            options +=
                w16(14) + w16(8)
                + (bigEndian
                    ? Frames.be32(UInt32(v >> 32)) + Frames.be32(UInt32(v & 0xFFFF_FFFF))
                    : Frames.le32(UInt32(v & 0xFFFF_FFFF)) + Frames.le32(UInt32(v >> 32)))
        }
        if !options.isEmpty { options += [0, 0, 0, 0] }
        block(1, w16(linkType) + w16(0) + w32(snapLength) + options)
    }

    mutating func enhancedPacket(interface: UInt32, units: UInt64, _ data: [UInt8], originalLength: Int? = nil) {
        block(
            6,
            w32(interface) + w32(UInt32(units >> 32)) + w32(UInt32(units & 0xFFFF_FFFF)) + w32(UInt32(data.count))
                + w32(UInt32(originalLength ?? data.count)) + Self.pad(data))
    }

    mutating func simplePacket(_ data: [UInt8]) {
        block(3, w32(UInt32(data.count)) + Self.pad(data))
    }
}

/// Where the fixtures are (not bundled: found from this file's path).
func fixturePath(_ name: String, file: String = #filePath) -> String {
    let directory = file.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    return directory + "/Fixtures/" + name
}

func fixtureBytes(_ name: String) throws -> [UInt8] {
    let path = fixturePath(name)
    guard let file = fopen(path, "rb") else { throw FixtureMissing(path: path) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

struct FixtureMissing: Error { var path: String }

/// Decodes every frame of a capture file with a decoder; returns every output and the decoder.
func decodeCapture(_ bytes: [UInt8], configuration: PacketDecoder.Configuration = .init(), finish: Bool = false) throws -> (
    outputs: [DecodedOutput], decoder: PacketDecoder
) {
    var reader = CaptureFileReader(bytes: bytes)
    var decoder = PacketDecoder(configuration: configuration)
    var outputs: [DecodedOutput] = []
    var last = Timestamp(microseconds: 0)
    try reader.forEachFrame { frame in
        last = frame.timestamp
        decoder.decode(linkType: frame.linkType, timestamp: frame.timestamp, frame: frame.bytes, origin: .frame(frame.number)) {
            outputs.append($0)
        }
    }
    if finish { decoder.finish(time: last) { outputs.append($0) } }
    return (outputs, decoder)
}

extension DecodedOutput {
    var payload: WirePayload? {
        if case .payload(let p) = self { return p }
        return nil
    }
}

extension WirePayload {
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var frameNumber: Int? {
        if case .frame(let n) = origin { return n }
        return nil
    }
}

let t0 = Timestamp(seconds: 1_700_000_000)
