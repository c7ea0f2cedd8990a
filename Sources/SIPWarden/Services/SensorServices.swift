// SPDX-License-Identifier: GPL-2.0-or-later

import Firewall
import Inline
import LogFormats
import Logging
import NetworkAddress
import PacketDecoding
import Sensors
import Synchronization
import WardenCore

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's sensor services, built from the sensors' section of the configuration.
/// Each keeps today's start-up messages; the hot path runs on the sensor's own thread.
extension SensorService {
    /// `sensor:logs`: one `FileTailer` thread per log file.
    static func logs(_ settings: SensorSettings, pipeline: Pipeline, logger: Logger) -> SensorService {
        let priority = settings.priority
        let units = settings.logs.map { source in
            let tailer = FileTailer(path: source.path, fromStart: settings.fromStart, priority: priority, logger: logger)
            return SensorUnit(
                start: { () throws(DaemonError) -> String? in
                    do throws(TailError) {
                        try tailer.start { batch in
                            pipeline.process(lines: batch.bytes, firstLineNumber: batch.firstLineNumber, source: source)
                        }
                    } catch {
                        if settings.logsAreDefaults, case .parentDirectoryMissing = error {
                            logger.warning("not watching \(source.path): its directory does not exist (no such PBX here)")
                            return nil
                        }
                        throw DaemonError("cannot watch \(source.path): \(error)")
                    }
                    logger.info("watching \(source.path)", metadata: ["dialect": "\(source.dialect)"])
                    return "log:\(source.path)"
                }, stop: { tailer.stop() })
        }
        return SensorService(name: "sensor:logs", units: units)
    }

    /// How long the journal reader keeps looking every 2 ms after entries arrived
    /// (`JournalReaderConfiguration.activeWindow`; SIPWARDEN_JOURNAL_ACTIVE_MS=0 turns it off).
    private static var journalActiveWindow: Duration? {
        guard let text = getenv("SIPWARDEN_JOURNAL_ACTIVE_MS").map({ String(cString: $0) }), let ms = Int(text), ms >= 0 else {
            return .seconds(2)
        }
        return ms == 0 ? nil : .milliseconds(ms)
    }

    /// `sensor:journal`: the journal reader's thread; its cursor lives in the state directory.
    static func journal(_ settings: SensorSettings, stateDirectory: String, pipeline: Pipeline, logger: Logger) -> SensorService {
        var units: [SensorUnit] = []
        if let journal = settings.journal {
            let reader = JournalReader(
                configuration: JournalReaderConfiguration(
                    matches: journal.matches, directory: journal.directory, cursorPath: stateDirectory + "/journal.cursor",
                    fromStart: settings.fromStart, maxMessageLength: LogDialects.maximumSIPWardenLineLength + 1,
                    priority: settings.priority, activeWindow: journalActiveWindow),
                logger: logger)
            let sink = JournalSink(settings: journal, pipeline: pipeline, clock: systemClock)
            units.append(
                SensorUnit(
                    start: { () throws(DaemonError) -> String? in
                        do {
                            try reader.start { batch in sink.handle(batch) }
                        } catch {
                            throw DaemonError("cannot read the \(journal.summary): \(error)")
                        }
                        logger.info("reading the \(journal.summary)", metadata: ["dialect": "\(journal.dialect)"])
                        return "journal"
                    }, stop: { reader.stop() }, metrics: { c in c.count(.linesRead, "journal", value: reader.statistics.entries) }))
        }
        return SensorService(name: "sensor:journal", units: units)
    }

