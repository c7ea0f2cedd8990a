// SPDX-License-Identifier: GPL-2.0-or-later
import NetworkAddress

/// Numeric constants from the kernel's uapi headers. Glibc does not export them to Swift,
/// so the few we need are spelled out here; each names its header.
enum NetlinkConstant {
    // <linux/netlink.h>
    /// `NETLINK_NETFILTER`: the netfilter netlink family.
    static let netlinkNetfilter: Int32 = 12
    /// `NETLINK_CAP_ACK`: error replies carry only the failing header, not its payload.
    static let netlinkCapAck: Int32 = 10
    /// `NLMSG_ERROR`: an acknowledgement (error 0) or an error.
    static let messageError: UInt16 = 0x2
    /// `NLMSG_DONE`: end of a dump.
    static let messageDone: UInt16 = 0x3
    /// `NLMSG_OVERRUN`: data lost.
    static let messageOverrun: UInt16 = 0x4
    /// `NLM_F_REQUEST`.
    static let flagRequest: UInt16 = 0x01
    /// `NLM_F_ACK`: reply with an acknowledgement, zero or an error code.
    static let flagAck: UInt16 = 0x04
    /// `NLM_F_CREATE`: create if it does not exist (no `NLM_F_EXCL`: an existing element is
    /// not an error, as with `nft add element`).
    static let flagCreate: UInt16 = 0x400
    /// `NLA_F_NESTED`: the attribute holds attributes.
    static let attributeNested: UInt16 = 1 << 15
    /// `sizeof(struct nlmsghdr)`, already `NLMSG_ALIGN`ed.
    static let messageHeaderLength = 16
    /// `sizeof(struct nlattr)`.
    static let attributeHeaderLength = 4
    /// `sizeof(struct nlmsgerr)` without the echoed request payload: `int error` + `struct nlmsghdr`.
    static let errorLength = 4 + 16

    // <linux/netfilter/nfnetlink.h>
    /// `NFNETLINK_V0`.
    static let nfnetlinkVersion: UInt8 = 0
    /// `NFNL_SUBSYS_NFTABLES`.
    static let subsystemNFTables: UInt16 = 10
    /// `NFNL_MSG_BATCH_BEGIN` (= `NLMSG_MIN_TYPE`).
    static let batchBegin: UInt16 = 0x10
    /// `NFNL_MSG_BATCH_END` (= `NLMSG_MIN_TYPE + 1`).
    static let batchEnd: UInt16 = 0x11
    /// `sizeof(struct nfgenmsg)`: family, version, big-endian resource id.
    static let nfgenLength = 4

    // <linux/netfilter/nf_tables.h>
    /// `NFT_MSG_NEWSETELEM` (enum nf_tables_msg_types).
    static let newSetElement: UInt16 = 12
    /// `NFT_MSG_DELSETELEM`.
    static let deleteSetElement: UInt16 = 14
    /// `NFTA_SET_ELEM_LIST_TABLE` (enum nft_set_elem_list_attributes).
    static let listTable: UInt16 = 1
    /// `NFTA_SET_ELEM_LIST_SET`.
    static let listSet: UInt16 = 2
    /// `NFTA_SET_ELEM_LIST_ELEMENTS`.
    static let listElements: UInt16 = 3
    /// `NFTA_LIST_ELEM` (enum nft_list_attributes).
    static let listElement: UInt16 = 1
    /// `NFTA_SET_ELEM_KEY` (enum nft_set_elem_attributes).
    static let elementKey: UInt16 = 1
    /// `NFTA_SET_ELEM_TIMEOUT`: be64 milliseconds.
    static let elementTimeout: UInt16 = 4
    /// `NFTA_DATA_VALUE` (enum nft_data_attributes).
    static let dataValue: UInt16 = 1
    /// `NFT_NAME_MAXLEN`: table and set names, including the terminating NUL.
    static let nameMaximumLength = 256

    // <linux/netfilter.h>
    /// `NFPROTO_UNSPEC`.
    static let familyUnspecified: UInt8 = 0
    /// `NFPROTO_INET`.
    static let familyInet: UInt8 = 1
}

