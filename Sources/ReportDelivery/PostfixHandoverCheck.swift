// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
import Glibc

/// What the MTA knows of a message whose hand-over was interrupted.
public protocol HandoverCheck: Sendable {
    /// Whether the MTA has (or had) the message with `entry`'s Message-ID.
    func evidence(for entry: OutboxEntry) async -> HandoverEvidence
}

/// Asks the local postfix: a `sendmail` process of the hand-over still running is waited
/// for; then the queue (`maildrop`, `incoming`, `active`, `deferred`, `hold`: queue files
/// keep the header text) and the mail log (`cleanup`'s `message-id=<…>` line) are searched
/// for the Message-ID until `settle` has passed (pickup takes a moment to move a message
/// out of `maildrop`). Found: the MTA has it. Not found, with at least one log readable:
/// never handed over, so it is sent again. Nothing readable: unknown.
///
/// The log must reach back to the hand-over (a rotated file: list it too).
public struct PostfixHandoverCheck: HandoverCheck {
    public var logFiles: [String]
    public var queueDirectory: String
    public var settle: Duration

    public init(
        logFiles: [String] = ["/var/log/mail.log", "/var/log/postfix.log"], queueDirectory: String = "/var/spool/postfix",
        settle: Duration = .seconds(5)
    ) {
        self.logFiles = logFiles
        self.queueDirectory = queueDirectory
        self.settle = settle
    }

    public func evidence(for entry: OutboxEntry) async -> HandoverEvidence {
        let deadline = ContinuousClock.now + settle
        if let pid = entry.handoverPID {
            while Self.isSendmail(pid), ContinuousClock.now < deadline + .seconds(60) {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let needle = Array(entry.bareMessageID.utf8)
        var anyLogReadable = false
        while true {
            for directory in ["maildrop", "incoming", "active", "deferred", "hold"] {
                if let file = Self.fileContaining(needle, under: queueDirectory + "/" + directory) {
                    return .seen("postfix queue file \(file)")
                }
            }
            for log in logFiles {
                guard let bytes = Self.read(log, limit: 256 << 20) else { continue }
                anyLogReadable = true
                if Self.contains(bytes, Array("message-id=<".utf8) + needle + [UInt8(ascii: ">")]) {
                    return .seen("postfix log \(log)")
                }
            }
            if ContinuousClock.now >= deadline { break }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return anyLogReadable ? .notSeen("neither postfix's queue nor its log \(logFiles.joined(separator: ", ")) names it") : .unknown
    }

    /// True while `pid` runs a `sendmail` or `postdrop` program.
    static func isSendmail(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM, let comm = read("/proc/\(pid)/comm", limit: 64) else { return false }
        let name = String(decoding: comm, as: UTF8.self).trimmingCharactersInSet()
        return name == "sendmail" || name == "postdrop"
    }

    /// The first regular file under `directory` (recursively, postfix hashes queue
    /// directories) that contains `needle`.
    static func fileContaining(_ needle: [UInt8], under directory: String, depth: Int = 0) -> String? {
        guard depth < 4, let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        while let item = readdir(dir) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let path = directory + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                if let found = fileContaining(needle, under: path, depth: depth + 1) { return found }
            } else if st.st_mode & S_IFMT == S_IFREG, let bytes = read(path, limit: 64 << 20), contains(bytes, needle) {
                return path
            }
        }
        return nil
    }

    static func read(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count < limit {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        return bytes
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
