// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Testing

@testable import Firewall

/// Latency of `ban`, by hand: `SIPWARDEN_BENCH=1`, release build, inside a netns (see the
/// Firewall section of the README / report). Prints numbers; asserts nothing about time.
@Suite(
    "NFTablesFirewall benchmark", .serialized,
    .enabled(if: KernelGate.benchmark && KernelGate.enabled, "set SIPWARDEN_BENCH=1 and run inside a netns"))
struct BenchmarkTests {
    private func host(_ index: Int, base: UInt32) -> IPNetwork {
        IPNetwork(host: .v4(base &+ UInt32(index)))
    }

    private func measure(_ label: String, rounds: Int, _ body: (Int) throws -> Void) rethrows {
        var samples: [Duration] = []
        samples.reserveCapacity(rounds)
        let clock = ContinuousClock()
        for round in 0..<rounds {
            let start = clock.now
            try body(round)
            samples.append(clock.now - start)
        }
        samples.sort()
        func micros(_ d: Duration) -> String {
            let (s, a) = d.components
            return "\(s * 1_000_000 + a / 1_000_000_000_000) µs"
        }
        let p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
        let p90 = samples[samples.count * 90 / 100]
        print(
            "BENCH \(label): n=\(rounds) p90=\(micros(p90)) median=\(micros(samples[samples.count / 2])) p99=\(micros(p99)) max=\(micros(samples[samples.count - 1]))"
        )
    }

    @Test func banLatency() throws {
        try KernelGate.check()
        let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName("bench")))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        print("BENCH kernel refreshes timeouts in place: \(firewall.refreshesTimeoutInPlace)")
        let base: UInt32 = 0xC612_0000 // 198.18.0.0
        // 10 k hosts already banned.
        try firewall.ban((0..<10_000).map { BanElement(network: host($0, base: base), timeout: .seconds(3_600)) })
        #expect(try firewall.list().count == 10_000)

        try measure("single new host (10k in set)", rounds: 1_000) { round in
            try firewall.ban([BanElement(network: host(20_000 + round, base: base), timeout: .seconds(3_600))])
        }
        try measure("single re-ban of a present host", rounds: 1_000) { round in
            try firewall.ban([BanElement(network: host(round, base: base), timeout: .seconds(7_200))])
        }
        try measure("batch of 200 new hosts", rounds: 100) { round in
            try firewall.ban((0..<200).map { BanElement(network: host(30_000 + round * 200 + $0, base: base), timeout: .seconds(3_600)) })
        }
        firewall.overrideRefreshesInPlace(false)
        try measure("single re-ban, add+delete+add path", rounds: 1_000) { round in
            try firewall.ban([BanElement(network: host(round, base: base), timeout: .seconds(7_200))])
        }
        firewall.overrideRefreshesInPlace(true)
        // The price of prefixes: nft reads back every interval-set element before each command.
        for prefixes in [100, 1_000] {
            try firewall.reconcile(
                with: try firewall.list().filter(\.network.isHost)
                    + (0..<prefixes).map {
                        BanElement(network: IPNetwork(address: .v4(0xC613_0000 &+ UInt32($0) << 4), prefixLength: 28)!, timeout: .seconds(3_600))
                    })
            try measure("single new host with \(prefixes) prefixes in ban4", rounds: 300) { round in
                try firewall.ban([BanElement(network: host(70_000 + prefixes + round, base: base), timeout: .seconds(3_600))])
            }
        }
        try measure("list() of ~\(try firewall.list().count) elements", rounds: 10) { _ in _ = try firewall.list() }
    }
}
