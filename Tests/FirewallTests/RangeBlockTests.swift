// SPDX-License-Identifier: GPL-2.0-or-later

import AddressRanges
import Foundation
import NetworkAddress
import TestNamespaces
import Testing

@testable import Firewall

/// A generated set of `v4 + v6` prefixes inside the test ranges, none adjacent to another:
/// IPv4 /29s every 16 addresses from 198.18.0.0, IPv6 /64s every other /64 of 2001:2::/48.
/// `shift` moves the first `changed` prefixes of each family elsewhere (to model a refresh).
func generatedPrefixes(v4: Int, v6: Int, changed: Int = 0, shift: Int = 0) -> [IPNetwork] {
    var result: [IPNetwork] = []
    for index in 0..<v4 {
        let slot = index < changed ? v4 + shift * changed + index : index
        result.append(IPNetwork(address: .v4(0xC612_0000 &+ UInt32(slot * 16)), prefixLength: 29)!)
    }
    for index in 0..<v6 {
        let slot = index < changed ? v6 + shift * changed + index : index
        result.append(IPNetwork(address: .v6(0x2001_0002_0000_0000 | UInt64(slot * 2), 0), prefixLength: 64)!)
    }
    return result
}

/// The rule counters (packets) of a block's chain, IPv4 rule first.
func blockCounters(table: String, block: String) throws -> [Int] {
    let output = try ThrowawayNamespace.run(["nft", "list", "chain", "inet", table, block]).output
    var counts: [Int] = []
    for line in output.split(separator: "\n") {
        guard let range = line.range(of: "counter packets ") else { continue }
        let digits = line[range.upperBound...].prefix { $0.isNumber }
        counts.append(Int(digits) ?? -1)
    }
    return counts
}

