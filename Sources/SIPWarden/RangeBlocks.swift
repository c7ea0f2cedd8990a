// SPDX-License-Identifier: GPL-2.0-or-later

import AddressRanges
public import Firewall
public import Logging
public import NetworkAddress
public import RangePolicy
import Synchronization
public import WardenCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Range blocks end to end: resolves a selector's ranges (`RangeSource`), plans them
/// (`RangeBlockPlanner`: minimum prefix lengths, merging, the allowlist carved out), loads
/// them into the kernel (`RangeBlockFirewall`), and keeps the blocks in force in
/// `STATE/range-blocks.json`, so they survive restarts: `reconcile()` at start makes the
/// kernel equal to that file (expired blocks removed, the policy's blocks added).
///
/// Used by the one-shot `sipwarden ranges …` commands and, in a daemon, by the control
/// plane (`RangeAdministration`) and a periodic `tick()` (expiry and refresh). Thread-safe.
public final class RangeBlocks: Sendable {
    /// The file in the state directory.
    public static let stateFileName = "range-blocks.json"

    public let settings: RangesSettings
    private let statePath: String
    private let allowlist: Mutex<[IPNetwork]>
    private let firewall: RangeBlockFirewall?
    private let source: any RangeSource
    private let clock: TimeSource
    private let logger: Logger
    private let state: Mutex<[RangeBlockRecord]>

