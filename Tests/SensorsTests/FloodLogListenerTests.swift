// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Logging
import NetworkAddress
import Synchronization
import TestNamespaces
import Testing

@testable import Sensors

/// Collects flood reports from the listener's thread.
final class FloodReportCollector: Sendable {
    private let reports = Mutex<[FloodReport]>([])
    func add(_ report: FloodReport) { reports.withLock { $0.append(report) } }
    var all: [FloodReport] { reports.withLock { $0 } }
}

@Suite("FloodLogListener")
struct FloodLogListenerTests {
    @Test func errorsDescribeThemselves() {
        #expect(FloodLogError.groupInUse(group: 31_005).description.contains("NFLOG group 31005 is already bound by another process"))
        #expect(FloodLogError.permissionDenied(group: 3).description.contains("CAP_NET_ADMIN"))
        #expect(FloodLogError.configurationRefused(group: 3, step: "bind", errno: EINVAL).description.contains("refused to bind NFLOG group 3"))
        #expect(FloodLogError.noAcknowledgement(group: 3, step: "configure").description.contains("did not acknowledge"))
    }

    @Test func stopWithoutStartIsHarmless() {
        let listener = FloodLogListener(group: 1, logger: Logger(label: "test.nflog"))
        listener.stop()
        listener.stop()
        #expect(listener.statistics == FloodLogStatistics())
    }