/// One nfnetlink batch (one nf_tables transaction) that adds and deletes elements of
/// sets in an `inet` table, encoded byte for byte as the kernel reads it.
///
/// Pure: builds bytes, does no I/O. Layout, per `<linux/netlink.h>` and
/// `<linux/netfilter/nfnetlink.h>`: `NFNL_MSG_BATCH_BEGIN`, one `NFT_MSG_NEWSETELEM` /
/// `NFT_MSG_DELSETELEM` per change (long element lists are split over several messages),
/// `NFNL_MSG_BATCH_END`. Every message is a `struct nlmsghdr` (host byte order) and a
/// `struct nfgenmsg`; attributes are `struct nlattr` (host byte order) padded to 4 bytes,
/// nested ones flagged `NLA_F_NESTED`; keys and timeouts are big-endian, as nf_tables wants.
/// Only change messages ask for an acknowledgement (`changeSequences`); the kernel applies
/// all of them or none.
struct NetlinkSetElementBatch: Sendable {
    /// Add or delete.
    enum Operation: Sendable, Hashable {
        /// `NFT_MSG_NEWSETELEM` with `NLM_F_CREATE`: an element already present is not an error.
        case add
        /// `NFT_MSG_DELSETELEM`: the element must be present.
        case delete
    }

    /// A set element: its key and, for additions, its timeout.
    struct Element: Sendable, Hashable {
        /// The key, as nf_tables stores it: 4 (IPv4) or 16 (IPv6) bytes in network order.
        let key: [UInt8]
        /// Milliseconds until the kernel removes the element; nil = permanent (no
        /// `NFTA_SET_ELEM_TIMEOUT`). Ignored for deletions.
        let timeoutMilliseconds: UInt64?

        init(key: [UInt8], timeoutMilliseconds: UInt64?) {
            self.key = key
            self.timeoutMilliseconds = timeoutMilliseconds
        }
    }

    /// Elements per message at most: keeps the nested element list (whose length field is
    /// 16 bits) well below 64 KiB even for IPv6 keys with timeouts (40 bytes each).
    static let maximumElementsPerMessage = 1_000
    /// Largest key accepted (`NFT_DATA_VALUE_MAXLEN` is 64 bytes).
    static let maximumKeyLength = 64

    /// The encoded batch, ready for one `sendto`.
    private(set) var bytes: [UInt8] = []
    /// Sequence number of the `NFNL_MSG_BATCH_BEGIN` message (the kernel reports
    /// batch-wide failures against it).
    let beginSequence: UInt32
    /// Sequence numbers of the change messages, each of which the kernel acknowledges.
    private(set) var changeSequences: [UInt32] = []
    private var nextSequence: UInt32
    private let table: [UInt8]
    private var finished = false

    /// Starts a batch for `table` (an `inet` table); the messages are numbered from
    /// `firstSequence` on (wrapping).
    ///
    /// Throws `.invalidArgument` when the name is empty, too long or contains a NUL byte.
    init(table: String, firstSequence: UInt32) throws(FirewallError) {
        self.table = try Self.checkedName(table, what: "table")
        beginSequence = firstSequence
        nextSequence = firstSequence
        appendMessage(type: NetlinkConstant.batchBegin, flags: NetlinkConstant.flagRequest,
                      family: NetlinkConstant.familyUnspecified, resourceID: NetlinkConstant.subsystemNFTables) { _ in }
    }

    /// Sequence number the message after `BATCH_END` would get: where the next batch may start.
    var sequenceAfter: UInt32 { finished ? nextSequence : nextSequence &+ 1 }

