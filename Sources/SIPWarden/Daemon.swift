// SPDX-License-Identifier: GPL-2.0-or-later
import Detection
import Evidence
public import Firewall
import Inline
public import Logging
import NetworkAddress
import PacketDecoding
import Sensors
import Storage
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
public let systemClock: Clock = {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Timestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
}

/// Builds the configured firewall backend.
public func makeFirewall(_ config: Configuration, logger: Logger) throws(DaemonError) -> any Firewall {
    switch config.firewall {
    case .dryRun:
        return DryRunFirewall(logger: logger)
    case .nftables:
        do {
            return try NFTablesFirewall(configuration: config.nftablesConfiguration)
        } catch {
            throw DaemonError("cannot use nftables: \(error)")
        }
    }
}

/// The long-running service: watches the configured sources and enforces verdicts.
///
/// Start-up order matters for correctness after a crash: the ledger is opened, the kernel
/// table is created and reconciled with the ledger's active bans, and only then are sources
/// read — so no event is judged while a ban that should exist is missing.
public final class Daemon {
    public let configuration: Configuration
    private let logger: Logger

    /// Re-reads the configuration (file and flags) on SIGHUP; nil = nothing to reload.
    public typealias ConfigurationLoader = () throws(ConfigurationError) -> Configuration
    private let loader: ConfigurationLoader?
    /// Prometheus text for the control plane's `GET /metrics` (nil: 404).
    public var metricsText: (@Sendable () -> String)?

    public init(configuration: Configuration, logger: Logger, reload loader: ConfigurationLoader? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.loader = loader
    }

