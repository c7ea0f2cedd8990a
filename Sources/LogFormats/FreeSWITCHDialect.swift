// SPDX-License-Identifier: GPL-2.0-or-later

//
// FreeSWITCH mod_sofia (sofia_reg.c, sofia.c) and mod_event_socket ACL lines.
// Formats and kind mapping: docs/LOG-FORMATS.md.
import NetworkAddress
import WardenCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

private let youMustDefine: StaticString = "You must define a domain called '"
private let inYourDirectory: StaticString = "' in your directory and add a user with the id=\""
private let attributeEnd: StaticString = "\" attribute"
private let clauseIts: StaticString = "and you must configure your device to use the proper domain in its authentication credentials."
private let clauseItApostropheS: StaticString = "and you must configure your device to use the proper domain in it's authentication credentials."

enum FreeSWITCHDialect {
    /// `[UUID ]DATE [NN.NN% ][LEVEL] [[MODULE] ]LOCATION MESSAGE`, starting at `s` (after any
    /// syslog/journal wrapper). DATE is `YYYY-MM-DD HH:MM:SS.ffffff`, `MM-DD HH:MM:SS.ffffff` or
    /// missing (journal captures start at `[LEVEL]`); the CPU-idle column is written by
    /// 1.10.7 and later; LOCATION is `file.c:LINE` or, in the bracketed layout, `[file.c:LINE]`
    /// after a `[MODULE]` tag such as `[SOFIA]`.
    static func prefix(_ b: Bytes, from s: Int = 0) -> LinePrefix? {
        var i = s
        if b.count - s > 37, b.at(s + 8) == UInt8(ascii: "-"), b.at(s + 13) == UInt8(ascii: "-"), b.at(s + 18) == UInt8(ascii: "-"),
            b.at(s + 23) == UInt8(ascii: "-"), b.at(s + 36) == 0x20
        {
            for k in 0..<36 where k != 8 && k != 13 && k != 18 && k != 23 {
                guard isHex(b.p[s + k]) else { return nil }
            }
            i = s + 37
        }
        var time: LogTime?
        if let (t, end) = b.dateTime(i, allowZone: false) ?? b.monthDayTime(i), b.at(end) == 0x20 {
            time = t
            i = end + 1
            // CPU idle percentage column of newer versions: "97.27% ".
            let ps = i
            let j = b.skipDigits(i)
            if j > ps, b.at(j) == UInt8(ascii: ".") {
                let k = b.skipDigits(j + 1)
                if k > j + 1, b.at(k) == UInt8(ascii: "%"), b.at(k + 1) == 0x20 { i = k + 2 }
            }
        }
        guard let (_, afterLevel) = bracketTag(b, i), b.at(afterLevel) == 0x20 else { return nil }
        i = afterLevel + 1
        // Module tags of the bracketed layout: `[SOFIA] `.
        var tags = 0
        while tags < 2, let (_, end) = bracketTag(b, i), b.at(end) == 0x20 {
            i = end + 1
            tags += 1
        }
        let bracketed = b.at(i) == UInt8(ascii: "[")
        if bracketed { i += 1 }
        let fs = i
        while let c = b.at(i), c != UInt8(ascii: ":"), c != 0x20, c != UInt8(ascii: "]") { i += 1 }
        guard i > fs, b.at(i) == UInt8(ascii: ":") else { return nil }
        let ln = i + 1
        i = b.skipDigits(ln)
        guard i > ln else { return nil }
        if bracketed {
            guard b.at(i) == UInt8(ascii: "]") else { return nil }
            i += 1
        }
        guard b.at(i) == 0x20 else { return nil }
        return LinePrefix(time: time, message: i + 1, start: s)
    }

