// SPDX-License-Identifier: GPL-2.0-or-later

// Bytes written out by hand from the kernel uapi headers, independently of the codec's own
// constants:
//   <linux/netlink.h>  struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; } (host order)
//                      struct nlmsgerr { int error; struct nlmsghdr msg; }
//                      struct nlattr { u16 nla_len; u16 nla_type; }, NLA_F_NESTED 0x8000,
//                      NLA_F_NET_BYTEORDER 0x4000, NLA_ALIGNTO 4, NLMSG_ALIGNTO 4
//                      NLM_F_REQUEST 0x1, NLM_F_MULTI 0x2, NLM_F_ACK 0x4, NLM_F_CREATE 0x400
//                      NLMSG_NOOP 1, NLMSG_ERROR 2, NLMSG_DONE 3
//   <linux/netfilter/nfnetlink.h>  struct nfgenmsg { u8 nfgen_family; u8 version; be16 res_id; }
//                      NFNL_MSG_BATCH_BEGIN 0x10, NFNL_MSG_BATCH_END 0x11, NFNL_SUBSYS_NFTABLES 10
// Host order is little-endian on every platform sipwarden targets (x86_64, aarch64).

#if _endian(little)
    let littleEndianHost = true
#else
    let littleEndianHost = false
#endif

/// Little-endian bytes of a u16 / u32 (nlmsghdr and nlattr fields).
func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) } }

/// A netlink message: header (`length` overrides nlmsg_len), then `body`, unpadded.
func message(
    type: UInt16, flags: UInt16 = 0, sequence: UInt32 = 0, portID: UInt32 = 0, body: [UInt8] = [],
    length: UInt32? = nil
) -> [UInt8] {
    le32(length ?? UInt32(16 + body.count)) + le16(type) + le16(flags) + le32(sequence) + le32(portID) + body
}

/// `bytes` padded with zeros to a multiple of 4.
func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }

/// An attribute (`length` overrides nla_len), padded unless told otherwise.
func attribute(_ type: UInt16, _ payload: [UInt8], length: UInt16? = nil, pad: Bool = true) -> [UInt8] {
    let bytes = le16(length ?? UInt16(4 + payload.count)) + le16(type) + payload
    return pad ? padded(bytes) : bytes
}

/// An NLMSG_ERROR reply to `sequence`: error code (negative errno or 0), echoed request header.
func errorReply(_ error: Int32, sequence: UInt32, portID: UInt32 = 4_242, echoedType: UInt16 = 0x0A0C) -> [UInt8] {
    message(
        type: 2, flags: 0x100, sequence: sequence, portID: portID,
        body: le32(UInt32(bitPattern: error)) + message(type: echoedType, flags: 0x0405, sequence: sequence, portID: portID, length: 72))
}
