// SPDX-License-Identifier: GPL-2.0-or-later

import CSystemd
import Glibc
import Logging

/// The journal thread's state: the sd-journal handle and the reading position. Created by
/// `JournalReader.start` (so setup errors are thrown to the caller), then owned and used by
/// the reader thread alone (sd-journal handles are not thread-safe).
final class JournalLoop {
    /// How the journal is named in log lines.
    let name: String
    private let journal: OpaquePointer
    private let journalFD: Int32
    private let configuration: JournalReaderConfiguration
    private let cursorFile: JournalCursorFile?
    private let logger: Logger
    private let counters: JournalCounters
    private let signal: StopSignal
    private let onEntries: @Sendable ([JournalEntry]) -> Void
    /// The entry the journal is positioned on has not been delivered yet (resuming after a
    /// cursor whose entry is gone lands on the first entry after it).
    private var currentIsPending = false
    /// The last cursor written to the cursor file.
    private var savedCursor: String?
    /// The last errno of a failed cursor save or journal read, so each is logged once.
    private var lastSaveFailure: Int32?
    private var lastReadFailure: Int32?
    /// While entries are arriving: look for more every `activePollInterval` until then.
    private var activeUntil: ContinuousClock.Instant?

    init(
        configuration: JournalReaderConfiguration, logger: Logger, counters: JournalCounters, signal: StopSignal,
        onEntries: @escaping @Sendable ([JournalEntry]) -> Void
    ) throws(JournalError) {
        self.configuration = configuration
        self.logger = logger
        self.counters = counters
        self.signal = signal
        self.onEntries = onEntries
        cursorFile = configuration.cursorPath.map(JournalCursorFile.init(path:))
        let matches = configuration.matches
        for value in matches.units + matches.identifiers where !JournalMatches.isValidValue(value) {
            throw .invalidMatch(value)
        }
        var handle: OpaquePointer?
        let rc: Int32
        if let directory = configuration.directory {
            rc = sd_journal_open_directory(&handle, directory, 0)
            name = "journal in \(directory)"
        } else {
            rc = sd_journal_open(&handle, Int32(SD_JOURNAL_LOCAL_ONLY))
            name = "system journal"
        }
        guard rc >= 0, let handle else {
            throw .cannotOpen(what: configuration.directory.map { "the journal in \($0)" } ?? "the system journal", errno: -rc)
        }
        journal = handle
        // From here on, deinit closes the handle.
        for term in matches.matchTerms {
            let r: Int32
            if let term {
                r = term.withCString { sd_journal_add_match(handle, $0, 0) }
            } else {
                r = sd_journal_add_disjunction(handle)
            }
            guard r >= 0 else { throw .journalFailure(what: "match \(term ?? "OR")", errno: -r) }
        }
        // Larger compressed fields are returned cut to this size (we cut them anyway).
        _ = sd_journal_set_data_threshold(handle, configuration.maxMessageLength + 16)
        // Asked for before the first read, so the inotify watches exist before we look:
        // an entry written between positioning and the first poll still wakes us.
        let fd = sd_journal_get_fd(handle)
        guard fd >= 0 else { throw .journalFailure(what: "get_fd", errno: -fd) }
        journalFD = fd
    }

    deinit { sd_journal_close(journal) }

    private var stopRequested: Bool { signal.flag.load(ordering: .acquiring) }

    /// The thread body: position, then deliver entries as they come until the stop signal.
    func run() {
        position()
        var fds = [
            pollfd(fd: journalFD, events: 0, revents: 0),
            pollfd(fd: signal.readEnd, events: Int16(POLLIN), revents: 0),
        ]
        while !stopRequested {
            if deliverAvailable(), let window = configuration.activeWindow {
                activeUntil = .now + window
            }
            if stopRequested { break }
            let events = sd_journal_get_events(journal)
            fds[0].events = Int16(truncatingIfNeeded: events > 0 ? events : Int32(POLLIN))
            fds[0].revents = 0
            fds[1].revents = 0
            let rc = poll(&fds, 2, pollTimeout())
            if rc < 0 {
                if errno == EINTR { continue }
                logger.error("poll failed; the journal reader stops", metadata: ["journal": "\(name)", "error": "\(errnoText(errno))"])
                break
            }
            if stopRequested { break }
            // Always (also on a timeout): sd-journal learns about appended or rotated files here.
            let processed = sd_journal_process(journal)
            if processed < 0 { noteReadFailure(-processed, what: "process") }
        }
        // A crash of the process never loses a renamed cursor; make the last one survive
        // a power loss as well.
        if let cursor = savedCursor { _ = cursorFile?.save(cursor, durable: true) }
    }

