// SPDX-License-Identifier: GPL-2.0-or-later

import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Wakes a sensor thread out of `poll(2)`: an atomic flag checked between batches plus a
/// non-blocking pipe whose read end the thread polls. Shared by every sensor thread.
final class StopSignal: Sendable {
    /// The pipe could not be created.
    struct CreationFailure: Error {
        let errno: Int32
    }

    let flag = Atomic<Bool>(false)
    let readEnd: Int32
    let writeEnd: Int32

    init() throws(CreationFailure) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw CreationFailure(errno: errno) }
        readEnd = ends[0]
        writeEnd = ends[1]
        for fd in ends {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Asks the thread to stop and wakes it.
    func signal() {
        flag.store(true, ordering: .releasing)
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    var isSet: Bool { flag.load(ordering: .acquiring) }
}
