// SPDX-License-Identifier: GPL-2.0-or-later

import IntelStore
public import Logging
import Synchronization

/// `intel`: the intelligence store of `STATE/intel` in the daemon. At start it loads every
/// stored file (a file that no longer parses is left out and named), then resolves the
/// range policy against it and gives the detector what it asks the store: the announced
/// prefix of an address (aggregation's widest step) and the lower max-retries of provider,
/// AS and list rules. Range blocks resolve their selectors through the same holder.
/// `reload()` does it again with the files as they are now; `intel-update` calls it after
/// a refresh changed a source, SIGHUP too. Loading runs on the caller's thread (a full
/// iptoasn table takes about 0.4 s), never on a sensor's.
///
/// Reload rule: the files are read again on every SIGHUP; `ranges` stays restart-only.
public final class IntelService: DaemonService {
    public let name = ServiceName.intel
    /// The store in force, shared with range blocks.
    public let holder: IntelStoreHolder
    private let directory: IntelDirectory
    private let settings: RangesSettings
    private let pipeline: Pipeline
    private let logger: Logger
    private let counts = Mutex((loads: 0, thresholds: 0))

    public init(configuration: Configuration, pipeline: Pipeline, holder: IntelStoreHolder = IntelStoreHolder(), logger: Logger) {
        self.holder = holder
        directory = IntelDirectory(stateDirectory: configuration.stateDirectory)
        settings = configuration.ranges
        self.pipeline = pipeline
        self.logger = logger
    }

    public var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    public func start() throws(DaemonError) -> [String] {
        let summary = reload()
        return summary.isEmpty ? [] : ["intel:\(summary)"]
    }

    public func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        _ = reload()
    }

    /// Loads the files again and installs what they say. Returns a short summary
    /// (`3 datasets, 612034 ranges`; empty without data).
    @discardableResult
    public func reload() -> String {
        let (store, problems) = directory.loadStore()
        for problem in problems { logger.warning("intel: a stored file is left out", metadata: ["problem": "\(problem)"]) }
        holder.replace(store)
        let knowledge = NetworkKnowledge(holder: holder, settings: settings)
        for (selector, error) in knowledge.unresolved {
            logger.warning(
                "ranges: a rule's ranges cannot be had, its max-retry does not apply", metadata: ["rule": "\(selector)", "error": "\(error)"])
        }
        knowledge.install(into: pipeline)
        let rules = settings.policy.rules.filter { $0.maxRetry != nil }.count - knowledge.unresolved.count
        counts.withLock { $0 = ($0.loads + 1, max(0, rules)) }
        guard !store.isEmpty else { return "" }
        let summary = "\(store.summaries.count) datasets, \(store.summaries.reduce(0) { $0 + $1.ipv4 + $1.ipv6 }) ranges"
        logger.info("intel: store loaded", metadata: ["datasets": "\(store.summaries.count)", "max_retry_rules": "\(max(0, rules))"])
        return summary
    }

    public var summary: Logger.Metadata {
        let c = counts.withLock { $0 }
        return ["intel_loads": "\(c.loads)", "max_retry_rules": "\(c.thresholds)"]
    }
}
