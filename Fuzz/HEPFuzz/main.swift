// SPDX-License-Identifier: GPL-2.0-or-later

//
// libFuzzer target for HEPDecoder. Built by Fuzz/hep-build.sh together with the sources of
// NetworkAddress, WardenCore and the HEP files of PacketDecoding (one module), run by
// Fuzz/hep-run.sh. Besides "never traps", it checks that every accepted packet survives
// a re-encode/decode round trip unchanged and that the payload lies inside the input.

private let plain = HEPDecoder()
private let keyed = HEPDecoder(authKey: "k")
private let agent = IPAddress.v4(0x7F00_0001)
private let now = Timestamp(seconds: 1_800_000_000)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let raw = UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size > 0 ? size : 0)
    _ = try? keyed.decode(raw, agent: agent, receivedAt: now)
    let decoded: HEPDecoded
    do throws(HEPError) {
        decoded = try plain.decode(raw, agent: agent, receivedAt: now)
    } catch {
        _ = error.description
        return 0
    }
    guard let packet = try? plain.packet(raw, receivedAt: now) else {
        preconditionFailure("decode accepted what packet rejected")
    }
    switch decoded {
    case .sip(let payload):
        precondition(!payload.bytes.isEmpty && payload.bytes.count < size, "payload size")
        precondition(payload.bytes == packet.payload && payload.flow == packet.flow && payload.time == packet.time)
        precondition(payload.origin == .hep(agent: agent, captureID: packet.captureID))
    case .nonSIP(let type):
        precondition(type == packet.protocolType && type != HEPProtocolType.sip)
        return 0
    }
    // Round trip through the encoder (HEPv1/v2 come back as v3; vendor chunks are dropped).
    guard let again = HEPEncoder.encode(packet) else {
        precondition(packet.payload.count > 65_535 - 150, "encoder refused a decodable packet")
        return 0
    }
    var expected = packet
    expected.version = 3
    guard let back = try? plain.packet(again, receivedAt: now) else { preconditionFailure("re-encoded packet rejected") }
    precondition(back == expected, "round trip changed the packet")
    return 0
}
