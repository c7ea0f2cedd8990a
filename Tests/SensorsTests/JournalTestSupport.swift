// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Glibc
import Sensors
import Synchronization

/// Writes real journal files: a `systemd-journal-remote` process (Debian package
/// systemd-journal-remote) reading the journal export format from its standard input and
/// appending each entry to `DIRECTORY/remote.journal` as it arrives, as journald would.
final class JournalFileWriter {
    static let executable = "/lib/systemd/systemd-journal-remote"
    static var isAvailable: Bool { access(executable, X_OK) == 0 }

    let directory: String
    private let process = Process()
    private let input = Pipe()
    private var closed = false
    /// A fixed boot id: monotonic timestamps of one boot must increase.
    private static let bootID = "5f0c6e0c0c8d4ad1b0b51b2c2f8e8a11"
    private var monotonic: Int64 = 1

    init(directory: String) throws {
        self.directory = directory
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--output=\(directory)/remote.journal", "-"]
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Appends one entry. `message` is written as a binary field, so any bytes work.
    func append(
        message: [UInt8], realtime: Int64, sourceRealtime: Int64? = nil,
        identifier: String? = nil, unit: String? = nil, extra: [String: String] = [:]
    ) {
        monotonic += 1000
        var out = Data()
        func text(_ key: String, _ value: String) { out.append(contentsOf: Array("\(key)=\(value)\n".utf8)) }
        text("__REALTIME_TIMESTAMP", "\(realtime)")
        text("__MONOTONIC_TIMESTAMP", "\(monotonic)")
        text("_BOOT_ID", Self.bootID)
        out.append(contentsOf: Array("MESSAGE\n".utf8))
        var length = UInt64(message.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(contentsOf: message)
        out.append(0x0A)
        if let sourceRealtime { text("_SOURCE_REALTIME_TIMESTAMP", "\(sourceRealtime)") }
        if let identifier { text("SYSLOG_IDENTIFIER", identifier) }
        if let unit { text("_SYSTEMD_UNIT", unit) }
        for (k, v) in extra.sorted(by: { $0.key < $1.key }) { text(k, v) }
        out.append(0x0A)
        input.fileHandleForWriting.write(out)
    }

    func append(_ message: String, realtime: Int64, sourceRealtime: Int64? = nil, identifier: String? = nil, unit: String? = nil) {
        append(message: Array(message.utf8), realtime: realtime, sourceRealtime: sourceRealtime, identifier: identifier, unit: unit)
    }

    /// Ends the input and waits until every entry is in the file.
    func finish() {
        guard !closed else { return }
        closed = true
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit {
        if !closed {
            try? input.fileHandleForWriting.close()
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }
}

/// Collects delivered journal entries.
final class JournalCollector: Sendable {
    private let state = Mutex<[JournalEntry]>([])

    func add(_ batch: [JournalEntry]) { state.withLock { $0 += batch } }

    var entries: [JournalEntry] { state.withLock { $0 } }
    var messages: [String] { entries.map { String(decoding: $0.message, as: UTF8.self) } }
    var count: Int { state.withLock { $0.count } }

    @discardableResult
    func waitFor(count: Int, timeout: Duration = .seconds(10)) -> Bool {
        waitUntil(timeout: timeout) { self.count >= count }
    }
}
