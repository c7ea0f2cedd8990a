// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
public import Logging
public import RangePolicy
public import Storage
import Synchronization
public import WardenCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The opt-in overdue-cases rule in the daemon (`ranges.overdue-block`, docs/RANGES.md):
/// the answer, with data, to "should I bother to report, or block the range for ever?".
/// While an AS has `threshold` abuse cases overdue or escalated (the provider scorecard's
/// `overdueNow`, read from the ledger's cases), its ranges are blocked through `RangeBlocks`
/// (origin `overdue-rule`, the reason naming the count and the cases); once fewer are
/// (cases mitigated, answered or closed) the rule lifts its own block — never a manual,
/// configured or AS-rule block, and it never stacks on one. Cases without an AS do not count.
///
/// `OverdueBlockPlanner` decides; this shell reads the cases and the blocks in force, and
/// makes and lifts blocks. `evaluate()` runs at every ranges tick and after every pass of
/// the case service; evaluations are serialised. Thread-safe.
public final class OverdueRule: Sendable {
    /// What one evaluation did.
    public struct Evaluation: Hashable, Sendable {
        public var blocked: [RangeSelector] = []
        public var lifted: [RangeSelector] = []
        /// Blocks that could not be made or lifted.
        public var failures: [String] = []
        /// ASes at the threshold that already had a block of another origin.
        public var blockedByOthers: [UInt32] = []
        /// The rule is on but there are no cases to read (the case service is off).
        public var noCases = false
    }

    /// The file in the state directory that keeps what past blocks covered.
    public static let stateFileName = "overdue-block.json"

    private let planner: Mutex<OverdueBlockPlanner>
    private let statePath: String?
    private let blocks: RangeBlocks
    private let cases: CaseStore?
    private let clock: TimeSource
    private let logger: Logger
    private let warnedNoCases = Atomic<Bool>(false)

    /// - Parameters:
    ///   - rule: `ranges.overdue-block`; nil = off (an evaluation then lifts this rule's blocks).
    ///   - cases: the ledger's cases; nil when `abuse:` is not configured.
    ///   - stateDirectory: where `overdue-block.json` is kept (nil: in memory only).
    public init(
        rule: OverdueBlockRule?, blocks: RangeBlocks, cases: CaseStore?, stateDirectory: String?, clock: @escaping TimeSource, logger: Logger
    ) {
        statePath = stateDirectory.map { $0 + "/" + Self.stateFileName }
        let memory = statePath.flatMap(Self.readMemory) ?? [:]
        planner = Mutex(OverdueBlockPlanner(rule: rule, memory: memory))
        self.blocks = blocks
        self.cases = cases
        self.clock = clock
        self.logger = logger
    }

    /// The rule in force (nil = off).
    public var rule: OverdueBlockRule? { planner.withLock { $0.rule } }

    /// A reload (`OverdueBlockPlanner.replace`); the next evaluation applies it.
    public func replace(rule: OverdueBlockRule?) {
        planner.withLock { $0.replace(rule: rule) }
    }

    /// Reads the cases, plans, and makes and lifts blocks.
    @discardableResult
    public func evaluate() -> Evaluation {
        // The planner's lock is held throughout: one evaluation at a time.
        planner.withLock { planner in
            var evaluation = Evaluation()
            var overdue: [UInt32: [String]] = [:]
            if planner.rule != nil {
                guard let cases else {
                    if !warnedNoCases.exchange(true, ordering: .relaxed) {
                        logger.warning("overdue-block: no abuse cases to count (abuse: takes effect at the next restart)")
                    }
                    evaluation.noCases = true
                    return evaluation
                }
                do throws(LedgerError) {
                    let open = try cases.cases(states: [.overdue, .escalated], limit: 1_000_000)
                    overdue = Scorecard.overdueByAS(open).mapValues { $0.map(CaseEngine.key) }
                } catch {
                    evaluation.failures.append("cannot read the cases: \(error)")
                    logger.warning("overdue-block: cannot read the cases", metadata: ["error": "\(error)"])
                    return evaluation
                }
            }
            let now = clock()
            let before = planner.memory
            defer { if planner.memory != before { writeMemory(planner.memory) } }
            let plan = planner.plan(overdue: overdue, inForce: blocks.list(), now: now)
            evaluation.blockedByOthers = plan.blockedByOthers
            for selector in plan.lift {
                do throws(RangeBlocks.Failure) {
                    if try blocks.unblock(selector, onlyOrigin: .overdueRule) {
                        evaluation.lifted.append(selector)
                        logger.notice("overdue-block: block lifted", metadata: ["selector": "\(selector)"])
                    }
                } catch {
                    evaluation.failures.append("\(selector): \(error)")
                    logger.warning("overdue-block: the block could not be lifted", metadata: ["selector": "\(selector)", "error": "\(error)"])
                }
            }
            for block in plan.block {
                do throws(RangeBlocks.Failure) {
                    try blocks.block(
                        block.selector, scope: block.action.scope, duration: block.action.duration, origin: .overdueRule,
                        reason: block.reason, onlyIfAbsent: true)
                    evaluation.blocked.append(block.selector)
                } catch {
                    planner.failed(asn: block.asn, at: now)
                    evaluation.failures.append("\(block.selector): \(error)")
                    logger.warning(
                        "overdue-block: the AS's ranges could not be blocked", metadata: ["selector": "\(block.selector)", "error": "\(error)"])
                }
            }
            return evaluation
        }
    }

    private struct StateFile: Codable {
        var version = 1
        /// AS number (as text) → the case ids its past blocks covered.
        var covered: [String: [String]]
    }

    private static func readMemory(_ path: String) -> [UInt32: [String]]? {
        guard let data = FileManager.default.contents(atPath: path),
            let file = try? JSONDecoder().decode(StateFile.self, from: data)
        else { return nil }
        var memory: [UInt32: [String]] = [:]
        for (key, ids) in file.covered { if let asn = UInt32(key) { memory[asn] = ids } }
        return memory
    }

    /// Written atomically; a failure is logged (the memory stays in this process).
    private func writeMemory(_ memory: [UInt32: [String]]) {
        guard let statePath else { return }
        let file = StateFile(covered: Dictionary(uniqueKeysWithValues: memory.map { ("\($0.key)", $0.value) }))
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(file).write(to: URL(fileURLWithPath: statePath), options: .atomic)
        } catch {
            logger.warning("overdue-block: cannot write \(statePath)", metadata: ["error": "\(error)"])
        }
    }
}