    /// `[UPPER]` at `i` (1–10 capitals): returns the range of the name and the index after `]`.
    static func bracketTag(_ b: Bytes, _ i: Int) -> (Range<Int>, Int)? {
        guard b.at(i) == UInt8(ascii: "[") else { return nil }
        var j = i + 1
        while let c = b.at(j), isUpper(c) { j += 1 }
        guard j > i + 1, j - i - 1 <= 10, b.at(j) == UInt8(ascii: "]") else { return nil }
        return ((i + 1)..<j, j + 1)
    }

    static func message(_ b: Bytes, prefix: LinePrefix) -> LogFinding? {
        let m = prefix.message
        let e = b.trimmedEnd()
        guard m < e else { return nil }
        var f: LogFinding?
        if let s = b.skip("SIP auth failure (", at: m) {
            f = authFailure(b, s, e)
        } else if let s = b.skip("Can't find user [", at: m) {
            f = cantFindUser(b, s, e)
        } else if let s = b.skip("IP ", at: m) {
            f = aclRejected(b, s, e)
        }
        // "SIP auth challenge (…)" is the normal first step of digest auth: never a failure.
        f?.time = prefix.time
        return f
    }

    /// `SIP auth failure (METHOD) on sofia profile 'P' for [U@D] from ip ADDR` — the address
    /// ends the line, so the LAST ` from ip ` is the PBX's.
    static func authFailure(_ b: Bytes, _ s: Int, _ e: Int) -> LogFinding? {
        guard let close = b.findByte(UInt8(ascii: ")"), from: s, to: min(e, s + 24)),
            let ps = b.skip(") on sofia profile '", at: close),
            let k = b.findLast(" from ip ", from: ps, to: e),
            let ip = b.ip(span(k + 9, e))
        else { return nil }
        let reason: String
        if b.equals(s..<close, "REGISTER") {
            reason = "SIP auth failure (REGISTER)"
        } else if b.equals(s..<close, "INVITE") {
            reason = "SIP auth failure (INVITE)"
        } else {
            reason = "SIP auth failure"
        }
        var user: String?
        if let fb = b.find("' for [", from: ps, to: k), k > fb + 7, b.p[k - 1] == UInt8(ascii: "]") {
            user = bracketUser(b, (fb + 7)..<(k - 1))
        }
        return LogFinding(kind: .authFailed, source: ip, user: user, reason: reason, dialect: .freeswitch)
    }

    /// `U` of `U@D` (the part before the last `@`), or the whole text.
    static func bracketUser(_ b: Bytes, _ r: Range<Int>) -> String? {
        guard !r.isEmpty else { return nil }
        if let at = b.findLastByte(UInt8(ascii: "@"), from: r.lowerBound, to: r.upperBound) {
            return at > r.lowerBound ? b.text(r.lowerBound..<at) : nil
        }
        return b.text(r)
    }

    /// `Can't find user [U@D] from ADDR`, optionally followed on the same line (when a
    /// collector joined the message's continuation lines) by
    /// `You must define a domain called 'D' in your directory and add a user with the id="U"
    /// attribute[ and you must configure …credentials.]`.
    static func cantFindUser(_ b: Bytes, _ s: Int, _ e: Int) -> LogFinding? {
        if let k = b.findLast("] from ", from: s, to: e), let ip = b.ip(span(k + 7, e)) {
            return LogFinding(
                kind: .unknownUser, source: ip, user: bracketUser(b, s..<k), reason: "Can't find user", dialect: .freeswitch
            )
        }
        // Joined form: U and D appear twice; the split is valid only if both copies agree.
        guard let attr = joinedAttributeEnd(b, e) else { return nil }
        var found: (k: Int, ip: IPAddress)?
        var cursor = s
        var n = 0
        while let k = b.find("] from ", from: cursor, to: attr) {
            cursor = k + 1
            n += 1
            if n > 32 { return nil }
            let a = k + 7
            var ie = a
            while ie < attr, !isSpace(b.p[ie]) { ie += 1 }
            guard ie > a, ie < attr, let ip = b.ip(a..<ie) else { continue }
            var j = ie
            while j < attr, isSpace(b.p[j]) { j += 1 }
            guard let ms = b.skip(youMustDefine, at: j), ms <= attr,
                consistent(b, bracket: s..<k, middle: ms..<attr)
            else { continue }
            if let prev = found, prev.ip != ip { return nil }
            found = (k, ip)
        }
        guard let hit = found else { return nil }
        return LogFinding(
            kind: .unknownUser, source: hit.ip, user: bracketUser(b, s..<hit.k), reason: "Can't find user",
            dialect: .freeswitch
        )
    }

