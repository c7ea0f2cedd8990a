// SPDX-License-Identifier: GPL-2.0-or-later

import DedicatedThreads
import Dispatch
public import NetworkAddress
import Synchronization
public import WardenCore

/// Writes to the ledger on a dedicated thread so the hot path never waits on disk.
///
/// `enqueueBan` and `enqueueLift` append to an in-memory queue under a short lock and
/// return; the writer thread commits whatever has accumulated in one transaction, in
/// enqueue order. If a batch fails, its operations are retried one by one so a single bad
/// record cannot take the others down. A write that fails for a reason that can pass (the
/// database locked by another process past the busy timeout, a full disk, an I/O error:
/// `LedgerError.isTransient`) is not lost: it and everything after it wait, in order,
/// and are tried again every `retryDelay`, up to `maxAttempts` times (then it is reported
/// and dropped, so one write can never wedge the ledger for good). Other failures (an
/// invalid record) are reported through `onError` at once.
public final class LedgerWriter: Sendable {
    private let core: WriterCore
    private let thread: PosixThread

    /// Starts the writer thread.
    /// - Parameter onError: called for each operation that could not be committed (e.g.
    ///   disk full) on the writer thread, and for a write enqueued after `stop` on the
    ///   enqueuing thread. Keep it short and non-blocking (log it).
    /// - Parameters:
    ///   - retryDelay: the wait before a transiently failed write is tried again.
    ///   - maxAttempts: tries of one write before it is reported and dropped.
    ///   - onDelay: called on the writer thread when writes start waiting for a retry (the
    ///     first transient failure of a write; nothing is lost yet).
    public init(
        ledger: Ledger, retryDelay: Duration = .seconds(1), maxAttempts: Int = 600,
        onDelay: @escaping @Sendable (LedgerError) -> Void = { _ in },
        onError: @escaping @Sendable (LedgerError) -> Void
    ) throws(LedgerError) {
        let core = WriterCore(
            ledger: ledger, retryDelay: retryDelay, maxAttempts: max(1, maxAttempts), onDelay: onDelay, onError: onError)
        self.core = core
        do throws(PosixThread.StartFailure) {
            thread = try PosixThread(name: "sw-ledger", scheduling: .background) { core.run() }
        } catch {
            throw .writerUnavailable(errno: error.code)
        }
    }

    deinit { stop() }

    /// Queues a ban and its evidence. Never blocks on I/O.
    public func enqueueBan(_ ban: BanRecord, evidence: [SecurityEvent]) {
        core.enqueue(.write(.ban(ban, evidence)))
    }

    /// Queues `ban` with its evidence. Never blocks on I/O.
    public func enqueue(_ ban: Ban) {
        core.enqueue(.write(.ban(BanRecord(ban), ban.evidence)))
    }

    /// Queues lifting the active bans of `network`. Never blocks on I/O.
    public func enqueueLift(network: IPNetwork, at: Timestamp) {
        core.enqueue(.write(.lift(network, at)))
    }

    /// Blocks until everything enqueued before this call has been committed, has failed
    /// and been reported, or waits for a retry after a transient failure (see `pending`).
    /// Returns at once after `stop`.
    public func flush() {
        let done = DispatchSemaphore(value: 0)
        guard core.enqueue(.barrier(done)) else { return }
        done.wait()
    }

    /// Commits what is queued, then ends the writer thread. Idempotent.
    public func stop() {
        guard core.requestStop() else { return }
        if thread.isCurrent { thread.detach() } else { thread.join() }
    }

    /// Operations committed so far, and operations that failed (and were dropped).
    public var counts: (committed: Int, failed: Int) {
        (core.committed.load(ordering: .relaxed), core.failed.load(ordering: .relaxed))
    }

    /// Operations waiting for a retry after a transient failure.
    public var pending: Int { core.pendingCount.load(ordering: .relaxed) }
}

/// The queue shared by `LedgerWriter` and its thread (kept apart from `LedgerWriter` so
/// the thread does not keep the writer alive).
final class WriterCore: Sendable {
    enum Item: Sendable {
        case write(LedgerOperation)
        case barrier(DispatchSemaphore)
    }

    private struct Queue {
        var items: [Item] = []
        var stopping = false
    }

