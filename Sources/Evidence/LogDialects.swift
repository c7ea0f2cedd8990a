// SPDX-License-Identifier: GPL-2.0-or-later

/// Decoders for the security-failure lines of PBX logs (Asterisk, FreeSWITCH, and the
/// `SIPWARDEN` line that our Kamailio/OpenSIPS snippets emit). See docs/LOG-FORMATS.md.
///
/// All parsers are pure, synchronous scans over the line's UTF-8 bytes; they allocate only
/// for the extracted user/user-agent/reason text. The address they report is always the
/// one the PBX itself wrote, located by the PBX-written text around it — never a value
/// taken from an attacker-written field. When attacker text makes that ambiguous, the
/// line is ignored (nil) rather than guessed.
public enum LogDialects {
    /// Attacker-written fields (user, user agent) are cut to this many bytes.
    public static let maximumFieldLength = 256

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
    /// With `.auto`, the line's PBX-written prefix decides which single dialect may look at
    /// it (Asterisk's `[date] LEVEL[lwp]` / syslog `LEVEL[lwp]:`, FreeSWITCH's
    /// `date [LEVEL] file.c:line`, else a `SIPWARDEN` line), so no line is claimed by two
    /// dialects and attacker text inside one dialect's line is never read as another's.
    public static func parse(_ line: UnsafeBufferPointer<UInt8>, selection: DialectSelection) -> LogFinding? {
        let b = Bytes(line)
        switch selection {
        case .auto:
            if b.count <= maximumLineLength {
                if let prefix = AsteriskDialect.prefix(b) {
                    return AsteriskDialect.message(b, prefix: prefix)
                }
                if let prefix = FreeSWITCHDialect.prefix(b) {
                    return FreeSWITCHDialect.message(b, prefix: prefix)
                }
            }
            return SIPWardenLine.parse(b, forced: nil)
        case .only(.asterisk):
            guard b.count <= maximumLineLength, let prefix = AsteriskDialect.prefix(b) else { return nil }
            return AsteriskDialect.message(b, prefix: prefix)
        case .only(.freeswitch):
            guard b.count <= maximumLineLength, let prefix = FreeSWITCHDialect.prefix(b) else { return nil }
            return FreeSWITCHDialect.message(b, prefix: prefix)
        case .only(.kamailio):
            return SIPWardenLine.parse(b, forced: .kamailio)
        case .only(.opensips):
            return SIPWardenLine.parse(b, forced: .opensips)
        case .only(.sip):
            return nil
        }
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
}
