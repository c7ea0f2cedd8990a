// SPDX-License-Identifier: GPL-2.0-or-later

// Cost of one reading of a ban set's per-element counters: NFT_MSG_GETSETELEM dumps of the
// four sets of `inet TABLE` through the Netlink module's socket and decoder (what
// SetCounterReader does), repeated ROUNDS times; prints wall time and the thread's CPU time.
// Built and run by bench/counters/run.sh (optimised, without SwiftPM).

import Glibc

func micros(_ d: Duration) -> Int64 {
    let (s, a) = d.components
    return s * 1_000_000 + a / 1_000_000_000_000
}

func threadCPU() -> Duration {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
}

@main
struct CounterDumpBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        let table = arguments.count > 1 ? arguments[1] : "sipwarden"
        let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 50 : 50
        let socket = try NetlinkSocket()
        var walls: [Int64] = []
        var cpus: [Int64] = []
        var elements = 0
        var packets: UInt64 = 0
        for _ in 0..<rounds {
            let cpu = threadCPU()
            let start = ContinuousClock.now
            elements = 0
            packets = 0
            for set in ["host4", "host6", "ban4", "ban6"] {
                let sequence = socket.takeSequence()
                let request = try NFTSetElementDump.request(table: table, set: set, sequence: sequence)
                try socket.dump(request, sequence: sequence, timeout: .seconds(5)) { (message) throws(NetlinkError) in
                    guard NFTSetElementDump.isElementMessage(message) else { return }
                    guard let part = try? NFTSetElementDump.decode(message) else { throw .unexpectedReply("undecodable") }
                    for element in part.elements where !element.isIntervalEnd {
                        elements += 1
                        packets &+= element.counter?.packets ?? 0
                    }
                }
            }
            walls.append(micros(ContinuousClock.now - start))
            cpus.append(micros(threadCPU() - cpu))
        }
        walls.sort()
        cpus.sort()
        let n = walls.count
        print(
            "elements=\(elements) packets=\(packets) rounds=\(n) wall_us p50=\(walls[n / 2]) p90=\(walls[n * 9 / 10]) max=\(walls[n - 1]) cpu_us p50=\(cpus[n / 2]) p90=\(cpus[n * 9 / 10])"
        )
    }
}
