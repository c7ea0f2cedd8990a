// SPDX-License-Identifier: GPL-2.0-or-later

/// The components of a URI already validated by the parser, as byte ranges.
///
/// For `sip:`/`sips:` URIs: `sip:user[:password]@host[:port][;params][?headers]`
/// (RFC 3261 §19.1.1); the user part may itself contain `;`, `?` and `/` (RFC 4475
/// §3.1.1.9: the user of `sip:user;par=u%40example.net@example.com` is
/// `user;par=u%40example.net`). For `tel:` the user is the telephone-subscriber up to the
/// first `;`. Other schemes only get `scheme` and `host` = the opaque remainder.
public struct SIPURIParts: Sendable, Hashable {
    /// The scheme (without ":").
    public let scheme: SIPRange
    /// The user part, if present (still percent-encoded).
    public let user: SIPRange?
    /// The host (or, for unknown schemes, everything after the ":").
    public let host: SIPRange
    /// The port, if given and numeric (0...65535).
    public let port: UInt16?
    /// The `;`-parameters after the host port, without the leading `;` (empty if none).
    public let parameters: SIPRange
    /// The `?`-headers, without the leading `?` (empty if none).
    public let headers: SIPRange

    /// Splits the URI at `range` of `bytes`; nil if there is no `scheme:`.
    public init?(_ range: SIPRange, in bytes: UnsafeRawBufferPointer) {
        let lower = min(max(range.lowerBound, 0), bytes.count)
        let e = min(max(range.upperBound, lower), bytes.count)
        var i = lower
        while i < e, bytes[i] != 0x3a {
            guard i == lower ? CharClass.isAlpha(bytes[i]) : CharClass.contains(CharClass.scheme, bytes[i]) else { return nil }
            i += 1
        }
        guard i < e, i > lower else { return nil }
        scheme = SIPRange(lower, i)
        let rest = i + 1
        func schemeIs(_ s: StaticString) -> Bool {
            guard i - lower == s.utf8CodeUnitCount else { return false }
            return (0..<(i - lower)).allSatisfy { CharClass.lower(bytes[lower + $0]) == s.utf8Start[$0] }
        }
        if schemeIs("tel") {
            var k = rest
            while k < e, bytes[k] != 0x3b { k += 1 }
            user = SIPRange(rest, k)
            host = SIPRange(rest, k)
            port = nil
            parameters = SIPRange(min(k + 1, e), e)
            headers = SIPRange(e, e)
            return
        }
        guard schemeIs("sip") || schemeIs("sips") else {
            user = nil
            host = SIPRange(rest, e)
            port = nil
            parameters = SIPRange(e, e)
            headers = SIPRange(e, e)
            return
        }
        var at = -1
        var k = rest
        while k < e {
            if bytes[k] == 0x40 {
                at = k
                break
            }
            k += 1
        }
        var hs = rest
        if at >= 0 {
            var ue = rest
            while ue < at, bytes[ue] != 0x3a { ue += 1 }
            user = SIPRange(rest, ue)
            hs = at + 1
        } else {
            user = nil
        }
        var he = hs
        if he < e, bytes[he] == 0x5b {
            while he < e, bytes[he] != 0x5d { he += 1 }
            if he < e { he += 1 }
        } else {
            while he < e, bytes[he] != 0x3a, bytes[he] != 0x3b, bytes[he] != 0x3f { he += 1 }
        }
        host = SIPRange(hs, he)
        var pe = he
        if pe < e, bytes[pe] == 0x3a {
            var value = 0
            var digits = 0
            pe += 1
            while pe < e, CharClass.isDigit(bytes[pe]) {
                if value <= 65535 { value = value * 10 + Int(bytes[pe] - 0x30) }
                digits += 1
                pe += 1
            }
            port = digits > 0 && value <= 65535 ? UInt16(value) : nil
        } else {
            port = nil
        }
        var q = pe
        while q < e, bytes[q] != 0x3f { q += 1 }
        parameters = pe < q && bytes[pe] == 0x3b ? SIPRange(pe + 1, q) : SIPRange(q, q)
        headers = q < e ? SIPRange(q + 1, e) : SIPRange(e, e)
    }
}