    /// Index of `" attribute` that ends the joined message (before the optional fixed clause).
    static func joinedAttributeEnd(_ b: Bytes, _ e: Int) -> Int? {
        var end = e
        for clause in [clauseIts, clauseItApostropheS] {
            let n = clause.utf8CodeUnitCount
            if e - n >= 0, b.has(clause, at: e - n) {
                end = e - n
                guard end > 0, isSpace(b.p[end - 1]) else { return nil }
                while end > 0, isSpace(b.p[end - 1]) { end -= 1 }
                break
            }
        }
        let n = attributeEnd.utf8CodeUnitCount
        guard end - n >= 0, b.has(attributeEnd, at: end - n) else { return nil }
        return end - n
    }

    /// Is `middle` == D + `' in your directory …id="` + U for some split `bracket` == U@D?
    static func consistent(_ b: Bytes, bracket: Range<Int>, middle: Range<Int>) -> Bool {
        let kn = inYourDirectory.utf8CodeUnitCount
        guard middle.count - kn == bracket.count - 1, let base = b.p.baseAddress else { return false }
        var p = bracket.lowerBound
        while p < bracket.upperBound {
            if b.p[p] == UInt8(ascii: "@") {
                let uLen = p - bracket.lowerBound
                let dLen = bracket.upperBound - p - 1
                let dAt = middle.lowerBound
                let uAt = middle.lowerBound + dLen + kn
                if memcmp(base + dAt, base + p + 1, dLen) == 0,
                    b.has(inYourDirectory, at: dAt + dLen),
                    memcmp(base + uAt, base + bracket.lowerBound, uLen) == 0
                {
                    return true
                }
            }
            p += 1
        }
        return false
    }

    /// `IP ADDR Rejected by acl "NAME"` (sofia.c, mod_event_socket) and
    /// `IP ADDR Rejected by register acl "NAME"` (sofia_reg.c). The address comes first;
    /// the `… Falling back to Digest auth.` variant is not a failure.
    static func aclRejected(_ b: Bytes, _ s: Int, _ e: Int) -> LogFinding? {
        guard let sp = b.findByte(0x20, from: s, to: min(e, s + 50)), let ip = b.ip(s..<sp) else { return nil }
        let r = sp + 1
        let reason: String
        let ns: Int
        if let f = aclNameless(ip, b, r, e) { return f }
        if let j = b.skip("Rejected by acl \"", at: r) {
            ns = j
            reason = "Rejected by acl"
        } else if let j = b.skip("Rejected by register acl \"", at: r) {
            ns = j
            reason = "Rejected by register acl"
        } else {
            return nil
        }
        guard e - 1 >= ns, b.p[e - 1] == UInt8(ascii: "\""), !b.contains(UInt8(ascii: "\""), in: ns..<(e - 1)) else { return nil }
        return LogFinding(kind: .aclDenied, source: ip, reason: reason, dialect: .freeswitch)
    }

    /// `IP ADDR Rejected by register acl` with the ACL name cut off (as some collectors show it).
    static func aclNameless(_ ip: IPAddress, _ b: Bytes, _ r: Int, _ e: Int) -> LogFinding? {
        guard b.equals(r..<e, "Rejected by register acl") || b.equals(r..<e, "Rejected by acl") else { return nil }
        let reason = e - r == 15 ? "Rejected by acl" : "Rejected by register acl"
        return LogFinding(kind: .aclDenied, source: ip, reason: reason, dialect: .freeswitch)
    }
}
