// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
public import Logging
import Synchronization

/// The `detection` service: the pipeline's detector (the hot path itself runs on the
/// sensors' threads, never on this service).
///
/// - start: restores what the detector knew before a restart (active bans, repeat
///   offenders) from the ledger;
/// - tick: reports lines that look like failures in no known form (log, `unmatched.json`);
/// - stop: nothing (the counters go to the `stopped` line).
///
/// Reload rule: the detection policy (`detection`, `allow`) live — the detector keeps its
/// bans, escalation history and, where the kinds and windows are the same, its counting
/// windows; inline admission takes the same policy (the `sensor:inline` service).
/// `log-utc-offset` and `ignore-self` restart-only.
public final class DetectionService: DaemonService {
    public let name = "detection"
    public let pipeline: Pipeline
    private let restored: RestoredState
    private let stateDirectory: String
    private let unmatchedReporter = Mutex(UnmatchedReporter())
    private let logger: Logger

    public init(pipeline: Pipeline, restored: RestoredState, stateDirectory: String, logger: Logger) {
        self.pipeline = pipeline
        self.restored = restored
        self.stateDirectory = stateDirectory
        self.logger = logger
    }

    public func start() throws(DaemonError) -> [String] {
        pipeline.restore(activeBans: restored.activeBans, offences: restored.offences)
        return []
    }

    /// Its restart-only settings, as `ConfigurationSchema` declares them.
    public var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    public func checkReload(_ next: Configuration) -> ReloadRefusal? {
        guard let problem = next.detection.validationErrors().first else { return nil }
        return ReloadRefusal("configuration not reloaded, the detector cannot use it", error: problem)
    }

    public func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        pipeline.replacePolicy(next.detection)
    }

    public func tick() {
        let counts = pipeline.unmatchedLines
        unmatchedReporter.withLock { $0.tick(counts, now: systemClock(), stateDirectory: stateDirectory, logger: logger) }
    }

    public var summary: Logger.Metadata {
        let stats = pipeline.statistics
        return [
            "lines": "\(stats.pipeline.lines)", "events": "\(stats.pipeline.events)", "bans": "\(stats.pipeline.bans)",
            "merged": "\(stats.pipeline.mergedEvents)", "tracked": "\(stats.detector.trackedSources)",
            "evicted": "\(stats.detector.sourcesEvicted)",
        ]
    }
}
