// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(Glibc)
    import Glibc
#endif

/// A file system call that failed: the call, the path and errno's text.
public struct FileIOError: Error, Sendable, Hashable, CustomStringConvertible {
    public var call: String
    public var path: String
    public var errno: Int32

    public init(_ call: String, _ path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(call) \(path): \(String(cString: strerror(errno)))" }
}

/// Reading a whole file with a bound.
public enum FileBytes {
    public enum ReadError: Error, Sendable, Hashable {
        case io(FileIOError)
        case tooLarge(limit: Int)
    }

    /// The file's bytes; `.tooLarge` past `maxBytes`.
    public static func read(_ path: String, maxBytes: Int = .max) throws(ReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(FileIOError("open", path, errno: errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(FileIOError("read", path, errno: errno))
            }
            if n == 0 { return out }
            guard out.count + n <= maxBytes else { throw .tooLarge(limit: maxBytes) }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// True when `path` exists.
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

/// Replaces a file so that a reader (or a crash) sees either the old content or the new,
/// never a mix: the bytes go to a temporary file in the same directory, which is
/// fsync'ed, renamed over the target, and the directory fsync'ed so the rename is durable.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically (mode 0644).
    public static func write(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        let directory = parentDirectory(of: path)
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIOError("open", temporary, errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                unlink(temporary)
                throw FileIOError("write", temporary, errno: e)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let e = errno
            close(fd)
            unlink(temporary)
            throw FileIOError("fsync", temporary, errno: e)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw FileIOError("rename", path, errno: e)
        }
        try syncDirectory(directory)
    }

    /// fsync of a directory (makes a rename or a new entry durable).
    public static func syncDirectory(_ directory: String) throws(FileIOError) {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw FileIOError("open", directory, errno: errno) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw FileIOError("fsync", directory, errno: errno) }
    }

    /// Creates `path` and its parents (mode 0755) when missing.
    public static func makeDirectory(_ path: String) throws(FileIOError) {
        var prefix = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST { throw FileIOError("mkdir", prefix, errno: errno) }
        }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
