// SPDX-License-Identifier: GPL-2.0-or-later

public import Detection
public import Inline
public import NetworkAddress

/// The detector's lower max-retries (provider, AS and list rules, `RangeRuleThresholds`)
/// as inline admission asks them: the same rules, the same numbers, on both paths.
public struct InlineThresholds: AdmissionMaxRetryLookup {
    private let lookup: any SourceThresholdLookup

    public init(_ lookup: any SourceThresholdLookup) { self.lookup = lookup }

    public func maxRetry(for address: IPAddress) -> Int? { lookup.maxRetry(for: address)?.maxRetry }
}
