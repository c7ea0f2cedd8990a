// SPDX-License-Identifier: GPL-2.0-or-later

import DedicatedThreads
import Glibc
public import Logging
import Synchronization

/// Why a tailer could not start.
public enum TailError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path is empty or names a directory (ends with `/`).
    case invalidPath(String)
    /// The directory that should contain the file does not exist or is not a directory.
    case parentDirectoryMissing(directory: String)
    /// The directory exists but could not be watched (e.g. permissions, inotify limits).
    case cannotWatch(directory: String, errno: Int32)
    /// The file exists but could not be opened.
    case cannotOpen(path: String, errno: Int32)
    /// The path exists but is not a regular file (a FIFO, device or directory).
    case notARegularFile(path: String)
    /// `inotify_init1` failed (e.g. the per-user instance limit was reached).
    case inotifyUnavailable(errno: Int32)
    /// The stop pipe or the thread could not be created.
    case resourceFailure(what: String, errno: Int32)
    /// `start` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidPath(let p): "invalid log path '\(p)'"
        case .parentDirectoryMissing(let d): "directory '\(d)' does not exist (it must exist so the log file can be awaited)"
        case .cannotWatch(let d, let e): "cannot watch directory '\(d)': \(errnoText(e))"
        case .cannotOpen(let p, let e): "cannot open '\(p)': \(errnoText(e))"
        case .notARegularFile(let p): "'\(p)' is not a regular file"
        case .inotifyUnavailable(let e): "inotify unavailable: \(errnoText(e))"
        case .resourceFailure(let w, let e): "cannot create \(w): \(errnoText(e))"
        case .alreadyStarted: "the tailer was already started"
        }
    }
}

func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// A snapshot of a tailer's counters.
public struct TailStatistics: Sendable, Hashable {
    /// Complete lines delivered (including truncated overlong lines and flushed partials).
    public var lines: Int
    /// Callback invocations.
    public var batches: Int
    /// Bytes delivered.
    public var bytes: Int
    /// Lines longer than `maxLineLength` that were truncated.
    public var overlongLines: Int
    /// Times a new file replaced the tailed one (rename rotation, delete and recreate).
    public var rotations: Int
    /// Times the file shrank below the read offset (copytruncate) and was restarted at 0.
    public var truncations: Int
    /// Failed reads.
    public var readErrors: Int
}

/// Follows a log file like `tail -F`, on a dedicated thread driven by inotify and `poll(2)`.
///
/// - Starts at the end of an existing file (after its last complete line) unless
///   `fromStart` is true. A file that does not exist yet is awaited and read from its start.
/// - Rotation by rename (or delete and recreate): when a new file appears at the path, the
///   old one is read to its end first, then the new one from its start. The old file stays
///   open for `rotationGrace` after its last data, so a writer that has not reopened yet
///   loses nothing; its partial last line is then flushed as a line. A file that is
///   rotated in and out again before the tailer wakes at all (two renames within
///   microseconds) is never seen, as with any inotify- or polling-based tail.
/// - copytruncate: when the file shrinks below the read offset, reading restarts at 0 and
///   line numbers restart at 1. (If the writer refills the file past the old offset before
///   the tailer looks, the shrink cannot be seen; this is inherent to copytruncate.)
/// - A partial last line is held until its `\n` arrives.
/// - Reads are bounded by `chunkSize`, so a burst is delivered in several batches and
///   the consumer sees early lines before the burst has been read. Lines longer than
///   `maxLineLength` without a `\n` are truncated to `maxLineLength` bytes (counted in
///   `statistics.overlongLines`); memory use is bounded.
public final class FileTailer: Sendable {
    /// The tailed path, as given.
    public let path: String
    public let fromStart: Bool
    /// Scheduling of the tail thread.
    public let priority: SensorPriority
    /// Largest single read.
    public let chunkSize: Int
    /// Longest partial line held while waiting for its `\n`.
    public let maxLineLength: Int
    /// How long a rotated-away file is kept open after its last data.
    public let rotationGrace: Duration
    /// Existing files up to this size are counted on start so line numbers are exact.
    public let lineCountLimit: Int
    private let logger: Logger
    private let counters = TailCounters()
    private let state = Mutex<RunState>(.idle)

    private enum RunState {
        case idle
        case running(SensorThread)
        case finished
    }

    /// Creates a tailer; nothing happens until `start`.
    /// - Parameters:
    ///   - chunkSize: largest read, at least 4 KiB (default 64 KiB).
    ///   - maxLineLength: longest line held whole, at least 1 KiB (default 64 KiB).
    public init(
        path: String, fromStart: Bool = false, chunkSize: Int = 64 << 10, maxLineLength: Int = 64 << 10,
        rotationGrace: Duration = .seconds(2), lineCountLimit: Int = 256 << 20,
        priority: SensorPriority = .normal, logger: Logger
    ) {
        self.priority = priority
        self.path = path
        self.fromStart = fromStart
        self.chunkSize = min(max(chunkSize, 4096), 64 << 20)
        self.maxLineLength = min(max(maxLineLength, 1024), 64 << 20)
        self.rotationGrace = rotationGrace
        self.lineCountLimit = lineCountLimit
        self.logger = logger
    }

    deinit { stop() }

    /// Counters so far.
    public var statistics: TailStatistics {
        TailStatistics(
            lines: counters.lines.load(ordering: .relaxed),
            batches: counters.batches.load(ordering: .relaxed),
            bytes: counters.bytes.load(ordering: .relaxed),
            overlongLines: counters.overlongLines.load(ordering: .relaxed),
            rotations: counters.rotations.load(ordering: .relaxed),
            truncations: counters.truncations.load(ordering: .relaxed),
            readErrors: counters.readErrors.load(ordering: .relaxed))
    }

    /// Starts the tail thread. `onLines` is called on that thread with each batch of
    /// complete lines; the batch's bytes are valid only during the call. Setup errors
    /// (missing directory, unreadable file, resource limits) are thrown here; errors met
    /// later (e.g. a rotated file that cannot be opened) are logged and retried on the
    /// next change.
    public func start(onLines: @escaping @Sendable (TailedLines) -> Void) throws(TailError) {
        try state.withLock { (state: inout RunState) throws(TailError) in
            guard case .idle = state else { throw .alreadyStarted }
            let signal: StopSignal
            do throws(StopSignal.CreationFailure) {
                signal = try StopSignal()
            } catch {
                throw .resourceFailure(what: "stop pipe", errno: error.errno)
            }
            let loop = try TailLoop(
                path: path, fromStart: fromStart, chunkSize: chunkSize, maxLineLength: maxLineLength,
                rotationGrace: rotationGrace, lineCountLimit: lineCountLimit, logger: logger,
                counters: counters, signal: signal, onLines: onLines)
            // The loop object is handed to the new thread, which is its only user from now on.
            let thread: SensorThread
            do throws(PosixThread.StartFailure) {
                thread = try SensorThread(
                    "tail thread", priority: priority, signal: signal, logger: logger,
                    metadata: ["path": "\(loop.path)"], loop: loop.run)
            } catch {
                throw .resourceFailure(what: "tail thread", errno: error.code)
            }
            state = .running(thread)
        }
    }

    /// Stops the tail thread and waits for it to finish (it finishes the batch it is
    /// delivering, if any). Idempotent. When called from inside `onLines`, it only asks the
    /// thread to stop and returns.
    public func stop() {
        let running: SensorThread? = state.withLock { state in
            guard case .running(let thread) = state else { return nil }
            state = .finished
            return thread
        }
        running?.stop()
    }
}
