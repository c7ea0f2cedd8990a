// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import TestNamespaces
import Testing

@testable import Firewall

@Suite("FloodGuard: nft text and validation")
struct FloodGuardSyntaxTests {
    private func configuration(_ floodGuard: FloodGuard?) -> NFTablesConfiguration {
        NFTablesConfiguration(tableName: "sw", floodGuard: floodGuard)
    }

    @Test func offOnlyRemovesTheGuardTable() {
        let text = NFTSyntax.guardCommands(configuration(nil))
        #expect(text == "add table inet sw_guard\ndelete table inet sw_guard\n")
        #expect(NFTSyntax.setUpCommands(configuration(nil)).hasSuffix(text))
    }

    @Test func rulesCarryRateBurstPortsAndExemptions() throws {
        let floodGuard = FloodGuard(
            packetsPerSecond: 250, burst: 40,
            ports: [PortMatch(5060), try #require(PortMatch("5080-5081"))],
            exempt: [network("198.18.7.0/24"), network("::ffff:198.18.8.1/128"), network("2001:2::/48")]
        )
        let text = NFTSyntax.guardCommands(configuration(floodGuard))
        #expect(text.contains("add element inet sw_guard exempt4 { 198.18.7.0/24, 198.18.8.1 }\n"), "IPv4-mapped exemptions go to the IPv4 set")
        #expect(text.contains("add element inet sw_guard exempt6 { 2001:2::/48 }\n"))
        #expect(
            text.contains(
                "add rule inet sw_guard flood_guard udp dport { 5060, 5080-5081 } update @flowmeter4 { ip saddr . udp sport limit rate over 250/second burst 40 packets } counter name flood4 drop\n"
            ), "every socket is capped from its first packet")
        #expect(
            text.contains(
                "add rule inet sw_guard flood_guard ip saddr @suspects4 udp dport { 5060, 5080-5081 } update @meter4 { ip saddr limit rate over 250/second burst 40 packets } counter name flood4 drop\n"
            ), "a suspect is capped over all its sockets")
        #expect(
            text.contains(
                "add rule inet sw_guard flood_guard ip saddr @suspects4 udp dport { 5060, 5080-5081 } update @floodmeter4 { ip saddr limit rate over 3000/second burst 2000 packets } ip saddr != @reported4 add @reported4 { ip saddr } log prefix \"sipwarden-flood\" group 7450\n"
            ), "only a suspect far over the ceiling is reported, once")
        #expect(
            text.contains(
                "ip6 saddr and ffff:ffff:ffff:ffff:: @suspects6 udp dport { 5060, 5080-5081 } update @floodmeter6 { ip6 saddr and ffff:ffff:ffff:ffff:: limit rate over 3000/second burst 2000 packets } ip6 saddr and ffff:ffff:ffff:ffff:: != @reported6 add @reported6 { ip6 saddr and ffff:ffff:ffff:ffff:: } log"
            ), "IPv6 suspects are reported per /64")
        #expect(
            text.contains("update @flowmeter6 { ip6 saddr . udp sport limit rate over 250/second burst 40 packets }"),
            "an IPv6 socket is its full address and port")
        #expect(text.contains("add set inet sw_guard suspects4 { type ipv4_addr; size 65536; flags timeout; timeout 600s; }\n"))
        #expect(
            text.contains("add set inet sw_guard flowmeter6 { type ipv6_addr . inet_service; size 65536; flags dynamic, timeout; timeout 10s; }\n"))
        let report = try #require(text.range(of: "update @floodmeter4"))
        let flowDrop = try #require(text.range(of: "update @flowmeter4"))
        let drop = try #require(text.range(of: "update @meter4"))
        #expect(
            report.lowerBound < flowDrop.lowerBound && report.lowerBound < drop.lowerBound,
            "the flood meter counts every packet, also those the ceilings drop")
        #expect(
            text.contains(
                "@suspects6 udp dport { 5060, 5080-5081 } update @meter6 { ip6 saddr and ffff:ffff:ffff:ffff:: limit rate over 250/second burst 40 packets }"
            ), "IPv6 suspects are metered per /64 by default")
        #expect(text.contains("priority -299;"), "the guard runs right after the ban chain (-300)")
        let exemptRule = try #require(text.range(of: "ip saddr @exempt4 return"))
        #expect(exemptRule.lowerBound < report.lowerBound && exemptRule.lowerBound < flowDrop.lowerBound, "exemptions are checked before the meters")
    }

    @Test func theSuspectTimeoutIsWrittenInSeconds() {
        let text = NFTSyntax.guardCommands(configuration(FloodGuard(suspectTimeout: .seconds(90))))
        #expect(text.contains("suspects4 { type ipv4_addr; size 65536; flags timeout; timeout 90s; }"))
        #expect(text.contains("suspects6 { type ipv6_addr; size 65536; flags timeout; timeout 90s; }"))
    }

    @Test func theReportReasonStatesTheReportingThreshold() {
        let floodGuard = FloodGuard(
            packetsPerSecond: 700, burst: 30, ports: [PortMatch(5060), PortMatch(5080)], banPacketsPerSecond: 4_500, banBurst: 1_200)
        #expect(floodGuard.reportReason == "over 4500 packets/s sustained (burst 1200 packets) to UDP 5060,5080 after failing")
        let rules = NFTSyntax.guardCommands(configuration(floodGuard))
        #expect(
            rules.contains("update @floodmeter4 { ip saddr limit rate over 4500/second burst 1200 packets }"),
            "the reason and the reporting rule say the same")
        #expect(!floodGuard.reportReason.contains("700") && !floodGuard.reportReason.contains("30 "), "the drop ceiling is not what is reported")
    }

    @Test func hostGranularityForIPv6HasNoMask() {
        let text = NFTSyntax.guardCommands(configuration(FloodGuard(prefixLengthV6: 128)))
        #expect(text.contains("ip6 saddr @suspects6 udp dport { 5060 } update @meter6 { ip6 saddr limit rate over 1000/second burst 20 packets }"))
        let text56 = NFTSyntax.guardCommands(configuration(FloodGuard(prefixLengthV6: 56)))
        #expect(text56.contains("ip6 saddr and ffff:ffff:ffff:ff00::"))
    }

    @Test func withoutAReportGroupTheGuardOnlyDrops() {
        let text = NFTSyntax.guardCommands(configuration(FloodGuard(reportGroup: nil)))
        #expect(!text.contains(" log "))
        #expect(!text.contains("floodmeter4 {"))
        #expect(text.contains("limit rate over 1000/second burst 20 packets } counter name flood4 drop\n"))
    }

    @Test func noExemptionsMeansNoElementCommand() {
        #expect(!NFTSyntax.guardCommands(configuration(.standard)).contains("add element"))
    }

    @Test func oneShotConfigurationLeavesTheGuardAlone() {
        var c = configuration(.standard)
        c.managesFloodGuard = false
        #expect(!NFTSyntax.setUpCommands(c).contains("_guard"))
    }

    @Test(arguments: [
        FloodGuard(packetsPerSecond: 0),
        FloodGuard(packetsPerSecond: 10_000_001),
        FloodGuard(burst: 0),
        FloodGuard(ports: []),
        FloodGuard(prefixLengthV6: 8),
        FloodGuard(prefixLengthV6: 129),
        FloodGuard(meterSize: 10),
        FloodGuard(packetsPerSecond: 5_000, banPacketsPerSecond: 3_000),
        FloodGuard(banBurst: 0),
        FloodGuard(suspectTimeout: .zero),
        FloodGuard(suspectTimeout: .seconds(86_401)),
    ])
    func rejectsNumbersOutOfRange(_ floodGuard: FloodGuard) {
        #expect(throws: FirewallError.self) { try configuration(floodGuard).validate() }
    }

    @Test func standardIsValid() throws {
        try configuration(.standard).validate()
    }
}

