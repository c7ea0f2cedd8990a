// SPDX-License-Identifier: GPL-2.0-or-later

import Feeds
import Firewall
public import IntelUpdate
public import Logging
import NetworkAddress
public import Storage
import Synchronization
public import WardenCore

/// `feeds`: subscribed blocklists (`feeds:`, docs/FEEDS.md). Each feed is refreshed in
/// the background at its own interval; its networks then take the feed's policy —
/// `block`: bans with origin `feed` through the pipeline's own enforcement path
/// (`Pipeline.enforce`: kernel, detector, fan-out to the ledger); `suspect`: the
/// pipeline's `FeedSuspects`, so the first failure of a listed source bans it. A feed
/// that fails keeps its last good copy (`STATE/feeds/`), which is also what start-up
/// applies before the first refresh.
///
/// Reload rule: `feeds` live (new feeds fetched at the next tick, removed suspect feeds
/// forgotten; bans already made run out by themselves); the allowlist follows.
public final class FeedService: DaemonService {
    public let name = "feeds"
    private let pipeline: Pipeline
    private let store: FeedStore
    private let logger: Logger
    private let clock: TimeSource
    private let fetcherFactory: @Sendable () -> any ConditionalFetcher
    private struct State {
        var specs: [FeedSpec]
        var allowlist: IPNetworkSet
        var planner = FeedBanPlanner()
        /// When each feed is next due (seconds since the epoch).
        var due: [String: Int64] = [:]
        var task: Task<Void, Never>?
        var refreshes = 0
        var failures = 0
        var bans = 0
    }
    private let state: Mutex<State>

    /// - Parameters:
    ///   - restoredBans: the ledger's active bans (feed bans among them are not made again).
    ///   - fetcherFactory: a fetcher per run (tests pass a local one).
    public init(
        configuration: Configuration, pipeline: Pipeline, restoredBans: [BanRecord], logger: Logger, clock: @escaping TimeSource,
        fetcherFactory: (@Sendable () -> any ConditionalFetcher)? = nil
    ) {
        self.pipeline = pipeline
        self.logger = logger
        self.clock = clock
        self.fetcherFactory = fetcherFactory ?? { AsyncHTTPFetcher() }
        store = FeedStore(directory: configuration.stateDirectory + "/feeds")
        var initial = State(specs: configuration.feeds, allowlist: configuration.detection.allowlist)
        let prefix = "listed by feed "
        for ban in restoredBans where ban.origin == .feed && ban.reason.hasPrefix(prefix) {
            initial.planner.noteExisting(feed: String(ban.reason.dropFirst(prefix.count)), network: ban.network, created: ban.createdAt)
        }
        state = Mutex(initial)
    }

    public func start() throws(DaemonError) -> [String] {
        let (specs, now) = (state.withLock { $0.specs }, clock())
        guard !specs.isEmpty else { return [] }
        // The last good copies apply at once; a refresh is due when its interval has passed.
        for spec in specs {
            let held = store.networks(spec.name) ?? []
            if !held.isEmpty { apply(spec, networks: held, now: now) }
            let checked = store.state(spec.name)?.checkedAt ?? 0
            let (interval, _) = spec.refresh.components
            state.withLock { $0.due[spec.name] = checked + interval }
        }
        return specs.map { "feed:\($0.name)" }
    }

    public var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    public func stop() {
        state.withLock { $0.task?.cancel() }
    }

    public func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        state.withLock { s in
            s.specs = next.feeds
            s.allowlist = next.detection.allowlist
        }
        pipeline.feedSuspects.keep(only: Set(next.feeds.filter { $0.policy == .suspect }.map(\.name)))
    }

    public func tick() {
        let now = clock()
        state.withLock { s in
            guard s.task == nil else { return }
            let due = s.specs.filter { (s.due[$0.name] ?? 0) <= now.seconds }
            guard !due.isEmpty else { return }
            for spec in due {
                let (interval, _) = spec.refresh.components
                s.due[spec.name] = now.seconds + interval
            }
            s.task = Task { [self] in
                await refresh(due)
                state.withLock { $0.task = nil }
            }
        }
    }

    /// Refreshes `specs` one after another and applies each result.
    func refresh(_ specs: [FeedSpec]) async {
        let fetcher = fetcherFactory()
        let clock = clock
        let updater = FeedUpdater(store: store, fetcher: fetcher, clock: { clock().seconds })
        for spec in specs where !Task.isCancelled {
            let result = await updater.refresh(spec)
            switch result.outcome {
            case .updated:
                logger.info(
                    "feed updated",
                    metadata: [
                        "feed": "\(spec.name)", "entries": "\(result.networks.count)", "rejected": "\(result.rejected)", "unsafe": "\(result.unsafe)",
                    ])
            case .unchanged:
                logger.debug("feed unchanged", metadata: ["feed": "\(spec.name)", "entries": "\(result.networks.count)"])
            case .failed(let reason):
                logger.warning(
                    "feed not refreshed, its last good copy stays",
                    metadata: ["feed": "\(spec.name)", "error": "\(reason)", "kept": "\(result.networks.count)"])
            }
            state.withLock { s in
                s.refreshes += 1
                if case .failed = result.outcome { s.failures += 1 }
            }
            apply(spec, networks: result.networks, now: clock())
        }
    }

    /// The feed's policy on its networks.
    func apply(_ spec: FeedSpec, networks: [IPNetwork], now: Timestamp) {
        switch spec.policy {
        case .suspect:
            pipeline.feedSuspects.replace(feed: spec.name, networks: networks, banTime: spec.effectiveBanTime)
        case .block:
            let bans = state.withLock { s in s.planner.plan(spec, networks: networks, allowlist: s.allowlist, now: now) }
            var made = 0
            var refused: (count: Int, last: String)?
            for ban in bans {
                do throws(FirewallError) {
                    try pipeline.enforce(ban)
                    made += 1
                } catch {
                    // Not recorded: the next refresh plans it again.
                    state.withLock { $0.planner.forget(feed: spec.name, network: ban.network) }
                    refused = ((refused?.count ?? 0) + 1, "\(error)")
                }
            }
            if let refused {
                logger.warning(
                    "feed: the kernel refused bans", metadata: ["feed": "\(spec.name)", "refused": "\(refused.count)", "error": "\(refused.last)"])
            }
            state.withLock { $0.bans += made }
        }
    }

    public var summary: Logger.Metadata {
        let s = state.withLock { ($0.refreshes, $0.failures, $0.bans) }
        return ["feed_refreshes": "\(s.0)", "feed_failures": "\(s.1)", "feed_bans": "\(s.2)"]
    }
}
