// SPDX-License-Identifier: GPL-2.0-or-later

public import Logging
import Synchronization
public import Telemetry

/// One sensor on its own dedicated thread(s), as a sensor service starts and stops it.
public struct SensorUnit: Sendable {
    /// Starts the sensor's thread; returns what it watches for the ready line, or nil
    /// when it names no source (nothing to start, or a helper such as the flood reports).
    /// `stop` is called for every unit whose `start` returned.
    public var start: @Sendable () throws(DaemonError) -> String?
    /// Stops the sensor and joins its thread.
    public var stop: @Sendable () -> Void
    /// Periodic work on the sensor's state (a wire sensor's overdue transactions).
    public var tick: (@Sendable () -> Void)?
    /// What the sensor counts, for a metrics scrape (read from its statistics).
    public var metrics: (@Sendable (inout MetricsCollection) -> Void)?
    /// SIGHUP: takes the live settings the sensor owns (`ConfigurationSchema`) from the
    /// reloaded configuration.
    public var reload: (@Sendable (Configuration) -> Void)?

    public init(
        start: @escaping @Sendable () throws(DaemonError) -> String?, stop: @escaping @Sendable () -> Void,
        tick: (@Sendable () -> Void)? = nil, metrics: (@Sendable (inout MetricsCollection) -> Void)? = nil,
        reload: (@Sendable (Configuration) -> Void)? = nil
    ) {
        self.start = start
        self.stop = stop
        self.tick = tick
        self.metrics = metrics
        self.reload = reload
    }
}

/// A sensor service (`sensor:logs`, `sensor:journal`, `sensor:capture`, `sensor:hep`,
/// `sensor:flood-reports`): its `start` starts each sensor's dedicated thread, whose
/// callback runs the hot path (decode → detector → kernel ban) on that thread; its `stop`
/// stops and joins them. Sources are bound at start: every setting of a sensor is
/// restart-only.
public final class SensorService: DaemonService {
    public let name: String
    public let restartOnly: [RestartOnlySetting]
    private let units: [SensorUnit]
    /// The units started so far (stopped in reverse order).
    private let started = Mutex<[Int]>([])
    private let summaryProvider: @Sendable () -> Logger.Metadata

    public init(
        name: String, restartOnly: [RestartOnlySetting]? = nil, units: [SensorUnit],
        summary: @escaping @Sendable () -> Logger.Metadata = { [:] }
    ) {
        self.name = name
        // Sources are bound at start: its settings are restart-only, as declared.
        self.restartOnly = restartOnly ?? ConfigurationSchema.restartOnly(owner: name)
        self.units = units
        summaryProvider = summary
    }

    public func start() throws(DaemonError) -> [String] {
        var watching: [String] = []
        for (index, unit) in units.enumerated() {
            let what = try unit.start()
            started.withLock { $0.append(index) }
            if let what { watching.append(what) }
        }
        return watching
    }

    public func stop() {
        let indices = started.withLock { s in
            defer { s = [] }
            return s
        }
        for index in indices.reversed() { units[index].stop() }
    }

    public func tick() {
        for index in started.withLock({ $0 }) { units[index].tick?() }
    }

    public func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        for index in started.withLock({ $0 }) { units[index].reload?(next) }
    }

    public var summary: Logger.Metadata { summaryProvider() }

    public func collectMetrics(into collection: inout MetricsCollection) {
        for index in started.withLock({ $0 }) { units[index].metrics?(&collection) }
    }
}
