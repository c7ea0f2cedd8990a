// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Foundation
import Logging
import NetworkAddress
import SIPWarden
import Sensors
import TestNamespaces
import Testing
import WardenCore

/// The whole flood path in the kernel: a peer namespace (198.19.253.2) that failed once
/// (a suspect) floods UDP; the guard's meter drops what is over the rate and reports the
/// peer once to NFLOG; the listener hands it to the pipeline, which bans the peer in the
/// real ban set. A source that never failed is never reported, however fast.
@Suite(
    "Flood guard reports → ban (real nftables and NFLOG, throwaway netns)", .serialized,
    .enabled(if: ThrowawayNamespace.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct FloodGuardReportsTests {
    let logger = Logger(label: "test")

    /// One wired peer, a guard table metering `port` only (every guard table hooks the
    /// whole namespace and other suites run at the same time, so each test owns a port),
    /// a pipeline banning through it, and the NFLOG listener feeding that pipeline.
    private final class Rig {
        let peer: ThrowawayNamespace.Peer
        let firewall: NFTablesFirewall
        let pipeline: Pipeline
        let listener: FloodLogListener
        let port: UInt16

        init(
            tag: String, local: String, peer peerAddress: String, port: UInt16, groups: ClosedRange<UInt16>, banBurst: Int, suspect: Bool = true,
            logger: Logger
        ) throws {
            try ThrowawayNamespace.check()
            peer = try ThrowawayNamespace.wirePeer(tag: tag, local: [local], peer: [peerAddress])
            self.port = port
            let floodGuard = FloodGuard(
                packetsPerSecond: 50, burst: 10, ports: [PortMatch(port)], reportGroup: .random(in: groups),
                banPacketsPerSecond: 100, banBurst: banBurst)
            let table = "swt_reports_\(tag)_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
            do {
                firewall = try NFTablesFirewall(configuration: .init(tableName: table, floodGuard: floodGuard))
                try firewall.setUp()
                // As the pipeline does at a source's first failure.
                if suspect, let source = IPAddress(String(peerAddress.prefix { $0 != "/" })) { firewall.markSuspect(source) }
            } catch {
                peer.cleanup()
                throw error
            }
            let clock: TimeSource = { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
            pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: logger, clock: clock)
            do {
                listener = try #require(try FloodGuardReports.start(floodGuard, pipeline: pipeline, clock: clock, priority: .normal, logger: logger))
            } catch {
                try? firewall.tearDown()
                peer.cleanup()
                throw error
            }
        }

        func close() {
            listener.stop()
            try? firewall.tearDown()
            peer.cleanup()
        }

        /// `count` datagrams from the peer to `target`, as fast as bash goes.
        func blast(count: Int, to target: String) throws {
            let script = "for i in $(seq \(count)); do echo x > /dev/udp/\(target)/\(port); done"
            let result = try ThrowawayNamespace.run(["ip", "netns", "exec", peer.namespace, "bash", "-c", script], timeout: .seconds(30))
            try #require(result.status == 0, "send failed: \(result.output)")
        }

        /// Waits at most 3 s for `network` to be in the ban sets.
        func waitForBan(of network: IPNetwork) throws {
            let deadline = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < deadline, try !firewall.list().contains(where: { $0.network == network }) {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }

    @Test func aFlooderIsReportedOnceAndBanned() throws {
        let rig = try Rig(
            tag: "r", local: "198.19.253.1/30", peer: "198.19.253.2/30", port: 5072, groups: 32_000...40_000, banBurst: 50, logger: logger)
        defer { rig.close() }
        let firewall = rig.firewall
        let listener = rig.listener

        try rig.blast(count: 300, to: "198.19.253.1")
        let flooder = IPNetwork("198.19.253.2")!
        try rig.waitForBan(of: flooder)
        #expect(try firewall.list().map(\.network) == [flooder], "the flooder is banned")
        #expect(rig.pipeline.statistics.pipeline.bans == 1)
        #expect(listener.statistics.reported == 1, "one report per source per 60 s, however long the flood")
        #expect(try firewall.dropCounters().floodPackets > 0)

        // Banned now: the ban chain drops it before the meter, so the guard counts no more.
        let floodDropped = try firewall.dropCounters().floodPackets
        let banDropped = try firewall.dropCounters().packetsV4
        try rig.blast(count: 50, to: "198.19.253.1")
        #expect(try firewall.dropCounters().floodPackets == floodDropped)
        #expect(try firewall.dropCounters().packetsV4 >= banDropped + 50)
        #expect(listener.statistics.reported == 1)
    }

    @Test func anIPv6FlooderIsReportedAndBanned() throws {
        let rig = try Rig(
            tag: "s", local: "2001:2:0:253::1/64", peer: "2001:2:0:253::2/64", port: 5073, groups: 40_001...48_000, banBurst: 50, logger: logger)
        defer { rig.close() }

        try rig.blast(count: 300, to: "2001:2:0:253::1")
        let flooder = IPNetwork("2001:2:0:253::2")!
        try rig.waitForBan(of: flooder)
        #expect(try rig.firewall.list().map(\.network) == [flooder], "the IPv6 flooder is banned (a /128, the detector's default granularity)")
        #expect(rig.listener.statistics.reported == 1)
        #expect(try rig.firewall.dropCounters().floodPackets > 0, "the v6 meter dropped the excess")
        // Banned now (the first blast may have ended before the ban was in place on a busy
        // machine): the v6 ban drops what comes next.
        let banDropped = try rig.firewall.dropCounters().packetsV6
        try rig.blast(count: 50, to: "2001:2:0:253::1")
        #expect(try rig.firewall.dropCounters().packetsV6 >= banDropped + 50, "the v6 ban drops the flooder's next packets")
    }

    @Test func aStormBelowTheBanThresholdIsDroppedButNeverBanned() throws {
        // 150 packets at once: over the ceiling (burst 10), under the ban burst (400).
        let rig = try Rig(
            tag: "t", local: "198.19.253.5/30", peer: "198.19.253.6/30", port: 5074, groups: 48_001...56_000, banBurst: 400, logger: logger)
        defer { rig.close() }
        try rig.blast(count: 150, to: "198.19.253.5")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try rig.firewall.dropCounters().floodPackets > 0, "the ceiling dropped part of the storm")
        #expect(rig.listener.statistics.received == 0, "nothing reported")
        #expect(try rig.firewall.list().isEmpty, "nobody banned")
    }

    @Test func aSourceThatNeverFailedIsNeverReportedNorDroppedOverItsSockets() throws {
        // 300 packets at once, each from its own socket (a storm behind one NAT): twice the
        // ban burst, but the source never failed.
        let rig = try Rig(
            tag: "v", local: "198.19.253.9/30", peer: "198.19.253.10/30", port: 5075, groups: 56_001...64_000, banBurst: 150, suspect: false,
            logger: logger)
        defer { rig.close() }
        try rig.blast(count: 300, to: "198.19.253.9")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(rig.listener.statistics.received == 0, "nothing reported")
        #expect(try rig.firewall.dropCounters().floodPackets == 0, "nothing dropped")
        #expect(try rig.firewall.list().isEmpty, "nobody banned")
    }

    @Test func theEventCarriesOnlyThePacketSource() {
        let report = FloodReport(source: IPAddress("198.19.253.2")!, prefix: "sipwarden-flood")
        let event = FloodGuardReports.event(for: report, guard: .standard, at: Timestamp(seconds: 1))
        #expect(event.kind == .flood)
        #expect(event.source == IPAddress("198.19.253.2"))
        #expect(event.origin == .wire(sensor: "flood-guard"))
        #expect(
            event.reason == "over 3000 packets/s sustained (burst 2000 packets) to UDP 5060 after failing",
            "the threshold the kernel reports at, not the drop ceiling")
        let custom = FloodGuard(ports: [PortMatch(5070)], banPacketsPerSecond: 8_000, banBurst: 500)
        #expect(FloodGuardReports.event(for: report, guard: custom, at: Timestamp(seconds: 1)).reason == custom.reportReason)
    }
}
