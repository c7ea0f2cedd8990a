// SPDX-License-Identifier: GPL-2.0-or-later

import Dispatch
public import IntelUpdate
public import Logging
import Synchronization

/// `sipwarden intel update`: one run over the configured sources (or those named),
/// printed one line per source; the same updater the daemon runs daily.
public enum IntelUpdateCommand {
    /// Runs the update and returns the report lines and whether every source succeeded.
    /// - Parameter validator: the full parse (by default the intelligence store's own).
    public static func run(
        configuration: Configuration, only: [String], validator: any IntelSourceValidator = IntelStoreValidator(), logger: Logger
    ) throws(RuntimeFailure) -> (lines: [String], allSucceeded: Bool) {
        let settings = configuration.intel
        for name in only where !settings.sources.contains(where: { $0.name == name }) {
            throw RuntimeFailure("no intelligence source named '\(name)' (configured: \(settings.sources.map(\.name).joined(separator: ", ")))")
        }
        let options = settings.options(state: configuration.stateDirectory)
        let reports = blockingAwait {
            let updater = IntelUpdater(
                sources: settings.sources, options: options, fetcher: AsyncHTTPFetcher(), validator: validator, logger: logger,
                clock: { systemClock().seconds })
            return await updater.update(only: only.isEmpty ? nil : Set(only))
        }
        return (reports.map(describe), !reports.contains(where: \.failed))
    }

    /// One line per source: `NAME updated 123456 entries (was 123000)`.
    public static func describe(_ report: SourceReport) -> String {
        switch report.outcome {
        case .updated(let entries, let previous):
            return "\(report.name): updated, \(entries) entries" + (previous.map { " (was \($0))" } ?? "")
        case .unchanged(let entries):
            return "\(report.name): unchanged, \(entries) entries"
        case .failed(let reason, let kept):
            return "\(report.name): FAILED: \(reason); " + (kept.map { "the last good copy (\($0) entries) stays" } ?? "no copy yet")
        }
    }
}

/// Runs `body` on the concurrency pool and waits for its result (for the synchronous
/// command line).
func blockingAwait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let result = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let value = await body()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}
