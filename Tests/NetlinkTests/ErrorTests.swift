// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Testing

@testable import Netlink

@Suite("netlink errors and acknowledgement bookkeeping")
struct ErrorTests {
    @Test func errnoIsDescribedWithStrerror() {
        let refused = NetlinkError.kernel(errno: ENOENT)
        #expect(refused.kind == .kernel && refused.errno == ENOENT)
        #expect(refused.message == "No such file or directory (errno 2)")
        #expect(refused.description == refused.message)
        let failed = NetlinkError.system("sendto", errno: EPERM)
        #expect(failed.kind == .system && failed.call == "sendto")
        #expect(failed.message == "netlink sendto: Operation not permitted (errno 1)")
        #expect(NetlinkError.unexpectedReply("odd").message == "netlink: odd")
        #expect(NetlinkError.unexpectedReply("odd").errno == 0)
        // An unknown code is still described, not trapped on.
        #expect(NetlinkError.kernel(errno: 99_999).message.hasSuffix("(errno 99999)"))
    }

    @Test func decodeErrorsSayWhere() {
        #expect(
            NetlinkDecodeError.badMessageLength(offset: 36, length: 0, available: 20).description
                == "netlink message at offset 36 claims 0 bytes (16...20 possible)")
        #expect(
            NetlinkDecodeError.badAttributeLength(offset: 8, length: 2, available: 4).description
                == "netlink attribute at offset 8 claims 2 bytes (4...4 possible)")
    }

    @Test func pendingAcknowledgementsInASmallWindow() {
        // A batch numbered from UInt32.max: BEGIN .max, changes 0 and 1, END 2.
        var pending = PendingAcknowledgements([0, 1], first: .max, span: 4)
        #expect(pending.count == 2)
        #expect(pending.inWindow(.max) && pending.inWindow(2) && !pending.inWindow(3) && !pending.inWindow(.max - 1))
        pending.remove(0)
        pending.remove(0) // a repeat changes nothing
        pending.remove(2) // in the window but not awaited
        pending.remove(7) // outside
        #expect(pending.count == 1 && !pending.isEmpty)
        pending.remove(1)
        #expect(pending.isEmpty)
    }

    @Test func pendingAcknowledgementsInALargeWindow() {
        let sequences = (UInt32(10)..<UInt32(110)).map { $0 }
        var pending = PendingAcknowledgements(sequences + [10, 500], first: 9, span: 102)
        #expect(pending.count == 100, "duplicates and strangers are not awaited")
        for sequence in sequences.reversed() { pending.remove(sequence) }
        #expect(pending.isEmpty)
    }
}
