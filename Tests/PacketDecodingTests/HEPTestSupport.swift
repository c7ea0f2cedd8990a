// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import WardenCore

/// A HEPv3 packet as a list of raw chunks, so tests can break it in any way.
struct RawHEP {
    struct Chunk {
        var vendor: UInt16 = 0
        var type: UInt16
        var data: [UInt8]
        /// Added to the chunk's correct length field.
        var lengthAdjust = 0
    }

    var chunks: [Chunk]
    /// Added to the correct total length field.
    var totalAdjust = 0

    func bytes() -> [UInt8] {
        var body: [UInt8] = []
        for c in chunks {
            body += hepBE16(c.vendor) + hepBE16(c.type) + hepBE16(UInt16(truncatingIfNeeded: 6 + c.data.count + c.lengthAdjust)) + c.data
        }
        return Array("HEP3".utf8) + hepBE16(UInt16(truncatingIfNeeded: 6 + body.count + totalAdjust)) + body
    }

    mutating func remove(_ type: UInt16) { chunks.removeAll { $0.vendor == 0 && $0.type == type } }

    mutating func set(_ type: UInt16, _ data: [UInt8]) {
        if let i = chunks.firstIndex(where: { $0.vendor == 0 && $0.type == type }) {
            chunks[i].data = data
        } else {
            chunks.append(Chunk(type: type, data: data))
        }
    }

    /// A valid SIP-over-UDP packet as Kamailio's siptrace lays it out.
    static func standard(
        v6: Bool = false, payload: [UInt8] = hepSamplePayload, key: [UInt8]? = nil, protocolType: UInt8 = 1
    ) -> RawHEP {
        var c: [Chunk] = [
            Chunk(type: 1, data: [v6 ? 10 : 2]),
            Chunk(type: 2, data: [17]),
        ]
        if v6 {
            c.append(Chunk(type: 5, data: [0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x66]))
            c.append(Chunk(type: 6, data: [0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01]))
        } else {
            c.append(Chunk(type: 3, data: [198, 18, 20, 66]))
            c.append(Chunk(type: 4, data: [198, 18, 20, 1]))
        }
        c += [
            Chunk(type: 7, data: hepBE16(5070)),
            Chunk(type: 8, data: hepBE16(5060)),
            Chunk(type: 9, data: hepBE32(1_735_689_600)),
            Chunk(type: 10, data: hepBE32(123_456)),
            Chunk(type: 11, data: [protocolType]),
            Chunk(type: 12, data: hepBE32(2001)),
        ]
        if let key { c.append(Chunk(type: 14, data: key)) }
        c.append(Chunk(type: 15, data: payload))
        return RawHEP(chunks: c)
    }
}

let hepSamplePayload = Array(
    ("REGISTER sip:198.18.20.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.20.66:5070;branch=z9hG4bK-1\r\n"
        + "From: <sip:100@198.18.20.1>;tag=a\r\nTo: <sip:100@198.18.20.1>\r\nCall-ID: 1@x\r\nCSeq: 1 REGISTER\r\n"
        + "Content-Length: 0\r\n\r\n").utf8)

func hepBE16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
func hepBE32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
func hepLE32(_ v: UInt32) -> [UInt8] { hepBE32(v).reversed() }

let hepAgent = IPAddress("127.0.0.1")!
let hepReceivedAt = Timestamp(seconds: 1_800_000_000)

/// The error decoding `bytes` throws, or nil when it decodes.
func hepError(_ bytes: [UInt8], key: String? = nil) -> HEPError? {
    do {
        _ = try HEPDecoder(authKey: key).decode(bytes, agent: hepAgent, receivedAt: hepReceivedAt)
        return nil
    } catch {
        return error
    }
}

/// The SIP payload `bytes` decode to (nil for non-SIP or errors).
func sipPayload(_ bytes: [UInt8], key: String? = nil) -> WirePayload? {
    guard case .sip(let p)? = try? HEPDecoder(authKey: key).decode(bytes, agent: hepAgent, receivedAt: hepReceivedAt) else { return nil }
    return p
}
