// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(Glibc)
    import Glibc
#endif

struct TestIOError: Error { var message: String }

/// Writes `text` to `path`, replacing it.
func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw TestIOError(message: "open \(path) failed") }
    defer { close(fd) }
    var copy = text
    let ok = copy.withUTF8 { buf in write(fd, buf.baseAddress, buf.count) == buf.count }
    guard ok else { throw TestIOError(message: "write \(path) failed") }
}

func removeFile(_ path: String) { unlink(path) }