    /// Runs until SIGINT or SIGTERM.
    public func run() throws(DaemonError) {
        var config = configuration
        let ownAddresses = LocalAddresses.current()
        if config.ignoreSelf {
            for network in ownAddresses.networks { config.detection.allowlist.insert(network) }
        }
        // Signals are taken synchronously by this thread; block them before any thread starts.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGHUP)
        sigaddset(&signals, SIGUSR1)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let ledger: Ledger
        do {
            ledger = try Ledger(directory: config.stateDirectory)
        } catch {
            throw DaemonError("cannot open the ledger in \(config.stateDirectory): \(error)")
        }
        let pidFile = try PidFile(path: config.stateDirectory + "/sipwarden.pid")
        defer { pidFile.remove() }

        let firewall = try makeFirewall(config, logger: logger)
        let now = systemClock()
        let active: [BanRecord]
        let offences: [IPNetwork: OffenceHistory]
        do {
            active = try ledger.activeBans(at: now)
            offences = try ledger.offenceHistory(since: now - config.detection.escalation.memory)
        } catch {
            throw DaemonError("cannot read the ledger: \(error)")
        }
        do {
            try firewall.setUp()
            try firewall.reconcile(with: active.map { ban in
                BanElement(network: ban.network, timeout: ban.expiresAt.map { $0 - now })
            })
        } catch {
            throw DaemonError("cannot install the ban table: \(error)")
        }
        logger.notice("reconciled kernel bans with the ledger", metadata: ["active": "\(active.count)"])

        let log = logger
        let writer: LedgerWriter
        do {
            writer = try LedgerWriter(ledger: ledger) { error in
                log.error("ledger write failed; the kernel ban stands but will not survive a restart", metadata: ["error": "\(error)"])
            }
        } catch {
            throw DaemonError("cannot start the ledger writer: \(error)")
        }
        defer {
            writer.flush()
            writer.stop()
        }
        // Capture sensors drop already-banned hosts in their kernel filter (only when bans are real).
        var bannedSources: BannedSourceFilter?
        if !config.captures.isEmpty, config.firewall == .nftables {
            do throws(BannedSourceFilterError) { bannedSources = try BannedSourceFilter() } catch {
                logger.warning("capture will see banned floods too: \(error)")
            }
        }
        let pipeline = Pipeline(
            policy: config.detection, firewall: firewall, ledger: writer, logger: logger,
            clock: systemClock, logUTCOffsetSeconds: config.logUTCOffsetSeconds, bannedSources: bannedSources
        )
        pipeline.restore(activeBans: active, offences: offences)

        if config.logsAreDefaults {
            // No source given: look at the host and say what was chosen, and why.
            let plan = DefaultSources.plan(DefaultSources.probe())
            config.logs = plan.logs
            config.journal = plan.journal
            config.captures = plan.captures
            for reason in plan.reasons { logger.notice("embedded defaults: \(reason)") }
        }
        var tailers: [FileTailer] = []
        defer { for t in tailers { t.stop() } }
        let sensorPriority: SensorPriority = config.realtimeSensors ? .realtime(10) : .normal
        var chosen: [String] = []
        var journalReader: JournalReader?
        defer { journalReader?.stop() }
        if let journal = config.journal {
            journalReader = try startJournal(journal, config: config, pipeline: pipeline, priority: sensorPriority)
            chosen.append("journal")
        }
        for source in config.logs {
            let tailer = FileTailer(
                path: source.path, fromStart: config.fromStart,
                priority: sensorPriority, logger: logger
            )
            do {
                try tailer.start { batch in
                    pipeline.process(lines: batch.bytes, firstLineNumber: batch.firstLineNumber, source: source)
                }
            } catch {
                if config.logsAreDefaults, case .parentDirectoryMissing = error {
                    logger.warning("not watching \(source.path): its directory does not exist (no such PBX here)")
                    continue
                }
                throw DaemonError("cannot watch \(source.path): \(error)")
            }
            tailers.append(tailer)
            chosen.append("log:\(source.path)")
            logger.info("watching \(source.path)", metadata: ["dialect": "\(source.dialect)"])
        }
        var sinks: [CorrelatingSink] = []
        var captures: [PacketCapture] = []
        defer { for c in captures { c.stop() } }
        for var capture in config.captures {
            capture.priority = sensorPriority
            let name = capture.interface ?? "any"
            let sink = CorrelatingSink(sensor: "capture:\(name)", sipPorts: capture.ports.portNumbers, scannerSignatures: config.scannerSignatures, serverAddresses: ownAddresses, pipeline: pipeline, clock: systemClock)
            let sensor = PacketCapture(configuration: capture, logger: logger, bannedSources: bannedSources)
            do {
                try sensor.start { output in sink.handle(output) }
            } catch {
                throw DaemonError("cannot capture on \(name): \(error)")
            }
            sinks.append(sink)
            captures.append(sensor)
            chosen.append("capture:\(name)")
            logger.info("capturing SIP on \(name)", metadata: ["ports": "\(capture.ports)"])
        }
        var hepListener: HEPListener?
        defer { hepListener?.stop() }
        if let hep = config.hep {
            // The PBX behind a HEP agent may be another host: let the correlator infer the server.
            let sink = CorrelatingSink(sensor: "hep:\(hep.endpoint)", sipPorts: PortSet.sipDefault.portNumbers, scannerSignatures: config.scannerSignatures, serverAddresses: IPNetworkSet(), pipeline: pipeline, clock: systemClock)
            let listener = HEPListener(address: hep.endpoint, allowedAgents: hep.agents, authKey: hep.authKey, priority: sensorPriority, logger: logger)
            do {
                try listener.start { payload in sink.handle(payload) }
            } catch {
                throw DaemonError("cannot listen for HEP on \(hep.endpoint): \(error)")
            }
            sinks.append(sink)
            hepListener = listener
            chosen.append("hep:\(hep.endpoint)")
            logger.info("listening for HEP on \(hep.endpoint)", metadata: ["agents": "\(hep.agents.networks.map(\.description))"])
        }
        var inlineQueue: InlineQueue?
        var inlineRulesInstalled = false
        defer {
            inlineQueue?.stop()
            if inlineRulesInstalled {
                do { try InlineRules.remove() } catch { logger.error("could not remove the inline queue rules: \(error)") }
            }
        }
        if let inline = config.inline {
            let queueConfiguration = InlineQueueConfiguration(queue: inline.queue, failMode: inline.failMode, policy: config.admissionPolicy)
            do {
                // Failures seen inline go to the same detector, on the verdict thread: the
                // kernel ban is as fast as on every other path.
                let queue = try InlineQueue(configuration: queueConfiguration, logger: logger) { event in
                    let e = event.securityEvent
                    pipeline.judge([e], received: e.time)
                }
                try queue.start()
                inlineQueue = queue
            } catch {
                throw DaemonError("cannot open NFQUEUE \(inline.queue): \(error)")
            }
            if inline.manageRules {
                do {
                    let report = try InlineRules.install(queue: inline.queue, ports: inline.ports, failMode: inline.failMode)
                    inlineRulesInstalled = true
                    logger.notice("inline admission rules installed", metadata: ["rules": "\(report)"])
                } catch {
                    throw DaemonError("cannot install the inline queue rules: \(error)")
                }
            }
            chosen.append("inline:\(inline.queue)")
            logger.info("inline admission on NFQUEUE \(inline.queue)", metadata: ["fail_mode": "\(inline.failMode.rawValue)"])
        }
        var floodReports: FloodLogListener?
        defer { floodReports?.stop() }
        if config.firewall == .nftables, let floodGuard = config.floodGuard {
            // The kernel meter reports each source over the guard's rate once per 60 s:
            // judged as a `flood` on the listener's thread, like a wire sensor's flood.
            do {
                floodReports = try FloodGuardReports.start(floodGuard, pipeline: pipeline, clock: systemClock, priority: sensorPriority, logger: logger)
                if let group = floodGuard.reportGroup { logger.info("flood guard reports on NFLOG group \(group)") }
            } catch {
                // The guard still drops what is over the rate; only the ban is missing.
                logger.warning("flood guard reports unavailable: over-rate sources are dropped but not banned", metadata: ["error": "\(error)"])
            }
        }
        // MARK: control plane (until the daemon is a ServiceGroup: then `ControlPlaneServer` is one of its services)
        let appliedByAPI = AppliedOperatorChanges()
        let controlPlane = DaemonControlPlane(configuration: config, firewall: firewall, ledger: ledger, pipeline: pipeline, applied: appliedByAPI, logger: logger)
        let api = try startControlPlane(config, controlPlane, logger: logger)
        defer { api?.stop() }
        // MARK: end of control plane

        if chosen.isEmpty {
            logger.warning("no source to watch: sipwarden only enforces bans made with `sipwarden bans add` (use --log, --journal, --capture, --hep or --inline)")
        }
        logger.notice("sipwarden ready", metadata: [
            "firewall": "\(config.firewall.rawValue)", "sources": "\(chosen.count)", "watching": "\(chosen.joined(separator: " "))",
            "max_retry": "\(config.detection.threshold.maxRetry)",
        ])
        controlPlane.markReady()

        var operatorSync = OperatorSync(ledger: ledger, since: now, appliedElsewhere: appliedByAPI)
        var unmatchedReporter = UnmatchedReporter()
        var timeout = timespec(tv_sec: 10, tv_nsec: 0)
        while true {
            let sig = sigtimedwait(&signals, nil, &timeout)
            if sig == SIGINT || sig == SIGTERM {
                logger.notice("stopping on signal \(sig)")
                break
            }
            if sig == SIGHUP {
                reload(running: &config, ownAddresses: ownAddresses, pipeline: pipeline, inlineQueue: inlineQueue)
                controlPlane.update(config)
            }
            // `sipwarden bans add|remove` send SIGUSR1; the timeout is the safety net.
            operatorSync.apply(to: pipeline, logger: logger)
            pipeline.housekeeping()
            for sink in sinks { sink.expire() }
            unmatchedReporter.tick(pipeline.unmatchedLines, now: systemClock(), stateDirectory: config.stateDirectory, logger: logger)
        }
        let stats = pipeline.statistics
        var summary: Logger.Metadata = [
            "lines": "\(stats.pipeline.lines)", "events": "\(stats.pipeline.events)", "bans": "\(stats.pipeline.bans)",
            "merged": "\(stats.pipeline.mergedEvents)", "tracked": "\(stats.detector.trackedSources)",
            "evicted": "\(stats.detector.sourcesEvicted)",
        ]
        if let inline = inlineQueue?.statistics {
            summary["inline_dropped"] = "\(inline.dropped)"
            summary["inline_overruns"] = "\(inline.receiveOverruns)"
            summary["inline_dropped_budget"] = "\(inline.admission.droppedBudget)"
            summary["inline_dropped_uncredentialed"] = "\(inline.admission.droppedUncredentialedLimit)"
        }
        if let suspects = (firewall as? NFTablesFirewall)?.suspectCounters {
            summary["suspects_marked"] = "\(suspects.marked)"
        }
        logger.notice("stopped", metadata: summary)
    }
}

