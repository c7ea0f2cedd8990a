// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing

@testable import Firewall

/// Tests against the real kernel through libnftables. Each test uses its own table and
/// removes it; addresses come from 198.18.0.0/16 and 2001:2::/48 only.
@Suite(
    "NFTablesFirewall (real nftables, throwaway netns)", .serialized,
    .enabled(if: KernelGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct NFTablesFirewallTests {
    @Test func setUpIsIdempotentAndKeepsElements() throws {
        try withFirewall("idem") { firewall in
            try firewall.setUp()
            try firewall.ban([BanElement(network: network("198.18.0.1"), timeout: nil)])
            try firewall.setUp()
            #expect(try listed(firewall)[network("198.18.0.1")] == .some(nil))
            #expect(try firewall.dropCounters() == DropCounters())
        }
    }

    @Test func setUpRepairsIncompatibleTable() throws {
        try KernelGate.check()
        let name = uniqueTableName("repair")
        let firewall = try NFTablesFirewall(configuration: .init(tableName: name))
        defer { try? firewall.tearDown() }
        // Someone left a `ban4` of the wrong kind (no interval flag) behind.
        let context = try NFTContext(json: false)
        _ = try context.run("add table inet \(name)\nadd set inet \(name) ban4 { type ipv4_addr; }\n")
        try firewall.setUp()
        try firewall.ban([BanElement(network: network("198.18.3.0/24"), timeout: .seconds(60))])
        #expect(try listed(firewall).keys.contains(network("198.18.3.0/24")))
    }

    @Test func banListRoundTripV4AndV6() throws {
        try withFirewall("roundtrip") { firewall in
            try firewall.ban([
                BanElement(network: network("198.18.0.10"), timeout: .seconds(300)),
                BanElement(network: network("2001:2::a"), timeout: .seconds(300)),
                BanElement(network: network("198.18.0.11"), timeout: nil),
                BanElement(network: network("::ffff:198.18.0.12"), timeout: .milliseconds(120_500)),
            ])
            let now = try listed(firewall)
            #expect(now.count == 4)
            for key in [network("198.18.0.10"), network("2001:2::a")] {
                let timeout = try #require(now[key] ?? nil, "\(key) missing or permanent")
                #expect(timeout > .seconds(290) && timeout <= .seconds(300))
            }
            #expect(now[network("198.18.0.11")] == .some(nil))
            let mapped = try #require(now[network("198.18.0.12")] ?? nil)
            #expect(mapped > .seconds(110) && mapped <= .seconds(121))
        }
    }

    /// A restart reconciles a long ban with the time it has left, which is rarely whole
    /// seconds: nft must accept it for hosts and prefixes alike (it refused a 30-day ban's
    /// remaining milliseconds as one 32-bit number).
    @Test func longTimeoutsWithMillisecondsReachTheKernel() throws {
        try withFirewall("longtimeout") { firewall in
            let month = Duration.seconds(30 * 86_400) - .milliseconds(52)
            let year = Duration.seconds(365 * 86_400) - .milliseconds(7)
            try firewall.reconcile(with: [
                BanElement(network: network("198.18.7.1"), timeout: month),
                BanElement(network: network("198.18.8.0/24"), timeout: year),
                BanElement(network: network("2001:2::7"), timeout: year),
            ])
            let now = try listed(firewall)
            for (key, expected) in [(network("198.18.7.1"), month), (network("198.18.8.0/24"), year), (network("2001:2::7"), year)] {
                let timeout = try #require(now[key] ?? nil, "\(key) missing or permanent")
                #expect(timeout > expected - .seconds(60) && timeout <= expected + .seconds(1), "\(key): \(timeout)")
            }
        }
    }

    @Test func shortTimeoutExpires() async throws {
        try KernelGate.check()
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("expire")))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        try firewall.ban([
            BanElement(network: network("198.18.0.20"), timeout: .seconds(1)),
            BanElement(network: network("2001:2::/64"), timeout: .seconds(1)),
        ])
        #expect(try firewall.list().count == 2)
        let deadline = ContinuousClock.now + .seconds(6)
        var remaining = try firewall.list()
        while !remaining.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            remaining = try firewall.list()
        }
        #expect(remaining.isEmpty, "still listed after 6 s: \(remaining)")
    }

    @Test(arguments: [true, false])
    func rebanRefreshesTimeout(inPlace: Bool) throws {
        try withFirewall("reban") { firewall in
            if !inPlace {
                firewall.overrideRefreshesInPlace(false)
            } else if !firewall.refreshesTimeoutInPlace {
                return // this kernel has no in-place refresh; the other argument covers the fallback
            }
            let host = network("198.18.0.30")
            let prefix = network("2001:2:0:30::/64")
            try firewall.ban([BanElement(network: host, timeout: .seconds(5)), BanElement(network: prefix, timeout: .seconds(5))])
            try firewall.ban([BanElement(network: host, timeout: .seconds(600)), BanElement(network: prefix, timeout: .seconds(600))])
            var now = try listed(firewall)
            #expect((now[host] ?? nil).map { $0 > .seconds(590) } == true)
            #expect((now[prefix] ?? nil).map { $0 > .seconds(590) } == true)
            // Permanent, then back to a timeout.
            try firewall.ban([BanElement(network: host, timeout: nil)])
            #expect(try listed(firewall)[host] == .some(nil))
            try firewall.ban([BanElement(network: host, timeout: .seconds(100))])
            now = try listed(firewall)
            #expect((now[host] ?? nil).map { $0 > .seconds(90) && $0 <= .seconds(100) } == true)
            #expect(now.count == 2)
        }
    }

    @Test func prefixes() throws {
        try withFirewall("prefix") { firewall in
            try firewall.ban([
                BanElement(network: network("198.18.7.0/24"), timeout: .seconds(60)),
                BanElement(network: network("2001:2:0:7::/64"), timeout: nil),
            ])
            let now = try listed(firewall)
            #expect(Set(now.keys) == [network("198.18.7.0/24"), network("2001:2:0:7::/64")])
        }
    }

    @Test func overlappingElementsDoNotFailTheBatch() throws {
        try withFirewall("overlap") { firewall in
            let slash24 = network("198.18.8.0/24")
            try firewall.ban([BanElement(network: slash24, timeout: .seconds(600))])
            // A host inside the /24 and a /25 inside it that ends sooner: both accepted.
            try firewall.ban([
                BanElement(network: network("198.18.8.7"), timeout: .seconds(60)),
                BanElement(network: network("198.18.8.128/25"), timeout: .seconds(60)),
            ])
            var now = try listed(firewall)
            #expect(Set(now.keys) == [slash24, network("198.18.8.7")])
            #expect((now[slash24] ?? nil).map { $0 > .seconds(590) } == true)
            // A /25 inside that must last longer: the /24 is kept, for longer.
            try firewall.ban([BanElement(network: network("198.18.8.0/25"), timeout: .seconds(3_000))])
            now = try listed(firewall)
            #expect((now[slash24] ?? nil).map { $0 > .seconds(2_990) } == true)
            #expect(now.count == 2)
            // A covering /16 replaces the /24, lasting as long as the longest.
            try firewall.ban([
                BanElement(network: network("198.18.0.0/16"), timeout: .seconds(60)),
                BanElement(network: network("2001:2:0:8::/64"), timeout: .seconds(60)),
            ])
            now = try listed(firewall)
            #expect(Set(now.keys) == [network("198.18.0.0/16"), network("198.18.8.7"), network("2001:2:0:8::/64")])
            #expect((now[network("198.18.0.0/16")] ?? nil).map { $0 > .seconds(2_980) } == true)
            // Overlaps inside one batch collapse to the broader prefix.
            try firewall.ban([
                BanElement(network: network("2001:2:0:90::/60"), timeout: .seconds(60)),
                BanElement(network: network("2001:2:0:91::/64"), timeout: .seconds(120)),
            ])
            now = try listed(firewall)
            #expect((now[network("2001:2:0:90::/60")] ?? nil).map { $0 > .seconds(110) } == true)
            #expect(now[network("2001:2:0:91::/64")] == nil)
        }
    }

    @Test func unban() throws {
        try withFirewall("unban") { firewall in
            try firewall.ban([
                BanElement(network: network("198.18.9.1"), timeout: .seconds(60)),
                BanElement(network: network("198.18.9.2"), timeout: nil),
                BanElement(network: network("198.18.10.0/24"), timeout: .seconds(60)),
                BanElement(network: network("198.18.10.5"), timeout: .seconds(60)),
                BanElement(network: network("2001:2::9"), timeout: .seconds(60)),
            ])
            try firewall.unban([network("198.18.9.1"), network("2001:2::9")])
            #expect(Set(try listed(firewall).keys) == [network("198.18.9.2"), network("198.18.10.0/24"), network("198.18.10.5")])
            // Unbanning what is not banned is not an error, and does not disturb the rest.
            try firewall.unban([network("198.18.9.1"), network("198.18.9.2")])
            #expect(Set(try listed(firewall).keys) == [network("198.18.10.0/24"), network("198.18.10.5")])
            // A prefix takes everything inside it along.
            try firewall.unban([network("198.18.0.0/16")])
            #expect(try firewall.list().isEmpty)
        }
    }

    @Test func reconcileAddsMissingRemovesExtraFixesTimeouts() throws {
        try withFirewall("reconcile") { firewall in
            try firewall.ban([
                BanElement(network: network("198.18.11.1"), timeout: .seconds(60)), // extra
                BanElement(network: network("198.18.11.2"), timeout: .seconds(60)), // kept
                BanElement(network: network("198.18.12.0/24"), timeout: .seconds(60)), // timeout fixed
                BanElement(network: network("2001:2:0:11::/64"), timeout: nil),
            ]) // extra
            try firewall.reconcile(with: [
                BanElement(network: network("198.18.11.2"), timeout: .seconds(60)),
                BanElement(network: network("198.18.12.0/24"), timeout: .seconds(900)),
                BanElement(network: network("198.18.11.3"), timeout: nil), // missing
                BanElement(network: network("2001:2::11"), timeout: .seconds(300)), // missing
                BanElement(network: network("198.18.11.4"), timeout: .zero), // expired: skipped
            ])
            let now = try listed(firewall)
            #expect(Set(now.keys) == [network("198.18.11.2"), network("198.18.12.0/24"), network("198.18.11.3"), network("2001:2::11")])
            #expect((now[network("198.18.12.0/24")] ?? nil).map { $0 > .seconds(890) } == true)
            #expect(now[network("198.18.11.3")] == .some(nil))
            // Reconciling again with the same truth changes nothing and succeeds.
            try firewall.reconcile(with: [
                BanElement(network: network("198.18.11.2"), timeout: .seconds(58)),
                BanElement(network: network("198.18.12.0/24"), timeout: .seconds(899)),
                BanElement(network: network("198.18.11.3"), timeout: nil),
                BanElement(network: network("2001:2::11"), timeout: .seconds(299)),
            ])
            #expect(try firewall.list().count == 4)
            try firewall.reconcile(with: [])
            #expect(try firewall.list().isEmpty)
        }
    }

    @Test func tearDownRemovesTableAndIsIdempotent() throws {
        try KernelGate.check()
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("teardown")))
        try firewall.setUp()
        try firewall.ban([BanElement(network: network("198.18.13.1"), timeout: nil)])
        try firewall.tearDown()
        try firewall.tearDown()
        let error = try #require(throws: FirewallError.self) { try firewall.list() }
        #expect(error.kind == .commandFailed)
    }

    @Test func errorsCarryNftTextAndCommand() throws {
        try KernelGate.check()
        // Never set up: the table does not exist, nft must say so.
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("missing")))
        let error = try #require(throws: FirewallError.self) {
            try firewall.ban([BanElement(network: network("198.18.14.1"), timeout: .seconds(5))])
        }
        #expect(error.kind == .commandFailed)
        #expect(error.message.contains("No such file or directory"))
        #expect(error.command?.contains("198.18.14.1 timeout 5s") == true)
        #expect(error.description.contains("198.18.14.1"))
        // Refused before reaching the kernel.
        try withFirewall("invalid") { firewall in
            let invalid = try #require(throws: FirewallError.self) {
                try firewall.ban([BanElement(network: network("198.18.14.2"), timeout: .zero)])
            }
            #expect(invalid.kind == .invalidArgument)
            #expect(invalid.command == nil)
            #expect(try firewall.list().isEmpty)
        }
    }
}
