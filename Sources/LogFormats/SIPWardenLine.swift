// SPDX-License-Identifier: GPL-2.0-or-later

//
// The line our Kamailio and OpenSIPS snippets (contrib/) emit with xlog:
//   SIPWARDEN event=<kind> ts=<epoch>.<usec> src=<ip> sport=<port> proto=<p> method=<M> user="<u>" ua="<ua>"
// Everything up to `method=` is written by the proxy from the transport layer; `user` and
// `ua` are attacker-written and come last. See docs/LOG-FORMATS.md.
import NetworkAddress
import WardenCore

private let eventNames: [(StaticString, EventKind)] = [
    ("auth_failed", .authFailed),
    ("unknown_user", .unknownUser),
    ("acl_denied", .aclDenied),
    ("unauthenticated_call", .unauthenticatedCall),
    ("scanner", .scanner),
    ("flood", .flood),
    ("malformed", .malformed),
    ("auth_succeeded", .authSucceeded),
]

enum SIPWardenLine {
    static func parse(_ b: Bytes, forced: Dialect?) -> LogFinding? {
        guard b.count <= LogDialects.maximumSIPWardenLineLength,
            let t = b.find("SIPWARDEN event=", from: 0)
        else { return nil }
        // The token starts the message; nothing quoted (attacker text) may precede it.
        guard t == 0 || isSpace(b.p[t - 1]),
            !b.contains(UInt8(ascii: "\""), in: 0..<t), !b.contains(UInt8(ascii: "'"), in: 0..<t)
        else { return nil }
        var i = t + 16
        // event
        guard let ee = b.findByte(0x20, from: i, to: min(b.count, i + 24)) else { return nil }
        var kind: EventKind?
        for (name, k) in eventNames where b.equals(i..<ee, name) {
            kind = k
            break
        }
        guard let kind else { return nil }
        // ts=<sec>.<frac>
        guard let ts = b.skip(" ts=", at: ee) else { return nil }
        let se = b.skipDigits(ts)
        guard se > ts, se - ts <= 12, let sec = b.number(ts..<se), b.at(se) == UInt8(ascii: ".") else { return nil }
        let fe = b.skipDigits(se + 1)
        guard fe > se + 1, fe - se - 1 <= 6, var frac = b.number((se + 1)..<fe) else { return nil }
        for _ in 0..<(6 - (fe - se - 1)) { frac *= 10 }
        // src=<ip>
        guard let ss = b.skip(" src=", at: fe), let sEnd = b.findByte(0x20, from: ss, to: min(b.count, ss + 50)),
            let ip = b.ip(ss..<sEnd)
        else { return nil }
        // sport=<port>
        guard let ps = b.skip(" sport=", at: sEnd), let pEnd = b.findByte(0x20, from: ps, to: min(b.count, ps + 7)),
            let port = b.port(ps..<pEnd)
        else { return nil }
        // proto=<transport>
        guard let prs = b.skip(" proto=", at: pEnd), let prEnd = b.findByte(0x20, from: prs, to: min(b.count, prs + 6)),
            let transport = b.transport(prs..<prEnd)
        else { return nil }
        // method=<token>
        guard let ms = b.skip(" method=", at: prEnd), let mEnd = b.findByte(0x20, from: ms, to: min(b.count, ms + 33)),
            mEnd > ms
        else { return nil }
        // user="…" ua="…"   (attacker-written, last)
        guard let us = b.skip(" user=\"", at: mEnd) else { return nil }
        i = us
        let e = b.trimmedEnd()
        guard e - 1 >= i, b.p[e - 1] == UInt8(ascii: "\""),
            let k = b.findLast("\" ua=\"", from: i, to: e), k + 6 <= e - 1
        else { return nil }
        let dialect: Dialect
        if let forced {
            dialect = forced
        } else {
            dialect = mentionsOpenSIPS(b, 0..<t) ? .opensips : .kamailio
        }
        return LogFinding(
            kind: kind, source: ip, sourcePort: port, transport: transport,
            user: field(b, us..<k), userAgent: field(b, (k + 6)..<(e - 1)),
            reason: b.text(ms..<mEnd, limit: 32),
            time: .instant(Timestamp(seconds: Int64(sec), microseconds: Int64(frac))),
            dialect: dialect
        )
    }

    /// Attacker text; empty and Kamailio's `<null>` are nil.
    static func field(_ b: Bytes, _ r: Range<Int>) -> String? {
        if r.isEmpty || b.equals(r, "<null>") { return nil }
        return b.text(r)
    }

    static func mentionsOpenSIPS(_ b: Bytes, _ r: Range<Int>) -> Bool {
        var i = r.lowerBound
        while i + 8 <= r.upperBound {
            if lowerASCII(b.p[i]) == UInt8(ascii: "o"), b.hasCaseInsensitive("opensips", at: i) { return true }
            i += 1
        }
        return false
    }
}
