// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import TestNamespaces
import Testing

@testable import Firewall

/// Real packets: a veth pair between the test namespace (198.19.250.1) and a peer namespace
/// (198.19.250.2). UDP from the peer must arrive, be dropped (and counted) while the peer is
/// banned, and arrive again after the unban.
@Suite(
    "NFTablesFirewall traffic (veth between two namespaces)", .serialized,
    .enabled(if: KernelGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct TrafficTests {
    static let local = "198.19.250.1"
    static let peerAddress = "198.19.250.2"

    /// Wires the peer namespace; returns its name and a cleanup closure.
    private func wirePeer() throws -> (name: String, cleanup: () -> Void) {
        let peer = try ThrowawayNamespace.wirePeer(tag: "f", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        return (peer.namespace, peer.cleanup)
    }

    private func receiver(port: UInt16) throws -> Int32 {
        try udpReceiver(Self.local, port: port)
    }

    /// Drains the socket and counts datagrams whose payload is `token`, waiting at most `wait`.
    private func received(_ fd: Int32, token: String, wait: Duration) -> Int {
        Datagrams.count(fd, token: token, wait: wait)
    }

    /// Sends `count` datagrams from the peer namespace (bash's /dev/udp, no extra tools).
    private func send(from namespace: String, port: UInt16, token: String, count: Int) throws {
        let script = "for i in $(seq \(count)); do echo \(token) > /dev/udp/\(Self.local)/\(port); done"
        let result = try shell(["ip", "netns", "exec", namespace, "bash", "-c", script])
        try #require(result.status == 0, "send failed: \(result.output)")
    }

    @Test func banDropsAndUnbanRestoresTraffic() throws {
        try KernelGate.check()
        let peer = try wirePeer()
        defer { peer.cleanup() }
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("traffic")))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let fd = try receiver(port: 5060)
        defer { close(fd) }
        let source = network(Self.peerAddress)

        try send(from: peer.name, port: 5060, token: "before", count: 3)
        #expect(received(fd, token: "before", wait: .seconds(1)) == 3, "traffic does not flow before the ban")

        try firewall.ban([BanElement(network: source, timeout: .seconds(60))])
        let countersBefore = try firewall.dropCounters()
        try send(from: peer.name, port: 5060, token: "banned", count: 3)
        #expect(received(fd, token: "banned", wait: .milliseconds(700)) == 0, "banned traffic arrived")
        let countersAfter = try firewall.dropCounters()
        #expect(countersAfter.packetsV4 >= countersBefore.packetsV4 + 3)
        #expect(countersAfter.packetsV6 == countersBefore.packetsV6)

        try firewall.unban([source])
        try send(from: peer.name, port: 5060, token: "after", count: 3)
        #expect(received(fd, token: "after", wait: .seconds(1)) == 3, "traffic does not flow after the unban")
    }

    @Test func portRestrictedBanOnlyDropsThosePorts() throws {
        try KernelGate.check()
        let peer = try wirePeer()
        defer { peer.cleanup() }
        let ports = [try #require(PortMatch("5060-5061"))]
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("ports"), ports: ports))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let sip = try receiver(port: 5061)
        defer { close(sip) }
        let other = try receiver(port: 5070)
        defer { close(other) }
        // A prefix ban this time, covering the peer.
        try firewall.ban([BanElement(network: network("198.19.250.0/30"), timeout: .seconds(60))])
        try send(from: peer.name, port: 5061, token: "sip", count: 3)
        try send(from: peer.name, port: 5070, token: "other", count: 3)
        #expect(received(sip, token: "sip", wait: .milliseconds(700)) == 0)
        #expect(received(other, token: "other", wait: .milliseconds(700)) == 3)
        #expect(try firewall.dropCounters().packetsV4 >= 3)
    }
}
