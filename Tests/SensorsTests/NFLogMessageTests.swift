// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import TestSupport
import Testing

@testable import Sensors

/// Netlink datagrams built by hand from the header definitions, independently of the
/// parser's own constants: <linux/netlink.h> (struct nlmsghdr, struct nlattr, host order),
/// <linux/netfilter/nfnetlink.h> (struct nfgenmsg, NFNL_SUBSYS_ULOG = 4) and
/// <linux/netfilter/nfnetlink_log.h> (NFULNL_MSG_PACKET = 0, NFULA_PACKET_HDR = 1,
/// NFULA_PAYLOAD = 9, NFULA_PREFIX = 10).
enum NFLogWire {
    static let packetType: UInt16 = 0x0400 // NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }

    /// A netlink message; `length` overrides nlmsg_len. Not padded at its end.
    static func message(type: UInt16, sequence: UInt32 = 0, body: [UInt8], length: UInt32? = nil) -> [UInt8] {
        le32(length ?? UInt32(16 + body.count)) + le16(type) + le16(0) + le32(sequence) + le32(0) + body
    }

    /// Pads to a multiple of four (NLMSG_ALIGN / NLA_ALIGN).
    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
    }

    /// An attribute; padded unless `pad` is false; `length` overrides nla_len.
    static func attribute(_ type: UInt16, _ value: [UInt8], pad: Bool = true, length: UInt16? = nil) -> [UInt8] {
        let bytes = le16(length ?? UInt16(4 + value.count)) + le16(type) + value
        return pad ? padded(bytes) : bytes
    }

    /// struct nfgenmsg: family, version 0, be16 group.
    static func nfgen(family: UInt8, group: UInt16) -> [UInt8] { [family, 0, UInt8(group >> 8), UInt8(group & 0xFF)] }

    /// An NFULNL_MSG_PACKET as nfnetlink_log emits it: PACKET_HDR, PREFIX (if any), PAYLOAD.
    static func packet(
        group: UInt16 = 31_001, family: UInt8 = 2, prefix: String? = "swflood", payload: [UInt8]?,
        hardwareProtocol: UInt16 = 0x0800, padLast: Bool = true
    ) -> [UInt8] {
        var body = nfgen(family: family, group: group)
        body += attribute(1, [UInt8(hardwareProtocol >> 8), UInt8(hardwareProtocol & 0xFF), 1, 0])
        if let prefix { body += attribute(10, Array(prefix.utf8) + [0]) }
        if let payload { body += attribute(9, payload, pad: padLast) }
        return message(type: packetType, body: body)
    }

    /// An IPv4 header (no options) + an 8-byte UDP header, from `source` to 198.18.0.1.
    static func ipv4(source: [UInt8], ihl: UInt8 = 5) -> [UInt8] {
        let total = UInt8(Int(ihl) * 4 + 10) // header + UDP header + 2 bytes of data
        var header: [UInt8] = [0x40 | ihl, 0, 0, total, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0] + source + [198, 18, 0, 1]
        header += [UInt8](repeating: 0, count: max(0, Int(ihl) * 4 - 20))
        return header + [0x13, 0xC4, 0x13, 0xEB, 0, 10, 0, 0] + [0x78, 0x0A]
    }

    /// An IPv6 header + an 8-byte UDP header, from `source` to 2001:2::1.
    static func ipv6(source: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [0x60, 0, 0, 0, 0, 10, 17, 64] + source
        header += [0x20, 0x01, 0, 2] + [UInt8](repeating: 0, count: 11) + [1]
        return header + [0x13, 0xC4, 0x13, 0xEB, 0, 10, 0, 0] + [0x78, 0x0A]
    }

    /// An NLMSG_ERROR reply to `sequence` with `error` (0 = acknowledgement).
    static func error(_ error: Int32, sequence: UInt32) -> [UInt8] {
        message(type: 2, sequence: sequence, body: le32(UInt32(bitPattern: error)) + message(type: 0x0401, sequence: sequence, body: []))
    }

    static let v4Source: [UInt8] = [198, 18, 7, 9]
    static let v6Source: [UInt8] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]
}

@Suite("NFLogMessage parsing")
struct NFLogMessageTests {
    typealias W = NFLogWire

