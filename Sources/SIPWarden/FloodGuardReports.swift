// SPDX-License-Identifier: GPL-2.0-or-later

public import Firewall
public import Logging
public import Sensors
public import WardenCore

/// Turns the flood guard's kernel reports (NFLOG, see `FloodGuard.reportGroup`) into
/// `flood` events for the detector.
public enum FloodGuardReports {
    /// The event for one report: the packet's IP source, never anything it carried; the
    /// reason states the threshold the kernel reported it for (`FloodGuard.reportReason`).
    public static func event(for report: FloodReport, guard floodGuard: FloodGuard, at now: Timestamp) -> SecurityEvent {
        SecurityEvent(
            time: now, source: report.source, transport: .udp, kind: .flood,
            reason: floodGuard.reportReason,
            dialect: .sip, origin: .wire(sensor: "flood-guard"))
    }

    /// Starts a listener on the guard's report group whose reports the pipeline judges
    /// on the listener's own thread; nil when the guard reports nothing. `current`, when
    /// given, is the guard in force now (after a reload), whose thresholds the ban's reason states.
    public static func start(
        _ floodGuard: FloodGuard, pipeline: Pipeline, clock: @escaping TimeSource, priority: SensorPriority, logger: Logger,
        current: (@Sendable () -> FloodGuard)? = nil
    ) throws(FloodLogError) -> FloodLogListener? {
        guard let group = floodGuard.reportGroup else { return nil }
        let listener = FloodLogListener(group: group, priority: priority, logger: logger)
        try listener.start { report in
            let now = clock()
            pipeline.judge([event(for: report, guard: current?() ?? floodGuard, at: now)], received: now)
        }
        return listener
    }
}
