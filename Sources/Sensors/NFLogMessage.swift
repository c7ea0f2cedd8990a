// SPDX-License-Identifier: GPL-2.0-or-later
public import NetworkAddress

/// Numeric constants from the kernel's uapi headers. Glibc does not export them to Swift,
/// so the few the NFLOG listener needs are spelled out here; each names its header.
enum NFLogConstant {
    // /usr/include/linux/netlink.h
    /// `NETLINK_NETFILTER`: the netfilter netlink family.
    static let netlinkNetfilter: Int32 = 12
    /// `NLMSG_HDRLEN`: `sizeof(struct nlmsghdr)`, already `NLMSG_ALIGN`ed.
    static let messageHeaderLength = 16
    /// `NLMSG_NOOP`.
    static let messageNoop: UInt16 = 0x1
    /// `NLMSG_ERROR`: an acknowledgement (error 0) or an error (negative errno).
    static let messageError: UInt16 = 0x2
    /// `NLMSG_DONE`: end of a multipart message.
    static let messageDone: UInt16 = 0x3
    /// `NLMSG_OVERRUN`: data lost.
    static let messageOverrun: UInt16 = 0x4
    /// `NLM_F_REQUEST`.
    static let flagRequest: UInt16 = 0x01
    /// `NLM_F_ACK`: reply with an acknowledgement (error 0) or an error code.
    static let flagAck: UInt16 = 0x04
    /// `NLA_HDRLEN`: `sizeof(struct nlattr)`.
    static let attributeHeaderLength = 4
    /// `NLA_TYPE_MASK`: the type bits, without `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`.
    static let attributeTypeMask: UInt16 = 0x3FFF

    // /usr/include/linux/netfilter/nfnetlink.h
    /// `NFNL_SUBSYS_ULOG`: the nfnetlink_log subsystem (message type = subsystem << 8 | type).
    static let subsystemULOG: UInt16 = 4
    /// `NFNETLINK_V0`.
    static let nfnetlinkVersion: UInt8 = 0
    /// `sizeof(struct nfgenmsg)`: u8 family, u8 version, be16 resource id (the group).
    static let nfgenLength = 4

    // /usr/include/linux/netfilter/nfnetlink_log.h
    /// `NFULNL_MSG_PACKET` (enum nfulnl_msg_types): a logged packet, kernel to user.
    static let messagePacket: UInt16 = 0
    /// `NFULNL_MSG_CONFIG`: configure an instance (a group), user to kernel.
    static let messageConfig: UInt16 = 1
    /// `NFULA_PACKET_HDR` (enum nfulnl_attr_type): `struct nfulnl_msg_packet_hdr`
    /// (be16 hw_protocol, u8 hook, u8 pad).
    static let attributePacketHeader: UInt16 = 1
    /// `NFULA_PAYLOAD`: the packet, from its network header on.
    static let attributePayload: UInt16 = 9
    /// `NFULA_PREFIX`: the rule's log prefix, NUL-terminated.
    static let attributePrefix: UInt16 = 10
    /// `NFULA_CFG_CMD` (enum nfulnl_attr_config): `struct nfulnl_msg_config_cmd` (u8 command).
    static let configCommand: UInt16 = 1
    /// `NFULA_CFG_MODE`: `struct nfulnl_msg_config_mode` (be32 copy_range, u8 copy_mode, u8 pad).
    static let configMode: UInt16 = 2
    /// `NFULA_CFG_TIMEOUT`: be32, in 1/100 s.
    static let configTimeout: UInt16 = 4
    /// `NFULA_CFG_QTHRESH`: be32, messages queued before the kernel flushes them.
    static let configQueueThreshold: UInt16 = 5
    /// `NFULNL_CFG_CMD_BIND` (enum nfulnl_msg_config_cmds).
    static let commandBind: UInt8 = 1
    /// `NFULNL_CFG_CMD_UNBIND`.
    static let commandUnbind: UInt8 = 2
    /// `NFULNL_COPY_PACKET`.
    static let copyPacket: UInt8 = 0x02
    /// `NF_LOG_PREFIXLEN` (include/net/netfilter/nf_log.h): longest prefix, NUL included.
    static let prefixMaximumLength = 128

    /// `NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET`.
    static let packetType: UInt16 = subsystemULOG << 8 | messagePacket
    /// `NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG`.
    static let configType: UInt16 = subsystemULOG << 8 | messageConfig
}

