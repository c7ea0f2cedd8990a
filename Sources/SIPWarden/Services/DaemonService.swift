// SPDX-License-Identifier: GPL-2.0-or-later

public import Logging
public import Telemetry

/// One part of the daemon, run by its `ServiceGroup` (see docs/SERVICES.md).
///
/// A service owns its configuration section (carved out of `Configuration`, validated
/// once when the configuration is loaded), a start, a graceful stop and a declared reload
/// rule. The group starts the services one after the other in the daemon's order (each
/// start waits for the previous one: the ledger is open and the kernel reconciled before
/// any sensor reads) and stops them in reverse order.
///
/// Sensors keep their dedicated threads: `start` creates them and the hot path runs on
/// them without any hop through Swift concurrency; `stop` ends and joins them.
public protocol DaemonService: Sendable {
    /// Its name in the log and in docs/SERVICES.md (`ledger`, `enforcer`, `sensor:logs` …).
    var name: String { get }

    /// Starts the service's work. Returns what it now watches, for the `sipwarden ready`
    /// line (`log:/var/log/asterisk/messages`, `capture:any` …), or nothing.
    func start() throws(DaemonError) -> [String]

    /// Stops the service and waits for its threads: when it returns, nothing of the service
    /// runs and what it must keep is on disk. Called once, also when `start` threw (it
    /// then undoes what was started) or when another service failed to start.
    func stop()

    /// Settings that only a restart can change: a SIGHUP that changes one names it in the
    /// log and keeps the running value.
    var restartOnly: [RestartOnlySetting] { get }

    /// SIGHUP, first phase, without side effects: refuses a configuration the service
    /// could not apply. One refusal leaves the whole running configuration in force.
    func checkReload(_ next: Configuration) -> ReloadRefusal?

    /// SIGHUP, second phase: applies `next` live. Services apply in the daemon's order; a
    /// failure here (only a kernel change can fail) stops the reload before any later
    /// service changed anything.
    func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal)

    /// Periodic work: every 10 s and at SIGUSR1 (`sipwarden bans add|remove`).
    func tick()

    /// What the `stopped` line reports for this service.
    var summary: Logger.Metadata { get }

    /// Adds what the service counts to a metrics scrape (read from counters it already
    /// keeps, under their own short locks; never a per-address label).
    func collectMetrics(into collection: inout MetricsCollection)
}

extension DaemonService {
    public func start() throws(DaemonError) -> [String] { [] }
    public func stop() {}
    public var restartOnly: [RestartOnlySetting] { [] }
    public func checkReload(_ next: Configuration) -> ReloadRefusal? { nil }
    public func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {}
    public func tick() {}
    public var summary: Logger.Metadata { [:] }
    public func collectMetrics(into collection: inout MetricsCollection) {}
}

/// A setting that applies only after a restart, named as in the configuration file.
public struct RestartOnlySetting: Sendable {
    /// The setting's key (`logs`, `nftables.table`, `flood-guard.report-group` …).
    public let name: String
    private let keep: @Sendable (_ next: inout Configuration, _ running: Configuration) -> Bool

    /// A setting compared as a whole.
    public init<Value: Equatable & Sendable>(_ name: String, _ path: any WritableKeyPath<Configuration, Value> & Sendable) {
        self.name = name
        keep = { next, running in
            let changed = next[keyPath: path] != running[keyPath: path]
            next[keyPath: path] = running[keyPath: path]
            return changed
        }
    }

    /// A setting with its own comparison: `keep` sets the running value back into `next`
    /// and tells whether it had changed.
    public init(_ name: String, keep: @escaping @Sendable (_ next: inout Configuration, _ running: Configuration) -> Bool) {
        self.name = name
        self.keep = keep
    }

    /// Puts the running value back into `next`; true when `next` had changed it.
    func keepRunning(in next: inout Configuration, running: Configuration) -> Bool {
        keep(&next, running)
    }
}

/// Why a service cannot take a reloaded configuration; the whole reload is refused.
public struct ReloadRefusal: Error, Sendable, Equatable {
    /// What is logged after `SIGHUP: `.
    public var message: String
    /// The underlying problem.
    public var error: String

    public init(_ message: String, error: String) {
        self.message = message
        self.error = error
    }
}
