// SPDX-License-Identifier: GPL-2.0-or-later

// The cost of BanFanOut.publish on the publishing (sensor) thread, release build.
// Built by bench/fanout/run.sh as one module with the sources it needs.
import Dispatch
import Glibc
import Synchronization

func nowNS() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
}

func percentile(_ sorted: [Int64], _ p: Double) -> Int64 { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }

func enforced(_ n: Int) -> EnforcedBan {
    let source = IPAddress("198.18.\(n / 256 % 256).\(n % 256)")!
    let time = Timestamp(seconds: 1_764_072_000 + Int64(n))
    let evidence = (0..<5).map { i in
        SecurityEvent(time: time, source: source, sourcePort: 5060, transport: .udp, kind: .authFailed, user: "u\(i)",
                      dialect: .kamailio, origin: .logLine(file: "/var/log/kamailio.log", line: n * 5 + i))
    }
    let ban = Ban(network: IPNetwork(host: source), rule: .failures, origin: .detector, created: time,
                  duration: .seconds(600), reason: "5 failures (auth_failed) in 1 s", evidence: evidence)
    return EnforcedBan(ban: ban, applied: true, latency: .microseconds(100), kernelLatency: .microseconds(40))
}

let consumers = Int(CommandLine.arguments.dropFirst().first ?? "3") ?? 3
let sparse = 5_000
let burst = 100_000
let fanOut = try BanFanOut()
let handled = Atomic<Int>(0)
for i in 0..<consumers {
    // The first one is the ledger's: it spills past its ring instead of dropping.
    try fanOut.subscribe("c\(i)", capacity: 65_536, overflow: i == 0 ? .spill : .drop) { change in
        if change.enforcedBan?.applied == true { handled.add(1, ordering: .relaxed) }
    }
}
let bans = (0..<sparse).map(enforced)

// Sparse: one ban at a time, every consumer asleep when it comes (the daemon's usual case).
var costs: [Int64] = []
costs.reserveCapacity(sparse)
for ban in bans {
    let t0 = nowNS()
    fanOut.publish(ban)
    costs.append(nowNS() - t0)
    usleep(200)
}
fanOut.flush()
costs.sort()
print("consumers=\(consumers) sparse publishes=\(sparse) (consumers asleep each time): p50_ns=\(percentile(costs, 0.5)) p99_ns=\(percentile(costs, 0.99)) max_ns=\(costs.last!)")

// Burst: back to back (a storm), consumers mostly awake.
let t0 = nowNS()
for i in 0..<burst { fanOut.publish(bans[i % sparse]) }
let elapsed = nowNS() - t0
fanOut.flush()
let dropped = fanOut.statistics.map(\.dropped).reduce(0, +)
print("consumers=\(consumers) burst publishes=\(burst): mean_ns=\(elapsed / Int64(burst)) dropped=\(dropped)")
fanOut.stop()

// No consumer at all: the bare call.
let empty = try BanFanOut()
let t1 = nowNS()
for i in 0..<burst { empty.publish(bans[i % sparse]) }
print("consumers=0 publishes=\(burst): mean_ns=\((nowNS() - t1) / Int64(burst))")

// Spill: the ledger's subscription with a small ring (1,024) and a stuck thread (a stalled
// disk), flooded back to back: what publishing costs while the ring is full and the
// overflow grows, and that every ban is handed over once the thread runs again.
let flooded = try BanFanOut()
let gate = DispatchSemaphore(value: 0)
let spillHandled = Atomic<Int>(0)
let firstSpill = Atomic<Bool>(true)
let ledgerLike = try flooded.subscribe("ledger", capacity: 1_024, overflow: .spill) { _ in
    if firstSpill.exchange(false, ordering: .relaxed) { gate.wait() }
    spillHandled.add(1, ordering: .relaxed)
}
flooded.publish(bans[0])
while ledgerLike.statistics.depth > 0 { usleep(100) }  // the thread now holds ban 0, stuck
var spillCosts: [Int64] = []
spillCosts.reserveCapacity(burst)
for i in 1...burst {
    let t = nowNS()
    flooded.publish(bans[i % sparse])
    spillCosts.append(nowNS() - t)
}
let spillStats = ledgerLike.statistics
gate.signal()
flooded.flush()
spillCosts.sort()
print("ledger ring=1024 stuck, burst publishes=\(burst): p50_ns=\(percentile(spillCosts, 0.5)) p99_ns=\(percentile(spillCosts, 0.99)) mean_ns=\(spillCosts.reduce(0, +) / Int64(burst)) spilled=\(spillStats.spilled) dropped=\(spillStats.dropped) handed_over=\(spillHandled.load(ordering: .relaxed))/\(burst + 1)")
flooded.stop()
