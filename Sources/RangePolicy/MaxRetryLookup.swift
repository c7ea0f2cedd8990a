// SPDX-License-Identifier: GPL-2.0-or-later

public import AddressRanges
public import NetworkAddress

/// "Does a lower max-retry apply to this source?" — the look-up the detector consults:
/// built from the rules with `max-retry` and their resolved ranges; the lowest value of
/// every rule covering the address wins. Pure and immutable (rebuild on refresh); one
/// binary search per rule.
public struct MaxRetryLookup: Sendable {
    private let entries: [(ranges: RangeSet, maxRetry: Int, selector: RangeSelector)]

    /// No override anywhere.
    public init() {
        entries = []
    }

    /// `resolved`: each rule with `maxRetry` and its ranges.
    public init(_ resolved: [(selector: RangeSelector, maxRetry: Int, ranges: RangeSet)]) {
        entries = resolved.map { (ranges: $0.ranges, maxRetry: $0.maxRetry, selector: $0.selector) }
            .sorted { $0.maxRetry < $1.maxRetry }
    }

    /// Resolves every rule of `policy` that has a max-retry through `source`. Rules whose
    /// ranges cannot be had are returned as failures (and left out), never fatal.
    public static func resolve(_ policy: RangePolicy, source: any RangeSource) -> (
        lookup: MaxRetryLookup, failures: [(RangeSelector, RangeSourceError)]
    ) {
        var resolved: [(selector: RangeSelector, maxRetry: Int, ranges: RangeSet)] = []
        var failures: [(RangeSelector, RangeSourceError)] = []
        for rule in policy.rules {
            guard let maxRetry = rule.maxRetry else { continue }
            do throws(RangeSourceError) {
                resolved.append((rule.selector, maxRetry, RangeSet(try source.networks(for: rule.selector))))
            } catch {
                failures.append((rule.selector, error))
            }
        }
        return (MaxRetryLookup(resolved), failures)
    }

    /// True when no rule has a max-retry.
    public var isEmpty: Bool { entries.isEmpty }

    /// The lowest max-retry of the rules covering `address`, and the rule's selector; nil
    /// when none covers it.
    public func maxRetry(for address: IPAddress) -> (maxRetry: Int, selector: RangeSelector)? {
        for entry in entries where entry.ranges.contains(address) {
            return (entry.maxRetry, entry.selector)
        }
        return nil
    }
}
