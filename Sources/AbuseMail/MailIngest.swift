// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(Glibc)
    import Glibc
#endif

/// `sipwarden cases ingest`: one message from a pipe (an `/etc/aliases` entry, a
/// `mailbox_command`) into the Maildir, so nothing is lost while the daemon is not running.
/// The exit status is what sendmail-compatible MTAs expect of a pipe: 0 delivered,
/// 65 (`EX_DATAERR`) refused for good — the MTA bounces it —, 75 (`EX_TEMPFAIL`) try again later.
public enum MailIngest {
    /// `EX_DATAERR` (sysexits.h): the input is wrong; the MTA returns the message.
    public static let dataError: Int32 = 65
    /// `EX_TEMPFAIL` (sysexits.h): a temporary failure; the MTA keeps the message and retries.
    public static let temporaryFailure: Int32 = 75

    /// What became of the message.
    public enum Outcome: Sendable, Hashable {
        /// In `new/` under this name.
        case delivered(String)
        /// Not delivered: why, and the exit status for the MTA.
        case refused(reason: String, exitStatus: Int32)
    }

    /// Reads standard input (or `fd`) up to `maxBytes` and delivers it. A leading mbox
    /// `From ` envelope line is dropped (it is not part of the message; Maildir keeps none).
    public static func run(maildir: Maildir, maxBytes: Int, fd: Int32 = 0) -> Outcome {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return .refused(reason: "cannot read the message: \(String(cString: strerror(errno)))", exitStatus: temporaryFailure) }
            if n == 0 { break }
            bytes += chunk.prefix(n)
            if bytes.count > maxBytes {
                return .refused(reason: "message larger than \(maxBytes) bytes", exitStatus: dataError)
            }
        }
        if bytes.starts(with: Array("From ".utf8)) {
            let end = bytes.firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
            bytes.removeFirst(end)
        }
        guard bytes.contains(where: { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 && $0 != 0x09 }) else {
            return .refused(reason: "empty message", exitStatus: dataError)
        }
        do throws(MaildirError) {
            try maildir.create()
            return .delivered(try maildir.deliver(bytes))
        } catch {
            return .refused(reason: "cannot deliver into \(maildir.root): \(error)", exitStatus: temporaryFailure)
        }
    }
}
