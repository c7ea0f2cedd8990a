// SPDX-License-Identifier: GPL-2.0-or-later

import AddressRanges
import ControlPlane
import Firewall
import Foundation
import Logging
import NetworkAddress
import RangePolicy
import TestNamespaces
import Testing
import WardenCore

@testable import SIPWarden

private func temporaryDirectory(_ tag: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("rs-\(tag)-\(UInt32.random(in: 0...UInt32.max))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func net(_ text: String) -> IPNetwork {
    guard let network = IPNetwork(text, strict: true) else { fatalError("bad test network \(text)") }
    return network
}

@Suite("ranges: configuration section")
struct RangesSettingsTests {
    @Test func parsesEveryKey() throws {
        let yaml = """
            ranges:
              lists:
                lab: /etc/sipwarden/lab.txt
              rules:
                aws:EC2: { max-retry: 1 }
                lab: { block: sip }
                AS64500: { block: all, block-time: 1d }
                list:other: { max-retry: 2, block-time: permanent }
              asn-block: { threshold: 5, window: 1h, block: sip, block-time: 12h }
              refresh: 30m
              minimum-prefix-v4: 12
              minimum-prefix-v6: 24
              table: ranges_test
              sip-ports: [5060-5061, 5080]
            """
        let ranges = try ConfigurationFile.parse(yaml, file: "test.yaml").ranges
        #expect(ranges.lists == ["lab": "/etc/sipwarden/lab.txt"])
        #expect(ranges.policy.rules.count == 4)
        #expect(ranges.policy.rules[0] == RangeRule(selector: .provider("aws", service: "EC2", region: nil), maxRetry: 1))
        #expect(ranges.policy.rules[1] == RangeRule(selector: .list("lab"), block: RangeBlockAction(scope: .sip, duration: nil)))
        #expect(ranges.policy.rules[2] == RangeRule(selector: .asn(64500), block: RangeBlockAction(scope: .all, duration: .seconds(86_400))))
        #expect(ranges.policy.rules[3].block == RangeBlockAction(scope: .sip, duration: nil))
        #expect(
            ranges.policy.asnRule
                == ASNBlockRule(threshold: 5, window: .seconds(3_600), block: RangeBlockAction(scope: .sip, duration: .seconds(43_200))))
        #expect(ranges.policy.refreshInterval == .seconds(1_800))
        #expect(ranges.policy.minimumPrefixLengthV4 == 12 && ranges.policy.minimumPrefixLengthV6 == 24)
        #expect(ranges.kernel.tableName == "ranges_test")
        #expect(ranges.kernel.sipPorts.map(\.description) == ["5060-5061", "5080"])
    }

    @Test func errorsNameTheKey() {
        let cases: [(String, String)] = [
            ("ranges:\n  rules:\n    'aws:EC2': { max-retry: 0 }\n", "ranges.rules.aws:EC2.max-retry"),
            ("ranges:\n  rules:\n    'aws:EC2': {}\n", "ranges.rules.aws:EC2"),
            ("ranges:\n  rules:\n    'a b': { block: sip }\n", "ranges.rules.a b"),
            ("ranges:\n  rules:\n    AS1: { block: some }\n", "ranges.rules.AS1.block"),
            ("ranges:\n  lists: { lab: relative.txt }\n", "ranges"),
            ("ranges:\n  asn-block: { threshold: 5 }\n", "ranges.asn-block"),
            ("ranges:\n  colour: blue\n", "ranges.colour"),
        ]
        for (yaml, key) in cases {
            do {
                _ = try ConfigurationFile.parse(yaml, file: "t.yaml")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.location.contains(key), "\(error)")
            }
        }
    }
}