    /// Appends the change of `elements` in `set`. Nothing is appended for an empty list.
    ///
    /// Throws `.invalidArgument` for a bad set name or an empty or over-long key; the batch
    /// is then unchanged.
    mutating func append(_ operation: Operation, set: String, elements: [Element]) throws(FirewallError) {
        precondition(!finished, "append after finish")
        let name = try Self.checkedName(set, what: "set")
        for element in elements where element.key.isEmpty || element.key.count > Self.maximumKeyLength {
            throw FirewallError(.invalidArgument, "set element key of \(element.key.count) bytes (1...\(Self.maximumKeyLength) allowed)")
        }
        let type: UInt16
        let flags: UInt16
        switch operation {
        case .add:
            type = NetlinkConstant.subsystemNFTables << 8 | NetlinkConstant.newSetElement
            flags = NetlinkConstant.flagRequest | NetlinkConstant.flagCreate | NetlinkConstant.flagAck
        case .delete:
            type = NetlinkConstant.subsystemNFTables << 8 | NetlinkConstant.deleteSetElement
            flags = NetlinkConstant.flagRequest | NetlinkConstant.flagAck
        }
        let table = self.table
        var start = elements.startIndex
        while start < elements.endIndex {
            let end = elements.index(start, offsetBy: Self.maximumElementsPerMessage, limitedBy: elements.endIndex) ?? elements.endIndex
            let chunk = elements[start..<end]
            changeSequences.append(nextSequence)
            appendMessage(type: type, flags: flags, family: NetlinkConstant.familyInet, resourceID: 0) { body in
                Self.appendAttribute(&body, type: NetlinkConstant.listTable, payload: table)
                Self.appendAttribute(&body, type: NetlinkConstant.listSet, payload: name)
                Self.appendNested(&body, type: NetlinkConstant.listElements) { list in
                    for element in chunk {
                        Self.appendNested(&list, type: NetlinkConstant.listElement) { item in
                            Self.appendNested(&item, type: NetlinkConstant.elementKey) { key in
                                Self.appendAttribute(&key, type: NetlinkConstant.dataValue, payload: element.key)
                            }
                            if operation == .add, let timeout = element.timeoutMilliseconds {
                                Self.appendAttribute(&item, type: NetlinkConstant.elementTimeout, payload: Self.bigEndianBytes(timeout))
                            }
                        }
                    }
                }
            }
            start = end
        }
    }

    /// Appends `NFNL_MSG_BATCH_END` and returns the batch. Idempotent.
    mutating func finish() -> [UInt8] {
        if !finished {
            appendMessage(type: NetlinkConstant.batchEnd, flags: NetlinkConstant.flagRequest,
                          family: NetlinkConstant.familyUnspecified, resourceID: NetlinkConstant.subsystemNFTables) { _ in }
            finished = true
        }
        return bytes
    }

    /// True when the batch holds no change message.
    var isEmpty: Bool { changeSequences.isEmpty }

    // MARK: Keys and timeouts

    /// The key bytes of an address: 4 or 16 bytes, network order.
    static func key(_ address: UInt128, family: IPAddress.Family) -> [UInt8] {
        let count = family == .v4 ? 4 : 16
        return (0..<count).map { index in UInt8(truncatingIfNeeded: address >> UInt128(8 * (count - 1 - index))) }
    }

    /// A lifetime in whole milliseconds as nft would send it: rounded up, at least 1 ms (a
    /// zero timeout would mean "the set default", here: never). Nil when not positive or
    /// too large to express.
    static func milliseconds(_ duration: Duration) -> UInt64? {
        guard duration > .zero else { return nil }
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        guard !overflow else { return nil }
        // attoseconds is in 0..<1e18 for a positive duration; 1 ms = 1e15 as.
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        let (total, overflow2) = whole.addingReportingOverflow(fraction)
        guard !overflow2, total > 0 else { return nil }
        return UInt64(total)
    }

    // MARK: Encoding

    private static func checkedName(_ name: String, what: String) throws(FirewallError) -> [UInt8] {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count < NetlinkConstant.nameMaximumLength, !bytes.contains(0) else {
            throw FirewallError(.invalidArgument, "\(what) name must be 1...\(NetlinkConstant.nameMaximumLength - 1) bytes without NUL")
        }
        return bytes + [0] // NLA_STRING: nf_tables reads the name up to its NUL
    }

