// SPDX-License-Identifier: GPL-2.0-or-later

public import IntelUpdate
public import Logging
import Synchronization
public import WardenCore

/// `intel-update`: refreshes the intelligence sources (`intel:`) in the background once
/// per `intel.refresh` (a day by default) while `intel.auto-update` is on, and hands the
/// sources that changed to `onUpdated`, which reloads the intelligence store without a
/// restart. An update never blocks a sensor or a ban: it runs in a task of its own,
/// started from the tick; a run still going when the next is due is not doubled.
///
/// Reload rule: `intel` live (sources, URLs, interval, ratio take effect at the next run).
public final class IntelUpdateService: DaemonService {
    public let name = "intel-update"
    private let settings: Mutex<IntelUpdateSettings>
    private let stateDirectory: String
    private let validator: any IntelSourceValidator
    private let onUpdated: @Sendable ([SourceReport]) -> Void
    private let logger: Logger
    private let clock: TimeSource
    private let run = Mutex<Task<Void, Never>?>(nil)
    /// When the last run started (seconds since the epoch); nil: none since start, and
    /// then the copies' own check times say whether one is due.
    private let lastRun = Mutex<Int64?>(nil)

    /// - Parameters:
    ///   - validator: the full parse a copy must pass (the intelligence store's parser).
    ///   - onUpdated: called after a run in which at least one source changed.
    public init(
        settings: IntelUpdateSettings, stateDirectory: String, validator: any IntelSourceValidator = IntelStoreValidator(),
        logger: Logger, clock: @escaping TimeSource, onUpdated: @escaping @Sendable ([SourceReport]) -> Void = { _ in }
    ) {
        self.settings = Mutex(settings)
        self.stateDirectory = stateDirectory
        self.validator = validator
        self.onUpdated = onUpdated
        self.logger = logger
        self.clock = clock
    }

    public func start() throws(DaemonError) -> [String] {
        let s = settings.withLock { $0 }
        guard s.autoUpdate else { return [] }
        // The oldest check of any copy decides when the first run is due.
        let updater = makeUpdater(s, fetcher: NoFetcher())
        let checks = s.sources.map { updater.state(of: $0.name)?.checkedAt ?? 0 }
        lastRun.withLock { $0 = checks.min() ?? 0 }
        return ["intel:\(s.sources.count) sources every \(DurationParser.format(s.refresh))"]
    }

    public var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    public func stop() {
        run.withLock { $0?.cancel() }
    }

    public func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        settings.withLock { $0 = next.intel }
    }

    public func tick() {
        let s = settings.withLock { $0 }
        let now = clock().seconds
        guard s.autoUpdate, let last = lastRun.withLock({ $0 }) else { return }
        let (seconds, _) = s.refresh.components
        guard now - last >= seconds else { return }
        run.withLock { task in
            guard task == nil else { return }
            lastRun.withLock { $0 = now }
            task = Task { [self] in
                await updateNow(s)
                run.withLock { $0 = nil }
            }
        }
    }

    /// One run: every source, then `onUpdated` if any changed.
    func updateNow(_ s: IntelUpdateSettings) async {
        let reports = await makeUpdater(s, fetcher: AsyncHTTPFetcher()).update()
        let changed = reports.filter(\.changed)
        logger.info(
            "intel: update done",
            metadata: [
                "updated": "\(changed.count)", "failed": "\(reports.filter(\.failed).count)", "sources": "\(reports.count)",
            ])
        if !changed.isEmpty { onUpdated(changed) }
    }

    private func makeUpdater(_ s: IntelUpdateSettings, fetcher: any ConditionalFetcher) -> IntelUpdater {
        let clock = clock
        return IntelUpdater(
            sources: s.sources, options: s.options(state: stateDirectory), fetcher: fetcher, validator: validator,
            logger: logger, clock: { clock().seconds })
    }
}

/// A fetcher that never fetches (reading the copies' states needs no client).
struct NoFetcher: ConditionalFetcher {
    func fetch(_ request: FetchRequest) async throws(FetchError) -> FetchResponse {
        throw .transport("no fetch")
    }
}