    /// Milliseconds sd-journal wants to be woken after at the latest, or -1. With inotify
    /// (local journal files) it is -1: the thread sleeps until journald writes.
    private func pollTimeout() -> Int32 {
        var timeout: Int32 = -1
        var usec: UInt64 = 0
        if sd_journal_get_timeout(journal, &usec) >= 0, usec != UInt64.max {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let nowUsec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
            timeout = usec > nowUsec ? Int32(clamping: (usec - nowUsec + 999) / 1000) : 0
        }
        if let until = activeUntil {
            if ContinuousClock.now < until {
                let (seconds, attoseconds) = configuration.activePollInterval.components
                let interval = Int32(clamping: max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
                timeout = timeout < 0 ? interval : min(timeout, interval)
            } else {
                activeUntil = nil
            }
        }
        return timeout
    }

    /// Moves to where reading starts (see `JournalStartPoint`).
    private func position() {
        let saved = cursorFile?.load() ?? .absent
        if case .corrupt(let problem) = saved, let path = cursorFile?.path {
            logger.error(
                "journal cursor file is not usable (\(problem)); reading new entries from the end of the journal",
                metadata: ["file": "\(path)"])
        }
        switch JournalStartPoint.decide(saved: saved, fromStart: configuration.fromStart) {
        case .after(let cursor):
            if resume(after: cursor) {
                savedCursor = cursor
                return
            }
            seekTail()
        case .head:
            let r = sd_journal_seek_head(journal)
            if r < 0 { noteReadFailure(-r, what: "seek_head") }
            logger.info("reading the journal from its oldest entry", metadata: ["journal": "\(name)"])
        case .tail:
            seekTail()
            logger.info("reading new journal entries (no saved cursor)", metadata: ["journal": "\(name)"])
        }
    }

    /// Seeks to the saved cursor; the entry it names was processed before the restart.
    /// Returns false when sd-journal rejects it (then the caller starts at the end).
    private func resume(after cursor: String) -> Bool {
        let path = cursorFile?.path ?? ""
        let r = sd_journal_seek_cursor(journal, cursor)
        guard r >= 0 else {
            logger.error(
                "journal cursor file holds a cursor sd-journal rejects (\(errnoText(-r))); reading new entries from the end of the journal",
                metadata: ["file": "\(path)"])
            return false
        }
        let moved = sd_journal_next(journal)
        if moved > 0 {
            if sd_journal_test_cursor(journal, cursor) > 0 {
                logger.info("resuming the journal after the saved cursor", metadata: ["journal": "\(name)", "file": "\(path)"])
            } else {
                // Its entry is gone (vacuumed, or the cursor is from another journal): the
                // entry we landed on is the first one after it and was never processed.
                currentIsPending = true
                logger.warning(
                    "the saved journal cursor names an entry no longer in the journal; resuming at the first entry after its time",
                    metadata: ["journal": "\(name)", "file": "\(path)"])
            }
        } else {
            // Nothing at or after it yet: new entries are read as they come.
            logger.info("resuming the journal after the saved cursor (no entry after it yet)", metadata: ["journal": "\(name)"])
        }
        return true
    }

    /// Positions on the newest matching entry, so the next `sd_journal_next` returns the
    /// first entry written after it. With no matching entry at all there is nothing to
    /// skip: reading starts at the head. (Left at the tail location of an empty journal,
    /// sd-journal's first `next` would jump to the newest entry and skip the ones
    /// written before it.)
    private func seekTail() {
        var r = sd_journal_seek_tail(journal)
        if r >= 0 { r = sd_journal_previous(journal) }
        if r == 0 { r = sd_journal_seek_head(journal) }
        if r < 0 { noteReadFailure(-r, what: "seek_tail") }
    }

    /// Delivers every entry available now, in batches, saving the cursor after each.
    /// Returns true when it delivered at least one entry.
    @discardableResult
    private func deliverAvailable() -> Bool {
        var delivered = false
        var batch: [JournalEntry] = []
        batch.reserveCapacity(min(configuration.batchLimit, 64))
        var moved = false
        while !stopRequested {
            let r: Int32
            if currentIsPending {
                currentIsPending = false
                r = 1
            } else {
                r = sd_journal_next(journal)
            }
            if r < 0 {
                noteReadFailure(-r, what: "next")
                break
            }
            if r == 0 { break }
            lastReadFailure = nil
            moved = true
            if let entry = readEntry() { batch.append(entry) }
            if batch.count >= configuration.batchLimit {
                delivered = true
                deliver(batch)
                batch.removeAll(keepingCapacity: true)
                moved = false
            }
        }
        // On stop, an undelivered partial batch is dropped with its cursor unsaved: the
        // next start reads it again, nothing is lost.
        if stopRequested { return delivered }
        if !batch.isEmpty {
            deliver(batch)
            delivered = true
        } else if moved {
            saveCursor() // skipped entries (no MESSAGE) need not be looked at again
        }
        return delivered
    }

    private func deliver(_ batch: [JournalEntry]) {
        onEntries(batch)
        counters.entries.add(batch.count, ordering: .relaxed)
        counters.batches.add(1, ordering: .relaxed)
        saveCursor()
    }

    /// Saves the cursor of the entry the journal is positioned on (the last one handled).
    private func saveCursor() {
        guard let cursorFile else { return }
        var raw: UnsafeMutablePointer<CChar>?
        let r = sd_journal_get_cursor(journal, &raw)
        guard r >= 0, let raw else { return }
        let cursor = String(cString: raw)
        free(raw)
        guard cursor != savedCursor else { return }
        if let failure = cursorFile.save(cursor) {
            counters.cursorSaveFailures.add(1, ordering: .relaxed)
            if lastSaveFailure != failure {
                lastSaveFailure = failure
                logger.error(
                    "cannot save the journal cursor; a restart would read from the end of the journal",
                    metadata: ["file": "\(cursorFile.path)", "error": "\(errnoText(failure))"])
            }
            return
        }
        lastSaveFailure = nil
        savedCursor = cursor
        counters.cursorSaves.add(1, ordering: .relaxed)
    }

    private func noteReadFailure(_ code: Int32, what: String) {
        counters.readErrors.add(1, ordering: .relaxed)
        guard lastReadFailure != code else { return }
        lastReadFailure = code
        logger.warning("journal read error", metadata: ["journal": "\(name)", "call": "\(what)", "error": "\(errnoText(code))"])
    }

    /// Copies the fields sipwarden uses out of the current entry; nil when it has no MESSAGE.
    private func readEntry() -> JournalEntry? {
        guard let message = field("MESSAGE") else {
            counters.entriesWithoutMessage.add(1, ordering: .relaxed)
            return nil
        }
        let limit = configuration.maxMessageLength
        let truncated = message.count > limit
        if truncated { counters.truncatedMessages.add(1, ordering: .relaxed) }
        let bytes = Array(UnsafeRawBufferPointer(rebasing: message[..<min(message.count, limit)]))
        var time: Int64?
        if let source = field("_SOURCE_REALTIME_TIMESTAMP") { time = Self.decimal(source) }
        if time == nil {
            var usec: UInt64 = 0
            if sd_journal_get_realtime_usec(journal, &usec) >= 0, usec <= UInt64(Int64.max) { time = Int64(usec) }
        }
        return JournalEntry(
            message: bytes, truncated: truncated, realtimeMicroseconds: time ?? 0,
            identifier: field("SYSLOG_IDENTIFIER").map(Self.shortText), unit: field("_SYSTEMD_UNIT").map(Self.shortText))
    }

    /// The value of `name` in the current entry (after `NAME=`), valid until the next move.
    private func field(_ name: String) -> UnsafeRawBufferPointer? {
        var data: UnsafeRawPointer?
        var length = 0
        let r = name.withCString { sd_journal_get_data(journal, $0, &data, &length) }
        let prefix = name.utf8.count + 1
        guard r >= 0, let data, length >= prefix else { return nil }
        return UnsafeRawBufferPointer(start: data + prefix, count: length - prefix)
    }

    /// A decimal journal timestamp (at most 19 digits); nil when it is not one.
    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }

    /// A field value as short text (cut to 256 bytes, invalid UTF-8 repaired).
    static func shortText(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes.prefix(256), as: UTF8.self)
    }
}
