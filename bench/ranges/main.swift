// SPDX-License-Identifier: GPL-2.0-or-later

// Range blocks in the kernel: cold load of 10 k prefixes (7 k IPv4 + 3 k IPv6, none
// adjacent, inside 198.18.0.0/15 and 2001:2::/48), refresh of 1 % as a delta and as a full
// replace, each one nfnetlink transaction; and a libnftables prefix ban of the ban table
// with and without such a block beside it. Run inside a throwaway namespace (run.sh).
import Foundation

func prefixes(v4: Int, v6: Int, changed: Int = 0, shift: Int = 0) -> [IPNetwork] {
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

func ms(_ d: Duration) -> String {
    let (s, a) = d.components
    return String(format: "%.2f ms", Double(s) * 1_000 + Double(a) / 1e15)
}

func summary(_ samples: [Duration]) -> String {
    let sorted = samples.sorted()
    return "n=\(sorted.count) min=\(ms(sorted[0])) median=\(ms(sorted[sorted.count / 2])) max=\(ms(sorted[sorted.count - 1]))"
}

let clock = ContinuousClock()
let all = prefixes(v4: 7_000, v6: 3_000)
var merged = RangeSet()
let mergeTime = clock.measure { merged = RangeSet(all) }
print("prefixes: \(all.count), intervals after merging: \(merged.count) (merge: \(ms(mergeTime)))")

var loads: [Duration] = []
var deltas: [Duration] = []
var deltaKernel: [Duration] = []
var replaces: [Duration] = []
do {
    for round in 0..<5 {
        let firewall = try RangeBlockFirewall(configuration: .init(tableName: "rsbench\(round)"))
        try firewall.setUp()
        defer { try? firewall.tearDown() }
        let name = RangeBlockFirewall.kernelName(for: "aws:EC2")
        loads.append(try clock.measure { try firewall.load(block: name, scope: .sip, ranges: merged, timeout: nil) })
        for step in 1...10 {
            // 1 %: 50 IPv4 and 50 IPv6 prefixes replaced by 100 others.
            let next = RangeSet(prefixes(v4: 7_000, v6: 3_000, changed: 50, shift: step % 2 + 1))
            var report: RangeLoadReport?
            deltas.append(try clock.measure { report = try firewall.load(block: name, scope: .sip, ranges: next, timeout: nil) })
            if let report { precondition(!report.replaced && report.added == 100); deltaKernel.append(report.kernelTime) }
        }
        for step in 1...2 {
            let fresh = try RangeBlockFirewall(configuration: firewall.configuration)
            let next = RangeSet(prefixes(v4: 7_000, v6: 3_000, changed: 50, shift: step % 2 + 1))
            replaces.append(try clock.measure { _ = try fresh.load(block: name, scope: .sip, ranges: next, timeout: nil) })
        }
    }
    print("load 10 k prefixes, cold (sets + chain + one transaction of 20 k elements): \(summary(loads))")
    print("refresh 1 % as a delta (one transaction, 100 intervals out, 100 in), whole call: \(summary(deltas))")
    print("refresh 1 % as a delta, netlink transaction alone: \(summary(deltaKernel))")
    print("refresh 1 % as a full replace (flush + 10 k intervals, one transaction): \(summary(replaces))")

    // The ban table's libnftables prefix bans, without and with a 10 k block in another table.
    let bans = try NFTablesFirewall(configuration: .init(tableName: "rsbenchbans"))
    try bans.setUp()
    defer { try? bans.tearDown() }
    func prefixBans(_ offset: UInt32) throws -> [Duration] {
        try (0..<20).map { index in
            let network = IPNetwork(address: .v4(0xC613_F000 &+ (offset + UInt32(index)) << 8), prefixLength: 24)!
            return try clock.measure { try bans.ban([BanElement(network: network, timeout: .seconds(600))]) }
        }
    }
    let without = try prefixBans(0)
    let beside = try RangeBlockFirewall(configuration: .init(tableName: "rsbenchbeside"))
    try beside.setUp()
    defer { try? beside.tearDown() }
    try beside.load(block: RangeBlockFirewall.kernelName(for: "x"), scope: .sip, ranges: merged, timeout: nil)
    let with = try prefixBans(20)
    print("prefix ban (libnftables) of the ban table, no range block: \(summary(without))")
    print("prefix ban (libnftables) of the ban table, a 10 k range block in another table: \(summary(with))")
} catch {
    print("failed: \(error)")
    exit(1)
}
