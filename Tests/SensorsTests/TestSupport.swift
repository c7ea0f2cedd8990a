// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Glibc
import Logging
import Sensors
import Synchronization

/// A fresh directory under /tmp, removed by `remove()`.
struct TempDirectory {
    let path: String

    init() {
        var template = Array("/tmp/sipwarden-tail-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// An append-mode writer using raw `write(2)`, like a logging daemon.
final class LogWriter {
    private(set) var fd: Int32

    init(path: String, truncate: Bool = false) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o644)
        precondition(fd >= 0, "open \(path) failed: \(errno)")
    }

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        write(bytes: &bytes)
    }

    func write(bytes: inout [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            precondition(n > 0, "write failed: \(errno)")
            done += n
        }
    }

    /// Points this writer at a newly created file at `path` (after a rename rotation).
    func reopen(path: String) {
        close(fd)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "reopen failed: \(errno)")
    }

    deinit { close(fd) }
}

/// Collects delivered lines (copied out of the callback's buffer).
final class Collector: Sendable {
    struct Line: Hashable, Sendable {
        var text: String
        var number: Int
    }

    private struct State {
        var lines: [Line] = []
        var batches = 0
        var largestBatch = 0
    }

    private let state = Mutex(State())

    func add(_ batch: TailedLines) {
        var local: [Line] = []
        local.reserveCapacity(batch.lineCount)
        batch.forEachLine { line, number in
            local.append(Line(text: String(decoding: line, as: UTF8.self), number: number))
        }
        precondition(local.count == batch.lineCount, "lineCount disagrees with the bytes")
        state.withLock {
            $0.lines += local
            $0.batches += 1
            $0.largestBatch = max($0.largestBatch, batch.bytes.count)
        }
    }

    var lines: [Line] { state.withLock { $0.lines } }
    var texts: [String] { lines.map(\.text) }
    var batches: Int { state.withLock { $0.batches } }
    var largestBatch: Int { state.withLock { $0.largestBatch } }
    var count: Int { state.withLock { $0.lines.count } }

    /// Waits (bounded) until at least `count` lines have arrived.
    @discardableResult
    func waitFor(count: Int, timeout: Duration = .seconds(10)) -> Bool {
        waitUntil(timeout: timeout) { self.count >= count }
    }
}

/// Polls `condition` every 2 ms until it holds or `timeout` passes (test-side only).
@discardableResult
func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(2000)
    }
    return condition()
}

let testLogger: Logger = {
    var logger = Logger(label: "sipwarden.test.tail")
    logger.logLevel = .warning
    return logger
}()