    @Test func ipv4PacketWithPrefix() throws {
        let datagram = NFLogMessage.parse(W.packet(payload: W.ipv4(source: W.v4Source)))
        #expect(!datagram.truncated)
        #expect(datagram.elements.count == 1)
        let packet = try #require(datagram.packets.first)
        #expect(packet.source == IPAddress("198.18.7.9"))
        #expect(packet.prefix == "swflood")
        #expect(packet.group == 31_001)
        #expect(packet.family == 2)
        #expect(packet.hardwareProtocol == 0x0800)
    }

    @Test func ipv6PacketWithoutPrefix() throws {
        let datagram = NFLogMessage.parse(
            W.packet(
                group: 7, family: 10, prefix: nil, payload: W.ipv6(source: W.v6Source),
                hardwareProtocol: 0x86DD))
        let packet = try #require(datagram.packets.first)
        #expect(packet.source == IPAddress("2001:2::5"))
        #expect(packet.prefix == nil)
        #expect(packet.group == 7)
        #expect(packet.family == 10)
        #expect(packet.hardwareProtocol == 0x86DD)
    }

    @Test func emptyPrefixIsNoPrefix() throws {
        // nftables' `log group G` without a prefix sends NFULA_PREFIX holding just the NUL.
        let packet = try #require(NFLogMessage.parse(W.packet(prefix: "", payload: W.ipv4(source: W.v4Source))).packets.first)
        #expect(packet.prefix == nil)
    }

    @Test func prefixWithoutNULIsTakenWhole() throws {
        var body = W.nfgen(family: 2, group: 1)
        body += W.attribute(10, Array("abc".utf8)) // padded with one zero byte, but nla_len excludes it
        body += W.attribute(9, W.ipv4(source: W.v4Source))
        let packet = try #require(NFLogMessage.parse(W.message(type: W.packetType, body: body)).packets.first)
        #expect(packet.prefix == "abc")
    }

    @Test func overlongPrefixIsCappedAt128Bytes() throws {
        let long = String(repeating: "p", count: 300)
        let packet = try #require(NFLogMessage.parse(W.packet(prefix: long, payload: W.ipv4(source: W.v4Source))).packets.first)
        #expect(packet.prefix == String(repeating: "p", count: 128))
    }

    @Test func ipv4OptionsAreAccepted() throws {
        let packet = try #require(NFLogMessage.parse(W.packet(payload: W.ipv4(source: W.v4Source, ihl: 15))).packets.first)
        #expect(packet.source == IPAddress("198.18.7.9"))
    }

    @Test func twoMessagesAndAControlMessageInOneDatagram() throws {
        // The first message's last attribute is unpadded, so its nlmsg_len is not a multiple
        // of four: the second must be found at NLMSG_ALIGN(nlmsg_len).
        let first = W.packet(prefix: "a", payload: Array(W.ipv4(source: W.v4Source).prefix(21)), padLast: false)
        #expect(first.count % 4 != 0)
        let second = W.packet(group: 31_001, family: 10, prefix: "b", payload: W.ipv6(source: W.v6Source))
        let bytes = W.padded(first) + second + W.error(0, sequence: 77) + W.message(type: 3, body: [0, 0, 0, 0])
        let datagram = NFLogMessage.parse(bytes)
        #expect(!datagram.truncated)
        #expect(datagram.packets.map(\.source) == [IPAddress("198.18.7.9")!, IPAddress("2001:2::5")!])
        #expect(datagram.packets.map(\.prefix) == ["a", "b"])
        #expect(datagram.elements.count == 4)
        #expect(datagram.elements[2] == .acknowledgement(sequence: 77, errno: 0))
        #expect(datagram.elements[3] == .done)
    }

    @Test func errorRepliesCarryThePositiveErrno() {
        #expect(NFLogMessage.parse(W.error(-16, sequence: 5)).elements == [.acknowledgement(sequence: 5, errno: 16)])
        #expect(NFLogMessage.parse(W.error(-1, sequence: 6)).elements == [.acknowledgement(sequence: 6, errno: 1)])
        // Absurd codes must not trap.
        #expect(NFLogMessage.parse(W.error(Int32.min, sequence: 7)).elements == [.acknowledgement(sequence: 7, errno: Int32.max)])
        #expect(NFLogMessage.parse(W.message(type: 2, body: [0xFF, 0xFF])).elements == [.malformed(.shortMessage)])
    }

