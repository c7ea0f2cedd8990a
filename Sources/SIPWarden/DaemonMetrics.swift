// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Storage
import Telemetry
import WardenCore

/// What the daemon's metrics read at scrape time: the counters the pipeline, the sensors,
/// the kernel and the ledger already keep (nothing is counted twice on the hot path).
///
/// Every read is of a snapshot under the owner's own short lock; none takes the ban path's
/// firewall lock: the kernel's drop counters are read through a firewall instance of the
/// collector's own (`counterReader`), with its own libnftables context.
struct DaemonMetricsSources: Sendable {
    var pipeline: Pipeline
    /// The running services: each adds what its sensors count (``DaemonService/collectMetrics(into:)``).
    var services: [any DaemonService] = []
    /// The ban path's firewall, for its suspect counters (their own lock, not the ban lock).
    var firewall: (any Firewall)?
    /// A second firewall on the same table, only for reading drop counters.
    var counterReader: (any Firewall)?
    var ledger: Ledger?
    /// "Now" for the ledger's count of bans in force.
    var clock: TimeSource = systemClock

    /// Registers the detector's ban series at zero, then this collector.
    func register(in metrics: WardenMetrics) {
        let rules: [BanRule] = [.failures, .enumeration] + EventKind.allCases.map { .kind($0) }
        for rule in rules { metrics.prepareBans(rule: rule.description, origin: "detector") }
        metrics.addCollector { collection in collect(into: &collection) }
    }

    /// Reads every source's counters into `collection`.
    func collect(into c: inout MetricsCollection) {
        let (counters, detector) = pipeline.statistics
        c.count(.linesRead, "file", value: counters.lines)
        for source in EventSourceKind.allCases {
            for kind in EventKind.allCases {
                c.count(.eventsDecoded, source.description, kind.rawValue, value: counters.eventsBySource[source, kind])
            }
        }
        for (file, unmatched) in pipeline.unmatchedLines {
            c.count(.unmatchedLines, file.hasPrefix("journal:") ? "journal" : "file", value: unmatched.count)
        }
        c.count(.kernelFailures, "ban", value: counters.banFailures)
        c.gauge(.trackedSources, "detector", value: Double(detector.trackedSources))

        for service in services { service.collectMetrics(into: &c) }
        if let suspects = (firewall as? NFTablesFirewall)?.suspectCounters {
            c.count(.suspectsMarked, value: suspects.marked)
            c.count(.kernelFailures, "suspect", value: suspects.failed)
        }
        if let drops = try? counterReader?.dropCounters() {
            c.count(.bannedDropped, "ipv4", value: drops.packetsV4)
            c.count(.bannedDropped, "ipv6", value: drops.packetsV6)
            c.count(.floodGuardDropped, value: drops.floodPackets)
        }
        if let active = try? ledger?.statistics(at: clock()).activeBans {
            c.gauge(.activeBans, value: Double(active))
        }
    }
}
