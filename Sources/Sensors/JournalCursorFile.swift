// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc

/// The journal reader's position, kept in a small file so a restart resumes after the
/// last entry it processed: it neither loses entries written while it was down nor reads
/// processed ones again.
///
/// The file holds one sd-journal cursor (printable ASCII) and a newline. It is replaced
/// atomically: written to `PATH.tmp`, then renamed over `PATH`, so a crash leaves either
/// the old cursor or the new one, never a mix.
public struct JournalCursorFile: Sendable {
    /// Where the cursor is kept.
    public let path: String
    /// Longest cursor accepted (sd-journal cursors are about 130 bytes).
    public static let maximumLength = 1024

    public init(path: String) { self.path = path }

    /// What is in the file.
    public enum Content: Sendable, Equatable {
        /// No file: the reader starts for the first time on this state directory.
        case absent
        /// A well-formed cursor.
        case cursor(String)
        /// Something that cannot be a cursor (empty, too long, binary), or an unreadable file.
        case corrupt(String)
    }

    /// Reads the file. Never throws: every problem is a `Content` case.
    public func load() -> Content {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        if fd < 0 {
            let e = errno
            return e == ENOENT ? .absent : .corrupt("cannot read it: \(errnoText(e))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: Self.maximumLength + 2)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .corrupt("cannot read it: \(errnoText(errno))") }
            if n == 0 { break }
            total += n
        }
        return Self.parse(buffer[..<total])
    }

    /// Interprets a cursor file's bytes (pure; exposed for tests).
    public static func parse(_ bytes: ArraySlice<UInt8>) -> Content {
        var text = bytes
        if text.last == 0x0A { text = text.dropLast() }
        if text.isEmpty { return .corrupt("it is empty") }
        if text.count > maximumLength { return .corrupt("it is longer than \(maximumLength) bytes") }
        guard text.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .corrupt("it holds bytes that are not printable ASCII") }
        // Every sd-journal cursor is `key=value;…` (s=, i=, b=, m=, t=, x=).
        guard text.contains(UInt8(ascii: "=")) else { return .corrupt("it is not an sd-journal cursor") }
        return .cursor(String(decoding: text, as: UTF8.self))
    }

    /// Replaces the file with `cursor` (write to `PATH.tmp`, then rename). With `durable`,
    /// the data is flushed to disk before the rename (used at shutdown; a crash of the
    /// process alone never loses a renamed file). Returns the errno of a failure, or nil.
    @discardableResult
    public func save(_ cursor: String, durable: Bool = false) -> Int32? {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0o600)
        guard fd >= 0 else { return errno }
        var bytes = Array(cursor.utf8)
        bytes.append(0x0A)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let e = errno
                close(fd)
                unlink(temporary)
                return e
            }
            done += n
        }
        if durable { _ = fdatasync(fd) }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            return e
        }
        return nil
    }
}

/// Where the journal reader starts.
public enum JournalStartPoint: Sendable, Equatable {
    /// Right after this entry (the last one processed before a restart).
    case after(cursor: String)
    /// At the oldest entry still in the journal.
    case head
    /// After the newest entry: only entries written from now on.
    case tail

    /// The start-up rule (pure): a saved cursor wins; without one (first start on this
    /// state directory), the tail, like the file tailer, which starts at the end of an
    /// existing log, or the head with `fromStart`. A corrupt cursor means sipwarden ran
    /// here before: it starts at the tail even with `fromStart`, so entries it may already
    /// have judged are not judged again (the caller logs why).
    public static func decide(saved: JournalCursorFile.Content, fromStart: Bool) -> JournalStartPoint {
        switch saved {
        case .cursor(let cursor): .after(cursor: cursor)
        case .corrupt: .tail
        case .absent: fromStart ? .head : .tail
        }
    }
}