    @Test func otherSubsystemsAndTypesAreIgnored() {
        let payload = W.ipv4(source: W.v4Source)
        var queue = W.packet(payload: payload)
        queue[5] = 3 // NFNL_SUBSYS_QUEUE << 8 | 0: same body, another subsystem
        var config = W.packet(payload: payload)
        config[4] = 1 // NFULNL_MSG_CONFIG: never sent by the kernel
        let bytes = queue + config + W.message(type: 1, body: []) + W.message(type: 4, body: [])
        let datagram = NFLogMessage.parse(bytes)
        #expect(datagram.packets.isEmpty)
        #expect(datagram.rejections.isEmpty)
        #expect(datagram.elements == [.ignored(type: 0x0300), .ignored(type: 0x0401), .ignored(type: 1), .ignored(type: 4)])
    }

    @Test(arguments: [
        ([UInt8](), NFLogRejection.truncatedIPHeader),
        ([0x00, 0x01, 0x08, 0x00, 6, 4, 0, 1] + [UInt8](repeating: 0, count: 20), .notIP), // ARP
        ([0x50] + [UInt8](repeating: 0, count: 40), .notIP),
        (Array(NFLogWire.ipv4(source: NFLogWire.v4Source).prefix(19)), .truncatedIPHeader),
        (Array(NFLogWire.ipv4(source: NFLogWire.v4Source, ihl: 4)), .badIPHeader),
        (Array(NFLogWire.ipv4(source: NFLogWire.v4Source, ihl: 15).prefix(59)), .truncatedIPHeader),
        (Array(NFLogWire.ipv6(source: NFLogWire.v6Source).prefix(39)), .truncatedIPHeader),
    ])
    func unusablePayloadsAreMalformed(payload: [UInt8], reason: NFLogRejection) {
        let datagram = NFLogMessage.parse(W.packet(payload: payload))
        #expect(datagram.packets.isEmpty)
        #expect(datagram.elements == [.malformed(reason)])
    }

    @Test func ipv4TotalLengthBelowHeaderLengthIsMalformed() {
        var payload = W.ipv4(source: W.v4Source)
        payload[2] = 0
        payload[3] = 19
        #expect(NFLogMessage.parse(W.packet(payload: payload)).rejections == [.badIPHeader])
    }

    @Test func brokenMessagesAreMalformed() {
        // No payload (copy mode meta).
        #expect(NFLogMessage.parse(W.packet(payload: nil)).rejections == [.missingPayload])
        // Body shorter than struct nfgenmsg.
        #expect(NFLogMessage.parse(W.message(type: W.packetType, body: [2, 0])).rejections == [.shortMessage])
        // nla_len below the attribute header, and beyond the message.
        let header = W.nfgen(family: 2, group: 1)
        let tooShort = header + W.attribute(9, [], length: 3) + W.attribute(9, W.ipv4(source: W.v4Source))
        #expect(NFLogMessage.parse(W.message(type: W.packetType, body: tooShort)).rejections == [.badAttribute])
        let tooLong = header + W.attribute(9, W.ipv4(source: W.v4Source), length: 200)
        #expect(NFLogMessage.parse(W.message(type: W.packetType, body: tooLong)).rejections == [.badAttribute])
        // A bad message does not hide the next one.
        let both = W.message(type: W.packetType, body: tooLong) + W.packet(payload: W.ipv4(source: W.v4Source))
        let datagram = NFLogMessage.parse(both)
        #expect(datagram.rejections == [.badAttribute])
        #expect(datagram.packets.count == 1)
    }

    @Test func nestedAndByteOrderFlagsAreMaskedFromAttributeTypes() throws {
        var body = W.nfgen(family: 2, group: 1)
        body += W.attribute(0x4000 | 9, W.ipv4(source: W.v4Source)) // NLA_F_NET_BYTEORDER | NFULA_PAYLOAD
        let packet = try #require(NFLogMessage.parse(W.message(type: W.packetType, body: body)).packets.first)
        #expect(packet.source == IPAddress("198.18.7.9"))
    }

    @Test func badMessageLengthsStopTheWalk() {
        let good = W.packet(payload: W.ipv4(source: W.v4Source))
        // nlmsg_len below the header: cannot step, the rest is unreadable.
        let tiny = W.message(type: W.packetType, body: [2, 0, 0, 1], length: 8)
        var datagram = NFLogMessage.parse(good + tiny + good)
        #expect(datagram.packets.count == 1)
        #expect(datagram.truncated)
        // nlmsg_len beyond the datagram.
        let huge = W.message(type: W.packetType, body: [2, 0, 0, 1], length: 0xFFFF_FFFF)
        datagram = NFLogMessage.parse(good + huge)
        #expect(datagram.packets.count == 1)
        #expect(datagram.truncated)
    }