    let ledger: Ledger
    let onError: @Sendable (LedgerError) -> Void
    let onDelay: @Sendable (LedgerError) -> Void
    let retryDelay: Duration
    let maxAttempts: Int
    let committed = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let pendingCount = Atomic<Int>(0)
    private let queue = Mutex(Queue())
    /// Signalled when the queue goes from empty to non-empty, and on stop.
    private let wakeup = DispatchSemaphore(value: 0)

    init(
        ledger: Ledger, retryDelay: Duration, maxAttempts: Int, onDelay: @escaping @Sendable (LedgerError) -> Void,
        onError: @escaping @Sendable (LedgerError) -> Void
    ) {
        self.ledger = ledger
        self.onDelay = onDelay
        self.retryDelay = retryDelay
        self.maxAttempts = maxAttempts
        self.onError = onError
    }

    /// Appends an item; false when the writer is stopping (the item is dropped; a write is
    /// reported through `onError`).
    @discardableResult
    func enqueue(_ item: Item) -> Bool {
        let (accepted, wasEmpty) = queue.withLock { q -> (Bool, Bool) in
            guard !q.stopping else { return (false, false) }
            let wasEmpty = q.items.isEmpty
            q.items.append(item)
            return (true, wasEmpty)
        }
        if accepted {
            if wasEmpty { wakeup.signal() }
        } else if case .write = item {
            failed.add(1, ordering: .relaxed)
            onError(.database("ledger writer is stopped; a write was dropped"))
        }
        return accepted
    }

    /// Marks the queue stopping; true for the first caller, who must then join the thread.
    func requestStop() -> Bool {
        let first = queue.withLock { q -> Bool in
            guard !q.stopping else { return false }
            q.stopping = true
            return true
        }
        if first { wakeup.signal() }
        return first
    }

    /// The writer thread's body. `pending` (this thread's only) holds, in order, the writes
    /// not committed yet: new ones go behind those waiting for a retry.
    func run() {
        var pending = Pending()
        while true {
            if pending.operations.isEmpty {
                wakeup.wait()
            } else {
                let (seconds, attoseconds) = retryDelay.components
                _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)))
            }
            let (items, stopping) = queue.withLock { q -> ([Item], Bool) in
                let items = q.items
                q.items.removeAll(keepingCapacity: true)
                return (items, q.stopping)
            }
            process(items, &pending, final: false)
            if stopping {
                // Nothing can be enqueued any more; write what slipped in meanwhile, and
                // give what still fails one last try before it is reported.
                let rest = queue.withLock { q -> [Item] in
                    let items = q.items
                    q.items = []
                    return items
                }
                process(rest, &pending, final: true)
                return
            }
        }
    }

    /// Writes not committed yet, oldest first, and the tries of the first.
    struct Pending {
        var operations: [LedgerOperation] = []
        var attempts = 0
    }

    private func process(_ items: [Item], _ pending: inout Pending, final: Bool) {
        for item in items {
            switch item {
            case .write(let operation):
                pending.operations.append(operation)
            case .barrier(let done):
                commit(&pending, final: final)
                done.signal()
            }
        }
        commit(&pending, final: final)
    }

    /// Commits `pending` in one transaction or, when that fails, one by one in order,
    /// stopping at the first transient failure (it and what follows wait for a retry).
    private func commit(_ pending: inout Pending, final: Bool) {
        defer { pendingCount.store(pending.operations.count, ordering: .relaxed) }
        guard !pending.operations.isEmpty else { return }
        do {
            try ledger.apply(pending.operations)
            committed.add(pending.operations.count, ordering: .relaxed)
            pending = Pending()
            return
        } catch {
            if error.isTransient, final {
                // Stopping: one last try failed for all of them; do not wait again per write.
                failed.add(pending.operations.count, ordering: .relaxed)
                onError(error)
                pending = Pending()
                return
            }
            if error.isTransient {
                pending.attempts += 1
                if pending.attempts < maxAttempts {
                    if pending.attempts == 1 { onDelay(error) } // nothing lost: it is retried
                    return
                }
            }
        }
        while let operation = pending.operations.first {
            do {
                try ledger.apply([operation])
                committed.add(1, ordering: .relaxed)
                pending.operations.removeFirst()
                pending.attempts = 0
            } catch {
                if error.isTransient, !final, pending.attempts < maxAttempts - 1 {
                    pending.attempts += 1
                    if pending.attempts == 1 { onDelay(error) }
                    return
                }
                failed.add(1, ordering: .relaxed)
                onError(error)
                pending.operations.removeFirst()
                pending.attempts = 0
            }
        }
    }
}
