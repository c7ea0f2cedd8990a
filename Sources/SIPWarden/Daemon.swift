// SPDX-License-Identifier: GPL-2.0-or-later

import BanFanOut
import Dispatch
public import Firewall
public import Logging
import NetworkAddress
import Sensors
import ServiceLifecycle
import Storage
import Synchronization
public import Telemetry
public import WardenCore

#if canImport(Glibc)
    import Glibc
#endif

/// Why the daemon could not start or had to stop.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The current wall-clock time.
public let systemClock: TimeSource = {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Timestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
}

/// Builds the configured firewall backend.
public func makeFirewall(_ config: Configuration, logger: Logger) throws(DaemonError) -> any Firewall {
    try EnforcerService.makeFirewall(config.enforcerSettings, nftables: config.nftablesConfiguration, logger: logger)
}

/// The long-running daemon: a `ServiceGroup` of services (docs/SERVICES.md).
///
/// `run` assembles the services from the configuration, in their start order — the
/// ledger, the enforcer (kernel table reconciled with the ledger's active bans), detection,
/// the sensors — so no event is judged while a ban that should exist is missing; the
/// group stops them in reverse order (sensors first, the ledger's last write last). The
/// supervisor owns the signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads every
/// service, SIGUSR1 (and every 10 s) runs their periodic work.
public final class Daemon: Sendable {
    public let configuration: Configuration
    private let logger: Logger

    /// Re-reads the configuration (file and flags) on SIGHUP; nil = nothing to reload.
    public typealias ConfigurationLoader = () throws(ConfigurationError) -> Configuration
    private let loader: LoaderBox?
    /// The daemon's Prometheus metrics; `metrics.exposition` is what `GET /metrics` serves.
    public let metrics = WardenMetrics()

    public init(configuration: Configuration, logger: Logger, reload loader: ConfigurationLoader? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.loader = loader.map(LoaderBox.init)
    }

    /// Runs until SIGINT or SIGTERM; returns when every service has stopped.
    public func run() throws(DaemonError) {
        // Signals are taken by the supervisor through a signalfd: block them in this thread
        // before any other starts (every thread inherits the mask), so none is delivered to
        // a sensor thread and none is lost while the services start.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGUSR1] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let assembly = try assemble()
        let outcome = Mutex<DaemonError?>(nil)
        let done = DispatchSemaphore(value: 0)
        let logger = logger
        let group = assembly.group
        Task {
            do {
                try await group.run()
            } catch {
                outcome.withLock { $0 = error as? DaemonError ?? DaemonError("\(error)") }
            }
            done.signal()
        }
        done.wait()
        assembly.pidFile.remove()
        if let error = outcome.withLock({ $0 }) { throw error }
        var summary: Logger.Metadata = [:]
        for service in assembly.services {
            summary.merge(service.summary) { first, _ in first }
        }
        logger.notice("stopped", metadata: summary)
    }

    /// The services and the group that runs them.
    struct Assembly {
        let services: [any DaemonService]
        let group: ServiceGroup
        let pidFile: PidFile
    }

