// SPDX-License-Identifier: GPL-2.0-or-later

public import Glibc

/// A joinable POSIX thread running one closure. Used for the sensors' and the ledger
/// writer's dedicated threads, which block in `poll(2)` or on disk I/O and must not occupy
/// a Swift concurrency thread.
public struct PosixThread: Sendable {
    public let handle: pthread_t

    /// The closure's box, handed to the new thread through an opaque pointer.
    private final class Entry {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// The errno-style code `pthread_create` returned.
    public struct StartFailure: Error { public var code: Int32 }

    /// Starts a thread running `body`.
    ///
    /// `body` need not be `Sendable`: ownership of everything it captures moves to the new
    /// thread, and the caller must not touch those objects afterwards.
    public init(_ body: @escaping () -> Void) throws(StartFailure) {
        let context = Unmanaged.passRetained(Entry(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                let entry = Unmanaged<Entry>.fromOpaque(raw).takeRetainedValue()
                entry.body()
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<Entry>.fromOpaque(context).release()
            throw StartFailure(code: rc)
        }
        handle = thread
    }

    /// True when called on this thread.
    public var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }

    /// Waits for the thread to finish.
    public func join() { _ = pthread_join(handle, nil) }

    /// Lets the thread release its resources on exit without being joined.
    public func detach() { _ = pthread_detach(handle) }
}
