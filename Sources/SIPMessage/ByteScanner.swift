// SPDX-License-Identifier: GPL-2.0-or-later

/// Grammar helpers over a byte buffer. Every function takes an explicit end offset
/// `e <= n` and never reads at or past it, so no input can make it read out of bounds.
struct ByteScanner {
    let p: UnsafePointer<UInt8>
    let n: Int

    @inline(__always) func skipLWS(_ i: Int, _ e: Int) -> Int {
        var i = i
        while i < e, CharClass.isLWS(p[i]) { i &+= 1 }
        return i
    }

    @inline(__always) func tokenEnd(_ i: Int, _ e: Int) -> Int {
        var i = i
        while i < e, CharClass.isToken(p[i]) { i &+= 1 }
        return i
    }

    /// Offset just past the trailing non-LWS byte of `[s, e)`.
    @inline(__always) func trimEnd(_ s: Int, _ e: Int) -> Int {
        var e = e
        while e > s, CharClass.isLWS(p[e &- 1]) { e &-= 1 }
        return e
    }

    /// Case-insensitive comparison of `[s, e)` with an ASCII literal.
    func equalsIgnoringCase(_ s: Int, _ e: Int, _ lit: StaticString) -> Bool {
        guard e &- s == lit.utf8CodeUnitCount else { return false }
        let l = lit.utf8Start
        var i = 0
        while i < e &- s {
            if CharClass.lower(p[s &+ i]) != CharClass.lower(l[i]) { return false }
            i &+= 1
        }
        return true
    }

    /// Byte-exact comparison of two ranges.
    func equals(_ a: SIPRange, _ b: SIPRange) -> Bool {
        guard a.count == b.count else { return false }
        var i = 0
        while i < a.count {
            if p[a.lowerBound &+ i] != p[b.lowerBound &+ i] { return false }
            i &+= 1
        }
        return true
    }

    /// `i` is at a DQUOTE; returns the offset just past the closing DQUOTE.
    /// quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE (RFC 3261 §25.1); raw control
    /// characters other than folding white space are rejected, quoted-pair may escape any
    /// byte except CR and LF (intmeth escapes NUL, BEL and DEL).
    func quotedStringEnd(_ i: Int, _ e: Int, _ h: SIPHeaderName) throws(SIPParseError) -> Int {
        var i = i &+ 1
        while i < e {
            let c = p[i]
            if c == 0x22 { return i &+ 1 }
            if c == 0x5c {
                guard i &+ 1 < e else { throw .unterminatedQuote(h) }
                let q = p[i &+ 1]
                if q == 0x0d || q == 0x0a { throw .badHeaderValue(h) }
                i &+= 2
                continue
            }
            if c < 0x20 && !CharClass.isLWS(c) || c == 0x7f { throw .badHeaderValue(h) }
            i &+= 1
        }
        throw .unterminatedQuote(h)
    }

    /// Parses the decimal digits of `[s, e)` (all of them must be digits) and fails with
    /// `range` when the value exceeds `max` (at most 2^32-1, so nothing can overflow).
    func decimal(
        _ s: Int, _ e: Int, max: UInt64, syntax: SIPParseError, range: SIPParseError
    ) throws(SIPParseError) -> UInt64 {
        guard s < e else { throw syntax }
        var i = s
        while i < e {
            guard CharClass.isDigit(p[i]) else { throw syntax }
            i &+= 1
        }
        var v: UInt64 = 0
        i = s
        while i < e {
            v = v &* 10 &+ UInt64(p[i] &- 0x30)
            if v > max { throw range }
            i &+= 1
        }
        return v
    }

    /// Validates an absolute URI in `[s, e)`: `scheme ":" 1*(uric / escaped)`
    /// (RFC 3261 §25.1, RFC 3986). Returns the offset of the first `?` after the user
    /// info of a `sip:`/`sips:` URI (headers part) or nil.
    func validateURI(_ s: Int, _ e: Int, _ h: SIPHeaderName?) throws(SIPParseError) -> Int? {
        let syntaxError: SIPParseError = h.map { .badHeaderValue($0) } ?? .badRequestURI
        guard s < e, CharClass.isAlpha(p[s]) else { throw syntaxError }
        var i = s &+ 1
        while i < e, CharClass.contains(CharClass.scheme, p[i]) { i &+= 1 }
        guard i < e, p[i] == 0x3a, i &+ 1 < e else { throw syntaxError }
        let isSIP = equalsIgnoringCase(s, i, "sip") || equalsIgnoringCase(s, i, "sips")
        i &+= 1
        let rest = i
        var firstAt = -1
        while i < e {
            let c = p[i]
            if c == 0x25 {
                guard i &+ 2 < e, CharClass.isHex(p[i &+ 1]), CharClass.isHex(p[i &+ 2])
                else { throw .invalidEscape(h) }
                i &+= 3
                continue
            }
            guard CharClass.contains(CharClass.uri, c) else { throw syntaxError }
            if c == 0x40, firstAt < 0 { firstAt = i }
            i &+= 1
        }
        guard isSIP else { return nil }
        // In a SIP URI "?" may appear in the user part (RFC 3261 user-unreserved), so the
        // headers part starts at the first "?" after the user info, if any.
        var q = firstAt >= 0 ? firstAt &+ 1 : rest
        while q < e {
            if p[q] == 0x3f { return q }
            q &+= 1
        }
        return nil
    }
}
