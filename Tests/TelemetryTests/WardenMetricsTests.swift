// SPDX-License-Identifier: GPL-2.0-or-later

import CoreMetrics
import Foundation
import Synchronization
import Telemetry
import Testing

@Suite("Prometheus metrics: what is recorded is exposed")
struct WardenMetricsTests {
    @Test("bans are counted by rule and origin")
    func bansByRuleAndOrigin() {
        let metrics = WardenMetrics()
        for _ in 0..<3 { metrics.recordBan(rule: "failures", origin: "detector", endToEndMicroseconds: 90, kernelMicroseconds: 60) }
        metrics.recordBan(rule: "scanner", origin: "detector", count: 2, endToEndMicroseconds: 80, kernelMicroseconds: 50)
        metrics.recordBan(rule: "manual", origin: "manual", endToEndMicroseconds: nil, kernelMicroseconds: 70)
        metrics.prepareBans(rule: "enumeration", origin: "detector")

        let samples = exposedSamples(metrics.exposition())
        #expect(value(samples, "sipwarden_bans_total", ["rule": "failures", "origin": "detector"]) == 3)
        #expect(value(samples, "sipwarden_bans_total", ["rule": "scanner", "origin": "detector"]) == 2)
        #expect(value(samples, "sipwarden_bans_total", ["rule": "manual", "origin": "manual"]) == 1)
        #expect(value(samples, "sipwarden_bans_total", ["rule": "enumeration", "origin": "detector"]) == 0)
        #expect(samples.filter { $0.name == "sipwarden_bans_total" }.count == 4)
    }

    @Test("the latency histograms count every observation in the right buckets")
    func histogramBuckets() throws {
        let metrics = WardenMetrics()
        // 5 fast bans, 2 slow ones, 1 over the last bucket, 1 the kernel refused.
        for _ in 0..<5 { metrics.recordBan(rule: "failures", origin: "detector", endToEndMicroseconds: 30, kernelMicroseconds: 20) }
        for _ in 0..<2 { metrics.recordBan(rule: "failures", origin: "detector", endToEndMicroseconds: 2_000, kernelMicroseconds: 1_000) }
        metrics.recordBan(rule: "failures", origin: "detector", endToEndMicroseconds: 2_000_000, kernelMicroseconds: 600_000)
        metrics.recordBan(rule: "failures", origin: "detector", endToEndMicroseconds: nil, kernelMicroseconds: 5)

        let samples = exposedSamples(metrics.exposition())
        let e2e = "sipwarden_ban_latency_seconds"
        // The bucket whose upper bound is `le` (compared as numbers: `1e-05` is 0.00001).
        func bucket(_ name: String, _ le: Double) -> Double? {
            let matching = samples.filter { $0.name == name + "_bucket" && $0.labels["le"].flatMap(Double.init) == le }
            #expect(matching.count == 1, "\(name) le=\(le)")
            return matching.first?.value
        }
        #expect(bucket(e2e, 0.00001) == 0)
        #expect(bucket(e2e, 0.000025) == 0)
        #expect(bucket(e2e, 0.00005) == 5)
        #expect(bucket(e2e, 0.001) == 5)
        #expect(bucket(e2e, 0.0025) == 7)
        #expect(bucket(e2e, 1.0) == 7)
        #expect(bucket(e2e, .infinity) == 8)
        #expect(value(samples, e2e + "_count") == 8)
        let sum = try #require(value(samples, e2e + "_sum"))
        #expect(abs(sum - (5 * 30e-6 + 2 * 2e-3 + 2)) < 1e-9)

        let kernel = "sipwarden_kernel_ban_duration_seconds"
        #expect(bucket(kernel, 0.00001) == 1)
        #expect(bucket(kernel, 0.000025) == 6)
        #expect(bucket(kernel, 0.001) == 8)
        #expect(bucket(kernel, 0.5) == 8)
        #expect(bucket(kernel, 1.0) == 9)
        #expect(value(samples, kernel + "_count") == 9)
        // Every declared bucket (10 µs … 1 s) and +Inf.
        #expect(samples.filter { $0.name == kernel + "_bucket" }.count == WardenMetrics.latencyBuckets.count + 1)
    }

    @Test("pulled counters show the source's running total at each scrape; gauges its current value")
    func pulledValues() {
        let metrics = WardenMetrics()
        let source = Mutex((lines: 10, tracked: 4.0))
        metrics.addCollector { c in
            let now = source.withLock { $0 }
            c.count(.linesRead, "file", value: now.lines)
            c.gauge(.trackedSources, "detector", value: now.tracked)
        }
        var samples = exposedSamples(metrics.exposition())
        #expect(value(samples, "sipwarden_lines_read_total", ["source": "file"]) == 10)
        #expect(value(samples, "sipwarden_tracked_sources", ["component": "detector"]) == 4)

        source.withLock { $0 = (25, 1) }
        samples = exposedSamples(metrics.exposition())
        #expect(value(samples, "sipwarden_lines_read_total", ["source": "file"]) == 25)
        #expect(value(samples, "sipwarden_tracked_sources", ["component": "detector"]) == 1)

        // A source that restarted from zero is a counter reset, not a negative increment.
        source.withLock { $0 = (3, 1) }
        samples = exposedSamples(metrics.exposition())
        #expect(value(samples, "sipwarden_lines_read_total", ["source": "file"]) == 3)
    }

