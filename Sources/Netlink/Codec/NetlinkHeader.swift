// SPDX-License-Identifier: GPL-2.0-or-later

/// `struct nlmsghdr` (`<linux/netlink.h>`): the 16-byte header of every netlink message,
/// in host byte order.
public struct NetlinkHeader: Sendable, Hashable {
    /// `NLMSG_HDRLEN`: `sizeof(struct nlmsghdr)`, already aligned.
    public static let size = 16

    /// `nlmsg_len`: header and payload, without the trailing padding.
    public var length: UInt32
    /// `nlmsg_type`: a `NetlinkMessageType`, or for nfnetlink `subsystem << 8 | message`.
    public var type: UInt16
    /// `nlmsg_flags`: `NetlinkFlag` bits.
    public var flags: UInt16
    /// `nlmsg_seq`: the sender's sequence number (replies echo the request's).
    public var sequence: UInt32
    /// `nlmsg_pid`: the port of the sending socket (0 = the kernel).
    public var portID: UInt32

    /// A header with the given fields.
    public init(length: UInt32, type: UInt16, flags: UInt16, sequence: UInt32, portID: UInt32) {
        self.length = length
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
    }

    /// Reads a header at `offset`; nil when fewer than 16 bytes are there. Does not check
    /// `length` (the walker does).
    public init?(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard offset >= 0, bytes.count - offset >= Self.size else { return nil }
        length = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        type = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
        flags = bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self)
        sequence = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
        portID = bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)
    }
}

/// `struct nfgenmsg` (`<linux/netfilter/nfnetlink.h>`): the 4 bytes after the `nlmsghdr` of
/// every nfnetlink message.
public struct NFGenHeader: Sendable, Hashable {
    /// `sizeof(struct nfgenmsg)`.
    public static let size = 4

    /// `nfgen_family`: an `NFProtocolFamily` value.
    public var family: UInt8
    /// `version`: `NFNETLINK_V0`.
    public var version: UInt8
    /// `res_id`, big-endian on the wire: the NFLOG group, a batch's subsystem, or 0.
    public var resourceID: UInt16

    /// A header with the given fields.
    public init(family: UInt8, version: UInt8 = NFNetlink.version0, resourceID: UInt16) {
        self.family = family
        self.version = version
        self.resourceID = resourceID
    }

    /// Reads the header at the start of a message payload.
    public init(_ payload: UnsafeRawBufferPointer) throws(NetlinkDecodeError) {
        guard payload.count >= Self.size else { throw .shortPayload(needed: Self.size, available: payload.count) }
        family = payload[0]
        version = payload[1]
        resourceID = UInt16(payload[2]) << 8 | UInt16(payload[3])
    }
}

/// `NLMSG_ALIGN` / `NLA_ALIGN`: rounds up to a multiple of 4. Callers pass lengths already
/// bounded by a buffer size, so this cannot overflow.
@inline(__always)
func netlinkAligned(_ length: Int) -> Int { (length + 3) & ~3 }
