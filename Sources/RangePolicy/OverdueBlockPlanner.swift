// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// The opt-in overdue-cases rule (`ranges.overdue-block`): block an AS's ranges while at
/// least `threshold` of its abuse cases are overdue or escalated (the provider scorecard's
/// `overdueNow`), and lift that block once fewer are.
public struct OverdueBlockRule: Hashable, Sendable {
    /// K: overdue cases of one AS that block its ranges (≥ 1).
    public var threshold: Int
    /// The block it makes: the SIP ports by default; `duration` nil = for as long as the AS
    /// has K overdue cases, else an upper bound on each block.
    public var block: RangeBlockAction

    public init(threshold: Int, block: RangeBlockAction = RangeBlockAction(scope: .sip, duration: nil)) {
        self.threshold = threshold
        self.block = block
    }
}

/// The overdue-cases rule's decisions. Pure (time and the blocks in force are passed in):
/// given the overdue cases per AS and the blocks in force, which AS blocks to make and which
/// of this rule's own blocks to lift.
///
/// - An AS with `threshold` or more cases and no block in force is blocked (origin
///   `overdue-rule`).
/// - An AS that has a block of another origin (manual, configured, the AS rule) is left
///   alone: nothing stacks on it, and it is never lifted here.
/// - This rule's block of an AS that has fewer than `threshold` cases now is lifted.
/// - When this rule's block is gone while the AS is still at K or more (its `block-time`
///   ran out, or the operator lifted it), the AS is blocked again only once a case that
///   block did not cover becomes overdue, or after it has dropped below K and come back.
/// - A block that could not be made (`failed(asn:at:)`) is tried again after
///   `retryInterval`.
///
/// The memory of what the blocks covered (`memory`) is bounded by the ASes at K or more.
public struct OverdueBlockPlanner: Sendable {
    /// A block to make.
    public struct Block: Hashable, Sendable {
        public var asn: UInt32
        public var selector: RangeSelector
        public var action: RangeBlockAction
        /// `overdue-block: 3 abuse cases of AS64500 overdue (1a2b3c4d, …)`.
        public var reason: String
        /// The overdue cases it is for.
        public var cases: [String]
    }

    /// What one evaluation asks the shell to do.
    public struct Plan: Hashable, Sendable {
        /// Blocks to make, by AS number.
        public var block: [Block] = []
        /// This rule's blocks to lift.
        public var lift: [RangeSelector] = []
        /// ASes at K or more left alone: a block of another origin is in force.
        public var blockedByOthers: [UInt32] = []

        public init() {}
    }

    /// How long after a failed block the AS is tried again.
    public static let retryInterval: Duration = .seconds(600)

    /// The rule in force (nil = off).
    public private(set) var rule: OverdueBlockRule?
    /// Per AS: the overdue cases this rule's blocks covered since it was last below K.
    private var covered: [UInt32: Set<String>] = [:]
    /// Per AS: no new block before this time (a block failed).
    private var retryAt: [UInt32: Timestamp] = [:]

    /// - Parameters:
    ///   - memory: what past blocks covered (`memory` of the planner before a restart).
    public init(rule: OverdueBlockRule?, memory: [UInt32: [String]] = [:]) {
        self.rule = rule
        covered = rule == nil ? [:] : memory.mapValues { Set($0) }
    }

    /// Per AS, the overdue cases this rule's blocks covered (sorted), to be kept across a
    /// restart: a block that ran out is not made again for the same cases.
    public var memory: [UInt32: [String]] { covered.mapValues { $0.sorted() } }

    /// A reload. A changed K takes effect at the next `plan` (blocks of ASes now below it
    /// are lifted, ASes now at it are blocked); a changed scope or block time applies to
    /// blocks made from then on. Turning the rule off forgets everything (the next `plan`
    /// lifts every block of this rule).
    public mutating func replace(rule: OverdueBlockRule?) {
        guard rule != self.rule else { return }
        self.rule = rule
        retryAt = [:]
        if rule == nil { covered = [:] }
    }

    /// The decisions at `now`.
    /// - Parameters:
    ///   - overdue: the ids of each AS's cases overdue now (cases without an AS are not in it).
    ///   - inForce: every range block in force (of any origin).
    public mutating func plan(overdue: [UInt32: [String]], inForce: [RangeBlockRecord], now: Timestamp) -> Plan {
        var plan = Plan()
        var own: Set<UInt32> = []
        var others: Set<UInt32> = []
        for record in inForce where !record.isExpired(at: now) {
            guard case .asn(let asn) = record.selector else { continue }
            if record.origin == .overdueRule { own.insert(asn) } else { others.insert(asn) }
        }
        retryAt = retryAt.filter { $0.value > now }
        guard let rule else {
            covered = [:]
            plan.lift = own.sorted().map { .asn($0) }
            return plan
        }
        let atK = { (asn: UInt32) in (overdue[asn]?.count ?? 0) >= rule.threshold }
        // Below K: this rule's block goes and the AS starts afresh.
        for asn in own.sorted() where !atK(asn) { plan.lift.append(.asn(asn)) }
        covered = covered.filter { atK($0.key) }
        for asn in own where atK(asn) { covered[asn, default: []].formUnion(overdue[asn] ?? []) }
        for (asn, ids) in overdue.sorted(by: { $0.key < $1.key }) where ids.count >= rule.threshold && !own.contains(asn) {
            if others.contains(asn) {
                plan.blockedByOthers.append(asn)
                continue
            }
            // This rule's block ended while the AS stayed at K: only a further case renews it.
            if let done = covered[asn], done.isSuperset(of: ids) { continue }
            if retryAt[asn] != nil { continue }
            covered[asn, default: []].formUnion(ids)
            plan.block.append(
                Block(asn: asn, selector: .asn(asn), action: rule.block, reason: Self.reason(asn: asn, cases: ids), cases: ids))
        }
        return plan
    }

    /// The block of `asn` could not be made: it is tried again after `retryInterval`.
    public mutating func failed(asn: UInt32, at now: Timestamp) {
        covered[asn] = nil
        retryAt[asn] = now + Self.retryInterval
    }

    /// The block's reason: the count, the AS and the first cases' id prefixes
    /// (`sipwarden cases show PREFIX` finds them).
    public static func reason(asn: UInt32, cases: [String]) -> String {
        let shown = cases.prefix(5).map { String($0.prefix(8)) }.joined(separator: ", ")
        let more = cases.count > 5 ? ", …" : ""
        return "overdue-block: \(cases.count) abuse case\(cases.count == 1 ? "" : "s") of AS\(asn) overdue (\(shown)\(more))"
    }
}
