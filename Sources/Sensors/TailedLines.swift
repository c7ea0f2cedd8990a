// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc

/// A batch of complete lines read from a tailed file.
///
/// `bytes` holds one or more whole lines, each terminated by `\n`. It points into the
/// tailer's read buffer and is valid **only during the callback** that receives it:
/// copy what must outlive the call.
public struct TailedLines {
    /// The path being tailed (the configured path, also for lines read from a file that
    /// has since been rotated away).
    public let path: String
    /// 1-based number of the first line of `bytes` within its file generation. Numbering
    /// restarts at 1 after a rotation or a truncation.
    public let firstLineNumber: Int
    /// Number of lines in `bytes`.
    public let lineCount: Int
    /// False when the tailer started at the end of a file too large to count cheaply, so
    /// numbers count from the starting position rather than from the file's first line.
    public let exactLineNumbers: Bool
    /// Complete lines, each ending with `\n`.
    public let bytes: UnsafeBufferPointer<UInt8>

    /// Creates a batch (tests and offline readers; the tailer builds its own).
    public init(
        path: String, firstLineNumber: Int, lineCount: Int, exactLineNumbers: Bool = true,
        bytes: UnsafeBufferPointer<UInt8>
    ) {
        self.path = path
        self.firstLineNumber = firstLineNumber
        self.lineCount = lineCount
        self.exactLineNumbers = exactLineNumbers
        self.bytes = bytes
    }

    /// Calls `body` with each line (without its `\n`) and its 1-based line number.
    /// Allocates nothing.
    public func forEachLine<E: Error>(
        _ body: (_ line: UnsafeBufferPointer<UInt8>, _ lineNumber: Int) throws(E) -> Void
    ) throws(E) {
        try Self.forEachLine(in: bytes, firstLineNumber: firstLineNumber, body)
    }

    /// Splits `buffer` at `\n` and calls `body` with each line (without its `\n`) and its
    /// number, counting from `firstLineNumber`. A final segment without `\n` is passed as
    /// a line too; an empty final segment is not. Allocates nothing.
    public static func forEachLine<E: Error>(
        in buffer: UnsafeBufferPointer<UInt8>,
        firstLineNumber: Int = 1,
        _ body: (_ line: UnsafeBufferPointer<UInt8>, _ lineNumber: Int) throws(E) -> Void
    ) throws(E) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let count = buffer.count
        var start = 0
        var number = firstLineNumber
        while start < count {
            let end: Int
            if let hit = memchr(base + start, 0x0A, count - start) {
                end = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
            } else {
                end = count
            }
            try body(UnsafeBufferPointer(start: base + start, count: end - start), number)
            number &+= 1
            start = end + 1
        }
    }
}

/// Counts `\n` bytes in `[base, base + count)` and finds the last one (-1 when none).
@inline(__always)
func scanNewlines(_ base: UnsafePointer<UInt8>, count: Int) -> (count: Int, last: Int) {
    var lines = 0
    var last = -1
    var index = 0
    while index < count, let hit = memchr(base + index, 0x0A, count - index) {
        last = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
        lines += 1
        index = last + 1
    }
    return (lines, last)
}
