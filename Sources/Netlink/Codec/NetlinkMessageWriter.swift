// SPDX-License-Identifier: GPL-2.0-or-later

/// Appends whole netlink messages to a byte buffer: a `struct nlmsghdr` (host order,
/// `nlmsg_len` filled in), optionally a `struct nfgenmsg` (`res_id` big-endian), then the
/// attributes `body` writes, padded to 4 bytes (`NLMSG_ALIGN`).
public struct NetlinkMessageWriter: Sendable {
    /// The buffer; attribute writing goes straight into it.
    private var writer: NetlinkAttributeWriter

    /// An empty buffer with room for `capacity` bytes.
    public init(reservingCapacity capacity: Int = 256) {
        writer = NetlinkAttributeWriter(reservingCapacity: capacity)
    }

    /// The messages written so far.
    public var bytes: [UInt8] { writer.bytes }

    /// Appends one message; `nlmsg_pid` is 0 (to the kernel). Throws, leaving the buffer as
    /// it was, when an attribute or the message exceeds its length field.
    public mutating func append(
        type: UInt16, flags: UInt16, sequence: UInt32, nfgen: NFGenHeader?,
        _ body: (inout NetlinkAttributeWriter) throws(NetlinkEncodeError) -> Void = { _ in }
    ) throws(NetlinkEncodeError) {
        let start = writer.bytes.count
        writer.appendHostOrder(UInt32(0)) // nlmsg_len, patched below
        writer.appendHostOrder(type)
        writer.appendHostOrder(flags)
        writer.appendHostOrder(sequence)
        writer.appendHostOrder(UInt32(0)) // nlmsg_pid: 0 = to the kernel
        if let nfgen {
            writer.bytes.append(nfgen.family)
            writer.bytes.append(nfgen.version)
            writer.appendBigEndian(nfgen.resourceID)
        }
        do throws(NetlinkEncodeError) {
            try body(&writer)
        } catch {
            writer.bytes.removeSubrange(start...)
            throw error
        }
        writer.pad()
        let length = writer.bytes.count - start
        guard length <= Int(UInt32.max) else {
            writer.bytes.removeSubrange(start...)
            throw .messageTooLong(length: length)
        }
        writer.patch(UInt32(length), at: start)
    }

    /// Empties the buffer, keeping its capacity.
    public mutating func removeAll() {
        writer.bytes.removeAll(keepingCapacity: true)
    }
}

/// One nfnetlink batch (`<linux/netfilter/nfnetlink.h>`): `NFNL_MSG_BATCH_BEGIN` (its
/// `res_id` names the subsystem), the messages, `NFNL_MSG_BATCH_END`, numbered with
/// consecutive sequence numbers (wrapping). The kernel applies all messages of a batch or
/// none, and acknowledges those sent with `NLM_F_ACK`.
///
/// Pure: builds bytes, does no I/O. `NetlinkSocket.send(_:timeout:)` sends it and waits
/// for the acknowledgements.
public struct NetlinkBatch: Sendable {
    /// Sequence number of `NFNL_MSG_BATCH_BEGIN`; the kernel reports batch-wide failures
    /// against it.
    public let beginSequence: UInt32
    /// The subsystem (`NFNL_SUBSYS_*`) the batch is for.
    public let subsystem: UInt16
    /// Sequence numbers of the messages sent with `NLM_F_ACK`, in order.
    public private(set) var acknowledgedSequences: [UInt32] = []
    /// Messages between begin and end.
    public private(set) var messageCount = 0
    private var writer: NetlinkMessageWriter
    private var nextSequence: UInt32
    private var finished = false

    /// Starts a batch for `subsystem`, numbering its messages from `firstSequence` on.
    public init(subsystem: UInt16, firstSequence: UInt32, reservingCapacity capacity: Int = 512) {
        self.subsystem = subsystem
        beginSequence = firstSequence
        nextSequence = firstSequence
        writer = NetlinkMessageWriter(reservingCapacity: capacity)
        appendControl(NFNetlink.batchBegin)
    }

    /// True when no message was appended between begin and end.
    public var isEmpty: Bool { messageCount == 0 }

    /// True once `finish` appended `NFNL_MSG_BATCH_END`.
    public var isFinished: Bool { finished }

    /// The sequence number after `NFNL_MSG_BATCH_END` (whether or not it was appended yet):
    /// where the next batch may start. Every message of this batch is numbered in
    /// `beginSequence ..< sequenceAfter` (modulo 2^32).
    public var sequenceAfter: UInt32 { finished ? nextSequence : nextSequence &+ 1 }

    /// The bytes so far (call `finish` first to send them).
    public var bytes: [UInt8] { writer.bytes }

    /// Appends one message of the batch's subsystem and returns its sequence number.
    /// `message` is the subsystem's message type (`NFT_MSG_NEWSETELEM`, …); `NLM_F_REQUEST`
    /// is added to `flags`. Throws, leaving the batch as it was, when it cannot be encoded.
    @discardableResult
    public mutating func append(
        message: UInt16, flags: UInt16, family: UInt8, resourceID: UInt16 = 0,
        _ body: (inout NetlinkAttributeWriter) throws(NetlinkEncodeError) -> Void
    ) throws(NetlinkEncodeError) -> UInt32 {
        precondition(!finished, "append after finish")
        let sequence = nextSequence
        try writer.append(
            type: NFNetlink.messageType(subsystem: subsystem, message: message),
            flags: flags | NetlinkFlag.request, sequence: sequence,
            nfgen: NFGenHeader(family: family, resourceID: resourceID), body)
        if flags & NetlinkFlag.acknowledge != 0 { acknowledgedSequences.append(sequence) }
        messageCount += 1
        nextSequence &+= 1
        return sequence
    }

    /// Appends `NFNL_MSG_BATCH_END` (once) and returns the whole batch.
    public mutating func finish() -> [UInt8] {
        if !finished {
            appendControl(NFNetlink.batchEnd)
            finished = true
        }
        return writer.bytes
    }

    private mutating func appendControl(_ type: UInt16) {
        // A bare header and nfgenmsg: cannot exceed any length field.
        try? writer.append(
            type: type, flags: NetlinkFlag.request, sequence: nextSequence,
            nfgen: NFGenHeader(family: NFProtocolFamily.unspecified, resourceID: subsystem))
        nextSequence &+= 1
    }
}
