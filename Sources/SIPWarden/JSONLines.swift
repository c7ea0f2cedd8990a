// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// A byte buffer that JSON objects are appended to by hand: the `events` command writes
/// millions of them, and Foundation's encoder would dominate the run time.
public struct JSONLineWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 1 << 16) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// Appends one security event as a JSON object and a newline; with `enrichment`, what
    /// the intelligence store knows of its source (`asn`, `as_name`, `country`, …) too.
    public mutating func append(_ e: SecurityEvent, enrichment: IntelEnrichment? = nil) {
        bytes.append(UInt8(ascii: "{"))
        key("time", first: true)
        timestamp(e.time)
        key("source")
        address(e.source)
        if let port = e.sourcePort {
            key("port")
            number(Int64(port))
        }
        if let destination = e.destination {
            key("destination")
            address(destination)
        }
        if let port = e.destinationPort {
            key("destination_port")
            number(Int64(port))
        }
        if let t = e.transport {
            key("transport")
            string(t.rawValue)
        }
        key("kind")
        string(e.kind.rawValue)
        if let user = e.user {
            key("user")
            string(user)
        }
        if let ua = e.userAgent {
            key("user_agent")
            string(ua)
        }
        if let reason = e.reason {
            key("reason")
            string(reason)
        }
        if let callID = e.callID {
            key("call_id")
            string(callID)
        }
        key("dialect")
        string(e.dialect.rawValue)
        switch e.origin {
        case .logLine(let file, let line):
            key("file")
            string(file)
            key("line")
            number(Int64(line))
        case .frame(let file, let number):
            key("file")
            string(file)
            key("frame")
            self.number(Int64(number))
        case .wire(let sensor):
            key("sensor")
            string(sensor)
        }
        if let enrichment { append(enrichment: enrichment) }
        bytes.append(UInt8(ascii: "}"))
        bytes.append(0x0A)
    }

    /// Appends `"2026-11-25T12:34:56.123456Z"` without building intermediate strings.
    public mutating func timestamp(_ t: Timestamp) {
        let secs = t.seconds
        let micros = Int(t.microseconds - secs * 1_000_000)
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rem = Int(secs - days * 86_400)
        let (y, m, d) = RFC3339.civil(fromDays: days)
        bytes.append(UInt8(ascii: "\""))
        if y < 0 || y > 9999 {
            raw(String(y))
        } else {
            digits(y, width: 4)
        }
        bytes.append(UInt8(ascii: "-"))
        digits(m, width: 2)
        bytes.append(UInt8(ascii: "-"))
        digits(d, width: 2)
        bytes.append(UInt8(ascii: "T"))
        digits(rem / 3600, width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(rem / 60 % 60, width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(rem % 60, width: 2)
        if micros != 0 {
            bytes.append(UInt8(ascii: "."))
            digits(micros, width: 6)
        }
        bytes.append(UInt8(ascii: "Z"))
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends an IP address as a JSON string; IPv4 without allocating.
    public mutating func address(_ a: IPAddress) {
        guard case .v4(let v) = a else {
            string(a.description)
            return
        }
        bytes.append(UInt8(ascii: "\""))
        for shift in [24, 16, 8, 0] as [UInt32] {
            let octet = Int((v >> shift) & 0xFF)
            if octet >= 100 { bytes.append(UInt8(octet / 100) + 0x30) }
            if octet >= 10 { bytes.append(UInt8(octet / 10 % 10) + 0x30) }
            bytes.append(UInt8(octet % 10) + 0x30)
            if shift != 0 { bytes.append(UInt8(ascii: ".")) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Zero-padded decimal of a non-negative value.
    @inline(__always)
    mutating func digits(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            bytes.append(UInt8(v / divisor % 10) + 0x30)
            v %= divisor
            divisor /= 10
        }
    }

    public mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func number(_ v: Int64) {
        if v == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = v.magnitude
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while n > 0 {
                d[count] = UInt8(n % 10) + 0x30
                n /= 10
                count += 1
            }
            if v < 0 { bytes.append(UInt8(ascii: "-")) }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    /// Appends a JSON string, escaping quotes, backslashes and control characters.
    public mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        // Fast path: most text needs no escaping and is copied in one go.
        let clean = s.utf8.withContiguousStorageIfAvailable { buffer -> Bool in
            for b in buffer where b < 0x20 || b == 0x7F || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return false }
            bytes.append(contentsOf: buffer)
            return true
        }
        if clean == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(b)
            case UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(b)
            case 0x0A:
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(UInt8(ascii: "n"))
            case 0x0D:
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(UInt8(ascii: "r"))
            case 0x09:
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(UInt8(ascii: "t"))
            case 0..<0x20, 0x7F:
                func hex(_ n: UInt8) -> UInt8 { n < 10 ? n + 0x30 : n - 10 + 0x61 }
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex(b >> 4), hex(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }
}

/// RFC 3339 timestamps in UTC, computed without Foundation.
public enum RFC3339 {
    /// `2026-11-25T12:34:56.123456Z` (fraction omitted when zero).
    public static func format(_ t: Timestamp) -> String {
        let secs = t.seconds
        let micros = Int(t.microseconds - secs * 1_000_000)
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rem = Int(secs - days * 86_400)
        let (y, m, d) = civil(fromDays: days)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var s = "\(y)-\(two(m))-\(two(d))T\(two(rem / 3600)):\(two(rem / 60 % 60)):\(two(rem % 60))"
        if micros != 0 {
            let frac = String(micros)
            s += "." + String(repeating: "0", count: 6 - frac.count) + frac
        }
        return s + "Z"
    }

    /// Proleptic Gregorian date for days since 1970-01-01 (Howard Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }
}
