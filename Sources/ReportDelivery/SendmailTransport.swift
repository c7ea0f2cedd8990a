// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
import Dispatch
import Glibc

/// The local MTA's `sendmail` interface, the Debian convention:
/// `/usr/sbin/sendmail -i -f FROM -- RCPT`, the message on stdin; exit status 0 means the
/// MTA took it, 75 (`EX_TEMPFAIL`) try again later.
///
/// The message goes to `sendmail` as an unlinked temporary *file* on its stdin, not a
/// pipe: once started, `sendmail` reads the whole message even if sipwarden is killed
/// that instant, so a crash can never hand a truncated message to the MTA.
public struct SendmailTransport: ReportTransport {
    public var kind: TransportKind { .sendmail }
    /// The `sendmail` program.
    public var path: String
    /// Where the message's temporary file is made (and unlinked at once).
    public var spoolDirectory: String
    /// How long `sendmail` may take; past it the hand-over counts as interrupted (the
    /// restart rule asks the MTA), and the process is left to finish.
    public var timeout: Duration

    public init(path: String = "/usr/sbin/sendmail", spoolDirectory: String = "/tmp", timeout: Duration = .seconds(300)) {
        self.path = path
        self.spoolDirectory = spoolDirectory
        self.timeout = timeout
    }

    public func handOver(_ entry: OutboxEntry, progress: @escaping @Sendable (HandoverStage, Int32?) throws -> Void) async -> HandoverOutcome {
        guard EnvelopeAddress.isSafe(entry.sender), EnvelopeAddress.isSafe(entry.recipient) else {
            return .permanentFailure("refused envelope address (sender '\(entry.sender.prefix(80))', recipient '\(entry.recipient.prefix(80))')")
        }
        let input: Int32
        let errors: Int32
        do {
            input = try Self.anonymousFile(in: spoolDirectory, contents: entry.message)
            errors = try Self.anonymousFile(in: spoolDirectory, contents: [])
        } catch {
            return .temporaryFailure("cannot write the message for sendmail: \(error)")
        }
        defer {
            close(input)
            close(errors)
        }
        let pid: pid_t
        switch Self.spawn(path, ["-i", "-f", entry.sender, "--", entry.recipient], stdin: input, output: errors) {
        case .failure(let failure): return .temporaryFailure("cannot start \(path): \(String(cString: strerror(failure.code)))")
        case .success(let p): pid = p
        }
        do {
            try progress(.spawned, pid)
        } catch {
            // The message is on its way; the ledger could not record it. Say so.
            _ = await Self.wait(pid, timeout: timeout)
            return .interrupted("sendmail started but its hand-over could not be recorded: \(error)")
        }
        guard let status = await Self.wait(pid, timeout: timeout) else {
            return .interrupted("\(path) did not finish within \(timeout)")
        }
        let said = Self.readAll(errors)
        return Self.outcome(status: status, said: said)
    }

    /// The outcome of `sendmail`'s wait status (sysexits.h): 0 accepted; 64, 65, 67, 68
    /// and 77 refused for good (bad usage, data, user, host, permission); anything else,
    /// a signal included, worth another try.
    static func outcome(status: Int32, said: String) -> HandoverOutcome {
        let words = said.isEmpty ? "" : ": " + said.split(whereSeparator: \.isNewline).prefix(3).joined(separator: " / ")
        if status & 0x7F != 0 { return .temporaryFailure("sendmail killed by signal \(status & 0x7F)\(words)") }
        let code = (status >> 8) & 0xFF
        switch code {
        case 0: return .accepted("sendmail exit 0")
        case 64, 65, 67, 68, 77: return .permanentFailure("sendmail exit \(code)\(words)")
        default: return .temporaryFailure("sendmail exit \(code)\(code == 75 ? " (EX_TEMPFAIL)" : "")\(words)")
        }
    }

    /// A temporary file holding `contents`, unlinked at once, positioned at its start.
    static func anonymousFile(in directory: String, contents: [UInt8]) throws(SpawnError) -> Int32 {
        var template =
            Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast()) + Array("sipwarden-outbox.XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw .file(errno) }
        unlink(template)
        var written = 0
        while written < contents.count {
            let n = contents.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                throw .file(e)
            }
            written += n
        }
        guard lseek(fd, 0, SEEK_SET) == 0 else {
            let e = errno
            close(fd)
            throw .file(e)
        }
        return fd
    }

    /// A file or process failure (errno).
    enum SpawnError: Error, CustomStringConvertible {
        case file(Int32)
        var description: String {
            switch self {
            case .file(let e): String(cString: strerror(e))
            }
        }
    }

    static func spawn(_ path: String, _ arguments: [String], stdin: Int32, output: Int32) -> Result<pid_t, SpawnErrno> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        let argv = ([path] + arguments).map { strdup($0) }
        defer { for p in argv { free(p) } }
        var argvNull = argv + [nil]
        // A minimal environment: no locale or other variable of ours reaches the MTA.
        let env: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin")]
        defer { for p in env { free(p) } }
        var envNull = env + [nil]
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, &argvNull, &envNull)
        return rc == 0 ? .success(pid) : .failure(SpawnErrno(code: rc))
    }

    /// An errno from `posix_spawn`.
    struct SpawnErrno: Error { var code: Int32 }

    /// The child's wait status, or nil when it runs past `timeout` (it is then left to finish).
    static func wait(_ pid: pid_t, timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(1)
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return status }
            if r < 0 && errno != EINTR { return nil }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
    }

    static func readAll(_ fd: Int32) -> String {
        guard lseek(fd, 0, SEEK_SET) == 0 else { return "" }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 16_384 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharactersInSet()
    }
}

extension String {
    /// Without leading and trailing white space (no Foundation needed).
    func trimmingCharactersInSet() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
