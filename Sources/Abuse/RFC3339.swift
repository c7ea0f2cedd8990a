// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

extension Timestamp {
    /// The time in RFC 3339 UTC with seconds (`2026-12-02T23:41:52Z`), as XARF and mail
    /// headers' companions expect; fractions are dropped.
    public var rfc3339: String {
        let days = utcDay
        let secondOfDay = epochSeconds - days * 86_400
        let (y, m, d) = Self.civil(fromDays: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(y).count < 4 ? String(repeating: "0", count: 4 - String(y).count) + String(y) : String(y)
        return "\(year)-\(two(m))-\(two(d))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    /// Whole seconds since the epoch, rounded down.
    var epochSeconds: Int64 { microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000 }

    /// Days since 1970-01-01 in UTC, rounded down.
    var utcDay: Int64 {
        let seconds = epochSeconds
        return seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    }

    /// Year, month, day of the proleptic Gregorian calendar for days since 1970-01-01
    /// (H. Hinnant's civil_from_days).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