    /// `sensor:capture`: one `PacketCapture` thread per interface, each with its own
    /// transaction correlator.
    static func capture(
        _ settings: SensorSettings, ownAddresses: IPNetworkSet, bannedSources: BannedSourceFilter?,
        pipeline: Pipeline, logger: Logger
    ) -> SensorService {
        let units = settings.captures.map { configured in
            var capture = configured
            capture.priority = settings.priority
            let name = capture.interface ?? "any"
            let sink = CorrelatingSink(
                sensor: "capture:\(name)", sipPorts: capture.ports.portNumbers, scannerSignatures: settings.scannerSignatures,
                serverAddresses: ownAddresses, pipeline: pipeline, clock: systemClock)
            let sensor = PacketCapture(configuration: capture, logger: logger, bannedSources: bannedSources)
            let ports = capture.ports
            return SensorUnit(
                start: { () throws(DaemonError) -> String? in
                    do {
                        try sensor.start { output in sink.handle(output) }
                    } catch {
                        throw DaemonError("cannot capture on \(name): \(error)")
                    }
                    logger.info("capturing SIP on \(name)", metadata: ["ports": "\(ports)"])
                    return "capture:\(name)"
                }, stop: { sensor.stop() }, tick: { sink.expire() },
                metrics: { c in
                    let statistics = sensor.statistics
                    c.count(.packetsRead, "capture", value: statistics.received)
                    c.count(.captureDropped, name, value: statistics.kernelDrops)
                })
        }
        return SensorService(name: "sensor:capture", units: units)
    }

    /// `sensor:hep`: the HEP listener's thread. The PBX behind a HEP agent may be another
    /// host: the correlator infers the server.
    static func hep(_ settings: SensorSettings, pipeline: Pipeline, logger: Logger) -> SensorService {
        var units: [SensorUnit] = []
        if let hep = settings.hep {
            let sink = CorrelatingSink(
                sensor: "hep:\(hep.endpoint)", sipPorts: PortSet.sipDefault.portNumbers, scannerSignatures: settings.scannerSignatures,
                serverAddresses: IPNetworkSet(), pipeline: pipeline, clock: systemClock)
            let listener = HEPListener(
                address: hep.endpoint, allowedAgents: hep.agents, authKey: hep.authKey, priority: settings.priority, logger: logger)
            units.append(
                SensorUnit(
                    start: { () throws(DaemonError) -> String? in
                        do {
                            try listener.start { payload in sink.handle(payload) }
                        } catch {
                            throw DaemonError("cannot listen for HEP on \(hep.endpoint): \(error)")
                        }
                        logger.info("listening for HEP on \(hep.endpoint)", metadata: ["agents": "\(hep.agents.networks.map(\.description))"])
                        return "hep:\(hep.endpoint)"
                    }, stop: { listener.stop() }, tick: { sink.expire() },
                    metrics: { c in
                        c.count(.packetsRead, "hep", value: listener.statistics.received)
                    }))
        }
        return SensorService(name: "sensor:hep", units: units)
    }

    /// `sensor:flood-reports`: the flood guard's NFLOG reports, judged as `flood` events
    /// on the listener's thread (only with real nftables bans and a guard that reports).
    /// Not a source of the ready line: a failure to listen is a warning (the guard still
    /// drops what is over the rate; only the ban is missing).
    static func floodReports(_ configuration: Configuration, pipeline: Pipeline, logger: Logger) -> SensorService {
        var units: [SensorUnit] = []
        if configuration.firewall == .nftables, let floodGuard = configuration.floodGuard {
            let listener = Mutex<FloodLogListener?>(nil)
            // The guard in force: a reload that changes its thresholds or ports changes the
            // reason a flood ban states (its report group is restart-only).
            let current = Mutex(floodGuard)
            let priority = configuration.sensorSettings.priority
            units.append(
                SensorUnit(
                    start: { () throws(DaemonError) -> String? in
                        do {
                            let started = try FloodGuardReports.start(
                                floodGuard, pipeline: pipeline, clock: systemClock, priority: priority, logger: logger,
                                current: { current.withLock { $0 } })
                            listener.withLock { $0 = started }
                            if let group = floodGuard.reportGroup { logger.info("flood guard reports on NFLOG group \(group)") }
                        } catch {
                            logger.warning(
                                "flood guard reports unavailable: over-rate sources are dropped but not banned", metadata: ["error": "\(error)"])
                        }
                        return nil
                    }, stop: { listener.withLock { $0 }?.stop() },
                    metrics: { c in
                        if let reports = listener.withLock({ $0 }) { c.count(.floodReports, value: reports.statistics.reported) }
                    },
                    reload: { next in
                        if let guardNow = next.floodGuard { current.withLock { $0 = guardNow } }
                    }))
        }
        return SensorService(name: "sensor:flood-reports", units: units)
    }
}

extension SensorSettings {
    /// The sensor threads' scheduling.
    var priority: SensorPriority { realtimeSensors ? .realtime(10) : .normal }
}
