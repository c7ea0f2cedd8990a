// SPDX-License-Identifier: GPL-2.0-or-later

// What the `counter` flag of the ban sets costs the ban path: the hot ban's exact kernel
// call — one nfnetlink batch with one NFT_MSG_NEWSETELEM (key + timeout), sent and
// acknowledged on one socket — into `host4` of two otherwise identical tables, one declared
// without and one with `counter`, alternating, a fresh address each time, a pause between
// bans (as the daemon bans: one at a time, CPU cold). Prints percentiles per table.
// Built and run by bench/counters/insert.sh.

import Glibc

func micros(_ d: Duration) -> Int64 {
    let (s, a) = d.components
    return s * 1_000_000 + a / 1_000_000_000_000
}

func ban(_ socket: NetlinkSocket, table: String, address: UInt32) throws {
    var batch = NetlinkBatch(subsystem: NFNetlink.subsystemNFTables, firstSequence: socket.nextSequence)
    try batch.append(message: 12, flags: NetlinkFlag.create | NetlinkFlag.acknowledge, family: NFProtocolFamily.inet) {
        (body) throws(NetlinkEncodeError) in
        try body.append(1, string: table)
        try body.append(2, string: "host4")
        try body.appendNested(3) { (list) throws(NetlinkEncodeError) in
            try list.appendNested(1) { (item) throws(NetlinkEncodeError) in
                try item.appendNested(1) { (key) throws(NetlinkEncodeError) in
                    try key.append(1, bytes: [UInt8(address >> 24), UInt8(address >> 16 & 255), UInt8(address >> 8 & 255), UInt8(address & 255)])
                }
                item.append(4, bigEndian: UInt64(600_000))
            }
        }
    }
    try socket.send(&batch, timeout: .milliseconds(500))
}

@main
struct InsertBench {
    static func main() throws {
        let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1000 : 1000
        let pauseMicroseconds: UInt32 = CommandLine.arguments.count > 2 ? UInt32(CommandLine.arguments[2]) ?? 5000 : 5000
        let socket = try NetlinkSocket()
        var samples: [String: [Int64]] = ["plain": [], "counted": []]
        var address: UInt32 = 0xC612_0000 // 198.18.0.0
        for round in 0..<count {
            for table in round % 2 == 0 ? ["plain", "counted"] : ["counted", "plain"] {
                address &+= 1
                usleep(pauseMicroseconds)
                let start = ContinuousClock.now
                try ban(socket, table: table, address: address)
                samples[table]!.append(micros(ContinuousClock.now - start))
            }
        }
        for table in ["plain", "counted"] {
            let s = samples[table]!.sorted()
            let n = s.count
            print("\(table): n=\(n) p50=\(s[n / 2]) us p90=\(s[n * 9 / 10]) us p99=\(s[n * 99 / 100]) us max=\(s[n - 1]) us")
        }
    }
}