    /// Appends one message: header, nfgenmsg, then whatever `body` writes. Fills in the length.
    private mutating func appendMessage(
        type: UInt16, flags: UInt16, family: UInt8, resourceID: UInt16, body: (inout [UInt8]) -> Void
    ) {
        let start = bytes.count
        Self.appendNative(&bytes, UInt32(0)) // nlmsg_len, patched below
        Self.appendNative(&bytes, type)
        Self.appendNative(&bytes, flags)
        Self.appendNative(&bytes, nextSequence)
        Self.appendNative(&bytes, UInt32(0)) // nlmsg_pid: 0 = to the kernel
        bytes.append(family)
        bytes.append(NetlinkConstant.nfnetlinkVersion)
        bytes.append(contentsOf: Self.bigEndianBytes(resourceID))
        body(&bytes)
        Self.pad(&bytes)
        Self.patchNative(&bytes, at: start, UInt32(truncatingIfNeeded: bytes.count - start))
        nextSequence &+= 1
    }

    private static func appendAttribute(_ bytes: inout [UInt8], type: UInt16, payload: [UInt8]) {
        appendNative(&bytes, UInt16(truncatingIfNeeded: NetlinkConstant.attributeHeaderLength + payload.count))
        appendNative(&bytes, type)
        bytes.append(contentsOf: payload)
        pad(&bytes)
    }

    /// A nested attribute: its length covers the (padded) attributes inside.
    private static func appendNested(_ bytes: inout [UInt8], type: UInt16, body: (inout [UInt8]) -> Void) {
        let start = bytes.count
        appendNative(&bytes, UInt16(0))
        appendNative(&bytes, type | NetlinkConstant.attributeNested)
        body(&bytes)
        patchNative(&bytes, at: start, UInt16(truncatingIfNeeded: bytes.count - start))
    }

    private static func pad(_ bytes: inout [UInt8]) {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    static func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        let size = T.bitWidth / 8
        return (0..<size).map { UInt8(truncatingIfNeeded: value >> ((size - 1 - $0) * 8)) }
    }

    private static func appendNative<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    private static func patchNative<T: FixedWidthInteger>(_ bytes: inout [UInt8], at offset: Int, _ value: T) {
        withUnsafeBytes(of: value) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }
}

/// One message the kernel sent back, as far as a batch sender cares.
struct NetlinkReply: Sendable, Hashable {
    /// What the message says.
    enum Kind: Sendable, Hashable {
        /// `NLMSG_ERROR` with error 0.
        case acknowledged
        /// `NLMSG_ERROR` with a (positive) errno.
        case failed(errno: Int32)
        /// Any other message type.
        case other(type: UInt16)
    }

    let sequence: UInt32
    let portID: UInt32
    let kind: Kind

    /// Splits one received datagram into messages. Never traps: a truncated or malformed
    /// header ends parsing with `malformed` set.
    static func parse(_ datagram: some Collection<UInt8>) -> (replies: [NetlinkReply], malformed: Bool) {
        let bytes = Array(datagram)
        var replies: [NetlinkReply] = []
        var offset = 0
        while offset < bytes.count {
            let remaining = bytes.count - offset
            guard remaining >= NetlinkConstant.messageHeaderLength else { return (replies, true) }
            let length = Int(readNative(bytes, at: offset, as: UInt32.self))
            guard length >= NetlinkConstant.messageHeaderLength, length <= remaining else { return (replies, true) }
            let type = readNative(bytes, at: offset + 4, as: UInt16.self)
            let sequence = readNative(bytes, at: offset + 8, as: UInt32.self)
            let portID = readNative(bytes, at: offset + 12, as: UInt32.self)
            let kind: Kind
            if type == NetlinkConstant.messageError {
                guard length >= NetlinkConstant.messageHeaderLength + 4 else { return (replies, true) }
                let error = Int32(bitPattern: readNative(bytes, at: offset + NetlinkConstant.messageHeaderLength, as: UInt32.self))
                // The kernel sends -errno; guard against Int32.min before negating.
                kind = error == 0 ? .acknowledged : .failed(errno: error == .min ? .max : (error < 0 ? -error : error))
            } else {
                kind = .other(type: type)
            }
            replies.append(NetlinkReply(sequence: sequence, portID: portID, kind: kind))
            // NLMSG_ALIGN; a last message may end unpadded.
            let aligned = (length + 3) & ~3
            offset += min(aligned, remaining)
        }
        return (replies, false)
    }

    private static func readNative<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type) -> T {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { raw in
            for index in raw.indices { raw[index] = bytes[offset + index] }
        }
        return value
    }
}
