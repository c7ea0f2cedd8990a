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

    /// How the kernel schedules a thread against the others.
    public enum Scheduling: Sendable {
        /// The default policy: sensors, whose work is the ban path.
        case normal
        /// Work that follows a ban and must never compete with the ban path for a CPU
        /// (the fan-out's consumers, the ledger writer): `SCHED_BATCH` — its wake-ups do
        /// not preempt a running thread — at nice +5, so on a busy machine a sensor, and
        /// whatever else runs at normal priority, gets the CPU first. The thread still gets
        /// its share when the CPUs are busy; it is not starved as under `SCHED_IDLE`.
        case background
    }

    /// Starts a thread running `body`.
    ///
    /// `body` need not be `Sendable`: ownership of everything it captures moves to the new
    /// thread, and the caller must not touch those objects afterwards.
    /// - Parameters:
    ///   - name: the thread's name as `top -H`, `ps -L` and `perf` show it (cut to the
    ///     kernel's 15 bytes); without one it keeps its creator's.
    ///   - scheduling: `.background` for work that must yield to the ban path; when the
    ///     policy cannot be set the thread runs at normal priority.
    public init(name: String? = nil, scheduling: Scheduling = .normal, _ body: @escaping () -> Void) throws(StartFailure) {
        let body: () -> Void = {
            if let name { Self.nameCurrentThread(name) }
            if scheduling == .background { Self.yieldToTheBanPath() }
            body()
        }
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

    /// Names the calling thread (at most 15 bytes, cut at a character boundary).
    private static func nameCurrentThread(_ name: String) {
        var cut = Substring(name)
        while cut.utf8.count > 15 { cut = cut.dropLast() }
        // pthread_setname_np is not exported without _GNU_SOURCE; the kernel's own interface
        // is the calling thread's `comm` file.
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(cut.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Puts the calling thread in `SCHED_BATCH` at nice +5 (both per thread on Linux).
    private static func yieldToTheBanPath() {
        var parameters = sched_param()
        parameters.sched_priority = 0
        // SCHED_BATCH (3), not exported by Glibc's module without _GNU_SOURCE.
        _ = pthread_setschedparam(pthread_self(), 3, &parameters)
        // Linux keeps the nice value per thread; `who` 0 is the calling thread.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
    }

    /// True when called on this thread.
    public var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }

    /// Waits for the thread to finish.
    public func join() { _ = pthread_join(handle, nil) }

    /// Lets the thread release its resources on exit without being joined.
    public func detach() { _ = pthread_detach(handle) }
}
