// SPDX-License-Identifier: GPL-2.0-or-later

extension NetlinkSocket {
    /// Sends a dump request (built with `NLM_F_DUMP` and sequence `sequence`) and hands every
    /// message of the answer to `each`, until `NLMSG_DONE`. An `NLMSG_ERROR` with a non-zero
    /// errno throws `.kernel`; the deadline `.timedOut`; a datagram cut short by the buffer
    /// (`MSG_TRUNC`) or a malformed one `.unexpectedReply`. Messages of other sequences or
    /// ports (late replies to an earlier exchange) are skipped.
    ///
    /// Use a socket of its own for dumps (a sampler's), never the ban path's: a dump of many
    /// elements is many datagrams.
    public func dump(
        _ request: [UInt8], sequence: UInt32, timeout: Duration,
        _ each: (NetlinkMessage) throws(NetlinkError) -> Void
    ) throws(NetlinkError) {
        try send(request)
        let deadline = ContinuousClock.now + timeout
        // Bounded by the deadline and a count of datagrams (a dump of 1 M elements is ~2 k).
        for _ in 0..<1_000_000 {
            let datagram: UnsafeRawBufferPointer
            switch try receive() {
            case .datagram(let bytes, let truncated):
                guard !truncated else { throw .unexpectedReply("dump datagram longer than the receive buffer") }
                datagram = bytes
            case .foreignSender:
                continue
            case .wouldBlock:
                guard try waitReadable(until: deadline) else {
                    throw NetlinkError(kind: .timedOut, errno: 0, message: "netlink: dump not finished within \(timeout)")
                }
                continue
            }
            var reader = NetlinkMessageReader(datagram)
            while true {
                let next: NetlinkMessage?
                do throws(NetlinkDecodeError) {
                    next = try reader.next()
                } catch {
                    throw .unexpectedReply("malformed dump datagram of \(datagram.count) bytes: \(error)")
                }
                guard let message = next else { break }
                guard message.header.sequence == sequence, message.header.portID == portID || message.header.portID == 0 else { continue }
                if message.isDone { return }
                if message.isError {
                    let acknowledgement: NetlinkAcknowledgement
                    do throws(NetlinkDecodeError) {
                        acknowledgement = try message.acknowledgement()
                    } catch {
                        throw .unexpectedReply("malformed error in a dump: \(error)")
                    }
                    if acknowledgement.errno != 0 { throw .kernel(errno: acknowledgement.errno) }
                    continue
                }
                try each(message)
            }
        }
        throw .unexpectedReply("dump without end")
    }
}