    @Test func capabilityProbeReadsProcStatus() {
        // Whatever the answer, /proc/self/status is readable on Linux and has a CapEff line.
        let answer = NFLogSocket.hasNetAdminCapability()
        #expect(answer != nil)
        if getuid() == 0, ThrowawayNamespace.isCurrent { #expect(answer == true) }
    }
}

/// Real NFLOG traffic: a veth pair to a peer namespace (ours 198.19.252.1/30 and
/// 2001:2:0:252::1/64, the peer's .2 and ::2), a table `inet nflogtest` logging UDP to
/// ports 5099 (prefix "swflood") and 5098 (no prefix) to group G and dropping it.
@Suite(
    "FloodLogListener live (NFLOG in a throwaway namespace)", .serialized,
    .enabled(if: ThrowawayNamespace.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct FloodLogListenerLiveTests {
    static let local = "198.19.252.1", peerAddress = "198.19.252.2"
    static let local6 = "2001:2:0:252::1", peer6 = "2001:2:0:252::2"
    static let logger: Logger = {
        var logger = Logger(label: "test.nflog")
        logger.logLevel = .warning
        return logger
    }()

    /// A group unlikely to be used by anything else in the namespace.
    static func randomGroup() -> UInt16 { UInt16(31_000 + Int.random(in: 0..<1_000)) }

    static func addTable(group: UInt16) throws {
        let ruleset = """
            table inet nflogtest {
                chain prerouting {
                    type filter hook prerouting priority -150; policy accept;
                    udp dport 5099 log group \(group) prefix "swflood" drop
                    udp dport 5098 log group \(group) drop
                }
            }
            """
        let result = try ThrowawayNamespace.run(["sh", "-c", "nft -f - <<'EOF'\n\(ruleset)\nEOF"])
        try #require(result.status == 0, "nft -f -: \(result.output)")
    }

    static func deleteTable() {
        _ = try? ThrowawayNamespace.run(["nft", "delete", "table", "inet", "nflogtest"])
    }

    /// Wires the peer (IPv4, and IPv6 with `dualStack`), installs the logging table for a
    /// fresh group, runs `body` with the peer's namespace and the group, then cleans up.
    static func withLoggingPeer(dualStack: Bool, _ body: (_ peerNamespace: String, _ group: UInt16) throws -> Void) throws {
        try ThrowawayNamespace.check(root: true)
        let peer = try ThrowawayNamespace.wirePeer(
            tag: "n", local: ["\(local)/30"] + (dualStack ? ["\(local6)/64"] : []),
            peer: ["\(peerAddress)/30"] + (dualStack ? ["\(peer6)/64"] : []))
        defer { peer.cleanup() }
        let group = randomGroup()
        try addTable(group: group)
        defer { deleteTable() }
        try body(peer.namespace, group)
    }

    @Test func reportsLoggedSourcesAndPrefixes() throws {
        try Self.withLoggingPeer(dualStack: true) { peerNamespace, group in

            let collector = FloodReportCollector()
            let listener = FloodLogListener(group: group, logger: Self.logger)
            try listener.start { collector.add($0) }
            defer { listener.stop() }
            #expect(throws: FloodLogError.alreadyStarted) { try listener.start { _ in } }

            let script = """
                for i in 1 2 3; do echo x > /dev/udp/\(Self.local)/5099; done
                echo x > /dev/udp/\(Self.local)/5098
                for i in 1 2 3; do echo x > /dev/udp/\(Self.local6)/5099; done
                """
            let sentAt = ContinuousClock.now
            let sent = try ThrowawayNamespace.run(["ip", "netns", "exec", peerNamespace, "bash", "-c", script])
            try #require(sent.status == 0, "peer send: \(sent.output)")
            let arrived = waitUntil(timeout: .seconds(2)) { collector.all.count >= 7 }
            let elapsed = sentAt.duration(to: .now)
            #expect(arrived, "got \(collector.all) within \(elapsed)")

            let v4 = IPAddress(Self.peerAddress)!
            let v6 = IPAddress(Self.peer6)!
            let reports = collector.all
            #expect(reports.filter { $0 == FloodReport(source: v4, prefix: "swflood") }.count == 3)
            #expect(reports.filter { $0 == FloodReport(source: v4, prefix: nil) }.count == 1)
            #expect(reports.filter { $0 == FloodReport(source: v6, prefix: "swflood") }.count == 3)
            #expect(reports.count == 7)

            listener.stop()
            listener.stop() // idempotent
            let statistics = listener.statistics
            #expect(statistics.received == 7)
            #expect(statistics.reported == 7)
            #expect(statistics.malformed == 0)
            #expect(statistics.receiveErrors == 0)
            #expect(statistics.foreignSenders == 0)

            // Once stopped, nothing more is delivered and the group is free again.
            _ = try ThrowawayNamespace.run([
                "ip", "netns", "exec", peerNamespace, "bash", "-c",
                "echo x > /dev/udp/\(Self.local)/5099",
            ])
            usleep(200_000)
            #expect(collector.all.count == 7)
            let again = FloodLogListener(group: group, logger: Self.logger)
            try again.start { _ in }
            again.stop()
        }
    }

    @Test func secondListenerOnTheSameGroupFailsClearly() throws {
        try ThrowawayNamespace.check(root: true)
        let group = Self.randomGroup()
        let first = FloodLogListener(group: group, logger: Self.logger)
        try first.start { _ in }
        defer { first.stop() }
        let second = FloodLogListener(group: group, logger: Self.logger)
        #expect(throws: FloodLogError.groupInUse(group: group)) { try second.start { _ in } }
        second.stop()
        // Another group is independent.
        let other = FloodLogListener(group: group &+ 1, logger: Self.logger)
        try other.start { _ in }
        other.stop()
        // When the first lets go, the group can be bound again.
        first.stop()
        let third = FloodLogListener(group: group, logger: Self.logger)
        try third.start { _ in }
        third.stop()
    }

    @Test func socketOverflowIsCountedAndNotFatal() throws {
        try Self.withLoggingPeer(dualStack: false) { peerNamespace, group in

            // A tiny receive buffer, and a handler that holds the thread on the first report
            // while the peer sends 3000 logged packets: the kernel must drop some (ENOBUFS).
            let released = Atomic<Bool>(false)
            let collector = FloodReportCollector()
            let listener = FloodLogListener(group: group, logger: Self.logger, receiveBufferSize: 16 * 1_024)
            try listener.start { report in
                collector.add(report)
                let deadline = ContinuousClock.now + .seconds(5)
                while !released.load(ordering: .acquiring), ContinuousClock.now < deadline { usleep(1_000) }
            }
            defer { listener.stop() }
            _ = try ThrowawayNamespace.run([
                "ip", "netns", "exec", peerNamespace, "bash", "-c",
                "echo x > /dev/udp/\(Self.local)/5099",
            ])
            try #require(waitUntil(timeout: .seconds(2)) { collector.all.count == 1 })
            let burst = """
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                for i in range(3000):
                    s.sendto(b"x", ("\(Self.local)", 5099))
                """
            let sent = try ThrowawayNamespace.run(["ip", "netns", "exec", peerNamespace, "timeout", "10", "/usr/bin/python3", "-c", burst])
            try #require(sent.status == 0, "peer burst: \(sent.output)")
            usleep(100_000)
            released.store(true, ordering: .releasing)
            #expect(waitUntil(timeout: .seconds(5)) { listener.statistics.overflows >= 1 })

            // Still alive: a later packet is reported.
            _ = try ThrowawayNamespace.run([
                "ip", "netns", "exec", peerNamespace, "bash", "-c",
                "echo x > /dev/udp/\(Self.local)/5098",
            ])
            #expect(waitUntil(timeout: .seconds(2)) { collector.all.contains(FloodReport(source: IPAddress(Self.peerAddress)!, prefix: nil)) })
            let statistics = listener.statistics
            #expect(statistics.receiveErrors >= statistics.overflows)
            #expect(statistics.received < 3_002) // some were lost
            #expect(statistics.received == statistics.reported)
            #expect(statistics.malformed == 0)
        }
    }

    @Test func stopFromInsideTheHandlerDoesNotDeadlock() throws {
        try Self.withLoggingPeer(dualStack: false) { peerNamespace, group in

            let listener = FloodLogListener(group: group, logger: Self.logger)
            let calls = Atomic<Int>(0)
            try listener.start { _ in
                calls.add(1, ordering: .relaxed)
                listener.stop()
            }
            defer { listener.stop() }
            _ = try ThrowawayNamespace.run([
                "ip", "netns", "exec", peerNamespace, "bash", "-c",
                "for i in 1 2 3; do echo x > /dev/udp/\(Self.local)/5099; done",
            ])
            #expect(waitUntil(timeout: .seconds(2)) { calls.load(ordering: .relaxed) >= 1 })
            usleep(100_000)
            // The thread stopped after the first report: the other two were never delivered.
            #expect(calls.load(ordering: .relaxed) == 1)
            listener.stop()
        }
    }
}
