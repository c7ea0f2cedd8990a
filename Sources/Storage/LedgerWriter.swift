// SPDX-License-Identifier: GPL-2.0-or-later
import DedicatedThreads
import Dispatch
public import WardenCore
public import NetworkAddress
import Synchronization

/// Writes to the ledger on a dedicated thread so the hot path never waits on disk.
///
/// `enqueueBan` and `enqueueLift` append to an in-memory queue under a short lock and
/// return; the writer thread commits whatever has accumulated in one transaction, in
/// enqueue order. If a batch fails, its operations are retried one by one so a single bad
/// record cannot take the others down; failures are reported through `onError`.
public final class LedgerWriter: Sendable {
    private let core: WriterCore
    private let thread: PosixThread

    /// Starts the writer thread.
    /// - Parameter onError: called for each operation that could not be committed (e.g.
    ///   disk full) on the writer thread, and for a write enqueued after `stop` on the
    ///   enqueuing thread. Keep it short and non-blocking (log it).
    public init(ledger: Ledger, onError: @escaping @Sendable (LedgerError) -> Void) throws(LedgerError) {
        let core = WriterCore(ledger: ledger, onError: onError)
        self.core = core
        do throws(PosixThread.StartFailure) {
            thread = try PosixThread { core.run() }
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

    /// Blocks until everything enqueued before this call has been committed (or has
    /// failed and been reported). Returns at once after `stop`.
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

    /// Operations committed so far, and operations that failed.
    public var counts: (committed: Int, failed: Int) {
        (core.committed.load(ordering: .relaxed), core.failed.load(ordering: .relaxed))
    }
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
    let committed = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    private let queue = Mutex(Queue())
    /// Signalled when the queue goes from empty to non-empty, and on stop.
    private let wakeup = DispatchSemaphore(value: 0)

    init(ledger: Ledger, onError: @escaping @Sendable (LedgerError) -> Void) {
        self.ledger = ledger
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

    /// The writer thread's body.
    func run() {
        while true {
            wakeup.wait()
            let (items, stopping) = queue.withLock { q -> ([Item], Bool) in
                let items = q.items
                q.items.removeAll(keepingCapacity: true)
                return (items, q.stopping)
            }
            process(items)
            if stopping {
                // Nothing can be enqueued any more; write what slipped in meanwhile.
                let rest = queue.withLock { q -> [Item] in
                    let items = q.items
                    q.items = []
                    return items
                }
                process(rest)
                return
            }
        }
    }

    private func process(_ items: [Item]) {
        var run: [LedgerOperation] = []
        for item in items {
            switch item {
            case let .write(operation):
                run.append(operation)
            case let .barrier(done):
                commit(run)
                run.removeAll(keepingCapacity: true)
                done.signal()
            }
        }
        commit(run)
    }

    private func commit(_ operations: [LedgerOperation]) {
        guard !operations.isEmpty else { return }
        do {
            try ledger.apply(operations)
            committed.add(operations.count, ordering: .relaxed)
            return
        } catch {
            if operations.count == 1 {
                failed.add(1, ordering: .relaxed)
                onError(error)
                return
            }
        }
        for operation in operations {
            do {
                try ledger.apply([operation])
                committed.add(1, ordering: .relaxed)
            } catch {
                failed.add(1, ordering: .relaxed)
                onError(error)
            }
        }
    }
}