    @Test func truncatedAtEveryLengthNeverCrashes() {
        let first = W.packet(prefix: "swflood", payload: W.ipv4(source: W.v4Source))
        let second = W.packet(family: 10, prefix: nil, payload: W.ipv6(source: W.v6Source))
        let whole = first + second
        for cut in 0...whole.count {
            let datagram = NFLogMessage.parse(Array(whole.prefix(cut)))
            let expectedPackets = cut >= whole.count ? 2 : (cut >= first.count ? 1 : 0)
            #expect(datagram.packets.count == expectedPackets, "cut at \(cut)")
            #expect(datagram.truncated == !(cut == 0 || cut == first.count || cut == whole.count), "cut at \(cut)")
            #expect(datagram.rejections.isEmpty, "cut at \(cut)")
        }
        // Cutting inside a message whose nlmsg_len is corrected to the cut: attributes and
        // the IP header are what is short then.
        for cut in 16..<first.count {
            var bytes = Array(first.prefix(cut))
            bytes.replaceSubrange(0..<4, with: W.le32(UInt32(cut)))
            let datagram = NFLogMessage.parse(bytes)
            #expect(datagram.elements.count == 1, "cut at \(cut)")
            #expect(!datagram.truncated)
        }
    }

    @Test func everySingleByteCorruptionIsSurvived() {
        let whole = W.packet(payload: W.ipv4(source: W.v4Source)) + W.packet(family: 10, payload: W.ipv6(source: W.v6Source))
        for index in whole.indices {
            for value: UInt8 in [0x00, 0x01, 0x03, 0x7F, 0x80, 0xFF] {
                var bytes = whole
                bytes[index] = value
                let datagram = NFLogMessage.parse(bytes)
                #expect(datagram.elements.count <= 2)
            }
        }
    }

    @Test func randomBytesNeverCrash() {
        var generator = SplitMix64(seed: 0x5EED_F10D)
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 200)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Often give the first message a plausible length and type, to get past the header.
            if count >= 16, generator.next() % 2 == 0 {
                bytes.replaceSubrange(0..<4, with: W.le32(UInt32(16 + generator.next() % UInt64(count - 15))))
                bytes.replaceSubrange(4..<6, with: W.le16(W.packetType))
            }
            let datagram = NFLogMessage.parse(bytes)
            #expect(datagram.elements.count <= count / 16)
        }
    }

    // MARK: Requests

    @Test func bindRequestBytes() {
        let bytes = NFLogMessage.bind(group: 0x7A19, sequence: 0x0102_0304)
        let expected: [UInt8] =
            W.le32(28) + W.le16(0x0401) + W.le16(0x0005) + W.le32(0x0102_0304) + W.le32(0)
            + [0, 0, 0x7A, 0x19] // AF_UNSPEC, NFNETLINK_V0, be16 group
            + [5, 0, 1, 0, 1, 0, 0, 0] // NFULA_CFG_CMD { NFULNL_CFG_CMD_BIND }, padded
        #expect(bytes == expected)
    }

    @Test func unbindRequestAsksForNoAcknowledgement() {
        let bytes = NFLogMessage.unbind(group: 9, sequence: 1)
        #expect(Array(bytes[6..<8]) == W.le16(0x0001))
        #expect(Array(bytes[16...]) == [0, 0, 0, 9, 5, 0, 1, 0, 2, 0, 0, 0])
    }

    @Test func modeRequestBytes() {
        let bytes = NFLogMessage.mode(group: 1, sequence: 2, copyRange: 128, queueThreshold: 1, flushTimeout: 3)
        let expected: [UInt8] =
            W.le32(48) + W.le16(0x0401) + W.le16(0x0005) + W.le32(2) + W.le32(0)
            + [0, 0, 0, 1]
            + [10, 0, 2, 0, 0, 0, 0, 128, 2, 0, 0, 0] // NFULA_CFG_MODE { be32 128, COPY_PACKET, pad }, padded
            + [8, 0, 5, 0, 0, 0, 0, 1] // NFULA_CFG_QTHRESH be32 1
            + [8, 0, 4, 0, 0, 0, 0, 3] // NFULA_CFG_TIMEOUT be32 3
        #expect(bytes == expected)
    }
}
