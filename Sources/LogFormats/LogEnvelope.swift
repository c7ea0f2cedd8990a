// SPDX-License-Identifier: GPL-2.0-or-later

import WardenCore

//
// The wrappers a logging pipeline puts around a PBX's own line: an RFC 3164 or RFC 5424
// syslog header, or the header journalctl prints. Peeled positionally from the start of the
// line; what remains is handed to the PBX dialects. Formats: docs/LOG-FORMATS.md.

/// Where the PBX's own text starts and the time the wrapper states.
struct LogWrapper {
    var time: LogTime?
    /// Index of the first byte after the wrapper.
    var inner: Int
}

enum LogEnvelope {
    /// The syslog or journal header at the start of the line, if there is one:
    /// `[<PRI>]TIMESTAMP [HOST ]TAG[PID]: `, `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD `
    /// (RFC 5424), with TIMESTAMP as RFC 3164 (`Jul  8 22:25:10`, journalctl `short`,
    /// `short-precise`), ISO 8601 / RFC 3339 (`short-iso`, `short-iso-precise`, rsyslog's
    /// high-precision format) or `EPOCH.FRACTION` (`short-unix`). A first token that starts
    /// with `[` is not a host or tag: that is a PBX's own dated prefix (FreeSWITCH).
    static func wrapper(_ b: Bytes) -> LogWrapper? {
        // Every wrapper starts with `<`, a digit or a month name's capital.
        guard let first = b.at(0), first == UInt8(ascii: "<") || isDigit(first) || isUpper(first) else { return nil }
        var i = 0
        var rfc5424 = false
        if b.at(0) == UInt8(ascii: "<") {
            let ds = 1
            let de = b.skipDigits(ds)
            guard de > ds, de - ds <= 3, b.at(de) == UInt8(ascii: ">") else { return nil }
            i = de + 1
            if let v = b.at(i), isDigit(v), b.at(i + 1) == 0x20 {
                rfc5424 = true
                i += 2
            }
        }
        guard let (time, end) = timestamp(b, i), b.at(end) == 0x20 else { return nil }
        i = end + 1
        if rfc5424 { return structuredHeader(b, i, time: time) }
        // `[HOST ]TAG:` — at most two tokens, the last ending with ':'.
        for _ in 0..<2 {
            let ts = i
            guard let c = b.at(i), c != UInt8(ascii: "["), c != 0x20 else { return nil }
            while let c = b.at(i), c != 0x20 {
                i += 1
                if i - ts > 128 { return nil }
            }
            guard b.at(i) == 0x20 else { return nil }
            if b.at(i - 1) == UInt8(ascii: ":") {
                return LogWrapper(time: time, inner: i + 1)
            }
            i += 1
        }
        return nil
    }

    /// A wrapper's timestamp at `i`: the dialects' date forms, or `EPOCH.FRACTION`.
    static func timestamp(_ b: Bytes, _ i: Int) -> (LogTime?, Int)? {
        if let (t, end) = b.dateTime(i) { return (t, end) }
        let ds = i
        let de = b.skipDigits(ds)
        guard de - ds >= 9, de - ds <= 11, b.at(de) == UInt8(ascii: "."), let sec = b.number(ds..<de) else { return nil }
        let fs = de + 1
        let fe = b.skipDigits(fs)
        guard fe > fs, fe - fs <= 9 else { return nil }
        var us = 0
        for k in 0..<6 { us = us * 10 + (fs + k < fe ? Int(b.p[fs + k] - 0x30) : 0) }
        return (.instant(Timestamp(seconds: Int64(sec), microseconds: Int64(us))), fe)
    }

    /// RFC 5424 after the timestamp: `HOST APP PROCID MSGID SD[ MSG]`.
    static func structuredHeader(_ b: Bytes, _ start: Int, time: LogTime?) -> LogWrapper? {
        var i = start
        for _ in 0..<4 {
            let ts = i
            while let c = b.at(i), c != 0x20 {
                i += 1
                if i - ts > 128 { return nil }
            }
            guard i > ts, b.at(i) == 0x20 else { return nil }
            i += 1
        }
        // STRUCTURED-DATA: "-" or one or more [id param="value"...] (values escape `"`, `\`, `]`).
        if b.at(i) == UInt8(ascii: "-") {
            i += 1
        } else {
            guard b.at(i) == UInt8(ascii: "[") else { return nil }
            var groups = 0
            while b.at(i) == UInt8(ascii: "[") {
                groups += 1
                guard groups <= 16 else { return nil }
                i += 1
                var quoted = false
                while let c = b.at(i) {
                    if c == UInt8(ascii: "\\"), quoted {
                        i += 2
                        continue
                    }
                    if c == UInt8(ascii: "\"") { quoted.toggle() }
                    if c == UInt8(ascii: "]"), !quoted { break }
                    i += 1
                }
                guard b.at(i) == UInt8(ascii: "]") else { return nil }
                i += 1
            }
        }
        guard b.at(i) == 0x20 else { return nil }
        i += 1
        // An optional UTF-8 BOM before MSG.
        if b.at(i) == 0xEF, b.at(i + 1) == 0xBB, b.at(i + 2) == 0xBF { i += 3 }
        return LogWrapper(time: time, inner: i)
    }

    /// The better of two times for one line: an exact instant over a calendar time, a calendar
    /// time with a year over one without; on a tie the PBX's own (`inner`).
    static func best(inner: LogTime?, wrapper: LogTime?) -> LogTime? {
        guard let w = wrapper else { return inner }
        guard let p = inner else { return w }
        return rank(w) > rank(p) ? w : p
    }

    private static func rank(_ t: LogTime) -> Int {
        switch t {
        case .instant: 2
        case .clock(let c): c.year == nil ? 0 : 1
        }
    }
}
