// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Firewall
import Foundation
import IntelStore
import Logging
import NetworkAddress
import RangePolicy
import Storage
import TestNamespaces
import Testing
import WardenCore

@testable import SIPWarden

/// The overdue-cases rule end to end in the kernel: abuse cases in the ledger, the ranges
/// service's tick, the intelligence store resolving the AS, and the range table dropping
/// the AS's SIP while K of its cases are overdue — and letting it through once they are
/// not. Run it in a namespace of your own:
/// `SIPWARDEN_NETNS_PREFIX=casepolicy scripts/test-in-netns.sh swift test --skip-build --filter OverdueRuleKernel`.
@Suite(
    "overdue-block in the kernel (veth between two namespaces)", .serialized,
    .enabled(if: ThrowawayNamespace.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct OverdueRuleKernelTests {
    // AS64510 is 198.19.238.0/24 and 2001:2:0:238::/64 in this suite's store, apart from
    // every other kernel suite's addresses (they run side by side in one namespace).
    static let local = "198.19.238.1"
    static let peerAddress = "198.19.238.2"

    /// An intelligence store with AS64510 only (iptoasn format, inclusive ranges).
    private func store() throws -> IntelStoreHolder {
        let tsv = """
            198.19.238.0\t198.19.238.255\t64510\tZZ\tEXAMPLE-64510
            2001:2:0:238::\t2001:2:0:238:ffff:ffff:ffff:ffff\t64510\tZZ\tEXAMPLE-64510

            """
        let dataset = try IntelParser.parse(bytes: Array(tsv.utf8), format: .ip2asn, name: "ip2asn")
        return IntelStoreHolder(IntelStore(datasets: [dataset], providerASNs: ProviderASNMap.builtIn))
    }

    private func send(_ namespace: String, token: String) throws {
        let script = "for i in 1 2 3; do echo \(token) > /dev/udp/\(Self.local)/5060; done"
        #expect(try ThrowawayNamespace.run(["ip", "netns", "exec", namespace, "bash", "-c", script]).status == 0)
    }

    @Test func kOverdueCasesBlockTheASsRangesAndMitigationLiftsTheBlock() throws {
        try ThrowawayNamespace.check(root: true)
        let peer = try ThrowawayNamespace.wirePeer(tag: "ovd", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("overdue-k-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var config = Configuration()
        config.stateDirectory = directory
        config.ranges.kernel.tableName = "overdue_ranges_\(UInt16.random(in: 0...UInt16.max))"
        config.ranges.policy.overdueRule = OverdueBlockRule(threshold: 2)
        let logger = Logger(label: "test")
        let clock = ManualClock()
        let cases = CaseStore(ledger: try Ledger(inMemory: ()))
        let localAddress = try #require(IPAddress(Self.local))
        let service = try RangeBlocksService(
            configuration: config, ownAddresses: [IPNetwork(host: localAddress)],
            source: NetworkKnowledge.rangeSource(holder: try store(), settings: config.ranges), cases: cases, clock: clock.clock, logger: logger)
        let table = try RangeBlockFirewall(configuration: config.ranges.kernel)
        defer { try? table.tearDown() }
        _ = try service.start()

        let sip = try #require(Datagrams.receiver(Self.local, port: 5060))
        defer { close(sip) }
        try send(peer.namespace, token: "before")
        #expect(Datagrams.count(sip, token: "before", wait: .seconds(1)) == 3)

        // One overdue case of the AS (K-1): a tick blocks nothing.
        let now = clock.clock()
        let first = OverdueCases.overdue(64510, source: Self.peerAddress, at: now - .seconds(120))
        try cases.save(first, at: now)
        service.tick()
        #expect(service.blocks.list().isEmpty)
        try send(peer.namespace, token: "one")
        #expect(Datagrams.count(sip, token: "one", wait: .seconds(1)) == 3)

        // The second (another source of the AS): its ranges are blocked on the SIP ports.
        let second = OverdueCases.overdue(64510, source: "2001:2:0:238::9", at: now - .seconds(90))
        try cases.save(second, at: now)
        clock.advance(.seconds(10))
        service.tick()
        let block = try #require(service.blocks.list().first)
        #expect(block.selector == .asn(64510) && block.origin == .overdueRule)
        #expect(block.reason?.hasPrefix("overdue-block: 2 abuse cases of AS64510 overdue") == true)
        let name = RangeBlocks.kernelName(.asn(64510))
        let v4 = try ThrowawayNamespace.run(["nft", "list", "set", "inet", config.ranges.kernel.tableName, "\(name)_4"]).output
        let v6 = try ThrowawayNamespace.run(["nft", "list", "set", "inet", config.ranges.kernel.tableName, "\(name)_6"]).output
        // The host's own address is carved out of the AS's /24.
        #expect(v4.contains("198.19.238.2-198.19.238.255") || v4.contains("198.19.238.128/25"), "\(v4)")
        #expect(!v4.contains("198.19.238.0/24"), "the host's own address was blocked: \(v4)")
        #expect(v6.contains("2001:2:0:238::/64"), "\(v6)")
        try send(peer.namespace, token: "blocked")
        #expect(Datagrams.count(sip, token: "blocked", wait: .milliseconds(700)) == 0, "the AS's block let SIP through")

        // The first case's sources fall silent: mitigated, one overdue case left, the block goes.
        clock.advance(.seconds(700))
        try cases.save(OverdueCases.mitigated(first, at: clock.clock()), at: clock.clock())
        service.tick()
        #expect(service.blocks.list().isEmpty)
        let names = try table.blockNames()
        #expect(!names.contains(name), "the kernel block stayed: \(names)")
        try send(peer.namespace, token: "lifted")
        #expect(Datagrams.count(sip, token: "lifted", wait: .seconds(1)) == 3, "lifting the block did not restore SIP")
    }
}
