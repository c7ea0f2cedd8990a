// SPDX-License-Identifier: GPL-2.0-or-later

/// Lenient mode (``SIPParseOptions/lenient``): when a header value breaks its grammar, the
/// fields the message needs are found by a plain scan, the way tolerant servers read them.
extension MessageParser {
    /// Fills what `name` provides from a value that failed its grammar; throws `error`
    /// when even a scan cannot find what is needed (a CSeq without number or method).
    mutating func scanLeniently(_ name: SIPHeaderName, _ vs: Int, _ ve: Int, _ error: SIPParseError) throws(SIPParseError) {
        switch name {
        case .via:
            viaCount = max(viaCount, 1)
            // Also when this header's first via-parm was taken before a later one failed.
            if topVia == nil || topViaValueStart == vs {
                topVia = lenientVia(vs, ve)
                topViaValueStart = vs
            }
        case .from:
            if from == nil { from = lenientAddress(vs, ve) }
        case .to:
            if to == nil { to = lenientAddress(vs, ve) }
        case .callID:
            callID = SIPRange(vs, ve)
        case .cseq:
            let p = s.p
            var d = vs
            var number: UInt64 = 0
            while d < ve, CharClass.isDigit(p[d]) {
                number = min(number &* 10 &+ UInt64(p[d] &- 0x30), UInt64(UInt32.max))
                d &+= 1
            }
            let ms = s.skipLWS(d, ve)
            let me = s.tokenEnd(ms, ve)
            guard d > vs, me > ms else { throw error }
            cseqNumber = UInt32(number)
            cseqMethod = SIPRange(ms, me)
        case .authorization, .proxyAuthorization:
            // Present credentials still make the request a credentialed one.
            if credentials == nil {
                credentials = SIPCredentialsInfo(header: name, scheme: SIPRange(vs, s.tokenEnd(vs, ve)), username: nil)
            }
        default:
            // Contact, Content-Length (the body is then what is there) and the rest: not needed.
            break
        }
    }

    /// The end of the first element of a comma-separated value (commas inside quotes or
    /// angle brackets do not count).
    private func elementEnd(_ vs: Int, _ ve: Int) -> Int {
        let p = s.p
        var i = vs
        var quoted = false
        var angle = false
        while i < ve {
            let c = p[i]
            if quoted {
                if c == 0x5c {
                    i &+= 2
                    continue
                }
                if c == 0x22 { quoted = false }
            } else if c == 0x22 {
                quoted = true
            } else if c == 0x3c {
                angle = true
            } else if c == 0x3e {
                angle = false
            } else if c == 0x2c, !angle {
                return i
            }
            i &+= 1
        }
        return ve
    }

    /// The value of the first `;name=value` parameter in `vs..<ve` (value up to `;`, `,`
    /// or white space; a quoted value up to its closing quote).
    func lenientParameter(_ vs: Int, _ ve: Int, _ name: StaticString) -> SIPRange? {
        let p = s.p
        let m = name.utf8CodeUnitCount
        var i = vs
        while i < ve {
            if p[i] == 0x3b {
                let ns = s.skipLWS(i &+ 1, ve)
                if ve &- ns > m, s.equalsIgnoringCase(ns, ns &+ m, name) {
                    var k = s.skipLWS(ns &+ m, ve)
                    if k < ve, p[k] == 0x3d {
                        k = s.skipLWS(k &+ 1, ve)
                        let start = k
                        if k < ve, p[k] == 0x22 {
                            k &+= 1
                            while k < ve, p[k] != 0x22 { k &+= 1 }
                            return SIPRange(start, min(k &+ 1, ve))
                        }
                        while k < ve, p[k] != 0x3b, p[k] != 0x2c, !CharClass.isLWS(p[k]) { k &+= 1 }
                        return SIPRange(start, k)
                    }
                }
            }
            i &+= 1
        }
        return nil
    }

    /// sent-protocol, sent-by and branch of the first via-parm, by scanning: the host is
    /// whatever stands between the transport and the first `;` (an unbracketed IPv6
    /// address included).
    private func lenientVia(_ vs: Int, _ ve: Int) -> SIPViaInfo {
        let p = s.p
        let end = elementEnd(vs, ve)
        var i = vs
        var slashes = 0
        while i < end, slashes < 2 {
            if p[i] == 0x2f { slashes &+= 1 }
            i &+= 1
        }
        let ts = s.skipLWS(i, end)
        let te = s.tokenEnd(ts, end)
        let hs = s.skipLWS(te, end)
        var he = hs
        while he < end, p[he] != 0x3b { he &+= 1 }
        he = s.trimEnd(hs, he)
        return SIPViaInfo(
            transport: SIPRange(ts, te), host: SIPRange(hs, he), port: nil, sentBy: SIPRange(hs, he),
            branch: lenientParameter(he, end, "branch")
        )
    }

    /// name-addr or addr-spec by scanning: the URI inside the first `<…>` (outside a
    /// quoted display name when the quotes are balanced), else up to the first `;`.
    private func lenientAddress(_ vs: Int, _ ve: Int) -> SIPAddressInfo {
        let p = s.p
        let end = elementEnd(vs, ve)
        var lt = -1
        var i = vs
        var quoted = false
        while i < end {
            let c = p[i]
            if quoted {
                if c == 0x5c {
                    i &+= 2
                    continue
                }
                if c == 0x22 { quoted = false }
            } else if c == 0x22 {
                quoted = true
            } else if c == 0x3c {
                lt = i
                break
            }
            i &+= 1
        }
        if lt < 0 { // unbalanced quotes: the first "<" at all
            i = vs
            while i < end, p[i] != 0x3c { i &+= 1 }
            if i < end { lt = i }
        }
        if lt >= 0 {
            var gt = lt &+ 1
            while gt < end, p[gt] != 0x3e { gt &+= 1 }
            let afterURI = min(gt &+ 1, end)
            let display = s.trimEnd(vs, lt)
            return SIPAddressInfo(
                displayName: display > vs ? SIPRange(vs, display) : nil, uri: SIPRange(lt &+ 1, gt),
                tag: lenientParameter(afterURI, end, "tag")
            )
        }
        let us = s.skipLWS(vs, end)
        var ue = us
        while ue < end, p[ue] != 0x3b, !CharClass.isLWS(p[ue]) { ue &+= 1 }
        return SIPAddressInfo(displayName: nil, uri: SIPRange(us, ue), tag: lenientParameter(ue, end, "tag"))
    }
}
