// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Netlink
import NetworkAddress
import Testing

@testable import Firewall

/// The nfnetlink fast path of `NFTablesFirewall.ban` against the real kernel. Each test uses
/// its own table and removes it; addresses come from 198.18.0.0/15 and 2001:2::/48 only.
@Suite(
    "nfnetlink hot ban (real nftables, throwaway netns)", .serialized,
    .enabled(if: KernelGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct NetlinkFastPathTests {
    @Test func hostBanGoesStraightToTheKernel() throws {
        try withFirewall("nlban") { firewall in
            #expect(firewall.usesNetlinkFastPath)
            try firewall.ban([BanElement(network: network("198.18.20.1"), timeout: .seconds(600))])
            #expect(firewall.netlinkCounters == .init(bans: 1, fallbacks: 0))
            let now = try listed(firewall)
            #expect(now.count == 1)
            let timeout = try #require(now[network("198.18.20.1")] ?? nil, "missing or permanent")
            #expect(timeout > .seconds(590) && timeout <= .seconds(600))
        }
    }

    @Test func ipv6MappedAndPermanentInOneBatch() throws {
        try withFirewall("nlv6") { firewall in
            try firewall.ban([
                BanElement(network: network("2001:2::20"), timeout: .seconds(300)),
                BanElement(network: network("2001:2::21"), timeout: nil),
                BanElement(network: network("::ffff:198.18.20.2"), timeout: .milliseconds(120_500)),
                BanElement(network: network("198.18.20.3"), timeout: nil),
            ])
            #expect(firewall.netlinkCounters == .init(bans: 1, fallbacks: 0))
            let now = try listed(firewall)
            #expect(now.count == 4)
            let v6 = try #require(now[network("2001:2::20")] ?? nil)
            #expect(v6 > .seconds(290) && v6 <= .seconds(300))
            #expect(now[network("2001:2::21")] == .some(nil))
            let mapped = try #require(now[network("198.18.20.2")] ?? nil)
            #expect(mapped > .seconds(110) && mapped <= .seconds(121))
            #expect(now[network("198.18.20.3")] == .some(nil))
        }
    }

    @Test(arguments: [true, false])
    func rebanRefreshesTimeout(inPlace: Bool) throws {
        try withFirewall("nlreban") { firewall in
            if !inPlace {
                firewall.overrideRefreshesInPlace(false)
            } else if !firewall.refreshesTimeoutInPlace {
                return // this kernel has no in-place refresh; the other argument covers add + delete + add
            }
            let v4 = network("198.18.20.30")
            let v6 = network("2001:2::30")
            try firewall.ban([BanElement(network: v4, timeout: .seconds(5)), BanElement(network: v6, timeout: .seconds(5))])
            try firewall.ban([BanElement(network: v4, timeout: .seconds(600)), BanElement(network: v6, timeout: .seconds(600))])
            var now = try listed(firewall)
            #expect((now[v4] ?? nil).map { $0 > .seconds(590) } == true)
            #expect((now[v6] ?? nil).map { $0 > .seconds(590) } == true)
            // Shorter again: the new timeout wins (a refresh, not a maximum).
            try firewall.ban([BanElement(network: v4, timeout: .seconds(60))])
            #expect((try listed(firewall)[v4] ?? nil).map { $0 <= .seconds(60) } == true)
            // Permanent, then back to a timeout.
            try firewall.ban([BanElement(network: v4, timeout: nil)])
            #expect(try listed(firewall)[v4] == .some(nil))
            try firewall.ban([BanElement(network: v4, timeout: .seconds(100))])
            now = try listed(firewall)
            #expect((now[v4] ?? nil).map { $0 > .seconds(90) && $0 <= .seconds(100) } == true)
            #expect(now.count == 2)
            #expect(firewall.netlinkCounters == .init(bans: 5, fallbacks: 0))
        }
    }

    @Test func severalMessagesPerSetAreAllAcknowledged() throws {
        try withFirewall("nlmany") { firewall in
            firewall.overrideRefreshesInPlace(false) // 2 chunks × add + delete + add = 6 messages
            let hosts = (0..<1_020).map { BanElement(network: network("198.18.\(30 + $0 / 250).\(1 + $0 % 250)"), timeout: .seconds(900)) }
            try firewall.ban(hosts)
            try firewall.ban(hosts) // every element present: the delete must find all of them
            #expect(firewall.netlinkCounters == .init(bans: 2, fallbacks: 0))
            let now = try listed(firewall)
            #expect(Set(now.keys) == Set(hosts.map(\.network)))
        }
    }

    @Test func prefixesAndMixedBatchesTakeTheFastPathToo() throws {
        try withFirewall("nlmixed") { firewall in
            try firewall.ban([
                BanElement(network: network("198.18.21.0/24"), timeout: .seconds(60)),
                BanElement(network: network("198.18.22.1"), timeout: .seconds(60)),
                BanElement(network: network("2001:2:0:21::/64"), timeout: .seconds(60)),
            ])
            #expect(firewall.netlinkCounters == .init(bans: 1, fallbacks: 0))
            let now = try listed(firewall)
            #expect(Set(now.keys) == [network("198.18.21.0/24"), network("198.18.22.1"), network("2001:2:0:21::/64")])
            #expect((now[network("198.18.21.0/24")] ?? nil).map { $0 > .seconds(50) && $0 <= .seconds(60) } == true, "the prefix keeps its timeout")
            // The same prefix again (a refresh) is no conflict.
            try firewall.ban([BanElement(network: network("198.18.21.0/24"), timeout: .seconds(90))])
            #expect(firewall.netlinkCounters == .init(bans: 2, fallbacks: 0))
            #expect(Set(try listed(firewall).keys) == [network("198.18.21.0/24"), network("198.18.22.1"), network("2001:2:0:21::/64")])
        }
    }

    /// A prefix overlapping one already banned: the kernel refuses the raw batch (it never
    /// holds overlapping intervals), and the libnftables path merges them into the hull.
    @Test func anOverlappingPrefixIsRefusedByTheKernelAndMerged() throws {
        try withFirewall("nloverlap") { firewall in
            try firewall.ban([BanElement(network: network("198.18.21.0/24"), timeout: .seconds(60))])
            try firewall.ban([BanElement(network: network("198.18.0.0/16"), timeout: .seconds(120))])
            #expect(firewall.netlinkCounters == .init(bans: 1, fallbacks: 1))
            #expect(Set(try listed(firewall).keys) == [network("198.18.0.0/16")])
        }
    }

    @Test func missingTableFallsBackAndFailsWithoutHanging() throws {
        try withFirewall("nlgone") { firewall in
            // Someone deletes the table behind our back.
            let context = try NFTContext(json: false)
            _ = try context.run("delete table inet \(firewall.configuration.tableName)\n")
            let start = ContinuousClock.now
            let error = try #require(throws: FirewallError.self) {
                try firewall.ban([BanElement(network: network("198.18.23.1"), timeout: .seconds(60))])
            }
            #expect(ContinuousClock.now - start < .seconds(2))
            #expect(error.kind == .commandFailed)
            #expect(error.message.contains("No such file or directory"))
            #expect(firewall.netlinkCounters == .init(bans: 0, fallbacks: 1))
            // The socket survives a refusal: after repair the fast path works again.
            try firewall.setUp()
            try firewall.ban([BanElement(network: network("198.18.23.1"), timeout: .seconds(60))])
            #expect(firewall.netlinkCounters == .init(bans: 1, fallbacks: 1))
            #expect(try listed(firewall).keys.contains(network("198.18.23.1")))
        }
    }

    @Test func withoutSocketLibnftablesStillBans() throws {
        try withFirewall("nlclosed") { firewall in
            firewall.closeNetlink()
            #expect(!firewall.usesNetlinkFastPath)
            try firewall.ban([BanElement(network: network("198.18.24.1"), timeout: .seconds(60))])
            #expect(firewall.netlinkCounters == .init(bans: 0, fallbacks: 0))
            #expect(try listed(firewall).keys.contains(network("198.18.24.1")))
            try firewall.setUp() // reopens
            try firewall.ban([BanElement(network: network("198.18.24.2"), timeout: .seconds(60))])
            #expect(firewall.netlinkCounters == .init(bans: 1, fallbacks: 0))
        }
    }

    @Test func rawSocketReportsKernelErrorsAsErrno() throws {
        try KernelGate.check()
        let socket = try NetlinkSocket()
        let missing = uniqueTableName("nlraw")
        var batch = try NetlinkSetElementBatch(table: missing, firstSequence: socket.nextSequence)
        // Three messages, each refused: the later errors stay queued and must not confuse
        // the next exchange.
        let element = NetlinkSetElementBatch.Element(key: [198, 18, 25, 1], timeoutMilliseconds: 1_000)
        try batch.append(.add, set: "host4", elements: [element])
        try batch.append(.delete, set: "host4", elements: [element])
        try batch.append(.add, set: "host4", elements: [element])
        let start = ContinuousClock.now
        let error = try #require(throws: NetlinkError.self) { try socket.send(&batch, timeout: .seconds(1)) }
        #expect(ContinuousClock.now - start < .milliseconds(500), "the kernel answers inside sendto")
        #expect(error.kind == .kernel)
        #expect(error.errno == ENOENT)
        #expect(error.firewallError == FirewallError(.commandFailed, "No such file or directory (errno 2)"))

        // Same socket, next batch: deleting an element that is not there is refused too,
        // and a wrong key length is EINVAL.
        let context = try NFTContext(json: false)
        _ = try context.run("add table inet \(missing)\nadd set inet \(missing) host4 { type ipv4_addr; flags timeout; }\n")
        defer { _ = try? context.run("delete table inet \(missing)\n") }
        batch = try NetlinkSetElementBatch(table: missing, firstSequence: socket.nextSequence)
        try batch.append(.delete, set: "host4", elements: [.init(key: [198, 18, 25, 2], timeoutMilliseconds: nil)])
        #expect(throws: NetlinkError.kernel(errno: ENOENT)) { try socket.send(&batch, timeout: .seconds(1)) }
        batch = try NetlinkSetElementBatch(table: missing, firstSequence: socket.nextSequence)
        try batch.append(.add, set: "host4", elements: [.init(key: [198, 18, 25], timeoutMilliseconds: nil)])
        #expect(throws: NetlinkError.kernel(errno: EINVAL)) { try socket.send(&batch, timeout: .seconds(1)) }
        // And a good one afterwards is acknowledged.
        batch = try NetlinkSetElementBatch(table: missing, firstSequence: socket.nextSequence)
        try batch.append(.add, set: "host4", elements: [.init(key: [198, 18, 25, 3], timeoutMilliseconds: 30_000)])
        try socket.send(&batch, timeout: .seconds(1))
        let listing = try context.run("list set inet \(missing) host4\n")
        #expect(listing.contains("198.18.25.3"))
    }
}

/// `ban` latency, nfnetlink fast path against libnftables, in one process: `SIPWARDEN_BENCH=1`,
/// release build, inside a netns. Prints numbers; asserts nothing about time.
@Suite(
    "nfnetlink hot ban benchmark", .serialized,
    .enabled(if: KernelGate.benchmark && KernelGate.enabled, "set SIPWARDEN_BENCH=1 and run inside a netns"))
struct NetlinkBenchmarkTests {
    private func measure(_ label: String, rounds: Int, pause: Duration = .zero, _ body: (Int) throws -> Void) throws {
        var samples: [Duration] = []
        let clock = ContinuousClock()
        for round in 0..<rounds {
            if pause > .zero { Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds)) }
            let start = clock.now
            try body(round)
            samples.append(clock.now - start)
        }
        let first = samples[0]
        samples.sort()
        func micros(_ d: Duration) -> Int64 { d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000 }
        print(
            "BENCH \(label): n=\(rounds) first=\(micros(first)) µs p50=\(micros(samples[rounds / 2])) µs p99=\(micros(samples[min(rounds - 1, rounds * 99 / 100)])) µs max=\(micros(samples[rounds - 1])) µs"
        )
    }

    @Test func netlinkAgainstLibnftables() throws {
        try KernelGate.check()
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("nlbench")))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        func host(_ index: Int) -> BanElement { BanElement(network: IPNetwork(host: .v4(0xC612_0000 &+ UInt32(index))), timeout: .seconds(3_600)) }
        var offset = 20_000
        for preloaded in [0, 10_000] {
            if preloaded > 0 { try firewall.ban((0..<preloaded).map(host)) }
            for (label, pause) in [("back to back", Duration.zero), ("5 ms apart", .milliseconds(5))] {
                let rounds = pause == .zero ? 1_000 : 300
                let base = offset
                try firewall.setUp()
                try measure("nfnetlink, new host, \(preloaded) in set, \(label)", rounds: rounds, pause: pause) {
                    try firewall.ban([host(base + $0)])
                }
                firewall.closeNetlink()
                try measure("libnftables, new host, \(preloaded) in set, \(label)", rounds: rounds, pause: pause) {
                    try firewall.ban([host(base + 2_000 + $0)])
                }
                offset += 4_000
            }
        }
        // With prefixes in ban4, libnftables reads every interval element back before each command.
        try firewall.ban(
            (0..<1_000).map {
                BanElement(network: IPNetwork(address: .v4(0xC613_0000 &+ UInt32($0) << 4), prefixLength: 28)!, timeout: .seconds(3_600))
            })
        try firewall.setUp()
        try measure("nfnetlink, new host, 1000 prefixes in ban4", rounds: 200) { try firewall.ban([host(60_000 + $0)]) }
        firewall.closeNetlink()
        try measure("libnftables, new host, 1000 prefixes in ban4", rounds: 50) { try firewall.ban([host(61_000 + $0)]) }
        #expect(firewall.netlinkCounters.fallbacks == 0)
    }
}
