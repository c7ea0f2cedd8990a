// SPDX-License-Identifier: GPL-2.0-or-later

public import LogFormats
import Logging
public import Sensors
public import WardenCore

/// The systemd journal as a source (`--journal [NAME]`, `journal:` in the file).
public struct JournalSettings: Sendable, Hashable {
    /// `_SYSTEMD_UNIT` values to read (with their suffix, `kamailio.service`).
    public var units: [String]
    /// `SYSLOG_IDENTIFIER` values to read (`kamailio`).
    public var identifiers: [String]
    /// How messages are decoded: `auto` picks the dialect per entry from its identifier
    /// or unit (see `JournalDialect`), anything else forces one dialect.
    public var dialect: DialectSelection
    /// Read the journal files in this directory (a copied or remote journal) instead of the
    /// system journal.
    public var directory: String?

    /// The four servers sipwarden knows, by their Debian unit and syslog identifier names.
    public static let serverNames = ["asterisk", "freeswitch", "kamailio", "opensips"]

    public init(units: [String] = [], identifiers: [String] = [], dialect: DialectSelection = .auto, directory: String? = nil) {
        self.units = units.map(JournalMatches.unitName)
        self.identifiers = identifiers
        self.dialect = dialect
        self.directory = directory
    }

    /// Settings for these names: a name with a unit suffix (`kamailio.service`) matches
    /// that unit; a bare name (`kamailio`) matches unit `NAME.service` or syslog identifier
    /// `NAME` (a PBX run by systemd, or one logging to syslog from elsewhere). No names =
    /// the four servers.
    public init(names: [String], dialect: DialectSelection = .auto, directory: String? = nil) {
        var units: [String] = []
        var identifiers: [String] = []
        for name in names.isEmpty ? Self.serverNames : names {
            if JournalMatches.unitName(name) == name {
                units.append(name)
            } else {
                units.append(name)
                identifiers.append(name)
            }
        }
        self.init(units: units, identifiers: identifiers, dialect: dialect, directory: directory)
    }

    /// The sd-journal matches.
    public var matches: JournalMatches { JournalMatches(units: units, identifiers: identifiers) }

    /// Short text for log lines: `journal (units kamailio.service; identifiers kamailio)`.
    public var summary: String {
        var parts: [String] = []
        if !units.isEmpty { parts.append("units \(units.joined(separator: ","))") }
        if !identifiers.isEmpty { parts.append("identifiers \(identifiers.joined(separator: ","))") }
        let what = parts.isEmpty ? "every entry" : parts.joined(separator: "; ")
        return "journal\(directory.map { " in \($0)" } ?? "") (\(what))"
    }

    /// Checks the names; returns the first problem.
    public func validationError() -> String? {
        for value in units + identifiers where !JournalMatches.isValidValue(value) {
            return "'\(value)' cannot be a unit or syslog identifier (no spaces, '=' or control characters, at most 256 bytes)"
        }
        if let directory, directory.isEmpty { return "the journal directory must not be empty" }
        return nil
    }
}

/// Decodes journal entries (pure): the dialect of each entry, and its events.
public enum JournalDecoding {
    /// A forced dialect wins. With `auto`, the entry's syslog identifier, else its unit,
    /// names the server when it starts with `asterisk`, `freeswitch`, `kamailio` or
    /// `opensips` (so `kamailio-lb` is Kamailio too); otherwise the line decides (`auto`).
    ///
    /// The identifier and unit are set by the sending process or by journald, never by a
    /// remote SIP peer, so choosing by them cannot be steered by an attacker.
    public static func selection(identifier: String?, unit: String?, configured: DialectSelection) -> DialectSelection {
        guard configured == .auto else { return configured }
        for name in [identifier, unit].compactMap({ $0?.lowercased() }) {
            for dialect in [Dialect.asterisk, .freeswitch, .kamailio, .opensips] where name.hasPrefix(dialect.rawValue) {
                return .only(dialect)
            }
        }
        return .auto
    }

    /// The events in one entry. Each line of `MESSAGE` goes through the same
    /// `LogDialects.parse` as a line of a log file; the event's time is the entry's
    /// journal time (journald's own clock, with zone and year), not a time in the text;
    /// `now` only when the entry has none.
    /// `unmatched` is called with each line that looks like a security failure but matches
    /// no known form (`UnmatchedLines`), and the name the journal source reports it under.
    public static func events(
        in entry: JournalEntry, configured: DialectSelection, now: Timestamp,
        unmatched: (_ line: UnsafeBufferPointer<UInt8>, _ source: String) -> Void = { _, _ in }
    ) -> [SecurityEvent] {
        let selection = selection(identifier: entry.identifier, unit: entry.unit, configured: configured)
        let time = entry.realtimeMicroseconds > 0 ? Timestamp(microseconds: entry.realtimeMicroseconds) : now
        let name = "journal:\(entry.unit ?? entry.identifier ?? "?")"
        let origin = EventOrigin.logLine(file: name, line: 0)
        var events: [SecurityEvent] = []
        entry.message.withUnsafeBufferPointer { message in
            TailedLines.forEachLine(in: message) { raw, _ in
                var line = raw
                if let last = line.last, last == 0x0D { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
                guard let finding = LogDialects.parse(line, selection: selection) else {
                    if UnmatchedLines.looksLikeFailure(line) { unmatched(line, name) }
                    return
                }
                events.append(finding.event(at: time, origin: origin))
            }
        }
        return events
    }
}

/// Turns journal entries into security events and hands them to the pipeline, on the
/// journal reader's thread.
public struct JournalSink: Sendable {
    public let settings: JournalSettings
    let pipeline: Pipeline
    let clock: TimeSource

    public init(settings: JournalSettings, pipeline: Pipeline, clock: @escaping TimeSource) {
        self.settings = settings
        self.pipeline = pipeline
        self.clock = clock
    }

    /// Judges a batch (the journal reader's callback); verdicts are enforced at once.
    public func handle(_ batch: [JournalEntry]) {
        let received = clock()
        for entry in batch {
            let events = JournalDecoding.events(in: entry, configured: settings.dialect, now: received) { line, name in
                pipeline.noteUnmatched(line, file: name)
            }
            if !events.isEmpty { pipeline.judge(events, received: received) }
        }
    }
}
