// SPDX-License-Identifier: GPL-2.0-or-later

// Numeric constants from the kernel's uapi headers. Glibc does not export them to Swift, so
// the ones sipwarden uses are spelled out here, once; each names its header.

/// `<linux/netlink.h>`: protocol numbers, message types, header sizes and socket options.
public enum NetlinkProtocol {
    /// `NETLINK_NETFILTER`: nfnetlink (nf_tables, nfnetlink_log, nfnetlink_queue, …).
    public static let netfilter: Int32 = 12
    /// `SOL_NETLINK`: the socket option level of the options below.
    public static let socketOptionLevel: Int32 = 270
    /// `NETLINK_ADD_MEMBERSHIP`: join a multicast group.
    public static let addMembership: Int32 = 1
    /// `NETLINK_CAP_ACK`: error replies carry only the failing header, not its payload.
    public static let capAcknowledgement: Int32 = 10
}

/// `<linux/netlink.h>`: the reserved `nlmsg_type` values below `NLMSG_MIN_TYPE`.
public enum NetlinkMessageType {
    /// `NLMSG_NOOP`: to be ignored.
    public static let noop: UInt16 = 0x1
    /// `NLMSG_ERROR`: an acknowledgement (error 0) or an error (negative errno).
    public static let error: UInt16 = 0x2
    /// `NLMSG_DONE`: end of a multipart message.
    public static let done: UInt16 = 0x3
    /// `NLMSG_OVERRUN`: data lost.
    public static let overrun: UInt16 = 0x4
    /// `NLMSG_MIN_TYPE`: the first type a protocol may use.
    public static let minimum: UInt16 = 0x10
}

/// `<linux/netlink.h>`: `nlmsg_flags` bits.
public enum NetlinkFlag {
    /// `NLM_F_REQUEST`: a request (every message to the kernel).
    public static let request: UInt16 = 0x01
    /// `NLM_F_MULTI`: part of a multipart message ended by `NLMSG_DONE`.
    public static let multi: UInt16 = 0x02
    /// `NLM_F_ACK`: reply with an acknowledgement (error 0) or an error.
    public static let acknowledge: UInt16 = 0x04
    /// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`): return every object.
    public static let dump: UInt16 = 0x300
    /// `NLM_F_REPLACE`: replace an existing object.
    public static let replace: UInt16 = 0x100
    /// `NLM_F_EXCL`: fail if the object exists.
    public static let exclusive: UInt16 = 0x200
    /// `NLM_F_CREATE`: create if it does not exist.
    public static let create: UInt16 = 0x400
    /// `NLM_F_APPEND`: add at the end.
    public static let append: UInt16 = 0x800
}

/// `<linux/netlink.h>`: `struct nlattr` type bits.
public enum NetlinkAttributeFlag {
    /// `NLA_F_NESTED`: the attribute holds attributes.
    public static let nested: UInt16 = 1 << 15
    /// `NLA_F_NET_BYTEORDER`: the payload is in network byte order.
    public static let networkByteOrder: UInt16 = 1 << 14
    /// `NLA_TYPE_MASK`: the type without the two flags above.
    public static let typeMask: UInt16 = 0x3FFF
}

/// `<linux/netfilter/nfnetlink.h>`: subsystems, version, batches.
public enum NFNetlink {
    /// `NFNETLINK_V0`: the only `nfgen_version`.
    public static let version0: UInt8 = 0
    /// `NFNL_SUBSYS_ULOG`: nfnetlink_log (NFLOG).
    public static let subsystemLog: UInt16 = 4
    /// `NFNL_SUBSYS_NFTABLES`.
    public static let subsystemNFTables: UInt16 = 10
    /// `NFNL_MSG_BATCH_BEGIN` (= `NLMSG_MIN_TYPE`); its `res_id` names the subsystem.
    public static let batchBegin: UInt16 = 0x10
    /// `NFNL_MSG_BATCH_END` (= `NLMSG_MIN_TYPE + 1`).
    public static let batchEnd: UInt16 = 0x11

    /// `nlmsg_type` of message `message` of `subsystem`: `subsystem << 8 | message`.
    public static func messageType(subsystem: UInt16, message: UInt16) -> UInt16 {
        subsystem << 8 | (message & 0xFF)
    }
}

/// `<linux/netfilter.h>`: `nfgen_family` values.
public enum NFProtocolFamily {
    /// `NFPROTO_UNSPEC`.
    public static let unspecified: UInt8 = 0
    /// `NFPROTO_INET`: the dual-stack family of `inet` tables.
    public static let inet: UInt8 = 1
    /// `NFPROTO_IPV4`.
    public static let ipv4: UInt8 = 2
    /// `NFPROTO_IPV6`.
    public static let ipv6: UInt8 = 10
}

