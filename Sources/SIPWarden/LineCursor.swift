// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file's lines one at a time on demand (split on `\n`, `\r\n` tolerated), with
/// 1-based numbers, in a fixed buffer: several files can be read side by side in constant
/// memory. A line longer than the buffer is delivered cut to the buffer, the rest skipped.
final class LineCursor {
    let path: String
    private let fd: Int32
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private var start = 0
    private var filled = 0
    private var eof = false
    private var skipping = false
    private(set) var lineNumber = 0

    init(path: String, bufferSize: Int = 1 << 20) throws(SystemCallError) {
        self.path = path
        fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: path, errno: errno) }
        buffer = .allocate(capacity: max(256, bufferSize))
    }

    deinit {
        buffer.deallocate()
        if fd != 0 { close(fd) }
    }

    /// Calls `body` with the next line and its number; false at the end of the file.
    /// The line's bytes are valid only during the call.
    func next(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws -> Bool {
        let base = buffer.baseAddress!
        while true {
            if let hit = memchr(base + start, 0x0A, filled - start) {
                let nl = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                let lineStart = start
                start = nl + 1
                if skipping {
                    skipping = false
                    continue
                }
                var end = nl
                if end > lineStart, base[end - 1] == 0x0D { end -= 1 }
                lineNumber += 1
                try body(UnsafeBufferPointer(start: base + lineStart, count: end - lineStart), lineNumber)
                return true
            }
            if eof {
                guard start < filled else { return false }
                let lineStart = start
                start = filled
                if skipping { return false }
                lineNumber += 1
                try body(UnsafeBufferPointer(start: base + lineStart, count: filled - lineStart), lineNumber)
                return true
            }
            if start == 0 && filled == buffer.count {
                // A line longer than the buffer: deliver its first part, skip the rest.
                filled = 0
                if skipping { continue }
                skipping = true
                lineNumber += 1
                try body(UnsafeBufferPointer(start: base, count: buffer.count), lineNumber)
                return true
            }
            if start > 0 {
                memmove(base, base + start, filled - start)
                filled -= start
                start = 0
            }
            let n = read(fd, base + filled, buffer.count - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "read", path: path, errno: errno)
            }
            if n == 0 { eof = true } else { filled += n }
        }
    }
}
