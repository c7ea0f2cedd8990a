// SPDX-License-Identifier: GPL-2.0-or-later
import Detection
import Evidence
import Firewall
import Foundation
import Logging
import NetworkAddress
import SIPWarden
import Sensors
import TestNamespaces
import Testing

/// The whole flood path in the kernel: a peer namespace (198.19.253.2) floods UDP 5062;
/// the guard's meter drops what is over the rate and reports the peer once to NFLOG;
/// the listener hands it to the pipeline, which bans the peer in the real ban set.
@Suite("Flood guard reports → ban (real nftables and NFLOG, throwaway netns)", .serialized,
       .enabled(if: ThrowawayNamespace.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct FloodGuardReportsTests {
    let logger = Logger(label: "test")

    /// Each test meters its own port: every guard table hooks the whole namespace, and
    /// other suites (FirewallTests' guard tests) run at the same time.
    private func blast(from namespace: String, count: Int, to target: String = "198.19.253.1", port: UInt16) throws {
        let script = "for i in $(seq \(count)); do echo x > /dev/udp/\(target)/\(port); done"
        let result = try ThrowawayNamespace.run(["ip", "netns", "exec", namespace, "bash", "-c", script], timeout: .seconds(30))
        try #require(result.status == 0, "send failed: \(result.output)")
    }

    @Test func aFlooderIsReportedOnceAndBanned() throws {
        try ThrowawayNamespace.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "r", local: ["198.19.253.1/30"], peer: ["198.19.253.2/30"])
        defer { peer.cleanup() }
        let group = UInt16.random(in: 32_000...40_000)
        let floodGuard = FloodGuard(packetsPerSecond: 50, burst: 10, ports: [PortMatch(5072)], reportGroup: group, banPacketsPerSecond: 100, banBurst: 50)
        let table = "swt_reports_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let firewall = try NFTablesFirewall(configuration: .init(tableName: table, floodGuard: floodGuard))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, ledger: nil, logger: logger, clock: { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) })
        let listener = try #require(try FloodGuardReports.start(floodGuard, pipeline: pipeline, clock: { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }, priority: .normal, logger: logger))
        defer { listener.stop() }

        try blast(from: peer.namespace, count: 300, port: 5072)
        let flooder = IPNetwork("198.19.253.2")!
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline, try !firewall.list().contains(where: { $0.network == flooder }) {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(try firewall.list().map(\.network) == [flooder], "the flooder is banned")
        #expect(pipeline.statistics.pipeline.bans == 1)
        #expect(listener.statistics.reported == 1, "one report per source per 60 s, however long the flood")
        #expect(try firewall.dropCounters().floodPackets > 0)

        // Banned now: the ban chain drops it before the meter, so the guard counts no more.
        let floodDropped = try firewall.dropCounters().floodPackets
        let banDropped = try firewall.dropCounters().packetsV4
        try blast(from: peer.namespace, count: 50, port: 5072)
        #expect(try firewall.dropCounters().floodPackets == floodDropped)
        #expect(try firewall.dropCounters().packetsV4 >= banDropped + 50)
        #expect(listener.statistics.reported == 1)
    }

    @Test func anIPv6FlooderIsReportedAndBanned() throws {
        try ThrowawayNamespace.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "s", local: ["2001:2:0:253::1/64"], peer: ["2001:2:0:253::2/64"])
        defer { peer.cleanup() }
        let group = UInt16.random(in: 40_001...48_000)
        let floodGuard = FloodGuard(packetsPerSecond: 50, burst: 10, ports: [PortMatch(5073)], reportGroup: group, banPacketsPerSecond: 100, banBurst: 50)
        let table = "swt_reports6_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let firewall = try NFTablesFirewall(configuration: .init(tableName: table, floodGuard: floodGuard))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let clock: Clock = { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, ledger: nil, logger: logger, clock: clock)
        let listener = try #require(try FloodGuardReports.start(floodGuard, pipeline: pipeline, clock: clock, priority: .normal, logger: logger))
        defer { listener.stop() }

        try blast(from: peer.namespace, count: 300, to: "2001:2:0:253::1", port: 5073)
        let flooder = IPNetwork("2001:2:0:253::2")!
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline, try !firewall.list().contains(where: { $0.network == flooder }) {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(try firewall.list().map(\.network) == [flooder], "the IPv6 flooder is banned (a /128, the detector's default granularity)")
        #expect(listener.statistics.reported == 1)
        let counters = try firewall.dropCounters()
        #expect(counters.floodPackets > 0 && counters.packetsV6 > 0, "the v6 meter dropped the excess, then the v6 ban")
    }

    @Test func aStormBelowTheBanThresholdIsDroppedButNeverBanned() throws {
        try ThrowawayNamespace.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "t", local: ["198.19.253.5/30"], peer: ["198.19.253.6/30"])
        defer { peer.cleanup() }
        let group = UInt16.random(in: 48_001...56_000)
        // 150 packets at once: over the ceiling (burst 10), under the ban burst (400).
        let floodGuard = FloodGuard(packetsPerSecond: 50, burst: 10, ports: [PortMatch(5074)], reportGroup: group, banPacketsPerSecond: 100, banBurst: 400)
        let table = "swt_storm_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let firewall = try NFTablesFirewall(configuration: .init(tableName: table, floodGuard: floodGuard))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let clock: Clock = { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, ledger: nil, logger: logger, clock: clock)
        let listener = try #require(try FloodGuardReports.start(floodGuard, pipeline: pipeline, clock: clock, priority: .normal, logger: logger))
        defer { listener.stop() }
        try blast(from: peer.namespace, count: 150, to: "198.19.253.5", port: 5074)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try firewall.dropCounters().floodPackets > 0, "the ceiling dropped part of the storm")
        #expect(listener.statistics.received == 0, "nothing reported")
        #expect(try firewall.list().isEmpty, "nobody banned")
    }

    @Test func theEventCarriesOnlyThePacketSource() {
        let report = FloodReport(source: IPAddress("198.19.253.2")!, prefix: "sipwarden-flood")
        let event = FloodGuardReports.event(for: report, guard: .standard, at: Timestamp(seconds: 1))
        #expect(event.kind == .flood)
        #expect(event.source == IPAddress("198.19.253.2"))
        #expect(event.origin == .wire(sensor: "flood-guard"))
        #expect(event.reason == "over 1000 packets/s (burst 20) to UDP 5060")
    }
}