@Suite("RangeBlocks: state, expiry, refresh (no kernel)")
struct RangeBlocksStateTests {
    private func make(_ directory: String, lists: [String: String], clock: ManualClock, rules: [RangeRule] = []) throws -> RangeBlocks {
        var settings = RangesSettings()
        settings.lists = lists
        settings.policy.rules = rules
        settings.policy.refreshInterval = .seconds(600)
        return try RangeBlocks(
            settings: settings, stateDirectory: directory, allowlist: [net("198.18.5.7/32")], firewall: nil,
            source: settings.fileSource, clock: clock.clock, logger: Logger(label: "test"))
    }

    @Test func blocksSurviveARestartAndExpire() throws {
        let directory = try temporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let list = directory + "/lab.txt"
        try "198.18.5.0/24\n198.18.6.0/24\n".write(toFile: list, atomically: true, encoding: .utf8)
        let clock = ManualClock()
        let blocks = try make(directory, lists: ["lab": list], clock: clock)
        let record = try blocks.block(.list("lab"), scope: .sip, duration: .seconds(3_600))
        // 198.18.5.0/23 minus the allowlisted 198.18.5.7: 198.18.5.0-6 and 198.18.5.8-198.18.6.255.
        #expect(record.intervals == 2)
        #expect(try blocks.block(.file(list), scope: .all, duration: nil).scope == .all)

        // A restart: a new object on the same state directory knows both.
        let restarted = try make(directory, lists: ["lab": list], clock: clock)
        #expect(restarted.list().map(\.selector) == [.list("lab"), .file(list)])
        #expect(try restarted.reconcile().isEmpty)

        clock.advance(.seconds(3_601))
        #expect(restarted.list().map(\.selector) == [.file(list)])
        _ = restarted.tick()
        #expect(try make(directory, lists: ["lab": list], clock: clock).list().map(\.selector) == [.file(list)])
        #expect(try restarted.unblock(.file(list)))
        #expect(try !restarted.unblock(.file(list)))
        #expect(restarted.list().isEmpty)
    }

    @Test func refreshFollowsTheListAndFailuresKeepTheBlock() throws {
        let directory = try temporaryDirectory("refresh")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let list = directory + "/lab.txt"
        try "198.18.8.0/24\n".write(toFile: list, atomically: true, encoding: .utf8)
        let clock = ManualClock()
        let blocks = try make(directory, lists: ["lab": list], clock: clock)
        _ = try blocks.block(.list("lab"), scope: .sip, duration: nil)
        try "198.18.8.0/24\n198.18.10.0/24\n198.18.12.0/24\n".write(toFile: list, atomically: true, encoding: .utf8)
        clock.advance(.seconds(60))
        #expect(blocks.tick().isEmpty)
        #expect(blocks.list().first?.intervals == 1, "refreshed before the interval")
        clock.advance(.seconds(600))
        #expect(blocks.tick().isEmpty)
        #expect(blocks.list().first?.intervals == 3)
        try FileManager.default.removeItem(atPath: list)
        clock.advance(.seconds(600))
        #expect(blocks.tick().count == 1)
        #expect(blocks.list().first?.intervals == 3, "a failed refresh keeps the block")
    }

    @Test func policyBlocksAreAddedAtReconcileAndAllowlistedOnlyIsRefused() throws {
        let directory = try temporaryDirectory("policy")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let list = directory + "/lab.txt"
        try "198.18.9.0/24\n".write(toFile: list, atomically: true, encoding: .utf8)
        let only = directory + "/allowed.txt"
        try "198.18.5.7\n".write(toFile: only, atomically: true, encoding: .utf8)
        let clock = ManualClock()
        let blocks = try make(
            directory, lists: ["lab": list], clock: clock,
            rules: [RangeRule(selector: .list("lab"), block: RangeBlockAction(scope: .all, duration: nil))])
        #expect(try blocks.reconcile().isEmpty)
        #expect(blocks.list().map(\.origin) == [.policy])
        do throws(RangeBlocks.Failure) {
            _ = try blocks.block(.file(only), scope: .sip, duration: nil)
            Issue.record("blocked an allowlisted address")
        } catch {
            #expect(error.kind == .refused)
        }
        do throws(RangeBlocks.Failure) {
            _ = try blocks.block(.asn(64500), scope: .sip, duration: nil)
            Issue.record("an AS resolved without the intelligence store")
        } catch {
            #expect(error.kind == .invalid)
        }
    }
}

