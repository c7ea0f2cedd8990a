// SPDX-License-Identifier: GPL-2.0-or-later

import Netlink
public import NetworkAddress

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
        elements.compactMap { if case .packet(let packet) = $0 { packet } else { nil } }
    }

    /// The rejected `NFULNL_MSG_PACKET` messages, in order.
    public var rejections: [NFLogRejection] {
        elements.compactMap { if case .malformed(let reason) = $0 { reason } else { nil } }
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

    /// Every message of one netlink datagram, walked by `NetlinkMessageReader`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> NFLogDatagram {
        var result = NFLogDatagram()
        var reader = NetlinkMessageReader(bytes)
        while true {
            let next: NetlinkMessage?
            do throws(NetlinkDecodeError) {
                next = try reader.next()
            } catch {
                // A header cut short, or a length below 16 or beyond the end: the rest
                // cannot be delimited.
                result.truncated = true
                break
            }
            guard let message = next else { break }
            result.elements.append(element(message))
        }
        return result
    }

    /// `parse` over an array (convenience for tests and tools).
    public static func parse(_ bytes: [UInt8]) -> NFLogDatagram {
        bytes.withUnsafeBytes { parse($0) }
    }

    private static func element(_ message: NetlinkMessage) -> Element {
        switch message.header.type {
        case NetlinkMessageType.error:
            do throws(NetlinkDecodeError) {
                let acknowledgement = try message.acknowledgement()
                return .acknowledgement(sequence: acknowledgement.sequence, errno: acknowledgement.errno)
            } catch {
                return .malformed(.shortMessage)
            }
        case NetlinkMessageType.done:
            return .done
        case NFLogConstant.packetType:
            switch packet(message) {
            case .success(let packet): return .packet(packet)
            case .failure(let reason): return .malformed(reason)
            }
        default:
            return .ignored(type: message.header.type)
        }
    }

    /// An `NFULNL_MSG_PACKET` message: `struct nfgenmsg`, then attributes.
    static func packet(_ message: NetlinkMessage) -> Result<NFLogPacket, NFLogRejection> {
        let generic: NFGenHeader
        var attributes: NetlinkAttributeReader
        do throws(NetlinkDecodeError) {
            (generic, attributes) = try message.nfnetlink()
        } catch {
            return .failure(.shortMessage)
        }
        var hardwareProtocol: UInt16?
        var prefix: String??
        var payload: UnsafeRawBufferPointer?
        while true {
            let next: NetlinkAttribute?
            do throws(NetlinkDecodeError) {
                next = try attributes.next()
            } catch {
                return .failure(.badAttribute)
            }
            guard let attribute = next else { break }
            let value = attribute.payload
            switch attribute.type {
            case NFLogConstant.attributePacketHeader where hardwareProtocol == nil && value.count >= 4:
                hardwareProtocol = UInt16(value[0]) << 8 | UInt16(value[1])
            case NFLogConstant.attributePayload where payload == nil:
                payload = value
            case NFLogConstant.attributePrefix where prefix == nil:
                prefix = .some(decodePrefix(attribute))
            default:
                break // the first of each attribute counts; the others are not used
            }
        }
        guard let payload else { return .failure(.missingPayload) }
        switch sourceAddress(payload) {
        case .success(let source):
            return .success(
                NFLogPacket(
                    group: generic.resourceID, family: generic.family, hardwareProtocol: hardwareProtocol,
                    prefix: prefix ?? nil, source: source))
        case .failure(let reason):
            return .failure(reason)
        }
    }

    /// The prefix up to its NUL (or the end), at most `NF_LOG_PREFIXLEN` bytes; nil when empty.
    /// Invalid UTF-8 is replaced, never rejected: the prefix only labels the report.
    static func decodePrefix(_ attribute: NetlinkAttribute) -> String? {
        let prefix = attribute.string(limit: NFLogConstant.prefixMaximumLength)
        return prefix.isEmpty ? nil : prefix
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
    /// per group, not per family), asking for an acknowledgement unless told otherwise;
    /// `attributes` writes the `NFULA_CFG_*` attributes.
    static func configuration(
        group: UInt16, sequence: UInt32, acknowledge: Bool = true,
        attributes: (inout NetlinkAttributeWriter) -> Void
    ) -> [UInt8] {
        var writer = NetlinkMessageWriter(reservingCapacity: 64)
        // A header and at most three small attributes: no length field can overflow.
        try? writer.append(
            type: NFLogConstant.configType,
            flags: NetlinkFlag.request | (acknowledge ? NetlinkFlag.acknowledge : 0),
            sequence: sequence,
            nfgen: NFGenHeader(family: NFProtocolFamily.unspecified, resourceID: group)
        ) { body in
            attributes(&body)
        }
        return writer.bytes
    }

    /// `NFULNL_CFG_CMD_BIND`: become the receiver of `group` (EBUSY/EPERM when taken).
    static func bind(group: UInt16, sequence: UInt32) -> [UInt8] {
        configuration(group: group, sequence: sequence) { $0.append(NFLogConstant.configCommand, uint8: NFLogConstant.commandBind) }
    }

    /// `NFULNL_CFG_CMD_UNBIND`: release `group` (no acknowledgement asked for).
    static func unbind(group: UInt16, sequence: UInt32) -> [UInt8] {
        configuration(group: group, sequence: sequence, acknowledge: false) {
            $0.append(NFLogConstant.configCommand, uint8: NFLogConstant.commandUnbind)
        }
    }

    /// Copy mode packet with `copyRange` bytes, a queue threshold and a flush timeout
    /// (1/100 s), all big-endian as nfnetlink_log reads them.
    static func mode(
        group: UInt16, sequence: UInt32, copyRange: UInt32, queueThreshold: UInt32,
        flushTimeout: UInt32
    ) -> [UInt8] {
        configuration(group: group, sequence: sequence) { body in
            // struct nfulnl_msg_config_mode { __be32 copy_range; __u8 copy_mode; __u8 _pad; }
            let mode: [UInt8] = [
                UInt8(copyRange >> 24), UInt8(truncatingIfNeeded: copyRange >> 16),
                UInt8(truncatingIfNeeded: copyRange >> 8), UInt8(truncatingIfNeeded: copyRange),
                NFLogConstant.copyPacket, 0,
            ]
            try? body.append(NFLogConstant.configMode, bytes: mode)
            body.append(NFLogConstant.configQueueThreshold, bigEndian: queueThreshold)
            body.append(NFLogConstant.configTimeout, bigEndian: flushTimeout)
        }
    }
}