/// One packet the kernel logged to an NFLOG group (an `NFULNL_MSG_PACKET` message), reduced
/// to what sipwarden uses.
public struct NFLogPacket: Sendable, Hashable {
    /// The NFLOG group (the `nfgenmsg` resource id).
    public var group: UInt16
    /// The protocol family of the hook that logged it (`nfgenmsg.nfgen_family`:
    /// `NFPROTO_IPV4` = 2, `NFPROTO_IPV6` = 10). Informational only.
    public var family: UInt8
    /// `hw_protocol` of `NFULA_PACKET_HDR` (EtherType, host order), when present.
    /// Informational only: the source address comes from the IP header itself.
    public var hardwareProtocol: UInt16?
    /// The rule's log prefix; nil when the rule has none (or an empty one).
    public var prefix: String?
    /// The source address of the logged packet's IP header.
    public var source: IPAddress

    public init(group: UInt16, family: UInt8, hardwareProtocol: UInt16?, prefix: String?, source: IPAddress) {
        self.group = group
        self.family = family
        self.hardwareProtocol = hardwareProtocol
        self.prefix = prefix
        self.source = source
    }
}

/// Why an `NFULNL_MSG_PACKET` message could not be used.
public enum NFLogRejection: String, Error, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The message is shorter than its fixed header (`struct nfgenmsg`, or the error code
    /// of an `NLMSG_ERROR`).
    case shortMessage
    /// An attribute's length is below its header or runs past the message.
    case badAttribute
    /// No `NFULA_PAYLOAD` (the group is not in packet copy mode).
    case missingPayload
    /// The payload's version nibble is neither 4 nor 6.
    case notIP
    /// The payload is shorter than the IP header it starts.
    case truncatedIPHeader
    /// An IPv4 header whose header length is below 20 bytes or above its total length.
    case badIPHeader

    public var description: String {
        switch self {
        case .shortMessage: "message shorter than its header"
        case .badAttribute: "attribute length out of bounds"
        case .missingPayload: "no packet payload"
        case .notIP: "payload is not IPv4 or IPv6"
        case .truncatedIPHeader: "payload shorter than its IP header"
        case .badIPHeader: "inconsistent IPv4 header lengths"
        }
    }
}

/// What one netlink datagram from the nfnetlink_log subsystem held.
public struct NFLogDatagram: Sendable, Hashable {
    /// The messages, in order.
    public var elements: [NFLogMessage.Element] = []
    /// True when the datagram ended inside a message (a header cut short, or a length
    /// beyond the end): the bytes from there on were not read.
    public var truncated = false

    public init() {}

    /// The usable logged packets, in order.
    public var packets: [NFLogPacket] {
        elements.compactMap { if case let .packet(packet) = $0 { packet } else { nil } }
    }

    /// The rejected `NFULNL_MSG_PACKET` messages, in order.
    public var rejections: [NFLogRejection] {
        elements.compactMap { if case let .malformed(reason) = $0 { reason } else { nil } }
    }
}

/// Parses the netlink datagrams an NFLOG socket receives (`<linux/netlink.h>`,
/// `<linux/netfilter/nfnetlink.h>`, `<linux/netfilter/nfnetlink_log.h>`), and builds the
/// configuration requests it sends.
///
/// Pure: no I/O. The input is untrusted; every length is checked before it is used, every
/// loop advances by at least four bytes, nothing traps. Of a logged packet only the rule's
/// prefix and the IP header's source address are taken.
public enum NFLogMessage {
    /// One netlink message of a datagram.
    public enum Element: Sendable, Hashable {
        /// A logged packet with a well-formed IPv4 or IPv6 header.
        case packet(NFLogPacket)
        /// A logged packet that could not be used, and why.
        case malformed(NFLogRejection)
        /// `NLMSG_ERROR`: the reply to request `sequence`; `errno` 0 is an acknowledgement,
        /// anything else the (positive) errno the kernel refused it with.
        case acknowledgement(sequence: UInt32, errno: Int32)
        /// `NLMSG_DONE`.
        case done
        /// Any other message type (another subsystem, `NLMSG_NOOP`, `NLMSG_OVERRUN`, ...), ignored.
        case ignored(type: UInt16)
    }

