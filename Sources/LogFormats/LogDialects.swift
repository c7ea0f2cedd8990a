// SPDX-License-Identifier: GPL-2.0-or-later

import WardenCore

/// Decoders for the security-failure lines of PBX logs (Asterisk, FreeSWITCH, and the
/// `SIPWARDEN` line that our Kamailio/OpenSIPS snippets emit). See docs/LOG-FORMATS.md.
///
/// All parsers are pure, synchronous scans over the line's UTF-8 bytes; they allocate only
/// for the extracted user/user-agent/reason text. The address they report is always the
/// one the PBX itself wrote, located by the PBX-written text around it — never a value
/// taken from an attacker-written field. When attacker text makes that ambiguous, the
/// line is ignored (nil) rather than guessed.
public enum LogDialects {
    /// Attacker-written fields (user, user agent, Call-ID) are cut to this many bytes
    /// (the vocabulary's limit for every sensor).
    public static let maximumFieldLength = SecurityEvent.maximumFieldLength

    /// Asterisk and FreeSWITCH lines longer than this are ignored. In these formats the
    /// PBX-written address can follow attacker text; a log pipeline that truncates long lines
    /// (RFC 3164 relays at 1 KiB, older rsyslog at 2 KiB, …) could cut the real tail off and
    /// leave a forged one at the end of the line. Genuine failure lines are a few hundred bytes.
    public static let maximumLineLength = 1000

    /// `SIPWARDEN` lines may be longer (their attacker text comes last and cannot displace
    /// the fixed fields); this only bounds the work per line.
    public static let maximumSIPWardenLineLength = 16_384

    /// Parses one line (no trailing newline). nil = not a security failure (or ambiguous).
    ///
    /// The line is read in stages: colour codes (raw ESC sequences, rsyslog's `#033[…`) are
    /// removed; a syslog or journal header is peeled off (`LogEnvelope`); then the PBX's own
    /// prefix decides which single dialect may look at the rest (Asterisk's
    /// `[date] LEVEL[lwp]…`, FreeSWITCH's `date [LEVEL] file.c:line`, else a `SIPWARDEN`
    /// line), so no line is claimed by two dialects and attacker text inside one dialect's
    /// line is never read as another's. Each message is then matched only at the position the
    /// PBX writes it, right after its prefix.
    ///
    /// `time` is the best time the line states (the PBX's own, or the wrapper's when that is
    /// more complete); nil when it states none — the caller then supplies one (the journal's
    /// entry time, or the time the line was read).
    public static func parse(_ line: UnsafeBufferPointer<UInt8>, selection: DialectSelection) -> LogFinding? {
        let raw = Bytes(line)
        guard raw.count <= maximumLineLength || !isPBX(selection) else { return nil }
        if raw.count <= maximumLineLength, ColourCodes.present(raw) {
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, raw.count)) { buffer in
                let n = ColourCodes.strip(line, into: buffer)
                return parseClean(Bytes(UnsafeBufferPointer(rebasing: buffer[0..<n])), selection: selection)
            }
        }
        return parseClean(raw, selection: selection)
    }

    private static func isPBX(_ selection: DialectSelection) -> Bool {
        selection == .only(.asterisk) || selection == .only(.freeswitch)
    }

    /// `parse` after colour removal (`b.count` is the original line's length or less).
    static func parseClean(_ b: Bytes, selection: DialectSelection) -> LogFinding? {
        switch selection {
        case .auto:
            if b.count <= maximumLineLength, let f = pbx(b, asterisk: true, freeswitch: true) { return f }
            return SIPWardenLine.parse(b, forced: nil)
        case .only(.asterisk):
            return pbx(b, asterisk: true, freeswitch: false) ?? nil
        case .only(.freeswitch):
            return pbx(b, asterisk: false, freeswitch: true) ?? nil
        case .only(.kamailio):
            return SIPWardenLine.parse(b, forced: .kamailio)
        case .only(.opensips):
            return SIPWardenLine.parse(b, forced: .opensips)
        case .only(.sip):
            return nil
        }
    }

    /// The PBX dialect whose prefix the line carries (after any wrapper), and its finding.
    /// nil = no PBX prefix; `.some(nil)` = a PBX line that is not a failure. When what looks
    /// like a wrapper is not followed by a PBX prefix, the line is tried from its start (an
    /// unbracketed Asterisk 1.4 date `Jan 18 17:39:50 NOTICE[1] chan_sip.c: ` looks like one).
    private static func pbx(_ b: Bytes, asterisk: Bool, freeswitch: Bool) -> LogFinding?? {
        if let wrapper = LogEnvelope.wrapper(b), let f = pbx(b, from: wrapper.inner, asterisk: asterisk, freeswitch: freeswitch) {
            return .some(timed(f, wrapper))
        }
        return pbx(b, from: 0, asterisk: asterisk, freeswitch: freeswitch)
    }

    private static func pbx(_ b: Bytes, from s: Int, asterisk: Bool, freeswitch: Bool) -> LogFinding?? {
        if asterisk, let prefix = AsteriskDialect.prefix(b, from: s) {
            return .some(AsteriskDialect.message(b, prefix: prefix))
        }
        if freeswitch, let prefix = FreeSWITCHDialect.prefix(b, from: s) {
            return .some(FreeSWITCHDialect.message(b, prefix: prefix))
        }
        return nil
    }

    /// `f` with the better of its own time and the wrapper's.
    private static func timed(_ f: LogFinding?, _ wrapper: LogWrapper?) -> LogFinding? {
        guard var f, let wrapper else { return f }
        f.time = LogEnvelope.best(inner: f.time, wrapper: wrapper.time)
        return f
    }

    /// Convenience for tests and the command line: parses a `String` line.
    public static func parse(_ line: String, selection: DialectSelection) -> LogFinding? {
        var copy = line
        return copy.withUTF8 { parse($0, selection: selection) }
    }
}

/// Where the PBX-written prefix ends and what time it states.
struct LinePrefix {
    var time: LogTime?
    /// Index of the first byte of the message text.
    var message: Int
    /// Text before the message, for dialect hints.
    var start: Int = 0
    /// Asterisk dialplan `Log()` line (`Ext. EXTEN…: message`): the location part holds
    /// caller-chosen text, so only messages anchored at the end of the line are read.
    var dialplan = false
}
