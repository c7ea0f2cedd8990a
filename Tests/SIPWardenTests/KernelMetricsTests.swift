// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Foundation
import Logging
import NetworkAddress
import Telemetry
import TestNamespaces
import Testing
import WardenCore

@testable import SIPWarden

/// The daemon's collector against real nftables: a peer (198.19.254.2) fails five times
/// and is banned in the kernel, then sends datagrams the ban rule drops; the exposition
/// counts the ban, both latencies, the suspect mark and the kernel's drops, read through a
/// second firewall instance (never the ban path's lock), and names no address.
@Suite(
    "Metrics from the real kernel (throwaway netns)", .serialized,
    .enabled(if: ThrowawayNamespace.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct KernelMetricsTests {
    let logger = Logger(label: "test")

    @Test func aKernelBanAndItsDropsReachTheExposition() throws {
        try ThrowawayNamespace.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "m", local: ["198.19.254.1/30"], peer: ["198.19.254.2/30"])
        defer { peer.cleanup() }
        let configuration = NFTablesConfiguration(
            tableName: "swt_metrics_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))",
            floodGuard: FloodGuard(packetsPerSecond: 50, burst: 10, ports: [PortMatch(5076)], reportGroup: nil))
        let firewall = try NFTablesFirewall(configuration: configuration)
        try firewall.setUp()
        defer { try? firewall.tearDown() }

        let metrics = WardenMetrics()
        let clock: TimeSource = { Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1e6)) }
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: logger, clock: clock, metrics: metrics)
        DaemonMetricsSources(
            pipeline: pipeline, firewall: firewall, counterReader: try NFTablesFirewall(configuration: configuration), clock: clock
        ).register(in: metrics)

        let line =
            "2(123) NOTICE: <script>: SIPWARDEN event=auth_failed ts=1764072000.000001 src=198.19.254.2 sport=5060 proto=udp method=REGISTER user=\"100\" ua=\"x\""
        var text = Array(repeating: line, count: 5).joined(separator: "\n") + "\n"
        text.withUTF8 { pipeline.process(lines: $0, firstLineNumber: 1, source: LogSource(path: "/k.log", dialect: .only(.kamailio))) }
        #expect(try firewall.list().map(\.network) == [IPNetwork("198.19.254.2")!])

        let sent = 40
        let script = "for i in $(seq \(sent)); do echo x > /dev/udp/198.19.254.1/5076; done"
        let result = try ThrowawayNamespace.run(["ip", "netns", "exec", peer.namespace, "bash", "-c", script], timeout: .seconds(30))
        try #require(result.status == 0, "send failed: \(result.output)")

        let exposition = metrics.exposition()
        func sample(_ series: String) -> Double? {
            exposition.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
        }
        #expect(sample(#"sipwarden_bans_total{rule="failures",origin="detector"}"#) == 1)
        #expect(sample("sipwarden_ban_latency_seconds_count") == 1)
        #expect(sample("sipwarden_kernel_ban_duration_seconds_count") == 1)
        #expect(sample(#"sipwarden_kernel_failures_total{operation="ban"}"#) == 0)
        #expect(sample(#"sipwarden_kernel_failures_total{operation="suspect"}"#) == 0)
        #expect(sample("sipwarden_suspects_marked_total") == 1, "marked at its first failure, not again while recent")
        let dropped = try #require(sample(#"sipwarden_banned_dropped_packets_total{family="ipv4"}"#))
        #expect(dropped >= Double(sent))
        #expect(sample(#"sipwarden_banned_dropped_packets_total{family="ipv6"}"#) == 0)
        #expect(sample("sipwarden_flood_guard_dropped_packets_total") == 0, "banned traffic never reaches the guard")
        #expect(!exposition.contains("198.19"))
    }
}
