// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(Glibc)
    import Glibc
#endif

/// The bearer token of the control plane: 32 random bytes, hex-encoded, in a file of the
/// state directory readable by root only (`STATE/api.token`, mode 0600).
public struct APIToken: Sendable, Hashable {
    /// The file's name in the state directory.
    public static let fileName = "api.token"

    /// The 64 hex digits a client sends as `Authorization: Bearer …`.
    public let value: String

    public init(value: String) {
        self.value = value
    }

    /// A fresh token from the system's secure random source (getrandom(2)).
    public static func random() -> APIToken {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for _ in 0..<32 {
            let byte = UInt8.random(in: 0...255, using: &generator)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return APIToken(value: String(decoding: text, as: UTF8.self))
    }

    /// True when `presented` equals the token, compared in time independent of where
    /// they differ.
    public func matches(_ presented: some StringProtocol) -> Bool {
        let a = Array(value.utf8)
        let b = Array(presented.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<a.count {
            difference |= a[i] ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    /// The token in `directory`, created (0600, random) when missing. A file that others
    /// may read is made 0600 again; one that holds no token is refused.
    public static func loadOrCreate(stateDirectory directory: String) throws(APITokenError) -> APIToken {
        let path = directory + "/" + fileName
        if let existing = try load(path: path) { return existing }
        let token = random()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            // Another process created it meanwhile: use theirs.
            if errno == EEXIST, let existing = try load(path: path) { return existing }
            throw APITokenError(path: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let line = token.value + "\n"
        let written = line.withCString { write(fd, $0, strlen($0)) }
        guard written == line.utf8.count, fsync(fd) == 0 else {
            unlink(path)
            throw APITokenError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
        }
        return token
    }

    /// The token in the file at `path`, or nil when there is no such file.
    public static func load(path: String) throws(APITokenError) -> APIToken? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw APITokenError(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw APITokenError(path: path, message: "not a regular file")
        }
        if st.st_mode & 0o077 != 0 {
            guard fchmod(fd, 0o600) == 0 else {
                throw APITokenError(path: path, message: "readable by others and cannot be made 0600: \(String(cString: strerror(errno)))")
            }
        }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 255) }
        guard n > 0 else { throw APITokenError(path: path, message: "empty") }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).filter { !$0.isWhitespace }
        guard text.count >= 32, text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APITokenError(path: path, message: "does not hold a token (at least 32 printable characters)")
        }
        return APIToken(value: text)
    }
}

/// The token file could not be read or created.
public struct APITokenError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
