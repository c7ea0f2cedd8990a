// SPDX-License-Identifier: GPL-2.0-or-later

import Firewall
import Foundation
import Logging
import NetworkAddress
import RangePolicy
import Storage
import TestNamespaces
import Testing
import WardenCore

@testable import SIPWarden

/// The AS rule end to end in the kernel: detector bans published into the daemon's
/// fan-out, the ranges service's `asn-block` consumer, the intelligence store resolving
/// the AS, and the range table dropping the AS's SIP. Run it in a namespace of your own:
/// `SIPWARDEN_NETNS_PREFIX=asrule scripts/test-in-netns.sh swift test --skip-build --filter ASNRuleKernel`.
@Suite(
    "asn-block in the kernel (veth between two namespaces)", .serialized,
    .enabled(if: ThrowawayNamespace.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct ASNRuleKernelTests {
    // Inside AS64500's 198.19.247.0/25 (`asnRuleTestStore`), apart from other suites' addresses (its
    // ranges must cover no other kernel suite's peers: they run side by side in one namespace).
    static let local = "198.19.247.1"
    static let peerAddress = "198.19.247.2"

    private func send(_ namespace: String, token: String) throws {
        let script = "for i in 1 2 3; do echo \(token) > /dev/udp/\(Self.local)/5060; done"
        #expect(try ThrowawayNamespace.run(["ip", "netns", "exec", namespace, "bash", "-c", script]).status == 0)
    }

    @Test func kBannedAddressesOfOneASPutItsRangesIntoTheRangeTable() throws {
        try ThrowawayNamespace.check(root: true)
        let peer = try ThrowawayNamespace.wirePeer(tag: "asr", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("asrule-k-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var config = Configuration()
        config.stateDirectory = directory
        config.ranges.kernel.tableName = "asrule_ranges_\(UInt16.random(in: 0...UInt16.max))"
        config.ranges.policy.asnRule = ASNBlockRule(
            threshold: 3, window: .seconds(600), block: RangeBlockAction(scope: .sip, duration: .seconds(3_600)))
        let holder = try asnRuleTestStore()
        let logger = Logger(label: "test")
        let localAddress = try #require(IPAddress(Self.local))
        let service = try RangeBlocksService(
            configuration: config, ownAddresses: [IPNetwork(host: localAddress)],
            source: NetworkKnowledge.rangeSource(holder: holder, settings: config.ranges), logger: logger)
        let table = try RangeBlockFirewall(configuration: config.ranges.kernel)
        defer { try? table.tearDown() }
        _ = try service.start()

        let ledger = try Ledger(inMemory: ())
        let consumers = try LedgeredConsumers(ledger: ledger, logger: logger)
        defer { consumers.stop() }
        try service.subscribeASNRule(to: consumers.consumers, ledger: ledger)

        let sip = try #require(Datagrams.receiver(Self.local, port: 5060))
        defer { close(sip) }
        try send(peer.namespace, token: "before")
        #expect(Datagrams.count(sip, token: "before", wait: .seconds(1)) == 3)

        func publish(_ address: String) throws {
            let host = try #require(IPAddress(address))
            let ban = Ban(
                network: IPNetwork(host: host), rule: .failures, origin: .detector, created: systemClock(),
                duration: .seconds(600), reason: "test", enrichment: IntelEnrichment(asn: 64500))
            consumers.consumers.fanOut.publish(EnforcedBan(ban: ban, applied: true, latency: .zero, kernelLatency: .zero))
        }
        // K-1 addresses (other hosts of the AS): nothing in the range table yet.
        try publish("198.19.247.5")
        try publish("198.19.244.77")
        consumers.flush()
        #expect(service.blocks.list().isEmpty)
        try send(peer.namespace, token: "counted")
        #expect(Datagrams.count(sip, token: "counted", wait: .seconds(1)) == 3)

        // The Kth: the AS's ranges are blocked on the SIP ports.
        try publish("2001:2:0:244::9")
        consumers.flush()
        let block = try #require(service.blocks.list().first)
        #expect(block.selector == .asn(64500))
        #expect(block.origin == .asnRule)
        let name = RangeBlocks.kernelName(.asn(64500))
        let v4 = try ThrowawayNamespace.run(["nft", "list", "set", "inet", config.ranges.kernel.tableName, "\(name)_4"]).output
        let v6 = try ThrowawayNamespace.run(["nft", "list", "set", "inet", config.ranges.kernel.tableName, "\(name)_6"]).output
        #expect(v4.contains("198.19.244.0/24"), "\(v4)")
        #expect(v6.contains("2001:2:0:244::/64"), "\(v6)")
        try send(peer.namespace, token: "blocked")
        #expect(Datagrams.count(sip, token: "blocked", wait: .milliseconds(700)) == 0, "the AS's block let SIP through")
    }
}
