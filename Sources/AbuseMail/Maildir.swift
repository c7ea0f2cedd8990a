// SPDX-License-Identifier: GPL-2.0-or-later

import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A failed Maildir operation: which one, on which path, and the errno.
public struct MaildirError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being done (`create`, `write`, `fsync`, `link`, `rename`, `read`, `open`).
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

/// A Maildir (`ROOT/{tmp,new,cur}`, cr.yp.to/proto/maildir.html): the inbox answers arrive
/// in, from `sipwarden cases ingest` or from an MTA delivering to it directly. Delivery
/// writes to `tmp/` under a unique name, fsyncs, links into `new/` and fsyncs the
/// directory, so a message is either wholly in `new/` or not there, whatever crashes.
/// Files that are not answers go to the Maildir++ folder `.Quarantine` (kept as they came).
public struct Maildir: Sendable, Hashable {
    /// The Maildir's root directory.
    public var root: String

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// `STATE/mail/Maildir`, where answers go unless configured otherwise.
    public static func `default`(stateDirectory: String) -> Maildir { Maildir(root: stateDirectory + "/mail/Maildir") }

    public var tmp: String { root + "/tmp" }
    public var new: String { root + "/new" }
    public var cur: String { root + "/cur" }
    /// The quarantine folder (a Maildir++ subfolder, so mail clients show it).
    public var quarantine: String { root + "/.Quarantine" }
    /// One line per quarantined file: its name, a tab, the reason.
    public var quarantineLog: String { quarantine + "/sipwarden-reasons.log" }

    /// Creates the directories that are missing (mode 0770: the MTA's delivery user may
    /// need the group to write; see docs/ABUSE.md "Answers").
    public func create() throws(MaildirError) {
        var path = root.hasPrefix("/") ? "" : "."
        for piece in root.split(separator: "/") {
            path += "/" + piece
            try Self.makeDirectory(path)
        }
        for dir in [tmp, new, cur, quarantine, quarantine + "/tmp", quarantine + "/new", quarantine + "/cur"] {
            try Self.makeDirectory(dir)
        }
    }

    static func makeDirectory(_ path: String) throws(MaildirError) {
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { return }
        if mkdir(path, 0o770) == 0 || errno == EEXIST { return }
        throw MaildirError("create", path: path, errno: errno)
    }

    /// Delivers `bytes` (a whole message) and returns its file name in `new/`.
    @discardableResult
    public func deliver(_ bytes: [UInt8]) throws(MaildirError) -> String {
        var attempt = 0
        while true {
            attempt += 1
            let name = MaildirName.unique()
            let tmpPath = tmp + "/" + name
            let fd = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o660)
            if fd < 0 {
                let e = errno
                if e == EEXIST, attempt < 8 { continue }
                throw MaildirError("open", path: tmpPath, errno: e)
            }
            do throws(MaildirError) {
                try Self.writeAll(fd, bytes, path: tmpPath)
                guard fsync(fd) == 0 else { throw MaildirError("fsync", path: tmpPath, errno: errno) }
            } catch {
                close(fd)
                unlink(tmpPath)
                throw error
            }
            close(fd)
            let newPath = new + "/" + name
            if link(tmpPath, newPath) != 0 {
                let e = errno
                // Filesystems without hard links: rename (the name is unique, nothing is replaced).
                if e == EPERM || e == EOPNOTSUPP || e == ENOSYS, rename(tmpPath, newPath) == 0 {
                    try Self.syncDirectory(new)
                    return name
                }
                unlink(tmpPath)
                if e == EEXIST, attempt < 8 { continue }
                throw MaildirError("link", path: newPath, errno: e)
            }
            unlink(tmpPath)
            try Self.syncDirectory(new)
            return name
        }
    }

    /// The names in `new/` (not starting with a dot), oldest name first.
    public func newMessages() throws(MaildirError) -> [String] { try Self.list(new) }

    static func list(_ directory: String) throws(MaildirError) -> [String] {
        guard let dir = opendir(directory) else { throw MaildirError("open", path: directory, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.isEmpty || name.hasPrefix(".") { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// Reads `new/NAME` whole, refusing one larger than `limit` (the size is returned).
    func read(_ name: String, limit: Int) throws(MaildirError) -> (bytes: [UInt8], size: Int) {
        let path = new + "/" + name
        // No symlink followed, no FIFO waited on.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw MaildirError("open", path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw MaildirError("stat", path: path, errno: errno) }
        // Not a regular file (a directory, a FIFO, a device): ENXIO, which the watcher quarantines.
        guard st.st_mode & S_IFMT == S_IFREG else { throw MaildirError("open", path: path, errno: ENXIO) }
        let size = Int(st.st_size)
        guard size <= limit else { return ([], size) }
        var bytes = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, size - got) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { throw MaildirError("read", path: path, errno: errno) }
            if n == 0 { break }
            got += n
        }
        return (Array(bytes.prefix(got)), got)
    }

    /// Moves `new/NAME` to `cur/NAME:2,S` (read, recorded).
    public func markSeen(_ name: String) throws(MaildirError) {
        let base = name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
        let target = cur + "/" + base + ":2,S"
        guard rename(new + "/" + name, target) == 0 else { throw MaildirError("rename", path: target, errno: errno) }
    }

    /// Moves `new/NAME` into the quarantine folder and appends the reason to its log.
    public func quarantine(_ name: String, reason: String) throws(MaildirError) {
        let base = name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
        let target = quarantine + "/cur/" + base + ":2,"
        try Self.makeDirectory(quarantine)
        try Self.makeDirectory(quarantine + "/cur")
        guard rename(new + "/" + name, target) == 0 else { throw MaildirError("rename", path: target, errno: errno) }
        let line = Array("\(base)\t\(reason.filter { $0 != "\n" && $0 != "\r" && $0 != "\t" })\n".utf8)
        let fd = open(quarantineLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o660)
        guard fd >= 0 else { throw MaildirError("open", path: quarantineLog, errno: errno) }
        defer { close(fd) }
        try Self.writeAll(fd, line, path: quarantineLog)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(MaildirError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw MaildirError("write", path: path, errno: n < 0 ? errno : EIO) }
            done += n
        }
    }

    static func syncDirectory(_ path: String) throws(MaildirError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw MaildirError("open", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw MaildirError("fsync", path: path, errno: errno) }
    }
}

/// Unique Maildir file names: `SECONDS.M<µs>P<pid>Q<n>R<random>.HOST` (the modern form of
/// the Maildir convention), the host name with `/` and `:` escaped as `\057` and `\072`.
enum MaildirName {
    static let counter = Atomic<UInt64>(0)

    static func unique() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let n = counter.add(1, ordering: .relaxed).newValue
        let random = UInt64.random(in: 0...UInt64.max)
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(getpid())Q\(n)R\(String(random, radix: 16)).\(host)"
    }

    static let host: String = {
        var buffer = [UInt8](repeating: 0, count: 256)
        let name =
            buffer.withUnsafeMutableBufferPointer { gethostname($0.baseAddress!, 255) } == 0
            ? String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self) : "localhost"
        return name.isEmpty ? "localhost" : name.replacingAll("/", with: "\\057").replacingAll(":", with: "\\072")
    }()
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