/// Real packets from a peer namespace (198.19.251.2) to this one (198.19.251.1).
@Suite(
    "FloodGuard in the kernel (veth between two namespaces)", .serialized,
    .enabled(if: KernelGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct FloodGuardKernelTests {
    static let local = "198.19.251.1"
    static let peerAddress = "198.19.251.2"

    private func receiver(port: UInt16) throws -> Int32 {
        try udpReceiver(Self.local, port: port)
    }

    /// Counts the datagrams waiting on `fd` (after the sender finished), waiting at most `wait`.
    private func drain(_ fd: Int32, wait: Duration) -> Int {
        var count = 0
        let deadline = ContinuousClock.now + wait
        var buffer = [UInt8](repeating: 0, count: 2_048)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { break }
            if recv(fd, &buffer, buffer.count, 0) > 0 { count += 1 }
        }
        return count
    }

    /// Sends `count` small datagrams as fast as bash goes, from one socket (a tool) or each
    /// from a socket of its own (many phones behind one address); returns how long that took.
    private func burst(from namespace: String, port: UInt16, count: Int, oneSocket: Bool = true) throws -> Duration {
        let started = ContinuousClock.now
        let script =
            oneSocket
            ? "exec 3>/dev/udp/\(Self.local)/\(port); for i in $(seq \(count)); do echo x >&3; done"
            : "for i in $(seq \(count)); do echo x > /dev/udp/\(Self.local)/\(port); done"
        let result = try shell(["ip", "netns", "exec", namespace, "bash", "-c", script], timeout: .seconds(30))
        try #require(result.status == 0, "send failed: \(result.output)")
        return ContinuousClock.now - started
    }

    private func counters(_ firewall: NFTablesFirewall) throws -> UInt64 {
        try firewall.dropCounters().floodPackets
    }

    @Test func capsASourceAndCountsWhatItDrops() throws {
        try KernelGate.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "g", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let floodGuard = FloodGuard(packetsPerSecond: 50, burst: 20, ports: [PortMatch(5062)])
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("guard"), floodGuard: floodGuard))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let metered = try receiver(port: 5062)
        defer { close(metered) }
        let other = try receiver(port: 5063)
        defer { close(other) }

        let sent = 400
        let elapsed = try burst(from: peer.namespace, port: 5062, count: sent)
        let arrived = drain(metered, wait: .seconds(2))
        let dropped = try counters(firewall)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let ceiling = 20 + Int((50 * seconds).rounded(.up)) + 2
        #expect(arrived >= 20, "the burst passes")
        #expect(arrived <= ceiling, "\(arrived) arrived in \(seconds) s, the guard allows at most \(ceiling)")
        #expect(UInt64(arrived) + dropped == UInt64(sent), "every packet either arrived or was counted as dropped by the guard")

        // Another port is not metered, even for the same (now over-rate) source.
        _ = try burst(from: peer.namespace, port: 5063, count: 100)
        #expect(drain(other, wait: .seconds(2)) == 100)
        #expect(try counters(firewall) == dropped)
    }

    @Test func manySocketsOfOneAddressAreMeteredOnlyOnceItIsASuspect() throws {
        try KernelGate.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "u", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let floodGuard = FloodGuard(packetsPerSecond: 50, burst: 20, ports: [PortMatch(5064)], suspectTimeout: .seconds(90))
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("suspect"), floodGuard: floodGuard))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let fd = try receiver(port: 5064)
        defer { close(fd) }

        // A storm: 200 packets from one address (fewer than the receive buffer holds), each
        // socket sending one, far over 50/s with a burst of 20.
        _ = try burst(from: peer.namespace, port: 5064, count: 200, oneSocket: false)
        #expect(drain(fd, wait: .seconds(2)) == 200, "a storm of sockets is not throttled")
        #expect(try counters(firewall) == 0)

        // The address failed once: from now on all its sockets together are capped.
        let source = try #require(IPAddress(Self.peerAddress))
        firewall.markSuspect(source)
        firewall.markSuspect(source)
        #expect(firewall.suspectCounters == SuspectCounters(marked: 1, recent: 1), "one kernel add, the repeat is free")
        let listing = try shell(["nft", "list", "set", "inet", firewall.configuration.tableName + "_guard", "suspects4"])
        #expect(listing.output.contains(Self.peerAddress) && listing.output.contains("expires 1m"), "\(listing.output)")
        let elapsed = try burst(from: peer.namespace, port: 5064, count: 200, oneSocket: false)
        let arrived = drain(fd, wait: .seconds(2))
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let ceiling = 20 + Int((50 * seconds).rounded(.up)) + 2
        #expect(arrived >= 20 && arrived <= ceiling, "\(arrived) arrived in \(seconds) s, a suspect gets at most \(ceiling)")
        #expect(UInt64(arrived) + (try counters(firewall)) == 200)
    }

    @Test func exemptSourcesAreNeverMetered() throws {
        try KernelGate.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "h", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let floodGuard = FloodGuard(packetsPerSecond: 50, burst: 20, ports: [PortMatch(5062)], exempt: [network("198.19.251.0/30")])
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("exempt"), floodGuard: floodGuard))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let fd = try receiver(port: 5062)
        defer { close(fd) }
        firewall.markSuspect(try #require(IPAddress(Self.peerAddress)))
        _ = try burst(from: peer.namespace, port: 5062, count: 100)
        #expect(drain(fd, wait: .seconds(2)) == 100)
        #expect(try counters(firewall) == 0)
    }

    @Test func turningTheGuardOffRemovesItsTable() throws {
        try KernelGate.check()
        let name = uniqueTableName("off")
        let on = try NFTablesFirewall(configuration: .init(tableName: name, floodGuard: FloodGuard(ports: [PortMatch(5079)])))
        try on.setUp()
        defer { try? on.tearDown() }
        #expect(try shell(["nft", "list", "table", "inet", name + "_guard"]).status == 0)
        // A one-shot command's set-up leaves it alone...
        var oneShot = NFTablesConfiguration(tableName: name, floodGuard: nil)
        oneShot.managesFloodGuard = false
        try NFTablesFirewall(configuration: oneShot).setUp()
        #expect(try shell(["nft", "list", "table", "inet", name + "_guard"]).status == 0)
        // ...a daemon configured without the guard removes it, and so does tearDown.
        try NFTablesFirewall(configuration: .init(tableName: name, floodGuard: nil)).setUp()
        #expect(try shell(["nft", "list", "table", "inet", name + "_guard"]).status != 0)
        try on.setUp()
        try on.tearDown()
        #expect(try shell(["nft", "list", "table", "inet", name + "_guard"]).status != 0)
        #expect(try shell(["nft", "list", "table", "inet", name]).status != 0)
    }
}
