// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// Which packets a block drops (the kernel side maps it to its own scope).
public enum RangeScope: String, Hashable, Sendable, Codable, CaseIterable {
    /// TCP and UDP to the SIP ports only.
    case sip
    /// Everything from the ranges.
    case all
}

/// A block of every range of a selector.
public struct RangeBlockAction: Hashable, Sendable {
    /// SIP ports only, or everything.
    public var scope: RangeScope
    /// How long; nil = permanent.
    public var duration: Duration?

    public init(scope: RangeScope = .sip, duration: Duration? = nil) {
        self.scope = scope
        self.duration = duration
    }
}

/// The policy for one provider/service, AS or named list.
public struct RangeRule: Hashable, Sendable {
    /// What the rule is about.
    public var selector: RangeSelector
    /// A lower max-retry for sources in these ranges (`aws:EC2: { max-retry: 1 }`); nil = the
    /// detector's own.
    public var maxRetry: Int?
    /// Block all its ranges (refreshed when they change); nil = no block.
    public var block: RangeBlockAction?

    public init(selector: RangeSelector, maxRetry: Int? = nil, block: RangeBlockAction? = nil) {
        self.selector = selector
        self.maxRetry = maxRetry
        self.block = block
    }
}

/// The opt-in rule: block an AS's ranges when at least `threshold` distinct addresses of it
/// were banned within `window`.
public struct ASNBlockRule: Hashable, Sendable {
    /// Distinct banned addresses of one AS (≥ 2).
    public var threshold: Int
    /// The window they must fall in.
    public var window: Duration
    /// The block it makes (SIP ports by default).
    public var block: RangeBlockAction

    public init(threshold: Int, window: Duration, block: RangeBlockAction = RangeBlockAction(scope: .sip, duration: .seconds(86_400))) {
        self.threshold = threshold
        self.window = window
        self.block = block
    }
}

/// The whole range policy: per-selector rules, the AS rule, and guards.
public struct RangePolicy: Hashable, Sendable {
    public var rules: [RangeRule]
    /// Off unless configured.
    public var asnRule: ASNBlockRule?
    /// The overdue-cases rule (`overdue-block`); off unless configured.
    public var overdueRule: OverdueBlockRule?
    /// Prefixes shorter than these are never blocked (dropped from a block and counted).
    public var minimumPrefixLengthV4: Int
    public var minimumPrefixLengthV6: Int
    /// How often blocks are re-resolved and refreshed in the kernel.
    public var refreshInterval: Duration

    public init(
        rules: [RangeRule] = [], asnRule: ASNBlockRule? = nil, overdueRule: OverdueBlockRule? = nil, minimumPrefixLengthV4: Int = 8,
        minimumPrefixLengthV6: Int = 16, refreshInterval: Duration = .seconds(3_600)
    ) {
        self.rules = rules
        self.asnRule = asnRule
        self.overdueRule = overdueRule
        self.minimumPrefixLengthV4 = minimumPrefixLengthV4
        self.minimumPrefixLengthV6 = minimumPrefixLengthV6
        self.refreshInterval = refreshInterval
    }

    /// Checks the values; the message names the rule at fault.
    public func validate() throws(RangePolicyError) {
        var seen: Set<RangeSelector> = []
        for rule in rules {
            guard seen.insert(rule.selector).inserted else { throw RangePolicyError("\(rule.selector): listed twice") }
            if let maxRetry = rule.maxRetry, !(1...1_000).contains(maxRetry) {
                throw RangePolicyError("\(rule.selector): max-retry must be 1...1000")
            }
            if rule.maxRetry == nil && rule.block == nil { throw RangePolicyError("\(rule.selector): neither max-retry nor block") }
            if let duration = rule.block?.duration, duration <= .zero { throw RangePolicyError("\(rule.selector): block time must be positive") }
        }
        if let asnRule {
            guard (2...100_000).contains(asnRule.threshold) else { throw RangePolicyError("asn-block: threshold must be 2...100000") }
            guard asnRule.window > .zero else { throw RangePolicyError("asn-block: window must be positive") }
        }
        if let overdueRule {
            guard (1...100_000).contains(overdueRule.threshold) else { throw RangePolicyError("overdue-block: threshold must be 1...100000") }
            if let duration = overdueRule.block.duration, duration <= .zero { throw RangePolicyError("overdue-block: block time must be positive") }
        }
        guard (0...32).contains(minimumPrefixLengthV4), (0...128).contains(minimumPrefixLengthV6) else {
            throw RangePolicyError("minimum prefix lengths must be 0...32 and 0...128")
        }
        guard refreshInterval >= .seconds(60) else { throw RangePolicyError("refresh interval must be at least 60 s") }
    }

    /// The rules that block, in order.
    public var blockRules: [RangeRule] { rules.filter { $0.block != nil } }
}

/// A range policy that cannot be used.
public struct RangePolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A block as it is in force: what, how, since and until when, and why.
public struct RangeBlockRecord: Hashable, Sendable, Codable {
    /// Why the block exists.
    public enum Origin: String, Hashable, Sendable, Codable {
        /// `sipwarden ranges block` or the API.
        case manual
        /// A configured rule with `block`.
        case policy
        /// The AS rule (≥ K banned addresses of one AS).
        case asnRule = "asn-rule"
        /// The overdue-cases rule (≥ K abuse cases of one AS overdue or escalated).
        case overdueRule = "overdue-rule"
    }

    public var selector: RangeSelector
    public var scope: RangeScope
    public var origin: Origin
    public var created: Timestamp
    /// nil = permanent.
    public var expires: Timestamp?
    /// Intervals loaded at the last refresh (after merging and carving out the allowlist).
    public var intervals: Int
    /// When its ranges were last resolved and loaded.
    public var refreshed: Timestamp
    /// Why it was made, when the origin alone does not say (the AS rule names its K and
    /// window); nil in records written before it existed.
    public var reason: String?

    public init(
        selector: RangeSelector, scope: RangeScope, origin: Origin, created: Timestamp, expires: Timestamp?,
        intervals: Int = 0, refreshed: Timestamp, reason: String? = nil
    ) {
        self.reason = reason
        self.selector = selector
        self.scope = scope
        self.origin = origin
        self.created = created
        self.expires = expires
        self.intervals = intervals
        self.refreshed = refreshed
    }

    /// True when the block has expired at `now`.
    public func isExpired(at now: Timestamp) -> Bool {
        expires.map { $0 <= now } ?? false
    }
}