extension Daemon {
    /// How long the journal reader keeps looking every 2 ms after entries arrived
    /// (`JournalReaderConfiguration.activeWindow`; SIPWARDEN_JOURNAL_ACTIVE_MS=0 turns it off).
    private var journalActiveWindow: Duration? {
        guard let text = getenv("SIPWARDEN_JOURNAL_ACTIVE_MS").map({ String(cString: $0) }), let ms = Int(text), ms >= 0 else {
            return .seconds(2)
        }
        return ms == 0 ? nil : .milliseconds(ms)
    }

    /// Starts the journal reader; its cursor lives in the state directory.
    private func startJournal(
        _ journal: JournalSettings, config: Configuration, pipeline: Pipeline, priority: SensorPriority
    ) throws(DaemonError) -> JournalReader {
        let reader = JournalReader(configuration: JournalReaderConfiguration(
            matches: journal.matches, directory: journal.directory, cursorPath: config.stateDirectory + "/journal.cursor",
            fromStart: config.fromStart, maxMessageLength: LogDialects.maximumSIPWardenLineLength + 1, priority: priority,
            activeWindow: journalActiveWindow),
            logger: logger)
        let sink = JournalSink(settings: journal, pipeline: pipeline, clock: systemClock)
        do {
            try reader.start { batch in sink.handle(batch) }
        } catch {
            throw DaemonError("cannot read the \(journal.summary): \(error)")
        }
        logger.info("reading the \(journal.summary)", metadata: ["dialect": "\(journal.dialect)"])
        return reader
    }

