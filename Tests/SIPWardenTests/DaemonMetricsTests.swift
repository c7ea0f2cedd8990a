// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Foundation
import Logging
import NetworkAddress
import Storage
import Telemetry
import Testing
import WardenCore

@testable import SIPWarden

/// The value of `name{labels}` in a text exposition (labels in the order the daemon writes them).
private func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

@Suite struct DaemonMetricsTests {
    let logger = Logger(label: "test")

    private func kamailio(_ ip: String, _ kind: String) -> String {
        "2(123) NOTICE: <script>: SIPWARDEN event=\(kind) ts=1764072000.000001 src=\(ip) sport=5060 proto=udp method=REGISTER user=\"100\" ua=\"sipvicious 198.18.7.7\""
    }

    private func event(_ source: String, _ kind: EventKind, origin: EventOrigin, clock: ManualClock) -> SecurityEvent {
        SecurityEvent(
            time: clock.clock(), source: IPAddress(source)!, sourcePort: 5060, transport: .udp, kind: kind,
            user: "100", reason: "test", dialect: .sip, origin: origin)
    }

    @Test func theExpositionCountsWhatThePipelineSawByKindAndNeverNamesAnAddress() throws {
        let clock = ManualClock()
        let ledger = try Ledger(inMemory: ())
        let writer = try LedgeredConsumers(ledger: ledger, logger: logger)
        defer { writer.stop() }
        let metrics = WardenMetrics()
        let pipeline = Pipeline(
            policy: DetectionPolicy(), firewall: DryRunFirewall(logger: logger), fanOut: writer.consumers.fanOut, logger: logger,
            clock: clock.clock, metrics: metrics)
        DaemonMetricsSources(pipeline: pipeline, ledger: ledger, clock: clock.clock).register(in: metrics)

        // 5 failures (a ban), one unknown user, one unmatched failure, one unrelated line.
        var lines = (0..<5).map { _ in kamailio("198.18.0.2", "auth_failed") } + [kamailio("198.18.0.3", "unknown_user")]
        lines += ["0(1) ERROR: <script>: auth rejected for 198.18.0.5:5060 (wrong password)", "unrelated"]
        var text = lines.joined(separator: "\n") + "\n"
        text.withUTF8 {
            pipeline.process(lines: $0, firstLineNumber: 1, source: LogSource(path: "/var/log/198.18.0.9.log", dialect: .only(.kamailio)))
        }
        // Wire and journal sensors, named as the daemon names them (a listener address included).
        pipeline.judge([event("2001:2::9", .scanner, origin: .wire(sensor: "capture:eth0"), clock: clock)], received: clock.clock())
        pipeline.judge(
            [
                event("198.18.1.2", .malformed, origin: .wire(sensor: "hep:198.18.1.1:9060"), clock: clock),
                event("198.18.1.3", .malformed, origin: .wire(sensor: "hep:198.18.1.1:9060"), clock: clock),
            ], received: clock.clock())
        pipeline.judge(
            [event("198.18.2.2", .authFailed, origin: .logLine(file: "journal:kamailio.service", line: 0), clock: clock)], received: clock.clock())
        pipeline.judge([event("198.18.3.3", .flood, origin: .wire(sensor: "flood-guard"), clock: clock)], received: clock.clock())
        writer.flush()

        let exposition = metrics.exposition()
        #expect(sample(exposition, #"sipwarden_lines_read_total{source="file"}"#) == 8)
        #expect(sample(exposition, #"sipwarden_events_decoded_total{source="file",kind="auth_failed"}"#) == 5)
        #expect(sample(exposition, #"sipwarden_events_decoded_total{source="file",kind="unknown_user"}"#) == 1)
        #expect(sample(exposition, #"sipwarden_events_decoded_total{source="capture",kind="scanner"}"#) == 1)
        #expect(sample(exposition, #"sipwarden_events_decoded_total{source="hep",kind="malformed"}"#) == 2)
        #expect(sample(exposition, #"sipwarden_events_decoded_total{source="journal",kind="auth_failed"}"#) == 1)
        #expect(sample(exposition, #"sipwarden_events_decoded_total{source="flood_guard",kind="flood"}"#) == 1)
        #expect(sample(exposition, #"sipwarden_events_decoded_total{source="inline",kind="auth_failed"}"#) == 0)
        #expect(sample(exposition, #"sipwarden_unmatched_lines_total{source="file"}"#) == 1)
        // Scanner and flood ban at their first event (their kinds' default max-retry is 1):
        // three bans, each under its rule.
        #expect(sample(exposition, #"sipwarden_bans_total{rule="failures",origin="detector"}"#) == 1)
        #expect(sample(exposition, #"sipwarden_bans_total{rule="scanner",origin="detector"}"#) == 1)
        #expect(sample(exposition, #"sipwarden_bans_total{rule="flood",origin="detector"}"#) == 1)
        #expect(sample(exposition, #"sipwarden_bans_total{rule="enumeration",origin="detector"}"#) == 0)
        #expect(sample(exposition, "sipwarden_ban_latency_seconds_count") == 3)
        #expect(sample(exposition, "sipwarden_kernel_ban_duration_seconds_count") == 3)
        #expect(sample(exposition, #"sipwarden_kernel_failures_total{operation="ban"}"#) == 0)
        #expect(sample(exposition, "sipwarden_active_bans") == 3)
        let tracked = try #require(sample(exposition, #"sipwarden_tracked_sources{component="detector"}"#))
        #expect(tracked == Double(pipeline.statistics.detector.trackedSources) && tracked >= 7)

        // No address anywhere: not the attackers', not the decoys in attacker text, not the
        // file's or the listener's.
        let dottedQuad = try Regex(#"\d+\.\d+\.\d+\.\d+"#)
        #expect(exposition.firstMatch(of: dottedQuad) == nil)
        #expect(!exposition.contains("2001:2"))
        #expect(!exposition.contains("198.18"))
    }

    @Test func sourceKindsFollowTheDaemonsSensorNames() {
        #expect(EventSourceKind(origin: .logLine(file: "/var/log/asterisk/messages", line: 3)) == .file)
        #expect(EventSourceKind(origin: .logLine(file: "journal:asterisk.service", line: 0)) == .journal)
        #expect(EventSourceKind(origin: .frame(file: "a.pcap", number: 1)) == .capture)
        #expect(EventSourceKind(origin: .wire(sensor: "capture:any")) == .capture)
        #expect(EventSourceKind(origin: .wire(sensor: "hep:[::1]:9060")) == .hep)
        #expect(EventSourceKind(origin: .wire(sensor: "flood-guard")) == .floodGuard)
        #expect(EventSourceKind(origin: .wire(sensor: "inline")) == .inline)
    }
}
