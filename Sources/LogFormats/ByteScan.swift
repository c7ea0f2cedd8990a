// SPDX-License-Identifier: GPL-2.0-or-later

//
// Bounds-checked byte scanning over one log line. Every accessor checks its indices and
// returns nil/false instead of trapping: the input is untrusted and may be truncated anywhere.
import NetworkAddress
import WardenCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only view of one line's UTF-8 bytes.
struct Bytes {
    let p: UnsafeBufferPointer<UInt8>

    init(_ p: UnsafeBufferPointer<UInt8>) { self.p = p }

    @inline(__always) var count: Int { p.count }

    /// The byte at `i`, or nil when out of range.
    @inline(__always) func at(_ i: Int) -> UInt8? {
        i >= 0 && i < p.count ? p[i] : nil
    }

    /// True when `s` occurs at `i` (entirely inside the line).
    @inline(__always) func has(_ s: StaticString, at i: Int) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i >= 0, n <= p.count - i else { return false }
        let sp = s.utf8Start
        var k = 0
        while k < n {
            if p[i + k] != sp[k] { return false }
            k += 1
        }
        return true
    }

    /// True when `s` occurs at `i`, ASCII case-insensitively.
    func hasCaseInsensitive(_ s: StaticString, at i: Int) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i >= 0, n <= p.count - i else { return false }
        let sp = s.utf8Start
        var k = 0
        while k < n {
            if lowerASCII(p[i + k]) != lowerASCII(sp[k]) { return false }
            k += 1
        }
        return true
    }

    /// The range `r` holds exactly `s`.
    @inline(__always) func equals(_ r: Range<Int>, _ s: StaticString) -> Bool {
        r.count == s.utf8CodeUnitCount && has(s, at: r.lowerBound)
    }

    /// First occurrence of `s` starting in `from..<to` and ending at or before `to`.
    func find(_ s: StaticString, from: Int, to: Int? = nil) -> Int? {
        let end = min(to ?? p.count, p.count)
        let n = s.utf8CodeUnitCount
        guard from >= 0, n > 0, end - from >= n, let base = p.baseAddress else { return nil }
        // memchr for the first byte, then compare (memmem is not exported by Glibc's module).
        let first = Int32(s.utf8Start[0])
        let lastStart = end - n
        var i = from
        while i <= lastStart {
            guard let hit = memchr(base + i, first, lastStart - i + 1) else { return nil }
            let k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if memcmp(base + k + 1, s.utf8Start + 1, n - 1) == 0 { return k }
            i = k + 1
        }
        return nil
    }

    /// Last occurrence of `s` lying entirely inside `from..<to`.
    func findLast(_ s: StaticString, from: Int, to: Int? = nil) -> Int? {
        let end = min(to ?? p.count, p.count)
        let n = s.utf8CodeUnitCount
        guard from >= 0, n > 0, end - from >= n else { return nil }
        let first = s.utf8Start[0]
        var i = end - n
        while i >= from {
            if p[i] == first, has(s, at: i) { return i }
            i -= 1
        }
        return nil
    }

    /// First index of byte `b` in `from..<to`.
    func findByte(_ b: UInt8, from: Int, to: Int? = nil) -> Int? {
        let end = min(to ?? p.count, p.count)
        guard from >= 0, end > from, let base = p.baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(b), end - from) else { return nil }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// Last index of byte `b` in `from..<to`.
    func findLastByte(_ b: UInt8, from: Int, to: Int? = nil) -> Int? {
        let end = min(to ?? p.count, p.count)
        guard from >= 0 else { return nil }
        var i = end - 1
        while i >= from {
            if p[i] == b { return i }
            i -= 1
        }
        return nil
    }

    /// True when byte `b` occurs in `r`.
    @inline(__always) func contains(_ b: UInt8, in r: Range<Int>) -> Bool {
        findByte(b, from: r.lowerBound, to: r.upperBound) != nil
    }

    /// End of the line with trailing spaces, tabs, CR and NUL removed.
    func trimmedEnd() -> Int {
        var e = p.count
        while e > 0, p[e - 1] == 0x20 || p[e - 1] == 0x09 || p[e - 1] == 0x0D || p[e - 1] == 0 { e -= 1 }
        return e
    }

    /// A sub-buffer (clamped to the line).
    func slice(_ r: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        let lo = max(0, min(r.lowerBound, p.count))
        let hi = max(lo, min(r.upperBound, p.count))
        return UnsafeBufferPointer(rebasing: p[lo..<hi])
    }

    /// Attacker-controlled text as a String, capped at `limit` bytes (invalid UTF-8 is repaired).
    func text(_ r: Range<Int>, limit: Int = LogDialects.maximumFieldLength) -> String {
        let hi = min(r.upperBound, r.lowerBound + limit)
        return String(decoding: slice(r.lowerBound..<hi), as: UTF8.self)
    }

    /// Parses an address (IPv4, IPv6, bracketed IPv6); IPv4-mapped IPv6 is reported as IPv4.
    func ip(_ r: Range<Int>) -> IPAddress? {
        guard r.lowerBound >= 0, r.upperBound <= p.count, !r.isEmpty, r.count <= 47 else { return nil }
        return IPAddress(utf8: slice(r))?.unmapped
    }

    /// Decimal port 0...65535 filling exactly `r` (1–5 digits).
    func port(_ r: Range<Int>) -> UInt16? {
        guard (1...5).contains(r.count), let v = number(r), v <= 65535 else { return nil }
        return UInt16(v)
    }

    /// Unsigned decimal filling exactly `r` (at most 18 digits).
    func number(_ r: Range<Int>) -> Int? {
        guard !r.isEmpty, r.count <= 18, r.lowerBound >= 0, r.upperBound <= p.count else { return nil }
        var v = 0
        for i in r {
            let c = p[i]
            guard c >= 0x30, c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// Index after a run of ASCII digits starting at `i` (== i when none).
    func skipDigits(_ i: Int) -> Int {
        var j = i
        while let c = at(j), c >= 0x30, c <= 0x39 { j += 1 }
        return j
    }

    /// An `address[:port]` as Asterisk's `ast_sockaddr_stringify` and pjsip's
    /// `pj_sockaddr_print` write it: `1.2.3.4`, `1.2.3.4:5060`, `[2001:db8::1]:5060`,
    /// `[2001:db8::1]`, or a bare IPv6 address without port; res_pjsip_session also brackets
    /// IPv4 (`[1.2.3.4]:5060`).
    func hostPort(_ r: Range<Int>) -> (IPAddress, UInt16?)? {
        guard !r.isEmpty, r.count <= 60, r.lowerBound >= 0, r.upperBound <= p.count else { return nil }
        if p[r.lowerBound] == UInt8(ascii: "[") {
            guard let close = findByte(UInt8(ascii: "]"), from: r.lowerBound, to: r.upperBound),
                close > r.lowerBound + 1, let addr = ip((r.lowerBound + 1)..<close)
            else { return nil }
            if close + 1 == r.upperBound { return (addr, nil) }
            guard p[close + 1] == UInt8(ascii: ":"), let port = port((close + 2)..<r.upperBound) else { return nil }
            return (addr, port)
        }
        guard let colon = findByte(UInt8(ascii: ":"), from: r.lowerBound, to: r.upperBound) else {
            guard let addr = ip(r) else { return nil }
            return (addr, nil)
        }
        if findByte(UInt8(ascii: ":"), from: colon + 1, to: r.upperBound) == nil {
            // Exactly one colon: IPv4 with port.
            guard let addr = ip(r.lowerBound..<colon), addr.family == .v4,
                let port = port((colon + 1)..<r.upperBound)
            else { return nil }
            return (addr, port)
        }
        guard let addr = ip(r) else { return nil }
        return (addr, nil)
    }
}

@inline(__always) func lowerASCII(_ c: UInt8) -> UInt8 {
    c >= 0x41 && c <= 0x5A ? c | 0x20 : c
}

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

@inline(__always) func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }

