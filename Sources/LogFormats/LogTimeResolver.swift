// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// Turns the time a log line wrote (often without year or zone) into an instant.
///
/// Lines that carry no zone are read in the zone given at initialisation (the PBX host's
/// zone, as an offset from UTC). Lines without a year take the year of `reference` — the
/// time the line was read (live tail) or the file's modification time (offline) — or the
/// previous year when that would put the line more than one day after `reference`
/// (a December line read in January).
public struct LogTimeResolver: Sendable {
    /// Offset from UTC, in seconds, assumed for lines that do not state one.
    public var utcOffsetSeconds: Int

    /// - Parameter utcOffsetSeconds: zone assumed for lines without one (clamped to ±26 h).
    public init(utcOffsetSeconds: Int = 0) {
        self.utcOffsetSeconds = max(-93_600, min(93_600, utcOffsetSeconds))
    }

    /// Resolves a line time; missing year = year of `reference`, or the previous year if that
    /// would put it > 1 day after reference. Never traps: out-of-range fields are clamped.
    public func resolve(_ time: LogTime, reference: Timestamp) -> Timestamp {
        switch time {
        case .instant(let t):
            return t
        case .clock(let c):
            let offset = max(-93_600, min(93_600, c.utcOffsetSeconds ?? utcOffsetSeconds))
            if let year = c.year {
                return Self.instant(year: year, clock: c, offset: offset)
            }
            // The reference's calendar year in the line's zone.
            // (Floor division written out: `Timestamp.seconds` traps at Int64.min.)
            let us = reference.microseconds
            let refSeconds = us / 1_000_000 - (us % 1_000_000 < 0 ? 1 : 0)
            let refLocal = refSeconds.addingReportingOverflow(Int64(offset))
            let refYear = refLocal.overflow ? 1970 : Self.civilYear(fromEpochSeconds: refLocal.partialValue)
            let candidate = Self.instant(year: refYear, clock: c, offset: offset)
            let oneDay: Int64 = 86_400 * 1_000_000
            let (limit, o) = reference.microseconds.addingReportingOverflow(oneDay)
            if !o, candidate.microseconds > limit {
                return Self.instant(year: refYear - 1, clock: c, offset: offset)
            }
            return candidate
        }
    }

    static func instant(year: Int, clock c: LogClockTime, offset: Int) -> Timestamp {
        let y = Int64(max(1, min(9999, year)))
        let m = Int64(max(1, min(12, c.month)))
        let d = Int64(max(1, min(31, c.day)))
        let hh = Int64(max(0, min(23, c.hour)))
        let mm = Int64(max(0, min(59, c.minute)))
        let ss = Int64(max(0, min(60, c.second)))
        let us = Int64(max(0, min(999_999, c.microsecond)))
        let days = daysFromCivil(year: y, month: m, day: d)
        let secs = days * 86_400 + hh * 3_600 + mm * 60 + ss - Int64(offset)
        return Timestamp(microseconds: secs * 1_000_000 + us)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The Gregorian year containing `seconds` since the epoch.
    static func civilYear(fromEpochSeconds seconds: Int64) -> Int {
        let clamped = max(-62_135_596_800, min(253_402_300_799, seconds)) // years 1...9999
        let z = (clamped >= 0 ? clamped / 86_400 : (clamped - 86_399) / 86_400) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400
        return Int(month <= 2 ? y + 1 : y)
    }
}

// MARK: - Parsing times as log prefixes write them

private let monthNames: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

extension Bytes {
    /// Exactly `n` digits at `i`.
    @inline(__always) func digits(_ i: Int, _ n: Int) -> Int? {
        number(i..<(i + n))
    }

    /// `HH:MM:SS[.fraction]` at `i`. Returns the fields and the index after them.
    func clockOfDay(_ i: Int) -> (h: Int, m: Int, s: Int, us: Int, end: Int)? {
        guard let h = digits(i, 2), at(i + 2) == UInt8(ascii: ":"),
            let m = digits(i + 3, 2), at(i + 5) == UInt8(ascii: ":"),
            let s = digits(i + 6, 2),
            h <= 23, m <= 59, s <= 60
        else { return nil }
        var j = i + 8
        var us = 0
        if at(j) == UInt8(ascii: "."), let c = at(j + 1), isDigit(c) {
            j += 1
            var n = 0
            while let c = at(j), isDigit(c) {
                if n < 6 { us = us * 10 + Int(c - 0x30) }
                n += 1
                j += 1
                if n > 9 { return nil }
            }
            while n < 6 {
                us *= 10
                n += 1
            }
        }
        return (h, m, s, us, j)
    }

