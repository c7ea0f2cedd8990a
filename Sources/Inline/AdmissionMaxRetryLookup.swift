// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// Lower max-retries of their own for some sources: a provider, service, AS or named list
/// (`ranges.rules: { aws:EC2: { max-retry: 1 } }`). The daemon builds one from the range
/// policy and the intelligence store — the same rules the detector applies — and hands it
/// to inline admission (``AdmissionController/replaceSourceLimits(_:)``), so such a source
/// gets that many tries inline too. Asked once per source when it is first tracked (and
/// again for every tracked source when the rules change), never per packet.
public protocol AdmissionMaxRetryLookup: Sendable {
    /// A max-retry for `address`, or nil when no rule covers it. Only a value lower than
    /// the policy's takes effect.
    func maxRetry(for address: IPAddress) -> Int?
}