    /// Builds every service. What must exist before any service starts is made here: the
    /// ledger (its writer), the pid file, the firewall backend, the pipeline.
    private func assemble() throws(DaemonError) -> Assembly {
        let ownAddresses = LocalAddresses.current()
        var config = Self.effective(configuration, ownAddresses: ownAddresses)
        if config.logsAreDefaults {
            // No source given: look at the host and say what was chosen, and why.
            let plan = DefaultSources.plan(DefaultSources.probe())
            config.logs = plan.logs
            config.journal = plan.journal
            config.captures = plan.captures
            for reason in plan.reasons { logger.notice("embedded defaults: \(reason)") }
        }
        let ledger = try LedgerService(settings: config.ledgerSettings, logger: logger)
        let pidFile: PidFile
        let firewall: any Firewall
        let restored: RestoredState
        let now = systemClock()
        do throws(DaemonError) {
            pidFile = try PidFile(path: config.stateDirectory + "/sipwarden.pid")
            do throws(DaemonError) {
                firewall = try makeFirewall(config, logger: logger)
                restored = try ledger.restoredState(at: now, memory: config.detection.escalation.memory)
            } catch {
                pidFile.remove()
                throw error
            }
        } catch {
            ledger.stop()
            throw error
        }
        // Capture sensors drop already-banned hosts in their kernel filter (only when bans are real).
        var bannedSources: BannedSourceFilter?
        if !config.captures.isEmpty, config.firewall == .nftables {
            do throws(BannedSourceFilterError) { bannedSources = try BannedSourceFilter() } catch {
                logger.warning("capture will see banned floods too: \(error)")
            }
        }
        // Consumers of enforced bans (ledger, log line; cases, fleet … subscribe here too).
        let consumers: BanConsumers
        do throws(BanFanOutError) { consumers = try BanConsumers(ledger: ledger.writer, logger: logger) } catch {
            pidFile.remove()
            ledger.stop()
            throw DaemonError("\(error)")
        }
        let pipeline = Pipeline(
            policy: config.detection, firewall: firewall, fanOut: consumers.fanOut, logger: logger,
            clock: systemClock, logUTCOffsetSeconds: config.logUTCOffsetSeconds, bannedSources: bannedSources,
            metrics: metrics
        )
        let sensors = config.sensorSettings
        // Changes the control plane applies itself (so the enforcer's ledger sync skips them).
        let appliedByControlPlane = AppliedOperatorChanges()
        let controlPlane = DaemonControlPlane(
            configuration: config, firewall: firewall, ledger: ledger.ledger, pipeline: pipeline, consumers: consumers,
            applied: appliedByControlPlane, logger: logger)
        let metrics = metrics
        // The intelligence store: selectors of range blocks, the detector's network hooks.
        let intel = IntelService(configuration: config, pipeline: pipeline, logger: logger)
        let ranges = try RangeBlocksService(
            configuration: config, ownAddresses: ownAddresses.networks,
            source: NetworkKnowledge.rangeSource(holder: intel.holder, settings: config.ranges),
            cases: config.abuse == nil ? nil : CaseStore(ledger: ledger.ledger), logger: logger)
        do throws(BanFanOutError) { try ranges.subscribeASNRule(to: consumers, ledger: ledger.ledger) } catch {
            throw DaemonError("ranges: asn-block: \(error)")
        }
        // Abuse cases (off unless `abuse:` is configured).
        let cases = try CasesService(
            configuration: config, ledger: ledger.ledger, consumers: consumers, ownAddresses: ownAddresses.networks,
            sightings: pipeline.sightings, logger: logger)
        do throws(BanFanOutError) { try cases?.subscribe() } catch {
            throw DaemonError("cases: \(error)")
        }
        cases?.afterEachPass { ranges.evaluateOverdueRule() }

        // The start order; the group stops them in reverse. A new service is one line here.
        var services: [any DaemonService] = [
            ledger,
            BanConsumersService(consumers: consumers),
            EnforcerService(
                configuration: config, firewall: firewall, restored: restored, ledger: ledger.ledger, pipeline: pipeline, since: now,
                appliedByControlPlane: appliedByControlPlane, logger: logger),
            intel,
            ranges,
            DetectionService(pipeline: pipeline, restored: restored, stateDirectory: config.stateDirectory, logger: logger),
            FeedService(configuration: config, pipeline: pipeline, restoredBans: restored.activeBans, logger: logger, clock: systemClock),
            SensorService.journal(sensors, stateDirectory: config.stateDirectory, pipeline: pipeline, logger: logger),
            SensorService.logs(sensors, pipeline: pipeline, logger: logger),
            SensorService.capture(sensors, ownAddresses: ownAddresses, bannedSources: bannedSources, pipeline: pipeline, logger: logger),
            SensorService.hep(sensors, pipeline: pipeline, logger: logger),
            InlineService(settings: config.inline, policy: config.admissionPolicy, pipeline: pipeline, logger: logger),
            SensorService.floodReports(config, pipeline: pipeline, logger: logger),
            IntelUpdateService(
                settings: config.intel, stateDirectory: config.stateDirectory, logger: logger, clock: systemClock,
                onUpdated: { _ in intel.reload() }),
            ControlPlaneService(
                configuration: config, controlPlane: controlPlane, metricsText: { metrics.exposition() },
                ranges: ranges.administration,
                cases: cases.map { DaemonCases(engine: $0.engine, wake: $0.waker, logger: logger) }, logger: logger),
        ]
        services.append(cases ?? CasesServiceOff() as any DaemonService)
        // Metrics: read at scrape time from the pipeline's, the services' and the kernel's counters.
        DaemonMetricsSources(
            pipeline: pipeline, services: services, firewall: firewall,
            counterReader: config.firewall == .nftables ? try? makeFirewall(config, logger: logger) : nil,
            ledger: ledger.ledger
        ).register(in: metrics)

        // Services that need no reload nor start order (an HTTP server): one line here.
        let plainServices: [any Service] = []

        let (events, continuation) = AsyncStream.makeStream(of: SupervisorEvent.self)
        let order = StartOrder(count: services.count)
        var group: [ServiceGroupConfiguration.ServiceConfiguration] = services.enumerated().map { index, service in
            .init(service: ManagedService(service: service, index: index, order: order, events: continuation), serviceName: service.name)
        }
        group += plainServices.map { .init(service: $0) }
        var supervisorLoader: Supervisor.Loader?
        if let loader {
            supervisorLoader = { () throws(ConfigurationError) -> Configuration in try loader.load() }
        }
        let supervisor = Supervisor(
            services: services, events: events, continuation: continuation, configuration: config,
            loader: supervisorLoader,
            effective: { loaded, running in Self.effective(loaded, ownAddresses: ownAddresses, running: running) },
            tickInterval: .seconds(10), logger: logger)
        // The supervisor returns at SIGTERM/SIGINT: the group then stops the others gracefully.
        group.append(.init(service: supervisor, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "supervisor"))
        return Assembly(
            services: services,
            group: ServiceGroup(configuration: ServiceGroupConfiguration(services: group, logger: logger)),
            pidFile: pidFile)
    }

    /// The configuration as the daemon runs it: with `ignore-self`, this host's addresses
    /// are allowlisted; on a reload, sources chosen by the embedded defaults stay chosen.
    static func effective(_ loaded: Configuration, ownAddresses: IPNetworkSet, running: Configuration? = nil) -> Configuration {
        var config = loaded
        if config.ignoreSelf {
            for network in ownAddresses.networks { config.detection.allowlist.insert(network) }
        }
        Configuration.protectAggregation(&config, ownAddresses: ownAddresses)
        if let running, config.logsAreDefaults, running.logsAreDefaults {
            config.logs = running.logs
            config.journal = running.journal
            config.captures = running.captures
        }
        return config
    }
}

/// The command line's configuration loader. It is only ever called by the supervisor, one
/// reload at a time.
private struct LoaderBox: @unchecked Sendable {
    let load: Daemon.ConfigurationLoader
}