    /// Why a range block operation failed.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable { case invalid, refused, failed }
        public var kind: Kind
        public var description: String
        init(_ kind: Kind, _ description: String) {
            self.kind = kind
            self.description = description
        }
    }

    /// - Parameters:
    ///   - allowlist: never blocked (the allowlist, the host's own addresses, trunks, peers).
    ///   - firewall: the kernel side, set up by the caller; nil = dry run (state only).
    ///   - source: where selectors' ranges come from (`settings.fileSource`, with the
    ///     intelligence store chained in front once there is one).
    public init(
        settings: RangesSettings, stateDirectory: String, allowlist: [IPNetwork], firewall: RangeBlockFirewall?,
        source: any RangeSource, clock: @escaping TimeSource, logger: Logger
    ) throws(Failure) {
        self.settings = settings
        statePath = stateDirectory + "/" + Self.stateFileName
        self.allowlist = Mutex(allowlist)
        self.firewall = firewall
        self.source = source
        self.clock = clock
        self.logger = logger
        state = Mutex(try Self.readState(statePath))
    }

    // MARK: Operations

    /// The blocks in force (expired ones left out), oldest first.
    public func list() -> [RangeBlockRecord] {
        let now = clock()
        return state.withLock { $0.filter { !$0.isExpired(at: now) } }
    }

    /// Blocks every range of `selector` in `scope` for `duration` (nil: permanent). An
    /// existing block of the same selector is replaced (its ranges refreshed, its scope and
    /// end updated) — unless `onlyIfAbsent`: then it is kept and this fails (`refused`).
    @discardableResult
    public func block(
        _ selector: RangeSelector, scope: RangeScope, duration: Duration?, origin: RangeBlockRecord.Origin = .manual, reason: String? = nil,
        onlyIfAbsent: Bool = false
    ) throws(Failure) -> RangeBlockRecord {
        let now = clock()
        let ranges = try resolve(selector)
        var record = RangeBlockRecord(
            selector: selector, scope: scope, origin: origin, created: now,
            expires: duration.map { now + $0 }, intervals: ranges.count, refreshed: now, reason: reason)
        try state.withLock { (blocks: inout [RangeBlockRecord]) throws(Failure) in
            if let existing = blocks.first(where: { $0.selector == selector && !$0.isExpired(at: now) }), onlyIfAbsent {
                throw Failure(.refused, "\(selector): a block (\(existing.origin.rawValue)) is in force already")
            }
            if let existing = blocks.first(where: { $0.selector == selector }) { record.created = existing.created }
            try load(record, ranges: ranges, now: now)
            blocks.removeAll { $0.selector == selector }
            blocks.append(record)
            try write(blocks)
        }
        var metadata: Logger.Metadata = [
            "selector": "\(selector)", "scope": "\(scope.rawValue)", "intervals": "\(ranges.count)", "origin": "\(origin.rawValue)",
        ]
        if let reason { metadata["reason"] = "\(reason)" }
        logger.notice("range block", metadata: metadata)
        return record
    }

    /// Lifts the block of `selector`; false when there was none (or, with `onlyOrigin`, when
    /// the block in force has another origin: it is kept).
    public func unblock(_ selector: RangeSelector, onlyOrigin: RangeBlockRecord.Origin? = nil) throws(Failure) -> Bool {
        try state.withLock { (blocks: inout [RangeBlockRecord]) throws(Failure) -> Bool in
            if let onlyOrigin, let existing = blocks.first(where: { $0.selector == selector }), existing.origin != onlyOrigin { return false }
            let existed = blocks.contains { $0.selector == selector }
            do throws(FirewallError) {
                try firewall?.remove(block: Self.kernelName(selector))
            } catch {
                throw Failure(.failed, "kernel: \(error.message)")
            }
            blocks.removeAll { $0.selector == selector }
            try write(blocks)
            return existed
        }
    }

    /// At start: removes expired blocks and kernel blocks that are not in the state file,
    /// adds the policy's configured blocks, and loads every block (one transaction each).
    /// Returns a note per block that could not be loaded (its record is kept and retried
    /// at the next refresh).
    public func reconcile() throws(Failure) -> [String] {
        let now = clock()
        var notes: [String] = []
        try state.withLock { (blocks: inout [RangeBlockRecord]) throws(Failure) in
            blocks.removeAll { $0.isExpired(at: now) }
            for rule in settings.policy.blockRules where !blocks.contains(where: { $0.selector == rule.selector }) {
                guard let action = rule.block else { continue }
                blocks.append(
                    RangeBlockRecord(
                        selector: rule.selector, scope: action.scope, origin: .policy, created: now,
                        expires: action.duration.map { now + $0 }, refreshed: now))
            }
            if let firewall {
                let wanted = Set(blocks.map { Self.kernelName($0.selector) })
                do throws(FirewallError) {
                    for name in try firewall.blockNames() where !wanted.contains(name) { try firewall.remove(block: name) }
                } catch {
                    throw Failure(.failed, "kernel: \(error.message)")
                }
            }
            for index in blocks.indices {
                do throws(Failure) { try refresh(&blocks[index], now: now) } catch {
                    notes.append("\(blocks[index].selector): \(error)")
                }
            }
            try write(blocks)
        }
        return notes
    }

    /// Periodic work: lifts expired blocks, and re-resolves and reloads (as a delta) those
    /// last refreshed `settings.policy.refreshInterval` ago or more. Returns notes for
    /// failures (a block whose ranges cannot be had keeps its last contents).
    public func tick() -> [String] {
        let now = clock()
        var notes: [String] = []
        state.withLock { blocks in
            for record in blocks where record.isExpired(at: now) {
                do throws(FirewallError) { try firewall?.remove(block: Self.kernelName(record.selector)) } catch {
                    notes.append("\(record.selector): could not lift the expired block: \(error.message)")
                }
            }
            let before = blocks.count
            blocks.removeAll { $0.isExpired(at: now) }
            var changed = blocks.count != before
            for index in blocks.indices where now - blocks[index].refreshed >= settings.policy.refreshInterval {
                changed = true
                do throws(Failure) { try refresh(&blocks[index], now: now) } catch {
                    // Keeps its last contents; tried again after another interval.
                    blocks[index].refreshed = now
                    notes.append("\(blocks[index].selector): \(error)")
                }
            }
            guard changed else { return }
            do throws(Failure) { try write(blocks) } catch { notes.append(error.description) }
        }
        return notes
    }

    /// Replaces what is never blocked (a reload changed the allowlist) and reloads every
    /// block at once, so a newly allowlisted address is carved out now, not at the next
    /// refresh. Returns notes for blocks that could not be reloaded (they keep their contents).
    public func replaceAllowlist(_ networks: [IPNetwork]) -> [String] {
        allowlist.withLock { $0 = networks }
        let now = clock()
        var notes: [String] = []
        state.withLock { blocks in
            guard !blocks.isEmpty else { return }
            for index in blocks.indices where !blocks[index].isExpired(at: now) {
                do throws(Failure) { try refresh(&blocks[index], now: now) } catch { notes.append("\(blocks[index].selector): \(error)") }
            }
            do throws(Failure) { try write(blocks) } catch { notes.append(error.description) }
        }
        return notes
    }

    /// The kernel name of a selector's block.
    public static func kernelName(_ selector: RangeSelector) -> String {
        RangeBlockFirewall.kernelName(for: selector.description)
    }

    // MARK: Internals

    private func resolve(_ selector: RangeSelector) throws(Failure) -> RangeSet {
        let networks: [IPNetwork]
        do throws(RangeSourceError) {
            networks = try source.networks(for: selector)
        } catch {
            throw Failure(.invalid, error.message)
        }
        let plan = RangeBlockPlanner.plan(networks, policy: settings.policy, allowlist: allowlist.withLock { $0 })
        if !plan.tooShort.isEmpty {
            logger.warning(
                "range block: prefixes shorter than the minimum left out",
                metadata: [
                    "selector": "\(selector)", "count": "\(plan.tooShort.count)", "first": "\(plan.tooShort[0])",
                ])
        }
        guard !plan.ranges.isEmpty else {
            throw Failure(
                .refused,
                "\(selector): no range left to block (\(networks.count) prefixes, \(plan.tooShort.count) too short\(plan.carvedOut ? ", the rest allowlisted" : ""))"
            )
        }
        return plan.ranges
    }

    /// Re-resolves a block's ranges and loads them (a delta when this process loaded it before).
    private func refresh(_ record: inout RangeBlockRecord, now: Timestamp) throws(Failure) {
        let ranges = try resolve(record.selector)
        try load(record, ranges: ranges, now: now)
        record.intervals = ranges.count
        record.refreshed = now
    }

    private func load(_ record: RangeBlockRecord, ranges: RangeSet, now: Timestamp) throws(Failure) {
        guard let firewall else { return }
        var timeout: Duration?
        if let expires = record.expires {
            guard expires > now else { throw Failure(.invalid, "\(record.selector): the block has already expired") }
            timeout = expires - now
        }
        let scope: RangeBlockScope = record.scope == .all ? .all : .sip
        do throws(FirewallError) {
            try firewall.load(block: Self.kernelName(record.selector), scope: scope, ranges: ranges, timeout: timeout)
        } catch {
            throw Failure(.failed, "kernel: \(error.message)")
        }
    }

    private struct StateFile: Codable {
        var version = 1
        var blocks: [RangeBlockRecord]
    }

    private static func readState(_ path: String) throws(Failure) -> [RangeBlockRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(StateFile.self, from: data).blocks
        } catch {
            throw Failure(.failed, "\(path): cannot read the range blocks: \(error)")
        }
    }

    /// Writes the state atomically (a temporary file renamed over the old one).
    private func write(_ blocks: [RangeBlockRecord]) throws(Failure) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(StateFile(blocks: blocks))
            try data.write(to: URL(fileURLWithPath: statePath), options: .atomic)
        } catch {
            throw Failure(.failed, "\(statePath): cannot write the range blocks: \(error)")
        }
    }
}
