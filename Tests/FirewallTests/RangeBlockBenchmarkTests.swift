// SPDX-License-Identifier: GPL-2.0-or-later
import AddressRanges
import Foundation
import Testing
@testable import Firewall
import NetworkAddress

/// Range blocks in the kernel, by hand: `SIPWARDEN_BENCH=1`, release build, inside a netns
/// (docs/BENCHMARKS.md). Prints numbers; asserts nothing about time.
@Suite("RangeBlockFirewall benchmark", .serialized,
       .enabled(if: KernelGate.benchmark && KernelGate.enabled, "set SIPWARDEN_BENCH=1 and run inside a netns"))
struct RangeBlockBenchmarkTests {
    private func milliseconds(_ duration: Duration) -> String {
        let (s, a) = duration.components
        let micros = s * 1_000_000 + a / 1_000_000_000_000
        return "\(micros / 1_000).\(String(format: "%03d", micros % 1_000)) ms"
    }

    private func summary(_ samples: [Duration]) -> String {
        let sorted = samples.sorted()
        return "n=\(sorted.count) median=\(milliseconds(sorted[sorted.count / 2])) max=\(milliseconds(sorted[sorted.count - 1]))"
    }

    @Test func loadAndRefreshTenThousandPrefixes() throws {
        try KernelGate.check()
        let clock = ContinuousClock()
        var loads: [Duration] = []
        var deltas: [Duration] = []
        var replaces: [Duration] = []
        let prefixes = generatedPrefixes(v4: 7_000, v6: 3_000)
        let merge = clock.measure { _ = RangeSet(prefixes) }
        for round in 0..<5 {
            let firewall = try RangeBlockFirewall(configuration: .init(tableName: uniqueTableName("rbench")))
            try firewall.setUp()
            defer { try? firewall.tearDown() }
            let name = RangeBlockFirewall.kernelName(for: "aws:EC2")
            let base = RangeSet(prefixes)
            // Cold: sets and chain created, 10 k intervals (20 k elements) in one transaction.
            loads.append(try clock.measure { try firewall.load(block: name, scope: .sip, ranges: base, timeout: nil) })
            for step in 1...10 {
                // 1 %: 50 IPv4 and 50 IPv6 prefixes replaced by others.
                let next = RangeSet(generatedPrefixes(v4: 7_000, v6: 3_000, changed: 50, shift: (round * 10 + step) % 2 + 1))
                deltas.append(try clock.measure { _ = try firewall.load(block: name, scope: .sip, ranges: next, timeout: nil) })
            }
            // The same refresh as a full replace (flush + add everything), for comparison.
            for step in 1...3 {
                let fresh = try RangeBlockFirewall(configuration: firewall.configuration)
                let next = RangeSet(generatedPrefixes(v4: 7_000, v6: 3_000, changed: 50, shift: step % 2 + 1))
                replaces.append(try clock.measure { _ = try fresh.load(block: name, scope: .sip, ranges: next, timeout: nil) })
            }
        }
        print("BENCH range merge of 10 k prefixes (RangeSet): \(milliseconds(merge))")
        print("BENCH range load 10 k prefixes (7 k IPv4 + 3 k IPv6, cold): \(summary(loads))")
        print("BENCH range refresh 1 % (delta, one transaction): \(summary(deltas))")
        print("BENCH range refresh 1 % as full replace (flush + add, one transaction): \(summary(replaces))")
    }

    /// Does a large range block in its own table slow the ban table's libnftables prefix
    /// bans (nft 1.0.6 reads interval sets back before element commands)?
    @Test func prefixBanBesideALargeRangeBlock() throws {
        try KernelGate.check()
        let clock = ContinuousClock()
        let bans = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("rbans")))
        try bans.setUp()
        defer { try? bans.tearDown() }
        func prefixBans(_ offset: UInt32) throws -> [Duration] {
            try (0..<20).map { index in
                let network = IPNetwork(address: .v4(0xC613_F000 &+ (offset + UInt32(index)) << 8), prefixLength: 24)!
                return try clock.measure { try bans.ban([BanElement(network: network, timeout: .seconds(600))]) }
            }
        }
        let without = try prefixBans(0)
        let ranges = try RangeBlockFirewall(configuration: .init(tableName: uniqueTableName("rbeside")))
        try ranges.setUp()
        defer { try? ranges.tearDown() }
        try ranges.load(block: RangeBlockFirewall.kernelName(for: "x"), scope: .sip, ranges: RangeSet(generatedPrefixes(v4: 7_000, v6: 3_000)), timeout: nil)
        let with = try prefixBans(20)
        print("BENCH prefix ban (libnftables) without a range block: \(summary(without))")
        print("BENCH prefix ban (libnftables) beside a 10 k range block in another table: \(summary(with))")
    }
}