@Suite(
    "RangeBlockFirewall in the kernel (interval sets over raw nfnetlink)", .serialized,
    .enabled(if: KernelGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct RangeBlockKernelTests {
    private func firewall(_ tag: String) throws -> RangeBlockFirewall {
        try KernelGate.check()
        let firewall = try RangeBlockFirewall(configuration: .init(tableName: uniqueTableName(tag)))
        try firewall.setUp()
        return firewall
    }

    private func listSet(_ firewall: RangeBlockFirewall, _ set: String) throws -> String {
        try shell(["nft", "list", "set", "inet", firewall.configuration.tableName, set]).output
    }

    @Test func loadMergesAndListsBothFamilies() throws {
        let firewall = try firewall("rload")
        defer { try? firewall.tearDown() }
        let name = RangeBlockFirewall.kernelName(for: "list:test")
        let ranges = RangeSet([
            network("198.18.0.0/24"), network("198.18.1.0/24"), network("198.18.9.0/24"),
            network("2001:2::/49"), network("2001:2:0:8000::/49"),
        ])
        let report = try firewall.load(block: name, scope: .sip, ranges: ranges, timeout: nil)
        #expect(report.replaced && report.added == 3)
        let four = try listSet(firewall, "\(name)_4")
        #expect(four.contains("198.18.0.0/23"))
        #expect(four.contains("198.18.9.0/24"))
        #expect(try listSet(firewall, "\(name)_6").contains("2001:2::/48"))
        #expect(try firewall.blockNames() == [name])

        // A delta: one interval grows (same start), one goes, one comes.
        let next = RangeSet([network("198.18.0.0/22"), network("198.18.12.0/24"), network("2001:2::/48")])
        let delta = try firewall.load(block: name, scope: .sip, ranges: next, timeout: nil)
        #expect(!delta.replaced)
        #expect(delta.removed == 2 && delta.added == 2)
        let after = try listSet(firewall, "\(name)_4")
        #expect(after.contains("198.18.0.0/22") && after.contains("198.18.12.0/24") && !after.contains("198.18.9.0"))

        // Another object knows nothing loaded: a full replace gives the same contents.
        let other = try RangeBlockFirewall(configuration: firewall.configuration)
        let replaced = try other.load(block: name, scope: .sip, ranges: ranges, timeout: nil)
        #expect(replaced.replaced)
        #expect(try listSet(firewall, "\(name)_4").contains("198.18.9.0/24"))

        try firewall.remove(block: name)
        #expect(try firewall.blockNames().isEmpty)
        try firewall.remove(block: name) // idempotent
    }

    @Test func temporaryBlockElementsCarryTheTimeout() throws {
        let firewall = try firewall("rtime")
        defer { try? firewall.tearDown() }
        let name = RangeBlockFirewall.kernelName(for: "AS64500")
        try firewall.load(
            block: name, scope: .all, ranges: RangeSet([network("198.18.4.0/24"), network("2001:2:0:5::/64")]), timeout: .seconds(3_600))
        let listing = try listSet(firewall, "\(name)_4")
        #expect(listing.contains("198.18.4.0/24 timeout 1h"), "\(listing)")
        #expect(try listSet(firewall, "\(name)_6").contains("2001:2:0:5::/64 timeout 1h"))
    }

    @Test func tenThousandPrefixesLoadAndRefreshInOneTransaction() throws {
        let firewall = try firewall("rbig")
        defer { try? firewall.tearDown() }
        let name = RangeBlockFirewall.kernelName(for: "aws:EC2")
        let first = RangeSet(generatedPrefixes(v4: 7_000, v6: 3_000))
        #expect(first.count == 10_000)
        try firewall.load(block: name, scope: .sip, ranges: first, timeout: nil)
        let second = RangeSet(generatedPrefixes(v4: 7_000, v6: 3_000, changed: 50, shift: 1))
        let report = try firewall.load(block: name, scope: .sip, ranges: second, timeout: nil)
        #expect(!report.replaced && report.added == 100 && report.removed == 100)
        // The listing is large (a pipe holds 64 KiB): filter it in the namespace.
        let probe =
            "nft list set inet \(firewall.configuration.tableName) \(name)_4 | tr ',{}' '\\n\\n\\n' | tr -d ' \\t' | grep -xE '198\\.18\\.0\\.0/29|198\\.19\\.184\\.160/29|198\\.18\\.3\\.32/29'"
        let found = Set(try shell(["bash", "-c", probe]).output.split(separator: "\n").map(String.init))
        // The first 50 /29s moved past the end: 198.18.0.0 is gone, 198.18.0.0 + 16 × 7050 is in.
        #expect(!found.contains("198.18.0.0/29"))
        #expect(found.contains("198.19.184.160/29"))
        #expect(found.contains("198.18.3.32/29")) // index 50: unchanged
    }
}

/// Real packets from a peer namespace (198.19.242.2) to this one (198.19.242.1).
@Suite(
    "RangeBlockFirewall traffic (veth between two namespaces)", .serialized,
    .enabled(if: KernelGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct RangeBlockTrafficTests {
    static let local = "198.19.242.1"
    static let peerAddress = "198.19.242.2"

    private func received(_ fd: Int32, token: String, wait: Duration) -> Int {
        Datagrams.count(fd, token: token, wait: wait)
    }

    private func sendScript(port: UInt16, token: String, count: Int) -> String {
        "for i in $(seq \(count)); do echo \(token) > /dev/udp/\(Self.local)/\(port); done; echo sent"
    }

    private func send(from namespace: String, port: UInt16, token: String, count: Int) throws {
        let result = try shell(["ip", "netns", "exec", namespace, "bash", "-c", sendScript(port: port, token: token, count: count)])
        try #require(result.status == 0, "send failed: \(result.output)")
    }

    @Test func blockDropsSIPOnlyAndLiftingRestores() throws {
        try KernelGate.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "rs", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let firewall = try RangeBlockFirewall(configuration: .init(tableName: uniqueTableName("rtraffic")))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let sip = try udpReceiver(Self.local, port: 5060)
        defer { close(sip) }
        let other = try udpReceiver(Self.local, port: 5099)
        defer { close(other) }

        try send(from: peer.namespace, port: 5060, token: "before", count: 3)
        #expect(received(sip, token: "before", wait: .seconds(1)) == 3, "traffic does not flow before the block")

        let name = RangeBlockFirewall.kernelName(for: "list:lab")
        try firewall.load(block: name, scope: .sip, ranges: RangeSet([network("198.19.242.0/29"), network("198.19.200.0/24")]), timeout: nil)
        try send(from: peer.namespace, port: 5060, token: "blocked", count: 3)
        try send(from: peer.namespace, port: 5099, token: "other", count: 3)
        #expect(received(sip, token: "blocked", wait: .milliseconds(700)) == 0, "blocked SIP arrived")
        #expect(received(other, token: "other", wait: .milliseconds(700)) == 3, "a SIP-only block dropped another port")
        #expect(try blockCounters(table: firewall.configuration.tableName, block: name).first == 3)

        // Everything: the other port is dropped too.
        try firewall.load(block: name, scope: .all, ranges: RangeSet([network("198.19.242.0/29")]), timeout: nil)
        try send(from: peer.namespace, port: 5099, token: "all", count: 3)
        #expect(received(other, token: "all", wait: .milliseconds(700)) == 0)

        try firewall.remove(block: name)
        try send(from: peer.namespace, port: 5060, token: "after", count: 3)
        #expect(received(sip, token: "after", wait: .seconds(1)) == 3, "traffic does not flow after the block is lifted")
    }

    /// A sender in the peer fires throughout repeated refreshes of a 10 k-prefix block that
    /// always covers it, including refreshes that replace the very interval it is in (same
    /// start, other end) and full replaces (flush + add): every datagram must be dropped by
    /// the block, none received.
    @Test func refreshesOfTenThousandPrefixesLeaveNoGap() throws {
        try KernelGate.check()
        let peer = try ThrowawayNamespace.wirePeer(tag: "rg", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let table = uniqueTableName("rgap")
        let firewall = try RangeBlockFirewall(configuration: .init(tableName: table))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let sip = try udpReceiver(Self.local, port: 5060)
        defer { close(sip) }
        let name = RangeBlockFirewall.kernelName(for: "aws:EC2")
        // 198.19.242.0/29 or /30 (the peer's interval alternates), plus 10 k others that
        // lie below 198.19.201.0: none adjacent to the peer's.
        func contents(_ round: Int) -> RangeSet {
            let peerRange = network(round % 2 == 0 ? "198.19.242.0/29" : "198.19.242.0/30")
            return RangeSet(generatedPrefixes(v4: 7_000, v6: 3_000, changed: 100, shift: round % 3) + [peerRange])
        }
        try firewall.load(block: name, scope: .sip, ranges: contents(0), timeout: nil)
        let total = 6_000
        let sender = try HelperProcess(["ip", "netns", "exec", peer.namespace, "bash", "-c", sendScript(port: 5060, token: "gap", count: total)])
        var deltas = 0
        var replaces = 0
        var countersDuring: [Int] = []
        let deadline = ContinuousClock.now + .seconds(20)
        for round in 1...60 where ContinuousClock.now < deadline {
            if round % 5 == 0 {
                // A fresh object knows nothing: full replace (flush + add) in one transaction.
                let fresh = try RangeBlockFirewall(configuration: firewall.configuration)
                if try fresh.load(block: name, scope: .sip, ranges: contents(round), timeout: nil).replaced { replaces += 1 }
            } else if try !firewall.load(block: name, scope: .sip, ranges: contents(round), timeout: nil).replaced {
                deltas += 1
            }
            if round == 1 { countersDuring.append(try blockCounters(table: table, block: name).first ?? -1) }
        }
        let (status, output) = sender.finish(timeout: .seconds(30))
        #expect(status == 0 && output.contains("sent"), "sender failed: \(output)")
        let arrived = received(sip, token: "gap", wait: .milliseconds(700))
        let dropped = try blockCounters(table: table, block: name).first ?? -1
        print("range swap: \(deltas) deltas, \(replaces) replaces; block counter \(countersDuring) during, \(dropped) at the end; \(arrived) arrived")
        #expect(arrived == 0, "\(arrived) datagrams got through during the swaps")
        #expect(dropped == total, "the block dropped \(dropped) of \(total)")
        // A fresh object's replace leaves the first object's memory stale: its next load is
        // refused as a delta (ENOENT) and becomes a replace, as designed.
        #expect(deltas >= 8 && replaces >= 3, "\(deltas) deltas, \(replaces) replaces")
        // The sender had started, and had not finished, when the first swap was done.
        #expect(
            countersDuring.count == 1 && countersDuring[0] > 0 && countersDuring[0] < total, "block counter after the first swap: \(countersDuring)")
    }
}
