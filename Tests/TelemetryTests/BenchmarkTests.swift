// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Telemetry
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The ban path's cost of metrics (docs/BENCHMARKS.md), in CPU time of the measuring
/// thread (on a shared machine wall time measures the other processes too). Off unless SIPWARDEN_BENCH=1; use
/// a release build: `SIPWARDEN_BENCH=1 swift test -c release --filter TelemetryBenchmark`.
@Suite(
    "TelemetryBenchmark", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["SIPWARDEN_BENCH"] == "1", "set SIPWARDEN_BENCH=1")
)
struct TelemetryBenchmark {
    static func nanoseconds(_ elapsed: Duration, per count: Int) -> Double {
        (Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(count)
    }

    /// `recordBan`: the counter lookup and increment, and the two histogram observations.
    @Test func recordBanCost() {
        let metrics = WardenMetrics()
        let rules = ["failures", "scanner", "enumeration", "flood"]
        let n = 1_000_000
        let clock = ThreadCPUClock()
        let elapsed = clock.measure {
            for i in 0..<n {
                metrics.recordBan(
                    rule: rules[i & 3], origin: "detector", endToEndMicroseconds: Int64(50 + i & 1023), kernelMicroseconds: Int64(40 + i & 511))
            }
        }
        let perBan = Self.nanoseconds(elapsed, per: n)
        let exposition = metrics.exposition()
        print("telemetry-bench recordBan n=\(n) ns/ban=\(String(format: "%.1f", perBan))")
        #expect(exposition.contains("sipwarden_ban_latency_seconds_count \(n)"))

        // A scrape with every family (the registry of a running daemon is about this size).
        let full = fullyRecorded()
        let scrapes = 1000
        let scrapeTime = clock.measure { for _ in 0..<scrapes { _ = full.exposition() } }
        print(
            "telemetry-bench exposition bytes=\(full.exposition().utf8.count) us/scrape=\(String(format: "%.1f", Self.nanoseconds(scrapeTime, per: scrapes) / 1000))"
        )
    }
}

/// The calling thread's CPU time.
struct ThreadCPUClock {
    func now() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }

    func measure(_ body: () -> Void) -> Duration {
        let start = now()
        body()
        return .nanoseconds(now() - start)
    }
}
