// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Synchronization

/// Counters shared between the tail thread and `FileTailer.statistics`.
final class TailCounters: Sendable {
    let lines = Atomic<Int>(0)
    let batches = Atomic<Int>(0)
    let bytes = Atomic<Int>(0)
    let overlongLines = Atomic<Int>(0)
    let rotations = Atomic<Int>(0)
    let truncations = Atomic<Int>(0)
    let readErrors = Atomic<Int>(0)
}

/// How a `TailedFile.drain` call ended.
enum DrainOutcome: Equatable {
    case endOfFile
    case stopped
    case failed(Int32)
}

/// One open generation (inode) of the tailed file and the reading state that goes with it:
/// byte offset, next line number and a held partial last line.
///
/// The buffer holds at most `maxLineLength` bytes of a partial line plus one read chunk,
/// so memory is bounded whatever the file contains.
final class TailedFile {
    let fd: Int32
    let device: UInt
    let inode: UInt
    /// Where the next read starts.
    private(set) var offset = 0
    /// Number of the next complete line to deliver.
    private(set) var nextLine = 1
    private(set) var exactLineNumbers = true
    /// Bytes of a partial line held at the start of the buffer.
    private(set) var pending = 0
    /// Discarding the rest of an overlong line until its `\n`.
    private(set) var skipping = false
    /// The inotify watch on this inode, or -1.
    var watch: Int32 = -1
    /// When data was last read (used to retire a rotated-away file).
    var lastData = ContinuousClock.now

    private let chunkSize: Int
    private let maxLineLength: Int
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<UInt8>