/// The Done-means test: a block made of a local named list drops the covered address's
/// SIP in the kernel before any failure; lifting it restores it; after a "restart" (table
/// gone, new objects) reconcile blocks it again.
@Suite(
    "RangeBlocks in the kernel (veth between two namespaces)", .serialized,
    .enabled(if: ThrowawayNamespace.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct RangeBlocksKernelTests {
    static let local = "198.19.241.1"
    static let peerAddress = "198.19.241.2"

    private func udpReceiver(port: UInt16) throws -> Int32 {
        try #require(Datagrams.receiver(Self.local, port: port))
    }

    private func received(_ fd: Int32, token: String, wait: Duration) -> Int {
        Datagrams.count(fd, token: token, wait: wait)
    }

    private func send(_ namespace: String, token: String) throws {
        let script = "for i in 1 2 3; do echo \(token) > /dev/udp/\(Self.local)/5060; done"
        #expect(try ThrowawayNamespace.run(["ip", "netns", "exec", namespace, "bash", "-c", script]).status == 0)
    }

    @Test func namedListBlockDropsSIPAndLiftRestores() throws {
        try ThrowawayNamespace.check(root: true)
        let peer = try ThrowawayNamespace.wirePeer(tag: "rb", local: ["\(Self.local)/30"], peer: ["\(Self.peerAddress)/30"])
        defer { peer.cleanup() }
        let directory = try temporaryDirectory("kernel")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let list = directory + "/lab.txt"
        try "# lab attackers\n198.19.241.0/30\n2001:2:0:241::/64\n".write(toFile: list, atomically: true, encoding: .utf8)
        var settings = RangesSettings()
        settings.lists = ["lab": list]
        settings.kernel.tableName = "rs_ranges_\(UInt16.random(in: 0...UInt16.max))"
        let clock = ManualClock()
        func open() throws -> (RangeBlocks, RangeBlockFirewall) {
            let firewall = try RangeBlockFirewall(configuration: settings.kernel)
            try firewall.setUp()
            let blocks = try RangeBlocks(
                settings: settings, stateDirectory: directory, allowlist: [], firewall: firewall,
                source: settings.fileSource, clock: clock.clock, logger: Logger(label: "test"))
            return (blocks, firewall)
        }
        let (blocks, firewall) = try open()
        defer { try? firewall.tearDown() }
        let sip = try udpReceiver(port: 5060)
        defer { close(sip) }

        try send(peer.namespace, token: "before")
        #expect(received(sip, token: "before", wait: .seconds(1)) == 3)

        _ = try DaemonRangeAdministration(blocks: blocks).block(RangeBlockRequestBody(selector: "lab", scope: nil, blockSeconds: nil))
        try send(peer.namespace, token: "blocked")
        #expect(received(sip, token: "blocked", wait: .milliseconds(700)) == 0, "the named list's block let SIP through")

        // A restart after the table was lost: reconcile loads it again from the state file.
        try firewall.tearDown()
        try send(peer.namespace, token: "gone")
        #expect(received(sip, token: "gone", wait: .seconds(1)) == 3)
        let (again, _) = try open()
        #expect(try again.reconcile().isEmpty)
        try send(peer.namespace, token: "restored")
        #expect(received(sip, token: "restored", wait: .milliseconds(700)) == 0, "the block did not survive the restart")

        #expect(try DaemonRangeAdministration(blocks: again).unblock(selector: "list:lab").lifted)
        try send(peer.namespace, token: "lifted")
        #expect(received(sip, token: "lifted", wait: .seconds(1)) == 3, "lifting the block did not restore SIP")
    }
}
