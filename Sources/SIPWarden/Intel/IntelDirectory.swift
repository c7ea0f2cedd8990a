// SPDX-License-Identifier: GPL-2.0-or-later

public import IntelStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The intelligence files of a state directory: `STATE/intel/NAME.FORMAT`, one verbatim
/// published file per dataset (`ip2asn-combined.ip2asn`, `aws.aws`, `scanners.list` …),
/// each parsed in full before it was stored. The daemon and `intel lookup` load them all;
/// `intel import` (and the feed updater) replace one atomically: temp file, fsync, rename.
public struct IntelDirectory: Sendable {
    /// `STATE/intel`.
    public let path: String

    public init(stateDirectory: String) { path = stateDirectory + "/intel" }

    /// A dataset name usable as a file name: letters, digits, `.`, `_`, `-`; at most 64; not starting with `.`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && !name.hasPrefix(".")
            && name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
            }
    }

    /// The stored files: (name, format, path), sorted by name.
    public func files() -> [(name: String, format: IntelFormat, path: String)] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [(String, IntelFormat, String)] = []
        while let entry = readdir(dir) {
            let fileName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard !fileName.hasPrefix("."), let dot = fileName.lastIndex(of: ".") else { continue }
            let name = String(fileName[..<dot])
            guard let format = IntelFormat(rawValue: String(fileName[fileName.index(after: dot)...])), Self.isValidName(name) else { continue }
            out.append((name, format, path + "/" + fileName))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Parses every stored file; a file that cannot be read or parsed is left out and named in `problems`.
    public func loadDatasets() -> (datasets: [IntelDataset], problems: [String]) {
        var datasets: [IntelDataset] = []
        var problems: [String] = []
        for file in files() {
            do {
                let bytes = try readFileBytes(file.path, limit: IntelLimits.maxFileBytes)
                datasets.append(try IntelParser.parse(bytes: bytes, format: file.format, name: file.name))
            } catch let error as IntelParseError {
                problems.append(error.located(in: file.path))
            } catch {
                problems.append("\(error)")
            }
        }
        return (datasets, problems)
    }

    /// The store over every stored file (empty when there are none).
    public func loadStore(providerASNs: ProviderASNMap = .builtIn) -> (store: IntelStore, problems: [String]) {
        let (datasets, problems) = loadDatasets()
        return (IntelStore(datasets: datasets, providerASNs: providerASNs), problems)
    }

    /// Stores `bytes` as dataset `name` of `format`, atomically (temp file in the same
    /// directory, fsync, rename, fsync of the directory); a file of the same name in
    /// another format is removed afterwards. The caller has parsed `bytes` already.
    public func store(_ bytes: [UInt8], name: String, format: IntelFormat) throws(SystemCallError) {
        precondition(Self.isValidName(name))
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw SystemCallError(call: "mkdir", path: path, errno: errno) }
        let final = "\(path)/\(name).\(format.rawValue)"
        let temp = "\(path)/.\(name).\(format.rawValue).tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: temp, errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                unlink(temp)
                throw SystemCallError(call: "write", path: temp, errno: e)
            }
            written += n
        }
        if fsync(fd) != 0 {
            let e = errno
            close(fd)
            unlink(temp)
            throw SystemCallError(call: "fsync", path: temp, errno: e)
        }
        close(fd)
        if rename(temp, final) != 0 {
            let e = errno
            unlink(temp)
            throw SystemCallError(call: "rename", path: final, errno: e)
        }
        let dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
        for other in IntelFormat.allCases where other != format {
            unlink("\(path)/\(name).\(other.rawValue)")
        }
    }
}
