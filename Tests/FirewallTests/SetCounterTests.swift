// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Netlink
import NetworkAddress
import TestNamespaces
import Testing

@testable import Firewall

/// The ban sets' per-element counters, read by `SetCounterReader` (netlink dump): real
/// packets from a peer namespace over a veth pair into a ban.
@Suite(
    "Ban set element counters (veth between two namespaces)", .serialized,
    .enabled(if: KernelGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct SetCounterTests {
    static let local = "198.19.251.1"
    static let peerAddress = "198.19.251.2"

    /// Sends `count` UDP datagrams from the peer namespace (bash's /dev/udp; bounded count).
    private func send(from namespace: String, count: Int) throws {
        let script = "for i in $(seq \(count)); do echo counted > /dev/udp/\(Self.local)/5060; done"
        let result = try shell(["ip", "netns", "exec", namespace, "bash", "-c", script])
        try #require(result.status == 0, "send failed: \(result.output)")
    }

    private func counter(_ reader: SetCounterReader, _ network: IPNetwork) throws -> ElementCounter? {
        try reader.read().elements.first { $0.network == network }
    }

    @Test func aBannedHostsPacketsAreCountedOnItsElementAndSilenceShowsNoRise() throws {
        try KernelGate.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "c", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let configuration = NFTablesConfiguration(tableName: uniqueTableName("count"))
        let firewall = try NFTablesFirewall(configuration: configuration)
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let reader = try SetCounterReader(configuration: configuration)
        let source = network(Self.peerAddress)

        try firewall.ban([BanElement(network: source, timeout: .seconds(120))])
        let fresh = try #require(try counter(reader, source))
        #expect(fresh.packets == 0 && fresh.bytes == 0)
        #expect(fresh.timeout == .seconds(120))
        #expect((fresh.age ?? .seconds(99)) < .seconds(5))

        let sent = 40
        try send(from: peer.namespace, count: sent)
        let after = try #require(try counter(reader, source))
        // Exactly the datagrams sent (the peer sends nothing else over IPv4; ARP is not IP).
        #expect(after.packets == UInt64(sent))
        #expect(after.bytes == UInt64(sent) * 36, "20 IP + 8 UDP + \"counted\\n\" per datagram")

        // Silence: nothing more is counted.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try counter(reader, source)?.packets == UInt64(sent))
        // A ban path ban of another host meanwhile does not disturb the counter.
        try firewall.ban([BanElement(network: network("198.18.7.7"), timeout: .seconds(60))])
        #expect(try counter(reader, source)?.packets == UInt64(sent))
        #expect(try counter(reader, network("198.18.7.7"))?.packets == 0)
    }

    @Test func aPrefixBanCountsOnItsIntervalElement() throws {
        try KernelGate.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "p", local: ["198.19.252.1/30"], peer: ["198.19.252.2/30"])
        defer { peer.cleanup() }
        let configuration = NFTablesConfiguration(tableName: uniqueTableName("countp"))
        let firewall = try NFTablesFirewall(configuration: configuration)
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let reader = try SetCounterReader(configuration: configuration)
        let prefix = network("198.19.252.0/24")
        try firewall.ban([BanElement(network: prefix, timeout: .seconds(120)), BanElement(network: network("198.18.64.0/18"), timeout: .seconds(60))])
        let script = "for i in $(seq 12); do echo counted > /dev/udp/198.19.252.1/5060; done"
        try #require(try shell(["ip", "netns", "exec", peer.namespace, "bash", "-c", script]).status == 0)
        let snapshot = try reader.read()
        #expect(snapshot.withoutCounter == 0)
        #expect(snapshot.elements.first { $0.network == prefix }?.packets == 12)
        #expect(snapshot.elements.first { $0.network == network("198.18.64.0/18") }?.packets == 0)
    }

    @Test func aTableOfAnOlderBuildIsUpgradedWithItsElements() throws {
        try KernelGate.check()
        let table = uniqueTableName("old")
        // The table as the build before per-element counters made it, with two bans.
        let old = """
            add table inet \(table)
            add set inet \(table) host4 { type ipv4_addr; flags timeout; }
            add set inet \(table) host6 { type ipv6_addr; flags timeout; }
            add set inet \(table) ban4 { type ipv4_addr; flags interval, timeout; }
            add set inet \(table) ban6 { type ipv6_addr; flags interval, timeout; }
            add element inet \(table) host4 { 198.18.5.5 timeout 600s }
            add element inet \(table) ban6 { 2001:2::/64 timeout 300s }

            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(table).nft")
        try old.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let created = try shell(["nft", "-f", file.path])
        try #require(created.status == 0, "nft: \(created.output)")
        let configuration = NFTablesConfiguration(tableName: table)
        let firewall = try NFTablesFirewall(configuration: configuration)
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let snapshot = try SetCounterReader(configuration: configuration).read()
        #expect(snapshot.withoutCounter == 0)
        let host = try #require(snapshot.elements.first { $0.network == network("198.18.5.5") })
        #expect(host.packets == 0)
        #expect((host.expiresIn ?? .zero) > .seconds(590) && (host.expiresIn ?? .zero) <= .seconds(600), "kept its remaining time")
        let prefix = try #require(snapshot.elements.first { $0.network == network("2001:2::/64") })
        #expect((prefix.expiresIn ?? .zero) > .seconds(290))
        // The upgraded table still bans through the fast path.
        try firewall.ban([BanElement(network: network("198.18.5.6"), timeout: .seconds(60))])
        #expect(firewall.usesNetlinkFastPath)
        #expect(try listed(firewall).keys.contains(network("198.18.5.6")))
    }

    @Test func countersTurnedOffRebuildTheSetsWithTheirElements() throws {
        try KernelGate.check()
        let table = uniqueTableName("off")
        let counting = NFTablesConfiguration(tableName: table)
        let first = try NFTablesFirewall(configuration: counting)
        try first.setUp()
        defer { try? first.tearDown() }
        try first.ban([BanElement(network: network("198.18.5.7"), timeout: .seconds(600)), BanElement(network: network("2001:2::/64"), timeout: nil)])
        #expect(try SetCounterReader(configuration: counting).read().withoutCounter == 0)
        var plain = counting
        plain.elementCounters = false
        let second = try NFTablesFirewall(configuration: plain)
        try second.setUp()
        let listing = try shell(["nft", "list", "set", "inet", table, "host4"])
        #expect(!listing.output.contains("counter"), "\(listing.output)")
        let kept = try listed(second)
        #expect(kept.keys.contains(network("198.18.5.7")) && kept.keys.contains(network("2001:2::/64")))
        try second.ban([BanElement(network: network("198.18.5.8"), timeout: .seconds(60))])
        #expect(second.usesNetlinkFastPath)
        #expect(try listed(second).keys.contains(network("198.18.5.8")))
    }

    @Test func aMissingTableIsAKernelRefusal() throws {
        try KernelGate.check()
        let reader = try SetCounterReader(configuration: NFTablesConfiguration(tableName: uniqueTableName("none")))
        #expect(throws: FirewallError.self) { _ = try reader.read() }
    }
}

@Suite("Ban set element counters: intervals from dumped elements (pure)")
struct SetCounterPairingTests {
    private func element(_ key: [UInt8], end: Bool = false, packets: UInt64? = nil) -> NFTSetElement {
        NFTSetElement(
            key: key, flags: end ? 1 : 0, timeoutMilliseconds: end ? nil : 60_000, expirationMilliseconds: end ? nil : 30_000,
            counter: packets.map { .init(packets: $0, bytes: $0 * 40) })
    }

    @Test func startsArePairedWithTheLowestEndAboveThemInAnyOrder() {
        // 198.18.0.0/24 (end 198.18.1.0), 198.18.4.0–198.18.9.255 (end 198.18.10.0), and
        // 255.255.255.0/24 (no end: it reaches the top), listed in the kernel's reverse order.
        let elements = [
            element([255, 255, 255, 0], packets: 1),
            element([198, 18, 10, 0], end: true),
            element([198, 18, 4, 0], packets: 7),
            element([198, 18, 1, 0], end: true),
            element([198, 18, 0, 0], packets: 3),
        ]
        let (counters, without) = SetCounterReader.counters(elements, family: .v4, interval: true)
        #expect(without == 0)
        let byNetwork = Dictionary(uniqueKeysWithValues: counters.map { ($0.network.description, $0.packets) })
        #expect(
            byNetwork == [
                "198.18.0.0/24": 3, "198.18.4.0/22": 7, "198.18.8.0/23": 7, "255.255.255.0/24": 1,
            ])
        #expect(counters.allSatisfy { $0.age == .seconds(30) })
    }

    @Test func elementsWithoutCounterOrWithAWrongKeyAreCountedApart() {
        let elements = [element([198, 18, 0, 1]), element([198, 18, 0], packets: 1), element([198, 18, 0, 2], packets: 2)]
        let (counters, without) = SetCounterReader.counters(elements, family: .v4, interval: false)
        #expect(without == 2)
        #expect(counters.map(\.network) == [network("198.18.0.2")])
    }
}
