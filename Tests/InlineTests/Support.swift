// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Inline
import NetworkAddress
import PacketDecoding
import SIPMessage
import Testing
import WardenCore

/// SIP test messages: a request with a chosen branch/CSeq, and a response that mirrors it.
struct SIPFixture {
    var method = "REGISTER"
    var branch: String
    var cseq: UInt32 = 1
    var callID = "call-1"
    var user = "100"
    var credentials = false
    var userAgent = "test-ua"

    var request: [UInt8] {
        var text = "\(method) sip:198.19.252.1 SIP/2.0\r\n"
        text += "Via: SIP/2.0/UDP 198.19.252.2:5070;branch=z9hG4bK\(branch);rport\r\n"
        text += "Max-Forwards: 70\r\n"
        text += "From: <sip:\(user)@198.19.252.1>;tag=ft\(branch)\r\n"
        text += "To: <sip:\(user)@198.19.252.1>\r\n"
        text += "Call-ID: \(callID)\r\n"
        text += "CSeq: \(cseq) \(method)\r\n"
        text += "Contact: <sip:\(user)@198.19.252.2:5070>\r\n"
        if credentials {
            text +=
                "Authorization: Digest username=\"\(user)\", realm=\"lab\", nonce=\"abc\", uri=\"sip:198.19.252.1\", response=\"0123456789abcdef0123456789abcdef\"\r\n"
        }
        text += "User-Agent: \(userAgent)\r\n"
        text += "Content-Length: 0\r\n\r\n"
        return Array(text.utf8)
    }

    func response(_ status: Int, reason: String = "Whatever") -> [UInt8] {
        var text = "SIP/2.0 \(status) \(reason)\r\n"
        text += "Via: SIP/2.0/UDP 198.19.252.2:5070;branch=z9hG4bK\(branch);rport=5070;received=198.19.252.2\r\n"
        text += "From: <sip:\(user)@198.19.252.1>;tag=ft\(branch)\r\n"
        text += "To: <sip:\(user)@198.19.252.1>;tag=pbx\r\n"
        text += "Call-ID: \(callID)\r\n"
        text += "CSeq: \(cseq) \(method)\r\n"
        if status == 401 { text += "WWW-Authenticate: Digest realm=\"lab\", nonce=\"n\(branch)\"\r\n" }
        text += "Content-Length: 0\r\n\r\n"
        return Array(text.utf8)
    }
}

let pbx = IPAddress("198.19.252.1")!
let attacker = IPAddress("198.19.252.2")!
let legit = IPAddress("198.19.252.3")!

func at(_ seconds: Double) -> Timestamp { Timestamp(microseconds: Int64(seconds * 1_000_000)) }

struct ParseFailure: Error { var error: SIPParseError }

extension AdmissionController {
    /// A request from `source` (port 5070) to the PBX.
    mutating func request(_ bytes: [UInt8], from source: IPAddress, at time: Timestamp, ticket: UInt32? = nil) throws -> AdmissionDecision {
        let flow = FlowKey(source: source, sourcePort: 5070, destination: pbx, destinationPort: 5060, transport: .udp)
        return try bytes.withUnsafeBytes { raw in
            do throws(SIPParseError) {
                let view = try SIPMessageView(parsing: raw)
                return inbound(view, flow: flow, time: time, ticket: ticket)
            } catch { throw ParseFailure(error: error) }
        }
    }

    /// The deferred verdicts decided so far.
    mutating func releases() -> [AdmissionRelease] {
        var buffer: [AdmissionRelease] = []
        takeReleases(into: &buffer)
        return buffer
    }

    /// A response from the PBX to `client`.
    mutating func response(_ bytes: [UInt8], to client: IPAddress, at time: Timestamp) throws -> [AdmissionEvent] {
        let flow = FlowKey(source: pbx, sourcePort: 5060, destination: client, destinationPort: 5070, transport: .udp)
        return try bytes.withUnsafeBytes { raw in
            do throws(SIPParseError) {
                let view = try SIPMessageView(parsing: raw)
                return outbound(view, flow: flow, time: time)
            } catch { throw ParseFailure(error: error) }
        }
    }
}

/// IPv4 + UDP packet around `payload` (checksums zero: nothing here verifies them).
func ipv4Packet(
    from source: IPAddress, sourcePort: UInt16 = 5070, to destination: IPAddress, destinationPort: UInt16 = 5060,
    payload: [UInt8], fragmentOffset: UInt16 = 0, moreFragments: Bool = false
) -> [UInt8] {
    func bytes(_ a: IPAddress) -> [UInt8] {
        guard case .v4(let v) = a else { return [0, 0, 0, 0] }
        return [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
    let total = 20 + 8 + payload.count
    let flags = (moreFragments ? 0x2000 : 0) | Int(fragmentOffset)
    var p: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, UInt8(flags >> 8), UInt8(flags & 0xFF), 64, 17, 0, 0]
    p += bytes(source) + bytes(destination)
    let udpLength = 8 + payload.count
    p += [
        UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF),
        UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), 0, 0,
    ]
    return p + payload
}

/// IPv6 + (optional hop-by-hop or fragment header) + UDP packet around `payload`.
func ipv6Packet(from source: String, to destination: String, payload: [UInt8], extensionHeader: UInt8? = nil) -> [UInt8] {
    func bytes(_ text: String) -> [UInt8] {
        guard case .v6(let hi, let lo) = IPAddress(text)! else { return [] }
        return (0..<8).map { UInt8(hi >> (56 - 8 * UInt64($0)) & 0xFF) } + (0..<8).map { UInt8(lo >> (56 - 8 * UInt64($0)) & 0xFF) }
    }
    var ext: [UInt8] = []
    if let h = extensionHeader {
        // 8-byte header whose next header is UDP (hop-by-hop: length 0; fragment: offset 0, M=1).
        ext = h == 44 ? [17, 0, 0, 1, 0, 0, 0, 7] : [17, 0, 1, 4, 0, 0, 0, 0]
    }
    let udpLength = 8 + payload.count
    let payloadLength = ext.count + udpLength
    var p: [UInt8] = [0x60, 0, 0, 0, UInt8(payloadLength >> 8), UInt8(payloadLength & 0xFF), extensionHeader ?? 17, 64]
    p += bytes(source) + bytes(destination) + ext
    p += [0x13, 0xCE, 0x13, 0xC4, UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), 0, 0]
    return p + payload
}

extension InlineFilter {
    mutating func judge(_ packet: [UInt8], _ direction: InlineDirection, at time: Timestamp, events: inout [AdmissionEvent]) -> AdmissionDecision {
        packet.withUnsafeBytes { judge(packet: $0, direction: direction, time: time, events: &events) }
    }
}
