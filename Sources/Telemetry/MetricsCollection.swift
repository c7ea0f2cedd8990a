// SPDX-License-Identifier: GPL-2.0-or-later

/// The values one scrape reads from counters the daemon already keeps (pull, not push):
/// collectors fill it, ``WardenMetrics/exposition()`` publishes it.
///
/// Values given twice for the same series (one family, the same label values) are added,
/// so several sensors of one kind sum into one `source` series.
public struct MetricsCollection: Sendable {
    /// One series: a family and its label values, in the family's label order.
    struct Key: Hashable, Sendable {
        let family: MetricFamily
        let labelValues: [String]
    }

    private(set) var counters: [Key: Int64] = [:]
    private(set) var gauges: [Key: Double] = [:]
    /// Samples refused because they did not fit their family (a programming error).
    private(set) var refused = 0

    /// An empty collection.
    public init() {}

    /// Adds `value` to the counter series `family{labelValues}`.
    ///
    /// The value is the source's running total since start (a count the daemon keeps), not
    /// an increment; negative values are ignored and values above `Int64.max` are clamped.
    public mutating func count(_ family: MetricFamily, _ labelValues: String..., value: some BinaryInteger) {
        count(family, labels: labelValues, value: value)
    }

    /// Adds `value` to the counter series `family{labels}` (label values in the family's order).
    public mutating func count(_ family: MetricFamily, labels labelValues: [String], value: some BinaryInteger) {
        guard let key = key(family, labelValues, expected: .counter), value >= 0 else { return }
        let clamped = Int64(clamping: value)
        counters[key, default: 0] =
            counters[key, default: 0].addingReportingOverflow(clamped).overflow
            ? Int64.max : counters[key, default: 0] + clamped
    }

    /// Adds `value` to the gauge series `family{labelValues}`.
    public mutating func gauge(_ family: MetricFamily, _ labelValues: String..., value: Double) {
        gauge(family, labels: labelValues, value: value)
    }

    /// Adds `value` to the gauge series `family{labels}` (label values in the family's order).
    public mutating func gauge(_ family: MetricFamily, labels labelValues: [String], value: Double) {
        guard let key = key(family, labelValues, expected: .gauge) else { return }
        gauges[key, default: 0] += value
    }

    private mutating func key(_ family: MetricFamily, _ values: [String], expected: MetricFamily.Kind) -> Key? {
        guard family.kind == expected, values.count == family.labelNames.count else {
            refused += 1
            return nil
        }
        return Key(family: family, labelValues: values)
    }
}
