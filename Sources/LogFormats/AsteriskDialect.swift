// SPDX-License-Identifier: GPL-2.0-or-later

//
// Asterisk: chan_sip, res_pjsip, res_pjsip_session, res_security_log, chan_iax2, manager.c,
// FreePBX. Formats and kind mapping: docs/LOG-FORMATS.md.
import NetworkAddress
import WardenCore

private let q = UInt8(ascii: "'")
private let extensionPhrase: StaticString = "' rejected because extension not found in context '"
private let dq = UInt8(ascii: "\"")

/// chan_sip `Registration from '…' failed for '…' - REASON`.
private let chanSIPReasons: [Phrase] = [
    Phrase(text: "Wrong password", kind: .authFailed, reason: "Wrong password"),
    Phrase(text: "Username/auth name mismatch", kind: .authFailed, reason: "Username/auth name mismatch"),
    Phrase(text: "No matching peer found", kind: .unknownUser, reason: "No matching peer found"),
    Phrase(text: "Not a local domain", kind: .unknownUser, reason: "Not a local domain"),
    Phrase(text: "Peer is not supposed to register", kind: .unknownUser, reason: "Peer is not supposed to register"),
    Phrase(text: "Device does not match ACL", kind: .aclDenied, reason: "Device does not match ACL"),
    // Asterisk 1.4–1.6 wording of the ACL failure.
    Phrase(text: "ACL error (permit/deny)", kind: .aclDenied, reason: "ACL error (permit/deny)"),
    Phrase(
        text: "Device not configured to use this transport type", kind: .aclDenied,
        reason: "Device not configured to use this transport type"
    ),
    // Server-side or unattributable: not evidence against the source.
    Phrase(text: "RTP initialization failed", kind: nil, reason: ""),
    Phrase(text: "Unknown failure", kind: nil, reason: ""),
]

/// res_pjsip `Request … failed for … - REASON` (longer phrases first: prefix match).
private let pjsipReasons: [Phrase] = [
    Phrase(text: "No matching endpoint found", kind: .unknownUser, reason: "No matching endpoint found"),
    Phrase(text: "Not match Endpoint Contact ACL", kind: .aclDenied, reason: "Not match Endpoint Contact ACL"),
    Phrase(text: "Not match Endpoint ACL", kind: .aclDenied, reason: "Not match Endpoint ACL"),
    Phrase(text: "Not match Contact ACL", kind: .aclDenied, reason: "Not match Contact ACL"),
    Phrase(text: "Failed to authenticate", kind: .authFailed, reason: "Failed to authenticate"),
    Phrase(text: "Error to authenticate", kind: .authFailed, reason: "Error to authenticate"),
]

/// A res_security_log event name, its kind, and whether every IE after RemoteAddress is
/// written by the PBX itself (then a forged address block inside AccountID/SessionID can be
/// told apart from the real one by what follows it).
private struct SecurityEventName {
    let text: StaticString
    let kind: EventKind?
    let reason: String
    /// Keys that may follow RemoteAddress, when all of them are PBX-written; nil when an
    /// attacker-written IE (Response, RequestParams, …) may follow.
    let pbxTail: [StaticString]?
}