    /// SIGHUP: applies what can change while running — detection (thresholds, windows,
    /// ban times, escalation, allowlist) in the detector and in inline admission, the
    /// flood guard and the ban ports — and names what needs a restart. A configuration
    /// that does not load or validate changes nothing.
    private func reload(running config: inout Configuration, ownAddresses: IPNetworkSet, pipeline: Pipeline, inlineQueue: InlineQueue?) {
        guard let loader else {
            logger.notice("SIGHUP: started without --config, nothing to reload")
            return
        }
        var next: Configuration
        do {
            next = try loader()
        } catch {
            logger.error("SIGHUP: configuration not reloaded, the running one stays in force", metadata: ["error": "\(error)"])
            return
        }
        // What cannot change live keeps its running value (so the next comparison is
        // against what runs); a changed one is named.
        var needsRestart: [String] = []
        func keepRunning<Value: Equatable>(_ name: String, _ path: WritableKeyPath<Configuration, Value>) {
            if next[keyPath: path] != config[keyPath: path] { needsRestart.append(name) }
            next[keyPath: path] = config[keyPath: path]
        }
        keepRunning("logs", \.logs)
        keepRunning("journal", \.journal)
        keepRunning("capture", \.captures)
        keepRunning("hep", \.hep)
        keepRunning("inline", \.inline)
        keepRunning("firewall", \.firewall)
        keepRunning("nftables.table", \.nftTable)
        keepRunning("state", \.stateDirectory)
        keepRunning("from-start", \.fromStart)
        keepRunning("realtime", \.realtimeSensors)
        keepRunning("scanner-signatures", \.scannerSignatures)
        keepRunning("log-utc-offset", \.logUTCOffsetSeconds)
        keepRunning("ignore-self", \.ignoreSelf)
        keepRunning("control-plane", \.controlPlane)
        next.logsAreDefaults = config.logsAreDefaults
        // The NFLOG listener is bound at start: the kernel rule keeps reporting to it.
        if next.floodGuard != nil, next.floodGuard?.reportGroup != config.floodGuard?.reportGroup {
            needsRestart.append("flood-guard.report-group")
            next.floodGuard?.reportGroup = config.floodGuard?.reportGroup
        }
        if next.ignoreSelf {
            for network in ownAddresses.networks { next.detection.allowlist.insert(network) }
        }
        if !needsRestart.isEmpty {
            logger.warning("SIGHUP: these settings changed but apply only after a restart: \(needsRestart.joined(separator: ", "))")
        }
        let admission = next.admissionPolicy
        if inlineQueue != nil, case let problems = admission.validationErrors(), !problems.isEmpty {
            logger.error("SIGHUP: configuration not reloaded, inline admission cannot use it", metadata: ["error": "\(problems.joined(separator: "; "))"])
            return
        }
        if next.firewall == .nftables, next.nftablesConfiguration != config.nftablesConfiguration {
            // The same table, rebuilt in one transaction: the ban sets keep their elements,
            // the chains get the new ports and the guard its new limits and exemptions.
            do {
                try makeFirewall(next, logger: logger).setUp()
            } catch {
                logger.error("SIGHUP: the nftables rules could not be rebuilt; configuration not reloaded", metadata: ["error": "\(error)"])
                return
            }
        }
        do {
            try inlineQueue?.replacePolicy(admission)
        } catch {
            // Validated above: unreachable, but never silent.
            logger.error("SIGHUP: inline admission kept its policy", metadata: ["error": "\(error)"])
        }
        pipeline.replacePolicy(next.detection)
        config = next
        logger.notice("SIGHUP: configuration reloaded", metadata: [
            "max_retry": "\(next.detection.threshold.maxRetry)",
            "find_time": "\(DurationParser.format(next.detection.threshold.findTime))",
            "ban_time": "\(DurationParser.format(next.detection.banTime))",
            "flood_guard": "\(next.floodGuard.map { "\($0.packetsPerSecond)/\($0.burst)" } ?? "off")",
        ])
    }
}

