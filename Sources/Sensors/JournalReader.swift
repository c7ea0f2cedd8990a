// SPDX-License-Identifier: GPL-2.0-or-later

import DedicatedThreads
public import Logging
import Synchronization

/// Why the journal reader could not start.
public enum JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `sd_journal_open` / `sd_journal_open_directory` failed (no journal, no permission).
    case cannotOpen(what: String, errno: Int32)
    /// A unit or identifier that cannot be a journal match.
    case invalidMatch(String)
    /// sd-journal refused a match or its wake-up descriptor.
    case journalFailure(what: String, errno: Int32)
    /// The stop pipe or the thread could not be created.
    case resourceFailure(what: String, errno: Int32)
    /// `start` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case .cannotOpen(let what, let e): "cannot open \(what): \(errnoText(e))"
        case .invalidMatch(let m): "'\(m)' cannot be a journal unit or identifier"
        case .journalFailure(let what, let e): "journal \(what) failed: \(errnoText(e))"
        case .resourceFailure(let w, let e): "cannot create \(w): \(errnoText(e))"
        case .alreadyStarted: "the journal reader was already started"
        }
    }
}

/// What the journal reader reads and where it keeps its place.
public struct JournalReaderConfiguration: Sendable, Hashable {
    /// Entries to read (empty = every entry).
    public var matches: JournalMatches
    /// Read the journal files in this directory instead of the system journal (a copied
    /// or remote journal; also how the tests read journals they write).
    public var directory: String?
    /// Where the position is saved; nil = nowhere (every start is a first start).
    public var cursorPath: String?
    /// Without a saved cursor: read the journal from its oldest entry instead of only new ones.
    public var fromStart: Bool
    /// `MESSAGE` fields are cut to this many bytes.
    public var maxMessageLength: Int
    /// Most entries handed to one callback.
    public var batchLimit: Int
    /// Scheduling of the reader thread.
    public var priority: SensorPriority
    /// After entries arrived, also look for more every `activePollInterval` for this long
    /// (nil = only when the journal's descriptor wakes the thread). journald announces
    /// appended entries through inotify only from a timer (250 ms, coalesced by its event
    /// loop: measured 0.4–0.5 s), so during an attack, when entries keep coming, looking
    /// every few milliseconds bans hundreds of milliseconds sooner. A quiet journal is
    /// never polled: the window starts only with delivered entries.
    public var activeWindow: Duration?
    /// See `activeWindow` (at least 1 ms).
    public var activePollInterval: Duration

    public init(
        matches: JournalMatches, directory: String? = nil, cursorPath: String? = nil, fromStart: Bool = false,
        maxMessageLength: Int = 16 << 10, batchLimit: Int = 256, priority: SensorPriority = .normal,
        activeWindow: Duration? = nil, activePollInterval: Duration = .milliseconds(2)
    ) {
        self.activeWindow = activeWindow
        self.activePollInterval = max(activePollInterval, .milliseconds(1))
        self.matches = matches
        self.directory = directory
        self.cursorPath = cursorPath
        self.fromStart = fromStart
        self.maxMessageLength = min(max(maxMessageLength, 256), 1 << 20)
        self.batchLimit = min(max(batchLimit, 1), 65_536)
        self.priority = priority
    }
}

/// A snapshot of the journal reader's counters.
public struct JournalStatistics: Sendable, Hashable {
    /// Entries delivered.
    public var entries: Int
    /// Callback invocations.
    public var batches: Int
    /// Messages cut at `maxMessageLength`.
    public var truncatedMessages: Int
    /// Entries without a `MESSAGE` field (skipped).
    public var entriesWithoutMessage: Int
    /// Cursor files written.
    public var cursorSaves: Int
    /// Cursor writes that failed (logged once per errno).
    public var cursorSaveFailures: Int
    /// Errors sd-journal returned while reading.
    public var readErrors: Int
}