private let securityEvents: [SecurityEventName] = [
    SecurityEventName(text: "InvalidAccountID", kind: .unknownUser, reason: "InvalidAccountID", pbxTail: []),
    SecurityEventName(text: "ChallengeResponseFailed", kind: .authFailed, reason: "ChallengeResponseFailed", pbxTail: nil),
    SecurityEventName(text: "InvalidPassword", kind: .authFailed, reason: "InvalidPassword", pbxTail: nil),
    SecurityEventName(text: "FailedACL", kind: .aclDenied, reason: "FailedACL", pbxTail: ["ACLName"]),
    SecurityEventName(text: "RequestNotAllowed", kind: .aclDenied, reason: "RequestNotAllowed", pbxTail: nil),
    SecurityEventName(text: "AuthMethodNotAllowed", kind: .authFailed, reason: "AuthMethodNotAllowed", pbxTail: nil),
    SecurityEventName(text: "UnexpectedAddress", kind: .aclDenied, reason: "UnexpectedAddress", pbxTail: ["ExpectedAddress"]),
    SecurityEventName(text: "InvalidTransport", kind: .aclDenied, reason: "InvalidTransport", pbxTail: ["AttemptedTransport"]),
    SecurityEventName(text: "RequestBadFormat", kind: .malformed, reason: "RequestBadFormat", pbxTail: nil),
    SecurityEventName(text: "RequestNotSupported", kind: .malformed, reason: "RequestNotSupported", pbxTail: nil),
    // Never failures by the source.
    SecurityEventName(text: "ChallengeSent", kind: nil, reason: "", pbxTail: nil),
    SecurityEventName(text: "SuccessfulAuth", kind: nil, reason: "", pbxTail: nil),
    // Server-side limits: reached by load, not by one source's misbehaviour.
    SecurityEventName(text: "SessionLimit", kind: nil, reason: "", pbxTail: nil),
    SecurityEventName(text: "MemoryLimit", kind: nil, reason: "", pbxTail: nil),
    SecurityEventName(text: "LoadAverageLimit", kind: nil, reason: "", pbxTail: nil),
]

enum AsteriskDialect {
    // MARK: Prefix

    /// The PBX's own prefix, starting at `s` (after any syslog/journal wrapper):
    /// `[DATE] LEVEL[LWP][C-xxxxxxxx] file: msg` (file channel),
    /// `[DATE] LEVEL[LWP][C-…]: file:line [in ]function: msg` (plain formatter, syslog, journal),
    /// each part optional where the channels omit it: no date (journal, console), a space
    /// before `[LWP]`, `:` after the call tag or not; console copies `  -- msg` / `  == msg`.
    /// Dialplan `Log()` lines (`Ext. EXTEN: …`, `Ext. EXTEN:PRIO in @ CONTEXT: …`) set
    /// `dialplan`; a context tag `[ctx] ` before the message is skipped.
    static func prefix(_ b: Bytes, from s: Int = 0) -> LinePrefix? {
        var i = s
        var time: LogTime? = nil
        if b.at(i) == UInt8(ascii: "[") {
            guard let close = b.findByte(UInt8(ascii: "]"), from: i + 1, to: min(b.count, i + 48)) else { return nil }
            if let (t, end) = b.dateTime(i + 1), end == close { time = t }
            i = close + 1
            guard b.at(i) == 0x20 else { return nil }
            while b.at(i) == 0x20 { i += 1 }
        } else if let (t, end) = b.dateTime(i), b.at(end) == 0x20 {
            // Asterisk 1.4 wrote the date unbracketed: `Jan 18 17:39:50 NOTICE[1] chan_sip.c: `.
            time = t
            i = end + 1
        } else if b.at(i) == 0x20 || b.at(i) == UInt8(ascii: "-") || b.at(i) == UInt8(ascii: "=") {
            // Console copy of a verbose message: `    -- text`, `  == text`.
            while b.at(i) == 0x20, i - s < 12 { i += 1 }
            if let c = b.at(i), c == UInt8(ascii: "-") || c == UInt8(ascii: "="), b.at(i + 1) == c, b.at(i + 2) == 0x20 {
                return LinePrefix(time: nil, message: i + 3, start: s)
            }
        }
        let ls = i
        while let c = b.at(i), isUpper(c) { i += 1 }
        guard i > ls, i - ls <= 12 else { return nil }
        if b.at(i) == 0x20, b.at(i + 1) == UInt8(ascii: "[") { i += 1 } // `NOTICE [pid]`
        guard b.at(i) == UInt8(ascii: "[") else { return nil }
        let ds = i + 1
        i = b.skipDigits(ds)
        guard i > ds, i - ds <= 10, b.at(i) == UInt8(ascii: "]") else { return nil }
        i += 1
        if let hs = b.skip("[C-", at: i) {
            var j = hs
            while let c = b.at(j), isHex(c) { j += 1 }
            guard j > hs, j - hs <= 16, b.at(j) == UInt8(ascii: "]") else { return nil }
            i = j + 1
        }
        if b.at(i) == UInt8(ascii: ":") { i += 1 }
        guard b.at(i) == 0x20 else { return nil }
        i += 1
        if b.has("Ext. ", at: i) {
            return LinePrefix(time: time, message: i, start: s, dialplan: true)
        }
        // `file: message` or `file:line [in ]function: message`.
        let fs = i
        while let c = b.at(i), c != UInt8(ascii: ":"), c != 0x20 { i += 1 }
        guard i > fs, b.at(i) == UInt8(ascii: ":") else { return nil }
        if b.at(i + 1) == 0x20 {
            i += 2
        } else {
            let ln = i + 1
            i = b.skipDigits(ln)
            guard i > ln, b.at(i) == 0x20 else { return nil }
            i += 1
            if let j = b.skip("in ", at: i) { i = j }
            let fn = i
            while let c = b.at(i), c != UInt8(ascii: ":"), c != 0x20 { i += 1 }
            guard i > fn, b.at(i) == UInt8(ascii: ":"), b.at(i + 1) == 0x20 else { return nil }
            i += 2
        }
        return LinePrefix(time: time, message: skipContextTag(b, i), start: s)
    }

