// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Netlink
import TestNamespaces
import Testing

/// The socket shell against the real kernel, with messages that change nothing: nfnetlink
/// answers `NLMSG_NOOP` (a type below `NLMSG_MIN_TYPE`) with an acknowledgement only when
/// `NLM_F_ACK` asks for one (net/netlink/af_netlink.c, netlink_rcv_skb), and refuses an
/// nf_tables batch that adds an element to a table that does not exist with ENOENT (one
/// without its element list with EINVAL).
@Suite(
    "netlink socket (kernel, throwaway netns)", .serialized,
    .enabled(if: ThrowawayNamespace.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct SocketTests {
    private func noop(sequence: UInt32, acknowledge: Bool) throws -> [UInt8] {
        var writer = NetlinkMessageWriter()
        try writer.append(
            type: NetlinkMessageType.noop, flags: NetlinkFlag.request | (acknowledge ? NetlinkFlag.acknowledge : 0),
            sequence: sequence, nfgen: nil)
        return writer.bytes
    }

    @Test func requestIsAcknowledgedAndSequencesAdvance() throws {
        try ThrowawayNamespace.check()
        let socket = try NetlinkSocket()
        #expect(socket.portID != 0)
        let first = socket.takeSequence()
        #expect(socket.nextSequence == first &+ 1)
        var unsolicited = 0
        try socket.request(try noop(sequence: first, acknowledge: true), sequence: first, timeout: .seconds(1)) { _ in unsolicited += 1 }
        #expect(unsolicited == 0)
        #expect(try socket.receive().isWouldBlock, "nothing left queued")
    }

    @Test func missingAcknowledgementTimesOut() throws {
        try ThrowawayNamespace.check()
        let socket = try NetlinkSocket()
        let sequence = socket.takeSequence()
        let start = ContinuousClock.now
        let error = try #require(throws: NetlinkError.self) {
            try socket.request(try noop(sequence: sequence, acknowledge: false), sequence: sequence, timeout: .milliseconds(50)) { _ in }
        }
        let elapsed = ContinuousClock.now - start
        #expect(error.kind == .timedOut && error.errno == 0)
        #expect(elapsed >= .milliseconds(50) && elapsed < .seconds(2))
    }

    @Test func refusedBatchThrowsTheKernelErrno() throws {
        try ThrowawayNamespace.check()
        let socket = try NetlinkSocket()
        var batch = NetlinkBatch(subsystem: NFNetlink.subsystemNFTables, firstSequence: socket.nextSequence)
        try batch.append(
            message: NFTablesConstant.newSetElement, flags: NetlinkFlag.create | NetlinkFlag.acknowledge,
            family: NFProtocolFamily.inet
        ) { (body) throws(NetlinkEncodeError) in
            try body.append(NFTablesConstant.listTable, string: "netlink_absent_table")
            try body.append(NFTablesConstant.listSet, string: "host4")
            try body.appendNested(NFTablesConstant.listElements) { (list) throws(NetlinkEncodeError) in
                try list.appendNested(NFTablesConstant.listElement) { (item) throws(NetlinkEncodeError) in
                    try item.appendNested(NFTablesConstant.elementKey) { (key) throws(NetlinkEncodeError) in
                        try key.append(NFTablesConstant.dataValue, bytes: [198, 18, 9, 1])
                    }
                }
            }
        }
        let before = batch.sequenceAfter
        #expect(throws: NetlinkError.kernel(errno: ENOENT)) { try socket.send(&batch, timeout: .seconds(1)) }
        #expect(socket.nextSequence == before, "the next batch starts after this one")
        // The socket stays usable, and an empty batch sends nothing.
        var empty = NetlinkBatch(subsystem: NFNetlink.subsystemNFTables, firstSequence: socket.nextSequence)
        try socket.send(&empty, timeout: .milliseconds(10))
        let sequence = socket.takeSequence()
        try socket.request(try noop(sequence: sequence, acknowledge: true), sequence: sequence, timeout: .seconds(1)) { _ in }
    }
}

extension NetlinkReceipt {
    /// True for `.wouldBlock`.
    fileprivate var isWouldBlock: Bool {
        if case .wouldBlock = self { true } else { false }
    }
}
