// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// The hook for thresholds of their own per network: a provider, service, AS or named
/// list with a lower max-retry (`ranges.rules: { aws:EC2: { max-retry: 1 } }`). The
/// daemon installs one built from the range policy and the intelligence store; the
/// detector asks it once per failure of a source it does not hold as banned.
public protocol SourceThresholdLookup: Sendable {
    /// A max-retry for `address` and the rule that sets it (named in the ban's reason), or
    /// nil when no rule covers it. Only a value lower than the policy's takes effect.
    func maxRetry(for address: IPAddress) -> (maxRetry: Int, rule: String)?
}
