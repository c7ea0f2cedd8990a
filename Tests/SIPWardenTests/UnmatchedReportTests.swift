// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import LogFormats
import Logging
import Synchronization
import Testing
import WardenCore

@testable import SIPWarden

/// Collects log messages (a test log handler).
private final class Captured: Sendable {
    let messages = Mutex([String]())
}

private struct CapturingHandler: LogHandler {
    let sink: Captured
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let sample = event.metadata?["sample"].map { " sample=\($0)" } ?? ""
        sink.messages.withLock { $0.append("\(event.message)\(sample)") }
    }
}

@Suite struct UnmatchedReportTests {
    @Test func logsFirstOccurrenceThenPeriodicallyAndPersistsAtomically() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sw-unmatched-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = Captured()
        let logger = Logger(label: "t") { _ in CapturingHandler(sink: sink) }
        var reporter = UnmatchedReporter()
        let t0 = Timestamp(seconds: 1_764_072_000)

        // First pass of a run: writes the (empty) file so a previous run's counts disappear.
        reporter.tick([:], now: t0, stateDirectory: dir, logger: logger)
        #expect(UnmatchedSummary.load(stateDirectory: dir)?.files == [:])

        let sample = "x failed for 198.18.0.1 \u{1B}[31m"
        reporter.tick(["/a.log": UnmatchedLineCount(count: 1, sample: sample)], now: t0 + .seconds(10), stateDirectory: dir, logger: logger)
        #expect(
            sink.messages.withLock { $0 } == [
                "/a.log: 1 line look like security failures but match no known log form sample=x failed for 198.18.0.1 \\x1B[31m"
            ])
        // Growth within the interval: persisted, not logged again.
        reporter.tick(["/a.log": UnmatchedLineCount(count: 5, sample: sample)], now: t0 + .seconds(20), stateDirectory: dir, logger: logger)
        #expect(sink.messages.withLock { $0.count } == 1)
        let saved = try #require(UnmatchedSummary.load(stateDirectory: dir))
        #expect(saved.files["/a.log"]?.count == 5)
        #expect(saved.describe().contains { $0.contains("/a.log: 5 lines that look like failures") })
        #expect(saved.describe().contains { $0.hasSuffix("\\x1B[31m") })
        // After the interval, growth is logged once more.
        reporter.tick(["/a.log": UnmatchedLineCount(count: 6, sample: sample)], now: t0 + .seconds(700), stateDirectory: dir, logger: logger)
        #expect(sink.messages.withLock { $0.count } == 2)
        // No growth: no log.
        reporter.tick(["/a.log": UnmatchedLineCount(count: 6, sample: sample)], now: t0 + .seconds(1400), stateDirectory: dir, logger: logger)
        #expect(sink.messages.withLock { $0.count } == 2)
    }
}