    private init(fd: Int32, device: UInt, inode: UInt, chunkSize: Int, maxLineLength: Int) {
        self.fd = fd
        self.device = device
        self.inode = inode
        self.chunkSize = chunkSize
        self.maxLineLength = maxLineLength
        // A partial line, one chunk, and one byte for a `\n` appended to a flushed line.
        capacity = maxLineLength + chunkSize + 1
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// Opens `path` for reading. Fails with the errno value, or `EINVAL` when the path is
    /// not a regular file (opening a FIFO must never block the tail thread).
    static func open(path: String, chunkSize: Int, maxLineLength: Int) -> Result<TailedFile, TailOpenFailure> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return .failure(TailOpenFailure(errno: errno)) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            return .failure(TailOpenFailure(errno: e))
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            return .failure(TailOpenFailure(errno: EINVAL, notRegular: true))
        }
        return .success(
            TailedFile(
                fd: fd, device: UInt(st.st_dev), inode: UInt(st.st_ino),
                chunkSize: chunkSize, maxLineLength: maxLineLength))
    }

    /// Current size of the open file, or nil when `fstat` fails.
    var size: Int? {
        var st = stat()
        return fstat(fd, &st) == 0 ? st.st_size : nil
    }

    /// Positions reading after the last complete line among the first `size` bytes, so a
    /// line being written right now is delivered whole. Files up to `countLimit` bytes are
    /// read once to count their lines; larger ones are numbered from the start position.
    func positionAtEnd(size: Int, countLimit: Int) {
        guard size > 0 else { return }
        if size <= countLimit {
            var position = 0
            var lines = 0
            var lastNewline = -1
            while position < size {
                let n = pread(fd, buffer, min(chunkSize, size - position), off_t(position))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                let scan = scanNewlines(buffer, count: n)
                if scan.last >= 0 { lastNewline = position + scan.last }
                lines += scan.count
                position += n
            }
            offset = lastNewline + 1
            nextLine = lines + 1
        } else {
            let window = min(size, capacity - 1)
            var n = -1
            repeat { n = pread(fd, buffer, window, off_t(size - window)) } while n < 0 && errno == EINTR
            var last = -1
            if n > 0 {
                var i = n - 1
                while i >= 0 {
                    if buffer[i] == 0x0A {
                        last = i
                        break
                    }
                    i -= 1
                }
            }
            if last >= 0 {
                offset = size - window + last + 1
            } else {
                // No line end in the last window: skip the rest of that overlong line.
                offset = size
                skipping = true
            }
            exactLineNumbers = false
            nextLine = 1
        }
    }

    /// Reads from the current offset to the end of the file, delivering complete lines in
    /// batches of at most one chunk (plus a held partial line). Checks `stop` between
    /// chunks. A file that shrank below the offset (copytruncate) is restarted at 0.
    func drain(
        path: String, counters: TailCounters, stop: borrowing Atomic<Bool>,
        deliver: (TailedLines) -> Void
    ) -> DrainOutcome {
        while true {
            if stop.load(ordering: .relaxed) { return .stopped }
            let n = pread(fd, buffer + pending, chunkSize, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                counters.readErrors.add(1, ordering: .relaxed)
                return .failed(errno)
            }
            if n == 0 {
                if let size, size < offset {
                    restartAfterTruncation(path: path, counters: counters, deliver: deliver)
                    continue
                }
                return .endOfFile
            }
            offset += n
            lastData = .now
            consume(newBytes: n, path: path, counters: counters, deliver: deliver)
        }
    }

    /// Delivers a held partial line as if it were complete (the file was rotated away or
    /// truncated, so no more of it will come).
    func flushPartialLine(path: String, counters: TailCounters, deliver: (TailedLines) -> Void) {
        defer {
            pending = 0
            skipping = false
        }
        guard pending > 0, !skipping else { return }
        buffer[pending] = 0x0A
        emit(start: 0, end: pending + 1, lines: 1, path: path, counters: counters, deliver: deliver)
    }

    private func restartAfterTruncation(path: String, counters: TailCounters, deliver: (TailedLines) -> Void) {
        flushPartialLine(path: path, counters: counters, deliver: deliver)
        offset = 0
        nextLine = 1
        exactLineNumbers = true
        counters.truncations.add(1, ordering: .relaxed)
    }

    /// Processes `newBytes` just read into the buffer after the `pending` partial line.
    private func consume(newBytes: Int, path: String, counters: TailCounters, deliver: (TailedLines) -> Void) {
        let end = pending + newBytes
        var start = 0
        var scanFrom = pending
        if skipping {
            // pending is 0 while skipping.
            guard let hit = memchr(buffer, 0x0A, end) else {
                pending = 0
                return
            }
            start = UnsafeRawPointer(buffer).distance(to: UnsafeRawPointer(hit)) + 1
            scanFrom = start
            skipping = false
        }
        let scan = scanNewlines(buffer + scanFrom, count: end - scanFrom)
        if scan.count > 0 {
            let stopAt = scanFrom + scan.last + 1
            emit(start: start, end: stopAt, lines: scan.count, path: path, counters: counters, deliver: deliver)
            start = stopAt
        }
        let rest = end - start
        if rest > maxLineLength {
            // Overlong line: deliver its first maxLineLength bytes, drop the rest up to
            // its `\n`. The byte overwritten by the `\n` belongs to the dropped part.
            buffer[start + maxLineLength] = 0x0A
            emit(start: start, end: start + maxLineLength + 1, lines: 1, path: path, counters: counters, deliver: deliver)
            counters.overlongLines.add(1, ordering: .relaxed)
            skipping = true
            pending = 0
        } else {
            if start > 0 && rest > 0 { memmove(buffer, buffer + start, rest) }
            pending = rest
        }
    }

    private func emit(
        start: Int, end: Int, lines: Int, path: String, counters: TailCounters,
        deliver: (TailedLines) -> Void
    ) {
        let batch = TailedLines(
            path: path, firstLineNumber: nextLine, lineCount: lines, exactLineNumbers: exactLineNumbers,
            bytes: UnsafeBufferPointer(start: buffer + start, count: end - start))
        nextLine += lines
        counters.lines.add(lines, ordering: .relaxed)
        counters.batches.add(1, ordering: .relaxed)
        counters.bytes.add(end - start, ordering: .relaxed)
        deliver(batch)
    }
}

/// Why a file could not be opened for tailing.
struct TailOpenFailure: Error {
    var errno: Int32
    var notRegular = false
}