@inline(__always) func isHex(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

@inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

extension Bytes {
    /// Transport names as Asterisk (`UDP`, `TCP`, …) and Kamailio/OpenSIPS (`udp`, …) print them.
    func transport(_ r: Range<Int>) -> Transport? {
        switch r.count {
        case 2:
            if hasCaseInsensitive("ws", at: r.lowerBound) { return .ws }
        case 3:
            if hasCaseInsensitive("udp", at: r.lowerBound) { return .udp }
            if hasCaseInsensitive("tcp", at: r.lowerBound) { return .tcp }
            if hasCaseInsensitive("tls", at: r.lowerBound) { return .tls }
            if hasCaseInsensitive("wss", at: r.lowerBound) { return .wss }
        case 4:
            if hasCaseInsensitive("sctp", at: r.lowerBound) { return .sctp }
        default:
            break
        }
        return nil
    }

    /// The user part of a SIP URI inside attacker text (`"x" <sip:100@host>` → `100`),
    /// or the whole text when it holds no `sip:`/`sips:` URI. Empty → nil.
    func sipUser(_ r: Range<Int>) -> String? {
        guard !r.isEmpty else { return nil }
        var start = r.lowerBound
        if let s = find("sip:", from: r.lowerBound, to: r.upperBound) {
            start = s + 4
        } else if let s = find("sips:", from: r.lowerBound, to: r.upperBound) {
            start = s + 5
        } else {
            return text(r)
        }
        var end = start
        while end < r.upperBound {
            let c = p[end]
            if c == UInt8(ascii: "@") || c == UInt8(ascii: ">") || c == UInt8(ascii: ";") || c == UInt8(ascii: "'") { break }
            end += 1
        }
        guard end < r.upperBound, p[end] == UInt8(ascii: "@"), end > start else { return text(r) }
        return text(start..<end)
    }
}

extension Bytes {
    /// Index just after `s` when `s` occurs at `i`, else nil.
    @inline(__always) func skip(_ s: StaticString, at i: Int) -> Int? {
        has(s, at: i) ? i + s.utf8CodeUnitCount : nil
    }

    /// Index of the first byte in `from..<to` that is not a letter, digit or `_`.
    func skipWord(_ from: Int, to: Int) -> Int {
        var i = from
        while i < to, i < count {
            let c = p[i]
            let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
            if !ok { break }
            i += 1
        }
        return i
    }
}

/// A fixed phrase and what it means.
struct Phrase {
    let text: StaticString
    /// nil = a known phrase that is not a failure by the source.
    let kind: EventKind?
    /// Reason reported (a literal: no allocation).
    let reason: String
}

extension Bytes {
    /// The phrase that fills `r` exactly.
    func phrase(_ r: Range<Int>, in table: [Phrase]) -> Phrase? {
        for ph in table where equals(r, ph.text) { return ph }
        return nil
    }

    /// The phrase that starts `r` (longest listed first wins: list longer phrases first).
    func phrasePrefix(_ r: Range<Int>, in table: [Phrase]) -> Phrase? {
        for ph in table where ph.text.utf8CodeUnitCount <= r.count && has(ph.text, at: r.lowerBound) { return ph }
        return nil
    }
}

/// `a..<b`, or an empty range at `a` when `b < a` (never traps).
@inline(__always) func span(_ a: Int, _ b: Int) -> Range<Int> {
    a <= b ? a..<b : a..<a
}
