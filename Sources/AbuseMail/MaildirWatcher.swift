// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
import Crypto
import DedicatedThreads
public import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One message from the Maildir, read and parsed, for the handler.
public struct IncomingMail: Sendable {
    /// Its file name in `new/`.
    public var fileName: String
    /// The message as delivered.
    public var bytes: [UInt8]
    public var message: MailMessage
    /// What makes recording it idempotent: its Message-ID (without brackets), or
    /// `sha256:HEX` of its bytes when it has none.
    public var key: String
}

/// Records an answer (the case service: match it, keep it with its case, feed the lifecycle).
public protocol MaildirHandler: Sendable {
    /// Records `mail` durably. Returning is the promise that it is recorded: the file then
    /// moves to `cur/`. Throwing leaves it in `new/`, to be handed over again (after
    /// `retryInterval`, and at every start). A crash between the two hands it over again
    /// too, so recording must be idempotent by ``IncomingMail/key``.
    func record(_ mail: IncomingMail) throws
}

/// What one pass over `new/` did.
public struct MaildirScan: Sendable, Hashable {
    /// Handed to the handler and moved to `cur/`.
    public var recorded = 0
    /// Moved to the quarantine folder.
    public var quarantined = 0
    /// Left in `new/` (the handler failed, or a move failed).
    public var failed = 0
}

/// Watches a Maildir's `new/` with inotify and hands each message to a handler: a full
/// scan at start, after an inotify queue overflow and, while something is left over,
/// every `retryInterval`; in between, the names inotify reports. A file that is not mail
/// (``MailIntake``) is moved to the quarantine folder with its reason logged; nothing is
/// deleted; no input stops the watcher. One dedicated thread (it blocks in `poll(2)`).
public final class MaildirWatcher: Sendable {
    public let maildir: Maildir
    let handler: any MaildirHandler
    let retryInterval: Duration
    let logger: Logger
    let inotifyFD: Int32
    let wakeFD: Int32
    let wakeWriteFD: Int32
    let stopped = Atomic<Bool>(false)
    let thread = Mutex<PosixThread?>(nil)
    let totals = Mutex(MaildirScan())

