// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A failed system call, with the call, the path and the C library's message.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var path: String
    public var errno: Int32

    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(path): \(call) failed: \(String(cString: strerror(errno)))" }
}

/// Reads a file completely (up to `limit` bytes; larger files are an error).
func readFileBytes(_ path: String, limit: Int) throws(SystemCallError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemCallError(call: "open", path: path, errno: errno) }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemCallError(call: "read", path: path, errno: errno)
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
        if out.count > limit { throw SystemCallError(call: "read", path: path, errno: EFBIG) }
    }
    return out
}

/// Reads a file in large chunks and calls `body` with each run of complete lines
/// (split on `\n`, `\r\n` tolerated), with 1-based line numbers. Constant memory.
func forEachLine(
    inFile path: String,
    _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void
) throws {
    let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemCallError(call: "open", path: path, errno: errno) }
    defer { if fd != 0 { close(fd) } }
    let capacity = 4 << 20
    let maxLine = 1 << 20
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
    defer { buffer.deallocate() }
    var filled = 0
    var lineNumber = 1
    var eof = false
    while !eof {
        let n = read(fd, buffer.baseAddress! + filled, capacity - filled)
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemCallError(call: "read", path: path, errno: errno)
        }
        if n == 0 { eof = true } else { filled += n }
        var start = 0
        var i = 0
        let base = buffer.baseAddress!
        while i < filled {
            // memchr is far faster than a byte loop for long lines.
            guard let hit = memchr(base + i, 0x0A, filled - i) else { break }
            let nl = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            var end = nl
            if end > start, base[end - 1] == 0x0D { end -= 1 }
            try body(UnsafeBufferPointer(start: base + start, count: end - start), lineNumber)
            lineNumber += 1
            start = nl + 1
            i = start
        }
        if eof {
            if start < filled {
                try body(UnsafeBufferPointer(start: base + start, count: filled - start), lineNumber)
            }
            break
        }
        if start == 0 && filled == capacity {
            // A line longer than the buffer: deliver its first part as a line, skip the rest.
            try body(UnsafeBufferPointer(start: base, count: min(filled, maxLine)), lineNumber)
            lineNumber += 1
            filled = 0
            // Skip to the next newline.
            var skipping = true
            while skipping {
                let m = read(fd, base, capacity)
                if m <= 0 {
                    eof = m == 0 || errno != EINTR
                    if eof { break } else { continue }
                }
                if let hit = memchr(base, 0x0A, m) {
                    let nl = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    filled = m - nl - 1
                    memmove(base, base + nl + 1, filled)
                    skipping = false
                }
            }
            continue
        }
        if start > 0 {
            memmove(base, base + start, filled - start)
            filled -= start
        }
    }
}
