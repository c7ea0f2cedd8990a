// SPDX-License-Identifier: GPL-2.0-or-later

import Prometheus

/// One Prometheus metric family sipwarden exposes: its name, type, help text and the
/// names of its labels.
///
/// Every family is declared once here (``MetricFamily/all``), so the exposition, the
/// documentation (docs/METRICS.md) and the Grafana dashboard's test agree on the names, and
/// one name can never be registered twice with different help or type (the registry would
/// stop the process). Label *values* come only from small closed sets (a source kind, an
/// event kind, a rule, an origin, a consumer or interface name from the configuration):
/// never an address.
public struct MetricFamily: Hashable, Sendable {
    /// The Prometheus type of a family.
    public enum Kind: String, Hashable, Sendable {
        case counter, gauge, histogram
    }

    /// The full metric name (`sipwarden_…`, unit and `_total` suffixes included).
    public let name: String
    /// Counter, gauge or histogram.
    public let kind: Kind
    /// The `# HELP` text.
    public let help: String
    /// The label names, in order; a sample gives its values in the same order.
    public let labelNames: [String]

    init(_ name: String, _ kind: Kind, _ help: String, labels: [String] = []) {
        self.name = name
        self.kind = kind
        self.help = help
        labelNames = labels
    }
}

extension MetricFamily {
    // MARK: Input (read at scrape time from the sensors' and the pipeline's own counters)

    /// Log lines read: `source` is `file` (lines of tailed files) or `journal` (journal entries).
    public static let linesRead = MetricFamily(
        "sipwarden_lines_read_total", .counter, "Log lines read, by source kind (journal: entries).", labels: ["source"])
    /// Packets read by the wire sensors: `source` is `capture`, `hep` or `inline`.
    public static let packetsRead = MetricFamily(
        "sipwarden_packets_read_total", .counter, "Packets read by the wire sensors, by source kind.", labels: ["source"])
    /// Security events decoded, by source kind and event kind.
    public static let eventsDecoded = MetricFamily(
        "sipwarden_events_decoded_total", .counter, "Security events decoded, by source kind and event kind.",
        labels: ["source", "kind"])
    /// Lines that looked like a security failure but matched no known form.
    public static let unmatchedLines = MetricFamily(
        "sipwarden_unmatched_lines_total", .counter,
        "Lines that looked like a security failure but matched no known form, by source kind.", labels: ["source"])
    /// Packets the kernel dropped because a capture socket's ring was full.
    public static let captureDropped = MetricFamily(
        "sipwarden_capture_dropped_packets_total", .counter,
        "Packets the kernel dropped because a capture socket's buffer was full (capture loss), by interface.",
        labels: ["interface"])
    /// NFQUEUE receive overruns (ENOBUFS): packets the inline queue never saw.
    public static let inlineOverruns = MetricFamily(
        "sipwarden_inline_receive_overruns_total", .counter,
        "Times the inline queue's socket buffer overflowed (packets it never saw).")
    /// Packets the inline admission dropped.
    public static let inlineDropped = MetricFamily(
        "sipwarden_inline_dropped_packets_total", .counter, "Packets inline admission dropped (verdict NF_DROP).")

    // MARK: Bans

    /// Verdicts enforced (or attempted), by rule and origin. Recorded on the ban path.
    public static let bans = MetricFamily(
        "sipwarden_bans_total", .counter, "Bans made, by rule and origin (counted whether or not the kernel applied them).",
        labels: ["rule", "origin"])
    /// Kernel (firewall) calls that failed: `operation` is `ban` or `suspect`.
    public static let kernelFailures = MetricFamily(
        "sipwarden_kernel_failures_total", .counter, "Firewall calls the kernel refused or that could not be sent, by operation.",
        labels: ["operation"])
    /// End-to-end time from line read (or packet seen) to the kernel ban.
    public static let banLatency = MetricFamily(
        "sipwarden_ban_latency_seconds", .histogram,
        "Time from the line read (or packet seen) to the end of the kernel ban, for bans the kernel applied.")
    /// The kernel call alone.
    public static let kernelBanDuration = MetricFamily(
        "sipwarden_kernel_ban_duration_seconds", .histogram, "Duration of the kernel ban call alone (applied or not).")

    // MARK: Kernel filters

    /// Packets over the flood guard's rate, dropped by it.
    public static let floodGuardDropped = MetricFamily(
        "sipwarden_flood_guard_dropped_packets_total", .counter, "Packets over the flood guard's rate, dropped in the kernel.")
    /// Packets dropped by the ban rules, by address family.
    public static let bannedDropped = MetricFamily(
        "sipwarden_banned_dropped_packets_total", .counter, "Packets from banned sources dropped by the ban rules, by address family.",
        labels: ["family"])
    /// Flood reports (NFLOG) the kernel sent and the daemon judged.
    public static let floodReports = MetricFamily(
        "sipwarden_flood_reports_total", .counter, "Flood guard reports (NFLOG) received and judged as flood events.")
    /// Sources marked as suspects for the flood guard.
    public static let suspectsMarked = MetricFamily(
        "sipwarden_suspects_marked_total", .counter, "Sources added to the flood guard's suspect sets.")

    // MARK: State

    /// Sources the detector (or inline admission) tracks now.
    public static let trackedSources = MetricFamily(
        "sipwarden_tracked_sources", .gauge, "Sources tracked now, by component (detector, inline).", labels: ["component"])
    /// Bans in force now (the ledger's count).
    public static let activeBans = MetricFamily(
        "sipwarden_active_bans", .gauge, "Bans in force now, as recorded in the ledger.")
    /// Messages waiting in a consumer's queue (verdict fan-out).
    public static let consumerQueueDepth = MetricFamily(
        "sipwarden_consumer_queue_depth", .gauge, "Messages waiting in a ban consumer's queue.", labels: ["consumer"])
    /// Messages a full consumer queue dropped (the consumer catches up from the ledger).
    public static let consumerQueueDropped = MetricFamily(
        "sipwarden_consumer_queue_dropped_total", .counter,
        "Messages dropped because a ban consumer's queue was full.", labels: ["consumer"])

    /// Every family sipwarden exposes.
    public static let all: [MetricFamily] = [
        linesRead, packetsRead, eventsDecoded, unmatchedLines, captureDropped, inlineOverruns, inlineDropped,
        bans, kernelFailures, banLatency, kernelBanDuration,
        floodGuardDropped, bannedDropped, floodReports, suspectsMarked,
        trackedSources, activeBans, consumerQueueDepth, consumerQueueDropped,
    ]

    /// The names a PromQL expression may use for this family (a histogram's series are
    /// `_bucket`, `_sum` and `_count`).
    public var seriesNames: [String] {
        kind == .histogram ? [name + "_bucket", name + "_sum", name + "_count"] : [name]
    }
}

extension MetricFamily {
    /// The registry's descriptor: the full name as one component, and the help text.
    var descriptor: MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
