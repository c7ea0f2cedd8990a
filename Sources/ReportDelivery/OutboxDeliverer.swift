// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import Foundation
public import Storage
public import WardenCore

/// The outbox's I/O shell: takes due entries from the `CaseStore`, asks the pure core
/// (`OutboxSchedule`) what may go, marks each `handing-over` durably, calls the transport,
/// and stores the outcome durably. At start, `recover()` applies the restart rule to what
/// a crash left `handing-over` (docs/ABUSE.md "Exactly once").
public struct OutboxDeliverer: Sendable {
    public var store: CaseStore
    public var transport: any ReportTransport
    public var policy: DeliveryPolicy
    /// Asks the MTA about interrupted hand-overs (nil: nobody can tell).
    public var check: (any HandoverCheck)?
    public var clock: TimeSource

    public init(store: CaseStore, transport: any ReportTransport, policy: DeliveryPolicy, check: (any HandoverCheck)?, clock: @escaping TimeSource) {
        self.store = store
        self.transport = transport
        self.policy = policy
        self.check = check
        self.clock = clock
    }

    /// What one pass did.
    public struct Pass: Sendable, Hashable {
        /// Entries after their hand-over (sent, queued again, failed), in the order tried.
        public var handedOver: [OutboxEntry] = []
        /// Entries postponed by the per-recipient limit.
        public var postponed: [OutboxEntry] = []

        public var sent: Int { handedOver.filter { $0.state == .sent }.count }
        public var retrying: Int { handedOver.filter { $0.state == .queued }.count }
        public var failed: Int { handedOver.filter { $0.state == .failed }.count }
    }

    /// Resolves every entry a crash left `handing-over`; returns them as resolved.
    public func recover() async throws(LedgerError) -> [OutboxEntry] {
        var resolved: [OutboxEntry] = []
        for entry in try store.interruptedHandovers() {
            let evidence = await check?.evidence(for: entry) ?? .unknown
            let next = OutboxSchedule.resolveInterrupted(entry, evidence: evidence, at: clock())
            if try store.finishHandover(next) { resolved.append(next) }
        }
        return resolved
    }

    /// Hands over what is due now (at most `limit` entries), one at a time.
    public func deliverDue(limit: Int = 100) async throws(LedgerError) -> Pass {
        let now = clock()
        let due = try store.dueEntries(at: now, limit: limit)
        guard !due.isEmpty else { return Pass() }
        let recent = try store.handoverTimes(recipients: Set(due.map(\.recipient)), since: now - policy.recipientWindow)
        let plan = OutboxSchedule.plan(due: due, recent: recent, at: now, policy: policy)
        var pass = Pass()
        for entry in plan.deferred {
            if let id = entry.id { try store.postpone(id: id, until: entry.nextAttemptAt) }
            pass.postponed.append(entry)
        }
        for entry in plan.send {
            guard let id = entry.id, let marked = try store.beginHandover(id: id, transport: transport.kind, at: clock()) else { continue }
            let store = self.store
            let outcome = await transport.handOver(marked) { stage, pid in try store.recordStage(id: id, stage, pid: pid) }
            var current = marked
            if let latest = try store.outboxEntry(id: id) { current = latest }
            var next: OutboxEntry
            if case .interrupted = outcome, let check {
                let evidence = await check.evidence(for: current)
                next = OutboxSchedule.resolveInterrupted(current, evidence: evidence, at: clock())
            } else {
                next = OutboxSchedule.afterHandover(current, outcome, at: clock(), policy: policy)
            }
            try store.finishHandover(next)
            pass.handedOver.append(next)
        }
        return pass
    }

    /// Releases a case's reports held for review. Returns how many.
    @discardableResult
    public func approve(caseID: UUID) throws(LedgerError) -> Int {
        try store.approve(caseID: caseID, at: clock())
    }
}