/// `<linux/netfilter/nf_tables.h>`: the set element messages and attributes.
public enum NFTablesConstant {
    /// `NFT_MSG_NEWSETELEM` (enum nf_tables_msg_types).
    public static let newSetElement: UInt16 = 12
    /// `NFT_MSG_DELSETELEM`.
    public static let deleteSetElement: UInt16 = 14
    /// `NFTA_SET_ELEM_LIST_TABLE` (enum nft_set_elem_list_attributes): NUL-terminated name.
    public static let listTable: UInt16 = 1
    /// `NFTA_SET_ELEM_LIST_SET`: NUL-terminated name.
    public static let listSet: UInt16 = 2
    /// `NFTA_SET_ELEM_LIST_ELEMENTS`: nested `NFTA_LIST_ELEM`s.
    public static let listElements: UInt16 = 3
    /// `NFTA_LIST_ELEM` (enum nft_list_attributes).
    public static let listElement: UInt16 = 1
    /// `NFTA_SET_ELEM_KEY` (enum nft_set_elem_attributes): nested `NFTA_DATA_VALUE`.
    public static let elementKey: UInt16 = 1
    /// `NFTA_SET_ELEM_FLAGS`: be32 (`NFT_SET_ELEM_INTERVAL_END`).
    public static let elementFlags: UInt16 = 3
    /// `NFTA_SET_ELEM_TIMEOUT`: be64 milliseconds.
    public static let elementTimeout: UInt16 = 4
    /// `NFTA_SET_ELEM_KEY_END`: nested `NFTA_DATA_VALUE` (concatenated ranges).
    public static let elementKeyEnd: UInt16 = 10
    /// `NFTA_DATA_VALUE` (enum nft_data_attributes).
    public static let dataValue: UInt16 = 1
    /// `NFT_SET_ELEM_INTERVAL_END` (enum nft_set_elem_flags).
    public static let elementIntervalEnd: UInt32 = 0x1
    /// `NFT_NAME_MAXLEN`: table and set names, terminating NUL included.
    public static let nameMaximumLength = 256
    /// `NFT_DATA_VALUE_MAXLEN`: longest key.
    public static let dataValueMaximumLength = 64
}

/// `<linux/netfilter/nfnetlink_log.h>`: NFLOG messages, attributes and commands.
public enum NFLogConstant {
    /// `NFULNL_MSG_PACKET` (enum nfulnl_msg_types): a logged packet, kernel to user.
    public static let messagePacket: UInt16 = 0
    /// `NFULNL_MSG_CONFIG`: configure an instance (a group), user to kernel.
    public static let messageConfig: UInt16 = 1
    /// `NFULA_PACKET_HDR` (enum nfulnl_attr_type): `struct nfulnl_msg_packet_hdr`
    /// (be16 hw_protocol, u8 hook, u8 pad).
    public static let attributePacketHeader: UInt16 = 1
    /// `NFULA_PAYLOAD`: the packet, from its network header on.
    public static let attributePayload: UInt16 = 9
    /// `NFULA_PREFIX`: the rule's log prefix, NUL-terminated.
    public static let attributePrefix: UInt16 = 10
    /// `NFULA_CFG_CMD` (enum nfulnl_attr_config): `struct nfulnl_msg_config_cmd` (u8 command).
    public static let configCommand: UInt16 = 1
    /// `NFULA_CFG_MODE`: `struct nfulnl_msg_config_mode` (be32 copy_range, u8 copy_mode, u8 pad).
    public static let configMode: UInt16 = 2
    /// `NFULA_CFG_TIMEOUT`: be32, in 1/100 s.
    public static let configTimeout: UInt16 = 4
    /// `NFULA_CFG_QTHRESH`: be32, messages queued before the kernel flushes them.
    public static let configQueueThreshold: UInt16 = 5
    /// `NFULNL_CFG_CMD_BIND` (enum nfulnl_msg_config_cmds).
    public static let commandBind: UInt8 = 1
    /// `NFULNL_CFG_CMD_UNBIND`.
    public static let commandUnbind: UInt8 = 2
    /// `NFULNL_COPY_PACKET`.
    public static let copyPacket: UInt8 = 0x02
    /// `NF_LOG_PREFIXLEN` (include/net/netfilter/nf_log.h): longest prefix, NUL included.
    public static let prefixMaximumLength = 128
    /// `NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET`.
    public static let packetType: UInt16 = NFNetlink.subsystemLog << 8 | messagePacket
    /// `NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG`.
    public static let configType: UInt16 = NFNetlink.subsystemLog << 8 | messageConfig
}
