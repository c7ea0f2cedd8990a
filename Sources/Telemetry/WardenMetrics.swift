// SPDX-License-Identifier: GPL-2.0-or-later

public import Prometheus
import Synchronization

/// sipwarden's Prometheus metrics: one registry the daemon creates and owns (no global
/// bootstrap, so tests and several daemons in one process never share state), the ban
/// path's instruments, and the text exposition that `GET /metrics` serves.
///
/// Two ways in:
/// - **push**, only on the ban path (a handful of operations per ban, never per line):
///   ``recordBan(rule:origin:count:endToEnd:kernel:)`` counts the ban and observes the two
///   latency histograms;
/// - **pull**, for everything the daemon already counts (lines, events, sensor losses,
///   kernel drops, tracked sources, …): collectors added with ``addCollector(_:)`` read
///   those counters when a scrape asks, so the hot path pays nothing twice.
///
/// Libraries that speak swift-metrics can report into the same registry through
/// ``factory`` (pass it as `factory:` to `CoreMetrics.Counter`, `Timer`, … or bootstrap
/// `MetricsSystem` with it in the executable).
public final class WardenMetrics: Sendable {
    /// The Content-Type of ``exposition()`` (Prometheus text format 0.0.4).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The latency histograms' upper bounds in seconds: 10 µs to 1 s, about three per decade.
    public static let latencyBuckets: [Double] = [
        0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01,
        0.025, 0.05, 0.1, 0.25, 0.5, 1,
    ]

    /// The registry every sipwarden metric lives in.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory over ``registry`` (timers use ``latencyBuckets``).
    public let factory: PrometheusMetricsFactory

    // Histograms of seconds as `Double`: half the cost of swift-prometheus's `Duration`
    // histograms (measured 55 vs 104 ns per observation of thread CPU time).
    private let banLatency: ValueHistogram
    private let kernelBanDuration: ValueHistogram
    private let banCounters = Mutex([BanKey: Prometheus.Counter]())
    private let collectors = Mutex([@Sendable (inout MetricsCollection) -> Void]())
    private let consumerQueues = Mutex([String: ConsumerQueueSample]())
    /// The pulled series, by key; its lock also serialises scrapes.
    private let pulled = Mutex([MetricsCollection.Key: PulledSeries]())

    private struct BanKey: Hashable {
        let rule: String
        let origin: String
    }

    private enum PulledSeries {
        case counter(Prometheus.Counter)
        case gauge(Prometheus.Gauge)
    }

    /// A registry of its own, or `registry` (to share one with other instrumented code).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets.map { .nanoseconds(Int64(($0 * 1e9).rounded())) }
        factory.defaultValueHistogramBuckets = Self.latencyBuckets
        self.factory = factory
        banLatency = registry.makeValueHistogram(descriptor: MetricFamily.banLatency.descriptor, buckets: Self.latencyBuckets)
        kernelBanDuration = registry.makeValueHistogram(
            descriptor: MetricFamily.kernelBanDuration.descriptor, buckets: Self.latencyBuckets)
    }

    // MARK: Push (the ban path)

    /// Records `count` bans of one kernel call: counts them under `rule` and `origin` (both
    /// from closed sets: a detector rule name, a ban origin) and observes the kernel call's
    /// duration and, when the kernel applied the bans, the end-to-end latency.
    ///
    /// Cost: one short lock for the counter lookup, one atomic add, two histogram
    /// observations (each a short lock): about 0.16 µs of CPU (docs/BENCHMARKS.md).
    /// - Parameters:
    ///   - endToEndMicroseconds: from the line read (or packet seen) to the end of the
    ///     kernel call; nil when the kernel did not apply the ban.
    ///   - kernelMicroseconds: the kernel call alone.
    public func recordBan(rule: String, origin: String, count: Int = 1, endToEndMicroseconds: Int64?, kernelMicroseconds: Int64) {
        banCounter(rule: rule, origin: origin).increment(by: Int64(max(0, count)))
        kernelBanDuration.record(Double(max(0, kernelMicroseconds)) / 1e6)
        if let endToEndMicroseconds { banLatency.record(Double(max(0, endToEndMicroseconds)) / 1e6) }
    }

    /// Makes the series `sipwarden_bans_total{rule, origin}` exist (at 0) before the first
    /// such ban, so rates over it start from a known zero.
    public func prepareBans(rule: String, origin: String) {
        _ = banCounter(rule: rule, origin: origin)
    }

    private func banCounter(rule: String, origin: String) -> Prometheus.Counter {
        let key = BanKey(rule: rule, origin: origin)
        return banCounters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(descriptor: MetricFamily.bans.descriptor, labels: [("rule", rule), ("origin", origin)])
            counters[key] = counter
            return counter
        }
    }

    // MARK: Pull (read at scrape time)

    /// Adds a collector: at every scrape it reads the daemon's own counters into the
    /// collection. It runs on the scraping thread, one scrape at a time; keep it to reading
    /// snapshots (never the ban path's lock).
    public func addCollector(_ collect: @escaping @Sendable (inout MetricsCollection) -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// Notes a ban consumer's queue (verdict fan-out): messages waiting now and messages
    /// dropped since start because it was full. Published at the next scrape; a consumer
    /// may call it from any thread, as often as it likes (it only stores the values).
    /// `name` is the consumer's fixed name (`ledger`, `log`, …), never data.
    public func recordConsumerQueue(name: String, depth: Int, drops: Int) {
        consumerQueues.withLock { $0[name] = ConsumerQueueSample(depth: depth, drops: drops) }
    }

    /// The Prometheus text exposition of every metric: runs the collectors, then renders
    /// the registry.
    public func exposition() -> String {
        pulled.withLock { series in
            var collection = MetricsCollection()
            for collect in collectors.withLock({ $0 }) { collect(&collection) }
            for (name, queue) in consumerQueues.withLock({ $0 }) {
                collection.gauge(.consumerQueueDepth, name, value: Double(queue.depth))
                collection.count(.consumerQueueDropped, name, value: queue.drops)
            }
            for (key, value) in collection.counters {
                guard case .counter(let counter) = series[key] ?? makeSeries(key, into: &series) else { continue }
                // The collected value is the source's running total: set, not add.
                counter.reset()
                counter.increment(by: value)
            }
            for (key, value) in collection.gauges {
                guard case .gauge(let gauge) = series[key] ?? makeSeries(key, into: &series) else { continue }
                gauge.set(to: value)
            }
            return registry.emitToString()
        }
    }

    private func makeSeries(_ key: MetricsCollection.Key, into series: inout [MetricsCollection.Key: PulledSeries]) -> PulledSeries {
        let labels = Array(zip(key.family.labelNames, key.labelValues))
        let made: PulledSeries =
            key.family.kind == .gauge
            ? .gauge(registry.makeGauge(descriptor: key.family.descriptor, labels: labels))
            : .counter(registry.makeCounter(descriptor: key.family.descriptor, labels: labels))
        series[key] = made
        return made
    }
}

/// What a ban consumer reported of its queue.
struct ConsumerQueueSample: Sendable {
    var depth: Int
    var drops: Int
}