/// Brings a running daemon's detector up to date with bans operators lifted or added in
/// the ledger (`sipwarden bans remove|add`).
struct OperatorSync {
    let ledger: Ledger
    /// Changes at or after this time are looked at (a little overlap: the CLI's clock
    /// stamps a lift before its transaction commits).
    private var since: Timestamp
    /// Ban ids already applied (lifted or manual), with their change time, pruned as
    /// `since` moves on.
    private var applied: [Int64: Timestamp] = [:]
    /// Changes the control plane made and applied already.
    private let appliedElsewhere: AppliedOperatorChanges?
    private static let overlap = Duration.seconds(30)

    init(ledger: Ledger, since: Timestamp, appliedElsewhere: AppliedOperatorChanges? = nil) {
        self.ledger = ledger
        self.since = since
        self.appliedElsewhere = appliedElsewhere
    }

    mutating func apply(to pipeline: Pipeline, logger: Logger) {
        let started = systemClock()
        let records: [BanRecord]
        do {
            records = try ledger.operatorChanges(since: since)
        } catch {
            logger.error("cannot read operator changes from the ledger", metadata: ["error": "\(error)"])
            return
        }
        var fresh: [BanRecord] = []
        for record in records {
            guard let id = record.id, applied[id] == nil else { continue }
            applied[id] = record.liftedAt ?? record.createdAt
            if appliedElsewhere?.take(id) == true { continue }
            fresh.append(record)
        }
        if !fresh.isEmpty {
            let count = pipeline.applyOperatorChanges(fresh)
            for record in fresh {
                logger.notice(record.liftedAt != nil ? "operator lifted the ban of \(record.network)" : "operator banned \(record.network)",
                              metadata: ["id": "\(record.id ?? 0)"])
            }
            logger.debug("operator changes applied", metadata: ["records": "\(fresh.count)", "applied": "\(count)"])
        }
        since = started - Self.overlap
        applied = applied.filter { $0.value >= since }
    }
}

/// An exclusive pid file: a second daemon on the same state directory refuses to start.
final class PidFile {
    let path: String
    private let fd: Int32

    init(path: String) throws(DaemonError) {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DaemonError("cannot create \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw DaemonError("another sipwarden is running with this state directory (\(path) is locked)")
        }
        ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    func remove() {
        unlink(path)
        close(fd)
    }

    /// The pid of a running daemon holding the lock, if any.
    static func runningPid(path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil // nobody holds it
        }
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 31) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[0..<n], as: UTF8.self).trimmingSpaces().filter { $0.isNumber })
    }
}
