// SPDX-License-Identifier: GPL-2.0-or-later

public import Logging
public import NetworkAddress
public import RangePolicy
public import Storage
import Synchronization
public import WardenCore

/// The opt-in AS rule in the daemon (`ranges.asn-block`, docs/RANGES.md): every detector
/// ban of a host carries the AS number the intelligence store knew for it
/// (`Ban.enrichment`); `ASNBlockTracker` counts the distinct banned addresses per AS, and
/// when `threshold` of one AS fall within `window` the AS's ranges are blocked through
/// `RangeBlocks` (origin `asn-rule`, the reason naming K and the window; the allowlist is
/// carved out as for every block).
///
/// Only the detector's host bans count: operator, feed and aggregate (prefix) bans do not,
/// nor does a ban of an allowlisted address or one without an AS number. An AS that
/// already has a block in force (this rule's, a manual or a configured one) is not blocked
/// again; once its block is gone the AS counts afresh. Thread-safe; the block is loaded
/// on the caller's thread (the fan-out consumer's, never the ban path's).
public final class ASNRule: Sendable {
    /// What one ban did to the rule.
    public enum Outcome: Equatable, Sendable {
        /// The rule is off.
        case off
        /// Not a detector host ban, no AS number, or an allowlisted address.
        case ignored
        /// Counted; the AS has not reached the threshold.
        case counted
        /// The AS already has a block in force.
        case alreadyBlocked
        /// This ban tripped the rule: the AS's ranges are blocked.
        case blocked(RangeSelector)
        /// The rule tripped but the block could not be made (no ranges, the kernel refused).
        case failed(String)
    }

    private enum Step {
        case done(Outcome)
        case block(RangeSelector, ASNBlockRule)
    }

    private struct State {
        var tracker: ASNBlockTracker?
        var allowlist: IPNetworkSet
    }

    private let state: Mutex<State>
    private let blocks: RangeBlocks
    private let logger: Logger

    /// - Parameters:
    ///   - rule: `ranges.asn-block`; nil = off.
    ///   - allowlist: addresses whose bans never count (the detector does not ban them anyway).
    ///   - blocks: where the block is made.
    public init(rule: ASNBlockRule?, allowlist: [IPNetwork], blocks: RangeBlocks, logger: Logger) {
        state = Mutex(State(tracker: rule.map { ASNBlockTracker(rule: $0) }, allowlist: IPNetworkSet(allowlist)))
        self.blocks = blocks
        self.logger = logger
    }

    /// The rule in force (nil = off).
    public var rule: ASNBlockRule? { state.withLock { $0.tracker?.rule } }

    /// A reload: a changed rule starts counting afresh (a rule turned off forgets
    /// everything); an unchanged one keeps its counts. The allowlist is replaced.
    public func replace(rule: ASNBlockRule?, allowlist: [IPNetwork]) {
        state.withLock { s in
            if s.tracker?.rule != rule { s.tracker = rule.map { ASNBlockTracker(rule: $0) } }
            s.allowlist = IPNetworkSet(allowlist)
        }
    }

    /// A ban handed over by the fan-out.
    @discardableResult
    public func observe(_ ban: Ban) -> Outcome {
        observe(network: ban.network, origin: ban.origin, rule: ban.rule, asn: ban.enrichment?.asn, at: ban.created)
    }

    /// A ban read back from the ledger (the consumer's queue lost it).
    @discardableResult
    public func observe(_ record: BanRecord) -> Outcome {
        observe(network: record.network, origin: record.origin, rule: record.rule, asn: record.enrichment?.asn, at: record.createdAt)
    }

    /// Counts one ban of `network` by AS `asn` at `time`, and blocks the AS when it trips.
    @discardableResult
    public func observe(network: IPNetwork, origin: BanOrigin, rule banRule: BanRule, asn: UInt32?, at time: Timestamp) -> Outcome {
        guard state.withLock({ $0.tracker != nil }) else { return .off }
        guard origin == .detector, banRule != .aggregate, let asn else { return .ignored }
        let selector = RangeSelector.asn(asn)
        // Outside the lock: `list()` takes the blocks' own lock.
        let inForce = blocks.list().contains { $0.selector == selector }
        let step = state.withLock { (s: inout State) -> Step in
            guard let rule = s.tracker?.rule else { return .done(.off) }
            guard !s.allowlist.contains(network.address) else { return .done(.ignored) }
            if inForce { return .done(.alreadyBlocked) }
            // Its block is gone (expired, lifted): the AS counts afresh. (Mutated in place:
            // the tracker's tables are never copied.)
            if s.tracker?.isTriggered(asn: asn) == true { s.tracker?.forget(asn: asn) }
            guard let tripped = s.tracker?.recordBan(of: network.address, asn: asn, at: time) else { return .done(.counted) }
            return .block(tripped, rule)
        }
        let tripped: RangeSelector
        let rule: ASNBlockRule
        switch step {
        case .done(let outcome): return outcome
        case .block(let selector, let trippedRule): (tripped, rule) = (selector, trippedRule)
        }
        let reason = Self.reason(rule)
        do throws(RangeBlocks.Failure) {
            try blocks.block(tripped, scope: rule.block.scope, duration: rule.block.duration, origin: .asnRule, reason: reason)
            return .blocked(tripped)
        } catch {
            logger.warning("asn-block: the AS's ranges could not be blocked", metadata: ["selector": "\(tripped)", "error": "\(error)"])
            // Lets a later ban try again.
            state.withLock { $0.tracker?.forget(asn: asn) }
            return .failed(error.description)
        }
    }

    /// The block's reason: the rule and its K (`asn-block: 5 addresses banned within 1h`).
    public static func reason(_ rule: ASNBlockRule) -> String {
        "asn-block: \(rule.threshold) addresses banned within \(DurationParser.format(rule.window))"
    }
}