/// Counters shared between the reader thread and `JournalReader.statistics`.
final class JournalCounters: Sendable {
    let entries = Atomic<Int>(0)
    let batches = Atomic<Int>(0)
    let truncatedMessages = Atomic<Int>(0)
    let entriesWithoutMessage = Atomic<Int>(0)
    let cursorSaves = Atomic<Int>(0)
    let cursorSaveFailures = Atomic<Int>(0)
    let readErrors = Atomic<Int>(0)
}

/// Follows the systemd journal through libsystemd's sd-journal, on a dedicated thread that
/// sleeps in `poll(2)` on the journal's own descriptor (`sd_journal_get_fd`, inotify on the
/// journal files) and the stop pipe: an entry is read as soon as journald writes it, and
/// nothing runs while the journal is quiet.
///
/// - Reads only the entries of the configured units and syslog identifiers.
/// - Delivers entries in batches of at most `batchLimit`; after each batch has been
///   handled, the cursor of its last entry is saved (atomic rename) in `cursorPath`, so
///   a restart resumes right after it.
/// - Start: after the saved cursor; without one, at the end of the journal (only new
///   entries), or at its beginning with `fromStart`. A corrupt or unusable cursor is
///   logged as an error and the reader starts at the end.
/// - Each `MESSAGE` is copied and cut to `maxMessageLength` bytes (journal fields can be
///   binary and as large as the sender likes).
public final class JournalReader: Sendable {
    public let configuration: JournalReaderConfiguration
    private let logger: Logger
    private let counters = JournalCounters()
    private let state = Mutex<RunState>(.idle)

    private enum RunState {
        case idle
        case running(SensorThread)
        case finished
    }

    public init(configuration: JournalReaderConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    deinit { stop() }

    /// Counters so far.
    public var statistics: JournalStatistics {
        JournalStatistics(
            entries: counters.entries.load(ordering: .relaxed),
            batches: counters.batches.load(ordering: .relaxed),
            truncatedMessages: counters.truncatedMessages.load(ordering: .relaxed),
            entriesWithoutMessage: counters.entriesWithoutMessage.load(ordering: .relaxed),
            cursorSaves: counters.cursorSaves.load(ordering: .relaxed),
            cursorSaveFailures: counters.cursorSaveFailures.load(ordering: .relaxed),
            readErrors: counters.readErrors.load(ordering: .relaxed))
    }

    /// Opens the journal and starts the reader thread. `onEntries` is called on that thread
    /// with each batch; the cursor is saved when it returns. Setup errors (no journal, bad
    /// matches, resources) are thrown here.
    public func start(onEntries: @escaping @Sendable ([JournalEntry]) -> Void) throws(JournalError) {
        try state.withLock { (state: inout RunState) throws(JournalError) in
            guard case .idle = state else { throw .alreadyStarted }
            let signal: StopSignal
            do throws(StopSignal.CreationFailure) {
                signal = try StopSignal()
            } catch {
                throw .resourceFailure(what: "stop pipe", errno: error.errno)
            }
            let loop = try JournalLoop(
                configuration: configuration, logger: logger, counters: counters, signal: signal, onEntries: onEntries)
            let thread: SensorThread
            do throws(PosixThread.StartFailure) {
                thread = try SensorThread(
                    "journal thread", priority: configuration.priority, signal: signal, logger: logger,
                    metadata: ["journal": "\(loop.name)"], loop: loop.run)
            } catch {
                throw .resourceFailure(what: "journal thread", errno: error.code)
            }
            state = .running(thread)
        }
    }

    /// Stops the reader thread and waits for it (it finishes the batch it is delivering and
    /// saves its cursor). Idempotent; from inside `onEntries` it only asks the thread to stop.
    public func stop() {
        let running: SensorThread? = state.withLock { state in
            guard case .running(let thread) = state else { return nil }
            state = .finished
            return thread
        }
        running?.stop()
    }
}