    /// Creates the Maildir's directories if missing and the inotify watch on `new/`.
    public init(maildir: Maildir, handler: any MaildirHandler, retryInterval: Duration = .seconds(30), logger: Logger) throws(MaildirError) {
        try maildir.create()
        self.maildir = maildir
        self.handler = handler
        self.retryInterval = retryInterval
        self.logger = logger
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw MaildirError("inotify_init1", path: maildir.new, errno: errno) }
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_DELETE_SELF | IN_MOVE_SELF)
        guard inotify_add_watch(fd, maildir.new, mask) >= 0 else {
            let e = errno
            close(fd)
            throw MaildirError("inotify_add_watch", path: maildir.new, errno: e)
        }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            let e = errno
            close(fd)
            throw MaildirError("pipe", path: maildir.new, errno: e)
        }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        inotifyFD = fd
        wakeFD = ends[0]
        wakeWriteFD = ends[1]
    }

    deinit {
        close(inotifyFD)
        close(wakeFD)
        close(wakeWriteFD)
    }

    /// Everything handled since creation.
    public var total: MaildirScan { totals.withLock { $0 } }

    /// Starts the thread: a full scan, then inotify.
    public func start() throws(MaildirError) {
        do {
            let t = try PosixThread { [self] in run() }
            thread.withLock { $0 = t }
        } catch {
            throw MaildirError("pthread_create", path: maildir.new, errno: error.code)
        }
    }

    /// Stops the thread and waits for it (a handler call in progress finishes first).
    public func stop() {
        stopped.store(true, ordering: .releasing)
        var one: UInt8 = 1
        _ = write(wakeWriteFD, &one, 1)
        let t = thread.withLock { t -> PosixThread? in
            defer { t = nil }
            return t
        }
        t?.join()
    }

    /// One pass over `new/`: every message handed over, quarantined, or left for later.
    @discardableResult
    public func scan() -> MaildirScan {
        let names: [String]
        do throws(MaildirError) {
            names = try maildir.newMessages()
        } catch {
            logger.error("cannot list the Maildir", metadata: ["error": "\(error)"])
            return MaildirScan(failed: 1)
        }
        var result = MaildirScan()
        for name in names {
            if stopped.load(ordering: .acquiring) { break }
            result.add(process(name))
        }
        return result
    }

    /// Handles one file of `new/` (gone already: nothing).
    func process(_ name: String) -> MaildirScan {
        var outcome = MaildirScan()
        defer { totals.withLock { $0.add(outcome) } }
        let file: (bytes: [UInt8], size: Int)
        do throws(MaildirError) {
            file = try maildir.read(name, limit: MailIntake.maxMessageBytes)
        } catch {
            if error.errno == ENOENT { return outcome } // handled by an earlier pass
            // Not a regular file we can open (a symlink, a directory): quarantine it.
            if error.errno == ELOOP || error.errno == EISDIR || error.errno == ENXIO {
                outcome.add(quarantine(name, reason: "not a regular file (\(error))"))
                return outcome
            }
            logger.warning("cannot read a message; left in new/", metadata: ["file": "\(name)", "error": "\(error)"])
            outcome.failed += 1
            return outcome
        }
        if file.size > MailIntake.maxMessageBytes {
            outcome.add(quarantine(name, reason: MailRejection.tooLarge(bytes: file.size, limit: MailIntake.maxMessageBytes).description))
            return outcome
        }
        let message: MailMessage
        switch MailIntake.read(file.bytes) {
        case .failure(let rejection):
            outcome.add(quarantine(name, reason: rejection.description))
            return outcome
        case .success(let m): message = m
        }
        let key = MailMessage.messageIDs(message.header("Message-ID") ?? "").first ?? Self.hashKey(file.bytes)
        do {
            try handler.record(IncomingMail(fileName: name, bytes: file.bytes, message: message, key: key))
        } catch {
            logger.warning("the handler did not record a message; left in new/", metadata: ["file": "\(name)", "error": "\(error)"])
            outcome.failed += 1
            return outcome
        }
        do throws(MaildirError) {
            try maildir.markSeen(name)
            outcome.recorded += 1
        } catch {
            // Recorded but still in new/: handed over again later (idempotent by key).
            logger.error("cannot move a recorded message to cur/", metadata: ["file": "\(name)", "error": "\(error)"])
            outcome.failed += 1
        }
        return outcome
    }

    private func quarantine(_ name: String, reason: String) -> MaildirScan {
        do throws(MaildirError) {
            try maildir.quarantine(name, reason: reason)
            logger.warning("not an answer: quarantined", metadata: ["file": "\(name)", "reason": "\(reason)", "folder": "\(maildir.quarantine)"])
            return MaildirScan(quarantined: 1)
        } catch {
            logger.error("cannot quarantine a message; left in new/", metadata: ["file": "\(name)", "reason": "\(reason)", "error": "\(error)"])
            return MaildirScan(failed: 1)
        }
    }

    static func hashKey(_ bytes: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: bytes).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// The thread: scan, then wait for inotify, the wake-up, or the retry timer.
    private func run() {
        logger.info("watching for answers", metadata: ["maildir": "\(maildir.root)"])
        var pending = scan().failed > 0
        let bufferSize = 64 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        var fds = [pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        let retryMilliseconds = Int32(
            clamping: retryInterval.components.seconds * 1000 + retryInterval.components.attoseconds / 1_000_000_000_000_000)
        while !stopped.load(ordering: .acquiring) {
            fds[0].revents = 0
            fds[1].revents = 0
            let rc = poll(&fds, 2, pending ? max(retryMilliseconds, 1) : -1)
            if stopped.load(ordering: .acquiring) { break }
            if rc < 0 {
                if errno == EINTR { continue }
                logger.error("poll failed; the answer watcher stops", metadata: ["error": "\(String(cString: strerror(errno)))"])
                return
            }
            if rc == 0 {
                pending = scan().failed > 0
                continue
            }
            guard fds[0].revents != 0 else { continue }
            var names: [String] = []
            var rescan = false
            while true {
                let n = read(inotifyFD, buffer, bufferSize)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break }
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= n {
                    let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = UnsafeRawBufferPointer(start: buffer + offset + header, count: min(length, n - offset - header))
                    offset += header + length
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        logger.notice("inotify queue overflow; rescanning the Maildir", metadata: ["maildir": "\(maildir.root)"])
                        rescan = true
                    }
                    if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 {
                        logger.error("the Maildir's new/ was removed or moved; no more answers are seen", metadata: ["maildir": "\(maildir.root)"])
                    }
                    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                    if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0, !name.isEmpty, !name.hasPrefix(".") { names.append(name) }
                }
            }
            if rescan {
                pending = scan().failed > 0
            } else {
                var failed = 0
                for name in names where !stopped.load(ordering: .acquiring) { failed += process(name).failed }
                pending = pending || failed > 0
            }
        }
    }
}

extension MaildirScan {
    mutating func add(_ other: MaildirScan) {
        recorded += other.recorded
        quarantined += other.quarantined
        failed += other.failed
    }
}
