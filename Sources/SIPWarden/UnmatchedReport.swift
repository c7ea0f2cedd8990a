// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
public import LogFormats
import Logging
import WardenCore

/// The daemon's unmatched-line counts as `sipwarden status` reads them from the state
/// directory (`unmatched.json`): per watched file, how many lines looked like a security
/// failure but matched no known form, and the first such line.
public struct UnmatchedSummary: Codable, Sendable, Equatable {
    public static let fileName = "unmatched.json"

    public var files: [String: UnmatchedLineCount]
    /// When the daemon wrote it (RFC 3339).
    public var updated: String

    public init(files: [String: UnmatchedLineCount], updated: String) {
        self.files = files
        self.updated = updated
    }

    /// The summary in `directory`, or nil when there is none or it does not decode.
    public static func load(stateDirectory directory: String) -> UnmatchedSummary? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + fileName) else { return nil }
        return try? JSONDecoder().decode(UnmatchedSummary.self, from: data)
    }

    /// Writes atomically (temporary file, then rename).
    func write(stateDirectory directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: directory + "/" + Self.fileName), options: .atomic)
    }

    /// Lines for `sipwarden status`; samples have their control characters escaped.
    public func describe() -> [String] {
        guard !files.isEmpty else { return ["unmatched:     none since the daemon started (as of \(updated))"] }
        var out: [String] = []
        for (file, c) in files.sorted(by: { $0.key < $1.key }) {
            out.append("unmatched:     \(file): \(c.count) line\(c.count == 1 ? "" : "s") that look like failures in no known form")
            out.append("  sample:      \(UnmatchedLineCount.escaped(c.sample))")
        }
        out.append("  (counted since the daemon started, as of \(updated); see them with: sipwarden events --unmatched FILE)")
        return out
    }
}

/// Reports the pipeline's unmatched-line counts: a log line at a file's first occurrence,
/// then at most one per `logInterval` while the count grows; `unmatched.json` rewritten when
/// the counts changed, at most once per call (the daemon calls it every few seconds).
struct UnmatchedReporter {
    var logInterval: Duration = .seconds(600)
    private var loggedCounts: [String: Int] = [:]
    private var lastLog: Timestamp?
    private var written: [String: UnmatchedLineCount]? // nil: not yet written by this run

    mutating func tick(_ counts: [String: UnmatchedLineCount], now: Timestamp, stateDirectory: String, logger: Logger) {
        let due = lastLog.map { now - $0 >= logInterval } ?? true
        for (file, c) in counts.sorted(by: { $0.key < $1.key }) {
            let before = loggedCounts[file]
            guard before == nil || (due && c.count > before!) else { continue }
            logger.warning(
                "\(file): \(c.count) line\(c.count == 1 ? "" : "s") look like security failures but match no known log form",
                metadata: [
                    "sample": "\(UnmatchedLineCount.escaped(c.sample))", "see": "sipwarden events --unmatched \(file)",
                ])
            loggedCounts[file] = c.count
            lastLog = now
        }
        guard counts != written else { return }
        do {
            try UnmatchedSummary(files: counts, updated: RFC3339.format(now)).write(stateDirectory: stateDirectory)
            written = counts
        } catch {
            logger.warning("cannot write \(stateDirectory)/\(UnmatchedSummary.fileName): \(error)")
        }
    }
}
