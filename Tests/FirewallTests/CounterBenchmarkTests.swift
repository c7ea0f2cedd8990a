// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import NetworkAddress
import Testing

@testable import Firewall

/// Cost of one reading of the ban sets' per-element counters, by hand: `SIPWARDEN_BENCH=1`,
/// release build, inside a netns (docs/BENCHMARKS.md, "Ban set counters"). Prints numbers;
/// asserts only that every element was read.
@Suite(
    "SetCounterReader benchmark", .serialized,
    .enabled(if: KernelGate.benchmark && KernelGate.enabled, "set SIPWARDEN_BENCH=1 and run inside a netns"))
struct CounterBenchmarkTests {
    /// CPU time of the calling thread (user + system).
    private func threadCPU() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }

    private func micros(_ d: Duration) -> Int64 {
        let (s, a) = d.components
        return s * 1_000_000 + a / 1_000_000_000_000
    }

    @Test func dumpOf10kElements() throws {
        try KernelGate.check()
        let configuration = NFTablesConfiguration(tableName: uniqueTableName("cbench"))
        let firewall = try NFTablesFirewall(configuration: configuration)
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let base: UInt32 = 0xC612_0000 // 198.18.0.0
        let hosts = 10_000
        for chunk in stride(from: 0, to: hosts, by: 1_000) {
            try firewall.ban(
                (chunk..<(chunk + 1_000)).map { BanElement(network: IPNetwork(host: .v4(base &+ UInt32($0))), timeout: .seconds(3_600)) })
        }
        let reader = try SetCounterReader(configuration: configuration)
        #expect(try reader.read().elements.count == hosts)
        var walls: [Int64] = []
        var cpus: [Int64] = []
        let clock = ContinuousClock()
        for _ in 0..<50 {
            let cpu = threadCPU()
            let start = clock.now
            let snapshot = try reader.read()
            walls.append(micros(clock.now - start))
            cpus.append(micros(threadCPU() - cpu))
            #expect(snapshot.elements.count == hosts)
        }
        walls.sort()
        cpus.sort()
        print(
            "BENCH counter dump (\(hosts) hosts): n=50 wall median=\(walls[25]) µs p90=\(walls[45]) µs max=\(walls[49]) µs; thread CPU median=\(cpus[25]) µs p90=\(cpus[45]) µs"
        )
        // The same table read through libnftables' JSON listing (what `list()` costs), for comparison.
        var listing: [Int64] = []
        for _ in 0..<10 {
            let start = clock.now
            #expect(try firewall.list().count == hosts)
            listing.append(micros(clock.now - start))
        }
        listing.sort()
        print("BENCH libnftables list() of the same table: n=10 median=\(listing[5]) µs max=\(listing[9]) µs")
    }
}