    @Test("values of one series from several collectors add up; a sample that does not fit its family is dropped")
    func collectionsAdd() {
        let metrics = WardenMetrics()
        metrics.addCollector { c in c.count(.packetsRead, "capture", value: 7) }
        metrics.addCollector { c in
            c.count(.packetsRead, "capture", value: 5)
            c.count(.packetsRead, value: 99) // missing its label value
            c.gauge(.linesRead, "file", value: 1) // a counter family given a gauge
        }
        let samples = exposedSamples(metrics.exposition())
        #expect(value(samples, "sipwarden_packets_read_total", ["source": "capture"]) == 12)
        #expect(samples.filter { $0.name == "sipwarden_packets_read_total" }.count == 1)
        #expect(value(samples, "sipwarden_lines_read_total", ["source": "file"]) == nil)
    }

    @Test("consumer queues report their depth and drops")
    func consumerQueues() {
        let metrics = WardenMetrics()
        metrics.recordConsumerQueue(name: "ledger", depth: 3, drops: 0)
        metrics.recordConsumerQueue(name: "intel", depth: 1024, drops: 17)
        metrics.recordConsumerQueue(name: "ledger", depth: 0, drops: 2)
        let samples = exposedSamples(metrics.exposition())
        #expect(value(samples, "sipwarden_consumer_queue_depth", ["consumer": "ledger"]) == 0)
        #expect(value(samples, "sipwarden_consumer_queue_dropped_total", ["consumer": "ledger"]) == 2)
        #expect(value(samples, "sipwarden_consumer_queue_depth", ["consumer": "intel"]) == 1024)
        #expect(value(samples, "sipwarden_consumer_queue_dropped_total", ["consumer": "intel"]) == 17)
    }

    @Test("every family has TYPE and HELP lines of its declared type")
    func typeAndHelp() {
        let metrics = fullyRecorded()
        let text = metrics.exposition()
        for family in MetricFamily.all {
            #expect(text.contains("# TYPE \(family.name) \(family.kind.rawValue)\n"), "\(family.name)")
            #expect(text.contains("# HELP \(family.name) \(family.help)\n"), "\(family.name)")
            #expect(family.name.hasPrefix("sipwarden_"))
        }
    }

    @Test("swift-metrics instruments made with the factory land in the same exposition")
    func swiftMetricsFactory() {
        let metrics = WardenMetrics()
        let counter = CoreMetrics.Counter(label: "sipwarden_test_requests_total", dimensions: [("route", "metrics")], factory: metrics.factory)
        counter.increment(by: 4)
        let timer = CoreMetrics.Timer(label: "sipwarden_test_request_seconds", factory: metrics.factory)
        timer.recordMicroseconds(40)
        let samples = exposedSamples(metrics.exposition())
        #expect(value(samples, "sipwarden_test_requests_total", ["route": "metrics"]) == 4)
        #expect(value(samples, "sipwarden_test_request_seconds_bucket", ["le": "0.00005"]) == 1)
        #expect(value(samples, "sipwarden_test_request_seconds_bucket", ["le": "0.000025"]) == 0)
        #expect(samples.filter { $0.name == "sipwarden_test_request_seconds_bucket" }.count == WardenMetrics.latencyBuckets.count + 1)
    }

    @Test(
        "the exposition parses with the Prometheus text-format parser (prometheus_client)",
        .enabled(if: pythonHasPrometheusClient, needsPrometheusClient)
    )
    func parsesWithPrometheusClient() throws {
        let result = try checkMetrics(fullyRecorded().exposition(), MetricFamily.all.flatMap { ["--require", $0.seriesNames[0]] })
        #expect(result.status == 0, "\(result.output)")
    }

    @Test(
        "the check script rejects what is not valid Prometheus text or carries an address",
        .enabled(if: pythonHasPrometheusClient, needsPrometheusClient)
    )
    func checkScriptRejects() throws {
        let good = fullyRecorded().exposition()
        let bad = [
            good + "sipwarden_lines_read_total{source=\"file\" 3\n", // broken syntax
            good.replacingOccurrences(of: "consumer=\"ledger\"", with: "consumer=\"198.18.0.7\""), // an address
            good.replacingOccurrences(of: "# HELP sipwarden_active_bans ", with: "# NOHELP sipwarden_active_bans "),
        ]
        for text in bad {
            #expect(try checkMetrics(text).status == 1)
        }
    }
}

/// A registry where every family has at least one series.
func fullyRecorded() -> WardenMetrics {
    let metrics = WardenMetrics()
    metrics.recordBan(rule: "failures", origin: "detector", endToEndMicroseconds: 120, kernelMicroseconds: 70)
    metrics.recordConsumerQueue(name: "ledger", depth: 2, drops: 1)
    metrics.addCollector { c in
        for family in MetricFamily.all
        where family.kind != .histogram && family != .bans && family.name.hasPrefix("sipwarden_consumer_queue") == false {
            let labels = family.labelNames.map { _ in "x" }
            switch family.kind {
            case .counter: c.count(family, labels: labels, value: 5)
            case .gauge: c.gauge(family, labels: labels, value: 2)
            case .histogram: break
            }
        }
    }
    return metrics
}

func writeTemporary(_ text: String, name: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sipwarden-metrics-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