    /// Skips a dialplan-context tag `[ctx] ` (letters, digits, `-_.+@`) at `i`.
    static func skipContextTag(_ b: Bytes, _ i: Int) -> Int {
        guard b.at(i) == UInt8(ascii: "[") else { return i }
        var j = i + 1
        while let c = b.at(j), j - i <= 80,
            isDigit(c) || isUpper(c) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "+") || c == UInt8(ascii: "@")
        {
            j += 1
        }
        guard j > i + 1, b.at(j) == UInt8(ascii: "]"), b.at(j + 1) == 0x20 else { return i }
        return j + 2
    }

    // MARK: Messages

    static func message(_ b: Bytes, prefix: LinePrefix) -> LogFinding? {
        let m = prefix.message
        let e = b.trimmedEnd()
        guard m < e else { return nil }
        var f: LogFinding?
        if prefix.dialplan {
            f = dialplanLog(b, m, e)
            if f != nil { f?.time = prefix.time }
            return f
        }
        switch b.p[m] {
        case UInt8(ascii: "R"):
            if let s = b.skip("Registration from '", at: m) {
                f = chanSIPRegistration(b, s, e)
            } else if let s = b.skip("Request '", at: m) {
                f = pjsipRequest(b, s, e, hasMethod: true)
            } else if let s = b.skip("Request from '", at: m) {
                f = pjsipRequest(b, s, e, hasMethod: false)
            } else if let s = b.skip("Rejecting unknown SIP connection from ", at: m) {
                f = rejectingUnknown(b, s, e, quoted: false)
            }
        case dq:
            if let s = b.skip("\"Rejecting unknown SIP connection from ", at: m) { f = rejectingUnknown(b, s, e, quoted: true) }
        case UInt8(ascii: "h"):
            if let s = b.skip("hacking attempt detected '", at: m), e - 1 > s, b.p[e - 1] == q,
                let (ip, port) = b.hostPort(s..<(e - 1))
            {
                f = LogFinding(kind: .authFailed, source: ip, sourcePort: port, reason: "hacking attempt detected", dialect: .asterisk)
            }
        case UInt8(ascii: "C"):
            if let s = b.skip("Call from '", at: m) {
                f = callFrom(b, s, e)
            } else if let a = b.skip("Call (", at: m) {
                f = sessionCall(b, address: a, e)
            }
        case UInt8(ascii: "S"):
            if let s = b.skip("SecurityEvent=\"", at: m) { f = securityEvent(b, s, e) }
        case UInt8(ascii: "H"):
            if let s = b.skip("Host ", at: m) { f = host(b, s, e) }
        case UInt8(ascii: "N"):
            if let s = b.skip("No registration for peer '", at: m) { f = noRegistration(b, s, e) }
        default:
            break
        }
        if f == nil, let c = b.at(m), isHex(c) || c == UInt8(ascii: ":") || c == UInt8(ascii: "[") {
            f = manager(b, m, e)
        }
        if f == nil, b.p[e - 1] == UInt8(ascii: ".") {
            f = sessionCall(b, m, e)
        }
        if f != nil, f?.time == nil { f?.time = prefix.time }
        return f
    }

    /// FreePBX: `Rejecting unknown SIP connection from ADDR`, in a dialplan `Log()` quoted.
    /// The address ends the line.
    static func rejectingUnknown(_ b: Bytes, _ s: Int, _ e: Int, quoted: Bool) -> LogFinding? {
        var end = e
        if quoted {
            guard e - 1 > s, b.p[e - 1] == dq else { return nil }
            end = e - 1
        }
        guard let (ip, port) = b.hostPort(span(s, end)) else { return nil }
        return LogFinding(
            kind: .unknownUser, source: ip, sourcePort: port, reason: "Rejecting unknown SIP connection", dialect: .asterisk
        )
    }

    /// Dialplan `Log()` (app_verbose): `Ext. EXTEN: MSG` or `Ext. EXTEN:PRIO [in ]@ CONTEXT: MSG`.
    /// EXTEN is what the caller dialled, so the message counts only when it starts at the FIRST
    /// `: ` after `Ext. ` (an EXTEN holding `: ` hides the line, never forges one) and is one of
    /// the messages whose PBX-written address ends the line.
    static func dialplanLog(_ b: Bytes, _ m: Int, _ e: Int) -> LogFinding? {
        guard let k = b.find(": ", from: m + 5, to: e) else { return nil }
        let s = k + 2
        if let a = b.skip("\"Rejecting unknown SIP connection from ", at: s) { return rejectingUnknown(b, a, e, quoted: true) }
        if let a = b.skip("Rejecting unknown SIP connection from ", at: s) { return rejectingUnknown(b, a, e, quoted: false) }
        return nil
    }

    /// chan_sip: `Registration from 'TO' failed for 'ADDR' - REASON`. Only fixed text follows
    /// the real address, so the LAST `' failed for '` is the PBX's.
    static func chanSIPRegistration(_ b: Bytes, _ s: Int, _ e: Int) -> LogFinding? {
        guard let k = b.findLast("' failed for '", from: s, to: e) else { return nil }
        let a = k + 14
        guard let qe = b.findByte(q, from: a, to: e), let rs = b.skip("' - ", at: qe),
            let ph = b.phrase(span(rs, e), in: chanSIPReasons), let kind = ph.kind,
            let (ip, port) = b.hostPort(a..<qe)
        else { return nil }
        return LogFinding(
            kind: kind, source: ip, sourcePort: port, user: b.sipUser(s..<k), reason: ph.reason, dialect: .asterisk
        )
    }

    /// res_pjsip: `Request 'METHOD' from 'FROM' failed for 'ADDR' (callid: CALLID) - REASON[ after N tries in X ms]`
    /// (or the pre-2016 form without method). FROM and CALLID are attacker-written and
    /// surround the address: exactly one well-formed `' failed for 'ADDR' (callid: ` must exist.
    static func pjsipRequest(_ b: Bytes, _ s: Int, _ e: Int, hasMethod: Bool) -> LogFinding? {
        guard let dash = b.findLast(" - ", from: s, to: e), dash > s, b.p[dash - 1] == UInt8(ascii: ")") else { return nil }
        let rs = dash + 3
        guard let ph = b.phrasePrefix(rs..<e, in: pjsipReasons), let kind = ph.kind else { return nil }
        let re = rs + ph.text.utf8CodeUnitCount
        if re != e {
            // " after N tries in X ms"
            guard var i = b.skip(" after ", at: re) else { return nil }
            let n = i
            i = b.skipDigits(i)
            guard i > n, var j = b.skip(" tries in ", at: i) else { return nil }
            let d = j
            j = b.skipDigits(j)
            guard j > d else { return nil }
            if b.at(j) == UInt8(ascii: ".") {
                let f = j + 1
                j = b.skipDigits(f)
                guard j > f else { return nil }
            }
            guard b.equals(j..<e, " ms") else { return nil }
        }
        var found: (k: Int, ip: IPAddress, port: UInt16?, callID: Int)?
        var cursor = s
        while let k = b.find("' failed for '", from: cursor, to: dash) {
            let a = k + 14
            if let qe = b.findByte(q, from: a, to: min(dash, a + 62)), b.has("' (callid: ", at: qe),
                let (ip, port) = b.hostPort(a..<qe)
            {
                if found != nil { return nil } // ambiguous: a forged copy in FROM or CALLID
                found = (k, ip, port, qe + 11)
            }
            cursor = k + 1
        }
        guard let hit = found else { return nil }
        var fromStart = s
        if hasMethod {
            guard let fm = b.find("' from '", from: s, to: hit.k) else { return nil }
            fromStart = fm + 8
        }
        // CALLID runs to the `) - ` before the reason (attacker text; evidence only).
        let callID = hit.callID < dash - 1 ? b.text(hit.callID..<(dash - 1)) : nil
        return LogFinding(
            kind: kind, source: hit.ip, sourcePort: hit.port, user: b.sipUser(fromStart..<hit.k),
            reason: ph.reason, callID: callID, dialect: .asterisk
        )
    }

    /// Index of the real `' rejected because extension not found in context 'CTX'.` at the
    /// end of the line (CTX is admin-written and holds no quote).
    static func extensionTail(_ b: Bytes, _ s: Int, _ e: Int) -> Int? {
        guard e - s >= 2, b.p[e - 1] == UInt8(ascii: "."), b.p[e - 2] == q,
            let k = b.findLast(extensionPhrase, from: s, to: e)
        else { return nil }
        let cs = k + extensionPhrase.utf8CodeUnitCount
        guard cs <= e - 2, !b.contains(q, in: cs..<(e - 2)) else { return nil }
        return k
    }

    /// `[TRANSPORT:]ADDR` inside the parentheses of a `Call` line.
    static func callAddress(_ b: Bytes, _ r: Range<Int>) -> (IPAddress, UInt16?, Transport?)? {
        if let colon = b.findByte(UInt8(ascii: ":"), from: r.lowerBound, to: min(r.upperBound, r.lowerBound + 5)),
            let t = b.transport(r.lowerBound..<colon)
        {
            guard let (ip, port) = b.hostPort((colon + 1)..<r.upperBound) else { return nil }
            return (ip, port, t)
        }
        guard let (ip, port) = b.hostPort(r) else { return nil }
        return (ip, port, nil)
    }

    /// chan_sip `Call from 'USER' (ADDR) to extension 'EXTEN' rejected because extension not
    /// found in context 'CTX'.` and the pre-2020 res_pjsip_session `Call from 'ENDPOINT'
    /// (TRANSPORT:ADDR) …`. USER and EXTEN are attacker-written: exactly one candidate.
    static func callFrom(_ b: Bytes, _ s: Int, _ e: Int) -> LogFinding? {
        guard let anchor = extensionTail(b, s, e) else { return nil }
        var found: (close: Int, ip: IPAddress, port: UInt16?, t: Transport?)?
        var cursor = s
        while let k = b.find("' (", from: cursor, to: anchor) {
            let a = k + 3
            if let close = b.findByte(UInt8(ascii: ")"), from: a, to: min(anchor, a + 72)),
                b.has(") to extension '", at: close),
                let (ip, port, t) = callAddress(b, a..<close)
            {
                if found != nil { return nil }
                found = (close, ip, port, t)
            }
            cursor = k + 1
        }
        guard let hit = found, hit.close + 16 <= anchor else { return nil }
        return LogFinding(
            kind: .unauthenticatedCall, source: hit.ip, sourcePort: hit.port, transport: hit.t,
            user: b.text((hit.close + 16)..<anchor), reason: "extension not found", dialect: .asterisk
        )
    }

    /// res_pjsip_session (2020+): `NAME: Call (TRANSPORT:ADDR) to extension 'EXTEN' rejected
    /// because extension not found in context 'CTX'.` NAME is the PBX's session name and the
    /// address precedes all attacker text, so the first `: Call (` is the PBX's.
    static func sessionCall(_ b: Bytes, _ m: Int, _ e: Int) -> LogFinding? {
        guard let k = b.find(": Call (", from: m, to: min(e, m + 200)), k > m, !b.contains(0x20, in: m..<k) else { return nil }
        return sessionCall(b, address: k + 8, e)
    }

    /// The part of a res_pjsip_session `Call (` line from the address on (also written without
    /// a session name when the session has none).
    static func sessionCall(_ b: Bytes, address a: Int, _ e: Int) -> LogFinding? {
        guard let close = b.findByte(UInt8(ascii: ")"), from: a, to: min(e, a + 72)),
            b.has(") to extension '", at: close),
            let (ip, port, t) = callAddress(b, a..<close),
            let anchor = extensionTail(b, close + 16, e)
        else { return nil }
        return LogFinding(
            kind: .unauthenticatedCall, source: ip, sourcePort: port, transport: t,
            user: b.text((close + 16)..<anchor), reason: "extension not found", dialect: .asterisk
        )
    }

    /// chan_iax2 / chan_sip lines that start with `Host ADDR ` (address first, PBX-written).
    static func host(_ b: Bytes, _ s: Int, _ e: Int) -> LogFinding? {
        guard let sp = b.findByte(0x20, from: s, to: min(e, s + 64)), let (ip, port) = b.hostPort(s..<sp) else { return nil }
        let r = sp + 1
        let kind: EventKind
        let reason: String
        var us: Int
        if let j = b.skip("failed MD5 authentication for '", at: r) {
            kind = .authFailed
            reason = "failed MD5 authentication"
            us = j
        } else if let j = b.skip("failed to authenticate as ", at: r) {
            kind = .authFailed
            reason = "failed to authenticate"
            us = j
        } else if let j = b.skip("did not provide proper plaintext password for '", at: r) {
            kind = .authFailed
            reason = "wrong plaintext password"
            us = j
        } else if let j = b.skip("denied access to register peer '", at: r) {
            kind = .aclDenied
            reason = "denied access to register peer"
            us = j
        } else {
            return nil
        }
        if b.at(us) == q { us += 1 }
        var ue = b.findByte(q, from: us, to: e) ?? e
        if ue == e, kind == .authFailed, let sp2 = b.findByte(0x20, from: us, to: e) { ue = sp2 }
        return LogFinding(
            kind: kind, source: ip, sourcePort: port, user: ue > us ? b.text(us..<ue) : nil,
            reason: reason, dialect: .asterisk
        )
    }

    /// chan_iax2: `No registration for peer 'PEER' (from ADDR)` — the address ends the line.
    static func noRegistration(_ b: Bytes, _ s: Int, _ e: Int) -> LogFinding? {
        guard b.p[e - 1] == UInt8(ascii: ")"), let k = b.findLast("' (from ", from: s, to: e),
            let (ip, port) = b.hostPort((k + 8)..<(e - 1))
        else { return nil }
        return LogFinding(
            kind: .unknownUser, source: ip, sourcePort: port, user: k > s ? b.text(s..<k) : nil,
            reason: "No registration for peer", dialect: .asterisk
        )
    }

    /// manager.c (AMI): `ADDR tried to authenticate with nonexistent user 'U'`,
    /// `ADDR failed to authenticate as 'U'`, `ADDR failed to pass IP ACL as 'U'`.
    static func manager(_ b: Bytes, _ m: Int, _ e: Int) -> LogFinding? {
        guard let sp = b.findByte(0x20, from: m, to: min(e, m + 50)) else { return nil }
        let r = sp + 1
        let kind: EventKind
        let reason: String
        let us: Int
        if let j = b.skip("tried to authenticate with nonexistent user '", at: r) {
            kind = .unknownUser
            reason = "AMI nonexistent user"
            us = j
        } else if let j = b.skip("failed to authenticate as '", at: r) {
            kind = .authFailed
            reason = "AMI failed to authenticate"
            us = j
        } else if let j = b.skip("failed to pass IP ACL as '", at: r) {
            kind = .aclDenied
            reason = "AMI failed to pass IP ACL"
            us = j
        } else {
            return nil
        }
        guard let ip = b.ip(m..<sp) else { return nil }
        let ue = b.p[e - 1] == q ? e - 1 : e
        return LogFinding(kind: kind, source: ip, user: ue > us ? b.text(us..<ue) : nil, reason: reason, dialect: .asterisk)
    }

    // MARK: Security log

    /// `IPV4/UDP/1.2.3.4/5060`, `IPV6/TCP/2001:db8::1/5060`, `IPV4/1.2.3.4/5060`.
    static func securityAddress(_ b: Bytes, _ r: Range<Int>) -> (IPAddress, UInt16?, Transport?)? {
        let v4 = b.has("IPV4/", at: r.lowerBound)
        guard v4 || b.has("IPV6/", at: r.lowerBound),
            let ls = b.findLastByte(UInt8(ascii: "/"), from: r.lowerBound + 5, to: r.upperBound),
            let port = b.port((ls + 1)..<r.upperBound)
        else { return nil }
        var a = r.lowerBound + 5
        var t: Transport? = nil
        if let ts = b.findByte(UInt8(ascii: "/"), from: a, to: ls) {
            guard let tt = b.transport(a..<ts) else { return nil }
            t = tt
            a = ts + 1
        }
        guard let ip = IPAddress(utf8: b.slice(a..<ls)), (ip.family == .v4) == v4 else { return nil }
        return (ip.unmapped, port, t)
    }

    /// EventTV: `1368439853-500975` or `2021-12-21T12:57:01.209+0000`.
    static func securityTime(_ b: Bytes, _ r: Range<Int>) -> LogTime? {
        if let dash = b.findByte(UInt8(ascii: "-"), from: r.lowerBound, to: r.upperBound),
            dash - r.lowerBound <= 12,
            let sec = b.number(r.lowerBound..<dash), let us = b.number((dash + 1)..<r.upperBound), us < 1_000_000
        {
            return .instant(Timestamp(seconds: Int64(sec), microseconds: Int64(us)))
        }
        if let (t, end) = b.dateTime(r.lowerBound), end == r.upperBound { return t }
        return nil
    }

    /// Does `from..<e` consist only of `,Key="value"` IEs with quote-free values and keys
    /// from `allowed` (plus the common optional Module and SessionTV)?
    static func pbxTailValid(_ b: Bytes, _ from: Int, _ e: Int, allowed: [StaticString]) -> Bool {
        var i = from
        var n = 0
        while i < e {
            n += 1
            guard n <= 8, b.p[i] == UInt8(ascii: ","), let eq = b.find("=\"", from: i + 1, to: min(e, i + 40)) else { return false }
            let key = (i + 1)..<eq
            guard b.equals(key, "Module") || b.equals(key, "SessionTV") || allowed.contains(where: { b.equals(key, $0) }),
                let ve = b.findByte(dq, from: eq + 2, to: e)
            else { return false }
            i = ve + 1
        }
        return i == e
    }

    /// res_security_log: `SecurityEvent="NAME",EventTV="…",…,AccountID="…",SessionID="…",
    /// LocalAddress="…",RemoteAddress="…"[,…]`. Values are not escaped, and AccountID and
    /// SessionID (and, for some events, IEs after RemoteAddress) are attacker-written.
    static func securityEvent(_ b: Bytes, _ s: Int, _ e: Int) -> LogFinding? {
        guard let ne = b.findByte(dq, from: s, to: min(e, s + 32)) else { return nil }
        var event: SecurityEventName?
        for ev in securityEvents where b.equals(s..<ne, ev.text) {
            event = ev
            break
        }
        guard let ev = event, let kind = ev.kind else { return nil }
        // PBX-written IEs before AccountID (EventTV, Severity, Service, EventVersion, …).
        var i = ne + 1
        var time: LogTime?
        var account: Int?
        var pjsip = false
        for _ in 0..<10 {
            guard b.at(i) == UInt8(ascii: ","), let eq = b.find("=\"", from: i + 1, to: min(e, i + 40)),
                b.skipWord(i + 1, to: eq) == eq
            else { return nil }
            let key = (i + 1)..<eq
            if b.equals(key, "AccountID") {
                account = eq + 2
                break
            }
            guard let ve = b.findByte(dq, from: eq + 2, to: e) else { return nil }
            if b.equals(key, "EventTV") { time = securityTime(b, (eq + 2)..<ve) }
            if b.equals(key, "Service") { pjsip = b.equals((eq + 2)..<ve, "PJSIP") }
            i = ve + 1
        }
        guard let acc = account else { return nil }
        // Candidate address blocks: `",LocalAddress="ADDR",RemoteAddress="ADDR"` then `,` or end.
        typealias Block = (k: Int, ip: IPAddress, port: UInt16?, t: Transport?, local: IPAddress, localPort: UInt16?)
        var structural = 0
        var only: Block?
        var tailValid = 0
        var tailPick: Block?
        var cursor = acc
        while let k = b.find("\",LocalAddress=\"", from: cursor, to: e) {
            cursor = k + 1
            let la = k + 16
            guard let le = b.findByte(dq, from: la, to: min(e, la + 80)), b.has("\",RemoteAddress=\"", at: le),
                let (local, localPort, _) = securityAddress(b, la..<le)
            else { continue }
            let ra = le + 17
            guard let re = b.findByte(dq, from: ra, to: min(e, ra + 80)),
                re + 1 == e || b.at(re + 1) == UInt8(ascii: ","),
                let (ip, port, t) = securityAddress(b, ra..<re)
            else { continue }
            structural += 1
            only = (k, ip, port, t, local, localPort)
            if let allowed = ev.pbxTail, pbxTailValid(b, re + 1, e, allowed: allowed) {
                tailValid += 1
                tailPick = (k, ip, port, t, local, localPort)
            }
            if structural > 16 { return nil }
        }
        let pick: Block
        if structural == 1, let o = only {
            pick = o
        } else if structural > 1, ev.pbxTail != nil, tailValid == 1, let t = tailPick {
            pick = t
        } else {
            return nil
        }
        var user: String?
        var callID: String?
        if let se = b.find("\",SessionID=\"", from: acc, to: pick.k), se > acc {
            user = b.text(acc..<se)
            // res_pjsip reports the request's Call-ID as the SessionID (chan_sip an
            // internal pointer, `0x…`, which is no Call-ID).
            if pjsip, se + 13 < pick.k { callID = b.text((se + 13)..<pick.k) }
        }
        return LogFinding(
            kind: kind, source: pick.ip, sourcePort: pick.port, destination: pick.local, destinationPort: pick.localPort,
            transport: pick.t, user: user, reason: ev.reason, callID: callID, time: time, dialect: .asterisk
        )
    }
}
