// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Logging
import Synchronization

/// The tail thread's state machine. Created by `FileTailer.start` (so setup errors are
/// thrown to the caller), then owned and used by the tail thread alone.
final class TailLoop {
    let path: String
    private let directory: String
    private let chunkSize: Int
    private let maxLineLength: Int
    private let rotationGrace: Duration
    private let logger: Logger
    private let counters: TailCounters
    private let signal: StopSignal
    private let onLines: @Sendable (TailedLines) -> Void

    private let inotifyFD: Int32
    private var directoryWatch: Int32
    /// The file currently at `path` (or the last one seen there, if it was removed).
    private var current: TailedFile?
    /// A file rotated away, kept open until it has been quiet for `rotationGrace`.
    private var retired: TailedFile?
    /// Where to start in `current` when not reading from the start (its size at `start`).
    private var initialSize: Int?
    private let lineCountLimit: Int
    /// The inode we last failed to open, so the failure is logged once.
    private var lastOpenFailure: (device: UInt, inode: UInt, errno: Int32)?

    private let eventBuffer: UnsafeMutableRawPointer
    private static let eventBufferSize = 16 << 10
    private let pollFDs: UnsafeMutablePointer<pollfd>

    init(
        path: String, fromStart: Bool, chunkSize: Int, maxLineLength: Int, rotationGrace: Duration,
        lineCountLimit: Int, logger: Logger, counters: TailCounters, signal: StopSignal,
        onLines: @escaping @Sendable (TailedLines) -> Void
    ) throws(TailError) {
        guard !path.isEmpty, !path.hasSuffix("/") else { throw .invalidPath(path) }
        if let slash = path.lastIndex(of: "/") {
            let dir = String(path[..<slash])
            directory = dir.isEmpty ? "/" : dir
        } else {
            directory = "."
        }
        self.path = path
        self.chunkSize = chunkSize
        self.maxLineLength = maxLineLength
        self.rotationGrace = rotationGrace
        self.lineCountLimit = lineCountLimit
        self.logger = logger
        self.counters = counters
        self.signal = signal
        self.onLines = onLines

        var st = stat()
        guard stat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw .parentDirectoryMissing(directory: directory)
        }
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw .inotifyUnavailable(errno: errno) }
        inotifyFD = fd
        eventBuffer = .allocate(byteCount: Self.eventBufferSize, alignment: 8)
        pollFDs = .allocate(capacity: 2)
        pollFDs[0] = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        pollFDs[1] = pollfd(fd: signal.readEnd, events: Int16(POLLIN), revents: 0)
        directoryWatch = -1
        // From here on, deinit releases what was acquired.

        let dirMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
        let wd = inotify_add_watch(fd, directory, dirMask)
        guard wd >= 0 else {
            let e = errno
            if e == ENOENT || e == ENOTDIR { throw .parentDirectoryMissing(directory: directory) }
            throw .cannotWatch(directory: directory, errno: e)
        }
        directoryWatch = wd

        // The directory is watched first, so a file created after this open is noticed.
        switch TailedFile.open(path: path, chunkSize: chunkSize, maxLineLength: maxLineLength) {
        case .success(let file):
            current = file
            if !fromStart { initialSize = file.size }
        case .failure(let failure):
            if failure.notRegular { throw .notARegularFile(path: path) }
            if failure.errno != ENOENT { throw .cannotOpen(path: path, errno: failure.errno) }
        }
    }

    deinit {
        eventBuffer.deallocate()
        pollFDs.deallocate()
        close(inotifyFD)
    }

    /// The thread body: runs until the stop signal.
    func run() {
        if let file = current {
            if let size = initialSize { file.positionAtEnd(size: size, countLimit: lineCountLimit) }
            attachWatch(file)
            logger.debug("tailing", metadata: ["path": "\(path)", "offset": "\(file.offset)"])
        } else {
            logger.info("waiting for log file to appear", metadata: ["path": "\(path)"])
        }
        service()
        while !stopRequested {
            pollFDs[0].revents = 0
            pollFDs[1].revents = 0
            let rc = poll(pollFDs, 2, pollTimeout())
            if rc < 0 {
                if errno == EINTR { continue }
                logger.error("poll failed; tailer stops", metadata: ["path": "\(path)", "error": "\(errnoText(errno))"])
                return
            }
            if stopRequested { break }
            if pollFDs[0].revents != 0 { readEvents() }
            service()
        }
    }

    private var stopRequested: Bool { signal.flag.load(ordering: .acquiring) }

    /// Milliseconds until the retired file's grace period ends, or -1 (wait for events).
    private func pollTimeout() -> Int32 {
        guard let retired else { return -1 }
        let left = (retired.lastData + rotationGrace) - ContinuousClock.now
        if left <= .zero { return 0 }
        let ms = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1
        return Int32(clamping: ms)
    }

    /// Reads everything new, notices a replaced file, retires a quiet rotated file.
    private func service() {
        if let retired { drain(retired) }
        if let current { drain(current) }
        checkPath()
        expireRetired()
    }

    private func drain(_ file: TailedFile) {
        let outcome = file.drain(path: path, counters: counters, stop: signal.flag, deliver: onLines)
        if case .failed(let code) = outcome {
            logger.warning("read failed", metadata: ["path": "\(path)", "error": "\(errnoText(code))"])
        }
    }

    /// Looks at what is at `path` now; switches to it when it is a new file.
    private func checkPath() {
        var st = stat()
        guard stat(path, &st) == 0 else { return } // removed: keep reading what we have
        let device = UInt(st.st_dev)
        let inode = UInt(st.st_ino)
        if let current, current.device == device, current.inode == inode { return }
        let opened: TailedFile
        switch TailedFile.open(path: path, chunkSize: chunkSize, maxLineLength: maxLineLength) {
        case .success(let file):
            opened = file
            lastOpenFailure = nil
        case .failure(let failure):
            if failure.errno == ENOENT { return } // replaced again meanwhile; next event retries
            if let last = lastOpenFailure, last.device == device, last.inode == inode, last.errno == failure.errno { return }
            lastOpenFailure = (device, inode, failure.errno)
            let reason = failure.notRegular ? "not a regular file" : errnoText(failure.errno)
            logger.error("cannot open new log file", metadata: ["path": "\(path)", "error": "\(reason)"])
            return
        }
        if let previous = current {
            // Read the old generation to its end before switching; keep it open a while for
            // a writer that has not reopened yet.
            drain(previous)
            if let older = retired { finish(older) }
            previous.lastData = .now
            retired = previous
            counters.rotations.add(1, ordering: .relaxed)
            logger.info("log file rotated", metadata: ["path": "\(path)"])
        } else {
            logger.info("log file appeared", metadata: ["path": "\(path)"])
        }
        current = opened
        attachWatch(opened)
        drain(opened)
    }

    private func expireRetired() {
        guard let retired, ContinuousClock.now - retired.lastData >= rotationGrace else { return }
        finish(retired)
        self.retired = nil
    }

    /// Final read of a rotated-away file, flush of its partial line, and release.
    private func finish(_ file: TailedFile) {
        drain(file)
        if !stopRequested { file.flushPartialLine(path: path, counters: counters, deliver: onLines) }
        if file.watch >= 0 {
            _ = inotify_rm_watch(inotifyFD, file.watch)
            file.watch = -1
        }
    }

    /// Watches the open file's own inode (through /proc/self/fd, so it is the inode we
    /// hold even if the path was replaced meanwhile) for writes and truncation.
    private func attachWatch(_ file: TailedFile) {
        let mask = UInt32(IN_MODIFY)
        var wd = inotify_add_watch(inotifyFD, "/proc/self/fd/\(file.fd)", mask)
        if wd < 0 {
            // No /proc: watch the path (racy only if it is replaced in this instant; the
            // directory watch still notices the replacement).
            wd = inotify_add_watch(inotifyFD, path, mask)
        }
        if wd < 0 {
            logger.warning(
                "cannot watch log file; changes are seen only on directory events",
                metadata: ["path": "\(path)", "error": "\(errnoText(errno))"])
        }
        file.watch = wd
    }

    /// Empties the inotify queue. The events themselves only say "something changed":
    /// `service` re-reads the files and the path each time, so nothing is lost on overflow.
    private func readEvents() {
        while true {
            let n = read(inotifyFD, eventBuffer, Self.eventBufferSize)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= n {
                let wd = eventBuffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = eventBuffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let nameLength = Int(eventBuffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                offset += header + nameLength
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    logger.debug("inotify queue overflow; rescanning", metadata: ["path": "\(path)"])
                }
                if mask & UInt32(IN_IGNORED) != 0 {
                    // The kernel dropped this watch; forget the descriptor so it is never
                    // removed later under a reused number.
                    if wd == directoryWatch {
                        directoryWatch = -1
                        logger.warning(
                            "log directory was removed or moved; new files will not be noticed",
                            metadata: ["directory": "\(directory)"])
                    }
                    if let current, current.watch == wd { current.watch = -1 }
                    if let retired, retired.watch == wd { retired.watch = -1 }
                }
            }
        }
    }
}