    /// Every message of one netlink datagram, stepping by `NLMSG_ALIGN(nlmsg_len)`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> NFLogDatagram {
        var result = NFLogDatagram()
        let total = bytes.count
        var offset = 0
        while offset < total {
            let remaining = total - offset
            guard remaining >= NFLogConstant.messageHeaderLength else {
                result.truncated = true
                break
            }
            // struct nlmsghdr, host order: u32 len, u16 type, u16 flags, u32 seq, u32 pid.
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            guard length >= NFLogConstant.messageHeaderLength, length <= remaining else {
                result.truncated = true
                break
            }
            let type = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
            let sequence = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
            let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + NFLogConstant.messageHeaderLength)..<(offset + length)])
            result.elements.append(element(type: type, sequence: sequence, body: body))
            // NLMSG_ALIGN; length ≤ remaining, so this cannot overflow. The last message
            // may lack its padding: the loop then simply ends.
            offset += (length + 3) & ~3
        }
        return result
    }

    /// `parse` over an array (convenience for tests and tools).
    public static func parse(_ bytes: [UInt8]) -> NFLogDatagram {
        bytes.withUnsafeBytes { parse($0) }
    }

    private static func element(type: UInt16, sequence: UInt32, body: UnsafeRawBufferPointer) -> Element {
        switch type {
        case NFLogConstant.messageError:
            // struct nlmsgerr: int error, then (part of) the request's header.
            guard body.count >= 4 else { return .malformed(.shortMessage) }
            let code = body.loadUnaligned(as: Int32.self)
            let errno: Int32 = code == Int32.min ? Int32.max : (code < 0 ? -code : code)
            return .acknowledgement(sequence: sequence, errno: errno)
        case NFLogConstant.messageDone:
            return .done
        case NFLogConstant.packetType:
            switch packet(body) {
            case let .success(packet): return .packet(packet)
            case let .failure(reason): return .malformed(reason)
            }
        default:
            return .ignored(type: type)
        }
    }

    /// An `NFULNL_MSG_PACKET` body: `struct nfgenmsg`, then attributes.
    static func packet(_ body: UnsafeRawBufferPointer) -> Result<NFLogPacket, NFLogRejection> {
        guard body.count >= NFLogConstant.nfgenLength else { return .failure(.shortMessage) }
        let family = body[0]
        let group = UInt16(body[2]) << 8 | UInt16(body[3])
        var hardwareProtocol: UInt16?
        var prefix: String??
        var payload: UnsafeRawBufferPointer?
        var at = NFLogConstant.nfgenLength
        // Each round advances by at least NLA_HDRLEN bytes; trailing bytes shorter than an
        // attribute header are padding.
        while body.count - at >= NFLogConstant.attributeHeaderLength {
            // struct nlattr, host order: u16 len (header included), u16 type.
            let length = Int(body.loadUnaligned(fromByteOffset: at, as: UInt16.self))
            let type = body.loadUnaligned(fromByteOffset: at + 2, as: UInt16.self) & NFLogConstant.attributeTypeMask
            guard length >= NFLogConstant.attributeHeaderLength, length <= body.count - at else {
                return .failure(.badAttribute)
            }
            let value = UnsafeRawBufferPointer(rebasing: body[(at + NFLogConstant.attributeHeaderLength)..<(at + length)])
            switch type {
            case NFLogConstant.attributePacketHeader where hardwareProtocol == nil && value.count >= 4:
                hardwareProtocol = UInt16(value[0]) << 8 | UInt16(value[1])
            case NFLogConstant.attributePayload where payload == nil:
                payload = value
            case NFLogConstant.attributePrefix where prefix == nil:
                prefix = .some(decodePrefix(value))
            default:
                break // the first of each attribute counts; the others are not used
            }
            at += (length + 3) & ~3
        }
        guard let payload else { return .failure(.missingPayload) }
        switch sourceAddress(payload) {
        case let .success(source):
            return .success(NFLogPacket(group: group, family: family, hardwareProtocol: hardwareProtocol,
                                        prefix: prefix ?? nil, source: source))
        case let .failure(reason):
            return .failure(reason)
        }
    }

    /// The prefix up to its NUL (or the end), at most `NF_LOG_PREFIXLEN` bytes; nil when empty.
    /// Invalid UTF-8 is replaced, never rejected: the prefix only labels the report.
    static func decodePrefix(_ value: UnsafeRawBufferPointer) -> String? {
        let limit = min(value.count, NFLogConstant.prefixMaximumLength)
        var end = 0
        while end < limit, value[end] != 0 { end += 1 }
        guard end > 0 else { return nil }
        return String(decoding: value[0..<end], as: UTF8.self)
    }

    /// The source address of the IP header at the start of `payload`, after checking that the
    /// header is complete (IPv4: version 4, 20 ≤ IHL·4 ≤ total length and ≤ the bytes at hand;
    /// IPv6: version 6, 40 bytes at hand).
    static func sourceAddress(_ payload: UnsafeRawBufferPointer) -> Result<IPAddress, NFLogRejection> {
        guard let first = payload.first else { return .failure(.truncatedIPHeader) }
        switch first >> 4 {
        case 4:
            guard payload.count >= 20 else { return .failure(.truncatedIPHeader) }
            let headerLength = Int(first & 0x0F) * 4
            let totalLength = Int(payload[2]) << 8 | Int(payload[3])
            guard headerLength >= 20, headerLength <= totalLength else { return .failure(.badIPHeader) }
            guard payload.count >= headerLength else { return .failure(.truncatedIPHeader) }
            guard let source = IPAddress(bytes: payload[12..<16]) else { return .failure(.badIPHeader) }
            return .success(source)
        case 6:
            guard payload.count >= 40 else { return .failure(.truncatedIPHeader) }
            guard let source = IPAddress(bytes: payload[8..<24]) else { return .failure(.badIPHeader) }
            return .success(source)
        default:
            return .failure(.notIP)
        }
    }

    // MARK: Requests

    /// An `NFULNL_MSG_CONFIG` request for `group` (`nfgen_family` AF_UNSPEC: an instance is
    /// per group, not per family) with the given attributes, asking for an acknowledgement.
    static func configuration(group: UInt16, sequence: UInt32, acknowledge: Bool = true,
                              attributes: [(type: UInt16, value: [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
        }
        append(UInt32(0)) // length, patched below
        append(NFLogConstant.configType)
        append(NFLogConstant.flagRequest | (acknowledge ? NFLogConstant.flagAck : 0))
        append(sequence)
        append(UInt32(0)) // nlmsg_pid 0: the kernel assigns ours
        bytes.append(0) // nfgen_family AF_UNSPEC
        bytes.append(NFLogConstant.nfnetlinkVersion)
        append(group.bigEndian)
        for attribute in attributes {
            let length = NFLogConstant.attributeHeaderLength + attribute.value.count
            append(UInt16(truncatingIfNeeded: length))
            append(attribute.type)
            bytes += attribute.value
            while bytes.count % 4 != 0 { bytes.append(0) }
        }
        let total = UInt32(truncatingIfNeeded: bytes.count)
        withUnsafeBytes(of: total) { raw in
            for i in 0..<4 { bytes[i] = raw[i] }
        }
        return bytes
    }

    /// `NFULNL_CFG_CMD_BIND`: become the receiver of `group` (EBUSY/EPERM when taken).
    static func bind(group: UInt16, sequence: UInt32) -> [UInt8] {
        configuration(group: group, sequence: sequence,
                      attributes: [(NFLogConstant.configCommand, [NFLogConstant.commandBind])])
    }

    /// `NFULNL_CFG_CMD_UNBIND`: release `group` (no acknowledgement asked for).
    static func unbind(group: UInt16, sequence: UInt32) -> [UInt8] {
        configuration(group: group, sequence: sequence, acknowledge: false,
                      attributes: [(NFLogConstant.configCommand, [NFLogConstant.commandUnbind])])
    }

    /// Copy mode packet with `copyRange` bytes, a queue threshold and a flush timeout
    /// (1/100 s), all big-endian as nfnetlink_log reads them.
    static func mode(group: UInt16, sequence: UInt32, copyRange: UInt32, queueThreshold: UInt32,
                     flushTimeout: UInt32) -> [UInt8] {
        func bigEndian(_ value: UInt32) -> [UInt8] {
            [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
        }
        return configuration(group: group, sequence: sequence, attributes: [
            (NFLogConstant.configMode, bigEndian(copyRange) + [NFLogConstant.copyPacket, 0]),
            (NFLogConstant.configQueueThreshold, bigEndian(queueThreshold)),
            (NFLogConstant.configTimeout, bigEndian(flushTimeout)),
        ])
    }
}