    /// `Z`, `+HH:MM`, `+HHMM` or `+HH` at `i` → offset seconds and end index.
    func zone(_ i: Int) -> (Int, Int)? {
        guard let c = at(i) else { return nil }
        if c == UInt8(ascii: "Z") { return (0, i + 1) }
        guard c == UInt8(ascii: "+") || c == UInt8(ascii: "-"), let hh = digits(i + 1, 2), hh <= 26 else { return nil }
        var mm = 0
        var end = i + 3
        if at(end) == UInt8(ascii: ":"), let m = digits(end + 1, 2) {
            mm = m
            end += 3
        } else if let m = digits(end, 2) {
            mm = m
            end += 2
        }
        guard mm <= 59 else { return nil }
        let v = hh * 3600 + mm * 60
        return (c == UInt8(ascii: "-") ? -v : v, end)
    }

    /// Three-letter English month at `i` (1...12).
    func monthName(_ i: Int) -> Int? {
        guard i >= 0, i + 3 <= count else { return nil }
        switch p[i] {
        case UInt8(ascii: "J"), UInt8(ascii: "F"), UInt8(ascii: "M"), UInt8(ascii: "A"), UInt8(ascii: "S"), UInt8(ascii: "O"),
            UInt8(ascii: "N"), UInt8(ascii: "D"):
            break
        default:
            return nil
        }
        for (k, name) in monthNames.enumerated() where has(name, at: i) { return k + 1 }
        return nil
    }

    /// A date-time as log prefixes write it, at `i`:
    /// `YYYY-MM-DD HH:MM:SS[.f]`, `YYYY-MM-DDTHH:MM:SS[.f][zone]` or `Mmm [d]d HH:MM:SS[.f]`.
    /// With `allowZone`, a zone directly after the time is taken (then the result is an instant).
    func dateTime(_ i: Int, allowZone: Bool = true) -> (LogTime, Int)? {
        if let y = digits(i, 4), at(i + 4) == UInt8(ascii: "-"),
            let mo = digits(i + 5, 2), at(i + 7) == UInt8(ascii: "-"),
            let d = digits(i + 8, 2), let sep = at(i + 10),
            sep == UInt8(ascii: " ") || sep == UInt8(ascii: "T"),
            (1...12).contains(mo), (1...31).contains(d),
            let t = clockOfDay(i + 11)
        {
            var clock = LogClockTime(year: y, month: mo, day: d, hour: t.h, minute: t.m, second: t.s, microsecond: t.us)
            var end = t.end
            if allowZone, let (off, e) = zone(end) {
                clock.utcOffsetSeconds = off
                end = e
                return (.instant(LogTimeResolver.instant(year: y, clock: clock, offset: off)), end)
            }
            return (.clock(clock), end)
        }
        if let mo = monthName(i), at(i + 3) == UInt8(ascii: " ") {
            var j = i + 4
            if at(j) == UInt8(ascii: " ") { j += 1 }
            let ds = j
            j = skipDigits(j)
            guard (1...2).contains(j - ds), let d = number(ds..<j), (1...31).contains(d),
                at(j) == UInt8(ascii: " ")
            else { return nil }
            var year: Int? = nil
            var k = j + 1
            // `Mmm dd YYYY HH:MM:SS` (some dateformat settings).
            if let y = digits(k, 4), at(k + 4) == UInt8(ascii: " ") {
                year = y
                k += 5
            }
            guard let t = clockOfDay(k) else { return nil }
            return (.clock(LogClockTime(year: year, month: mo, day: d, hour: t.h, minute: t.m, second: t.s, microsecond: t.us)), t.end)
        }
        return nil
    }

    /// `MM-DD HH:MM:SS[.f]` at `i` (a year-less date some FreeSWITCH log layouts write).
    func monthDayTime(_ i: Int) -> (LogTime, Int)? {
        guard let mo = digits(i, 2), at(i + 2) == UInt8(ascii: "-"), let d = digits(i + 3, 2),
            at(i + 5) == UInt8(ascii: " "), (1...12).contains(mo), (1...31).contains(d),
            let t = clockOfDay(i + 6)
        else { return nil }
        return (.clock(LogClockTime(year: nil, month: mo, day: d, hour: t.h, minute: t.m, second: t.s, microsecond: t.us)), t.end)
    }
}
