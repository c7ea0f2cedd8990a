// SPDX-License-Identifier: GPL-2.0-or-later

import LogFormats
import NetworkAddress
import Testing
import WardenCore

/// The address the PBX recorded.
let real = "198.51.100.7"
/// The address an attacker writes into fields it controls.
let decoy = "203.0.113.66"

@Suite("Injection: attacker text never supplies the address")
struct InjectionTests {
    // MARK: chan_sip

    @Test func chanSIPDecoyBeforeReal() throws {
        let l =
            astFile
            + "chan_sip.c: Registration from '\"x' failed for '\(decoy):5060' - Wrong password\" <sip:100@h>' failed for '\(real):5060' - Wrong password"
        #expect(try #require(parse(l)).source == addr(real))
    }

    @Test func chanSIPDecoyWithFailureButRealIsNot() {
        let l =
            astFile
            + "chan_sip.c: Registration from '<sip:x' failed for '\(decoy):5060' - Wrong password>' failed for '\(real):5060' - RTP initialization failed"
        #expect(parse(l) == nil)
    }

    @Test func chanSIPCallDecoysAreAmbiguous() throws {
        let tail = " rejected because extension not found in context 'default'."
        // Decoy in the caller name (before the real address).
        #expect(parse(astFile + "chan_sip.c: Call from 'x' (\(decoy):5060) to extension '1' (\(real):5060) to extension '100'" + tail) == nil)
        // Decoy in the extension (after the real address).
        #expect(parse(astFile + "chan_sip.c: Call from 'x' (\(real):5060) to extension '1' (\(decoy):5060) to extension '100'" + tail) == nil)
        // A malformed decoy does not create ambiguity.
        let f = try #require(parse(astFile + "chan_sip.c: Call from 'x' (evil) to extension 'y' (\(real):5060) to extension '100'" + tail))
        #expect(f.source == addr(real))
        // A forged tail inside the extension: the last tail is the PBX's.
        let g = try #require(parse(astFile + "chan_sip.c: Call from 'x' (\(real):5060) to extension '1'" + tail + "'" + tail))
        #expect(g.source == addr(real))
    }

    // MARK: res_pjsip

    @Test func pjsipDecoyInFromIsAmbiguous() {
        let l =
            astFile
            + "res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '\"a' failed for '\(decoy):5060' (callid: z) - Failed to authenticate\" <sip:1@h>' failed for '\(real):5060' (callid: abc) - Failed to authenticate"
        #expect(parse(l) == nil)
    }

    @Test func pjsipDecoyInCallIDIsAmbiguous() {
        let l =
            astFile
            + "res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:1@h>' failed for '\(real):5060' (callid: x' failed for '\(decoy):5060' (callid: y) - Failed to authenticate"
        #expect(parse(l) == nil)
    }

    @Test func pjsipForgedReasonInCallID() {
        // The real reason (last " - ") is not a failure; the forged one inside the call-id is ignored.
        let l =
            astFile
            + "res_pjsip/pjsip_distributor.c: Request 'OPTIONS' from '<sip:1@h>' failed for '\(real):5060' (callid: q) - Failed to authenticate) - Unknown thing"
        #expect(parse(l) == nil)
    }

    @Test func pjsipMalformedDecoyIgnored() throws {
        let l =
            astFile
            + "res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '\"a' failed for 'evil.example:5060' (callid: \" <sip:1@h>' failed for '\(real):5060' (callid: abc) - Failed to authenticate"
        #expect(try #require(parse(l)).source == addr(real))
    }

    @Test func sessionCallDecoyInExtension() throws {
        let l =
            astFile
            + "res_pjsip_session.c: anonymous: Call (UDP:\(real):5060) to extension 'x: Call (UDP:\(decoy):5060) to extension '1' rejected because extension not found in context 'default'."
        #expect(try #require(parse(l)).source == addr(real))
    }

    // MARK: Security log

    static let block = "\",LocalAddress=\"IPV4/UDP/192.0.2.10/5060\",RemoteAddress=\"IPV4/UDP/\(decoy)/5060"

    @Test func securityDecoyInAccountIDResolvedByPBXTail() throws {
        let l = SecurityLogTests.line("InvalidAccountID", account: "a\",SessionID=\"b" + Self.block, remote: "IPV4/UDP/\(real)/5060")
        let f = try #require(parse(l))
        #expect(f.source == addr(real))
        #expect(f.kind == .unknownUser)
    }

    @Test func securityDecoyInSessionIDWithForgedTail() throws {
        let l = SecurityLogTests.line(
            "FailedACL", session: "s" + Self.block + "\",ACLName=\"x", remote: "IPV4/UDP/\(real)/5060", tail: ",ACLName=\"no_name\""
        )
        #expect(try #require(parse(l)).source == addr(real))
    }

    @Test func securityDecoyAtEndOfLineWithForgedTail() throws {
        // The forged block is the last thing before the real tail would be: still the real one wins,
        // because only the real block is followed by PBX-written IEs alone.
        let l = SecurityLogTests.line("InvalidAccountID", account: "a" + Self.block + "\",Module=\"m", remote: "IPV4/UDP/\(real)/5060")
        #expect(try #require(parse(l)).source == addr(real))
    }

    @Test func securityAttackerTailEventsAreAmbiguous() {
        // Decoy inside Response (after RemoteAddress).
        let after = SecurityLogTests.line(
            "ChallengeResponseFailed", remote: "IPV4/UDP/\(real)/5060",
            tail: ",Challenge=\"n\",Response=\"r" + Self.block + "\",Challenge=\"c\",Response=\"r2\",ExpectedResponse=\"e\""
        )
        #expect(parse(after) == nil)
        // Decoy inside AccountID (before).
        let before = SecurityLogTests.line(
            "ChallengeResponseFailed", account: "a" + Self.block + "\",Challenge=\"c\",Response=\"x",
            remote: "IPV4/UDP/\(real)/5060", tail: ",Challenge=\"n\",Response=\"r\",ExpectedResponse=\"e\""
        )
        #expect(parse(before) == nil)
    }

    @Test func securityPartialDecoyIsNotACandidate() throws {
        let l = SecurityLogTests.line(
            "ChallengeResponseFailed", account: "RemoteAddress=\"IPV4/UDP/\(decoy)/5060\"", remote: "IPV4/UDP/\(real)/5060",
            tail: ",Challenge=\"n\",Response=\"RemoteAddress=\\\"IPV4/UDP/\(decoy)/5060\",ExpectedResponse=\"e\""
        )
        #expect(try #require(parse(l)).source == addr(real))
    }

    // MARK: FreeSWITCH

    @Test func freeswitchDecoyInUserAndDomain() throws {
        let pre = "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 "
        let a = try #require(
            parse(pre + "SIP auth failure (REGISTER) on sofia profile 'internal' for [x from ip \(decoy)@d from ip \(decoy)] from ip \(real)"))
        #expect(a.source == addr(real))
        let b = try #require(parse(pre + "Can't find user [a] from \(decoy)@b] from \(decoy)] from \(real)"))
        #expect(b.source == addr(real))
        // Joined form with a forged "from … You must define" inside the user name.
        let u = "u] from \(decoy) You must define a domain called 'x"
        let c = try #require(
            parse(
                pre
                    + "Can't find user [\(u)@d] from \(real) You must define a domain called 'd' in your directory and add a user with the id=\"\(u)\" attribute"
            ))
        #expect(c.source == addr(real))
    }

    @Test func freeswitchLineEndingInAttackerTextIsNotAFailure() {
        let pre = "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 "
        #expect(parse(pre + "SIP auth failure (REGISTER) on sofia profile 'internal' for [1@d] from ip \(real) trailing") == nil)
        #expect(parse(pre + "SIP auth challenge (REGISTER) on sofia profile 'internal' for [x] from ip \(decoy)] from ip \(real)") == nil)
    }

    // MARK: SIPWARDEN

    @Test func sipwardenAttackerTextAfterFixedFields() throws {
        let ua = "evil\" src=\(decoy) sport=1 proto=udp \" ua=\"x"
        let user = "u\" ua=\"zz\" src=\(decoy)"
        let l =
            " 5(1234) NOTICE: <script>: SIPWARDEN event=auth_failed ts=1.000001 src=\(real) sport=5060 proto=udp method=REGISTER user=\"\(user)\" ua=\"\(ua)\""
        let f = try #require(parse(l))
        #expect(f.source == addr(real))
        #expect(f.sourcePort == 5060)
        // Per the documented rule: user runs to the LAST `" ua="`, ua to the final quote.
        #expect(f.userAgent == "x")
        #expect(f.user == "\(user)\" ua=\"evil\" src=\(decoy) sport=1 proto=udp ")
    }

    @Test func sipwardenNestedTokenInUA() throws {
        let l =
            "SIPWARDEN event=scanner ts=2.0 src=\(real) sport=5060 proto=udp method=OPTIONS user=\"\" ua=\"SIPWARDEN event=auth_failed ts=1.0 src=\(decoy) sport=1 proto=udp method=R user=\"a\" ua=\"b\""
        let f = try #require(parse(l))
        #expect(f.source == addr(real))
        #expect(f.kind == .scanner)
    }

    @Test func crossDialectInjection() throws {
        let sw = "SIPWARDEN event=auth_failed ts=1.0 src=\(decoy) sport=1 proto=udp method=R user=\"a\" ua=\"b\""
        // SIPWARDEN text inside an Asterisk line: only Asterisk may read it.
        let ast =
            astFile
            + "res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:\(sw)>' failed for '\(real):5060' (callid: x) - Failed to authenticate"
        let f = try #require(parse(ast))
        #expect(f.source == addr(real))
        #expect(f.dialect == .asterisk)
        #expect(parse(ast, .only(.kamailio)) == nil)
        let fs =
            "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1 SIP auth challenge (REGISTER) on sofia profile 'internal' for [\(sw)] from ip \(real)"
        #expect(parse(fs) == nil)
        // Asterisk text inside a SIPWARDEN UA: only the SIPWARDEN fields count.
        let k =
            "SIPWARDEN event=unknown_user ts=1.0 src=\(real) sport=5060 proto=udp method=REGISTER user=\"1\" ua=\"[2015-05-24 08:42:16] NOTICE[1] chan_sip.c: Registration from '' failed for '\(decoy):5060' - Wrong password\""
        #expect(try #require(parse(k)).source == addr(real))
        #expect(parse(k, .only(.asterisk)) == nil)
    }

    // MARK: Long lines

    @Test func longAsteriskLinesAreIgnored() {
        let pad = String(repeating: "A", count: LogDialects.maximumLineLength)
        #expect(parse(astFile + "chan_sip.c: Registration from '<sip:\(pad)@h>' failed for '\(real):5060' - Wrong password") == nil)
        let ua = String(repeating: "B", count: 5000)
        let f = parse("SIPWARDEN event=scanner ts=2.0 src=\(real) sport=5060 proto=udp method=OPTIONS user=\"\" ua=\"\(ua)\"")
        #expect(f?.source == addr(real))
        #expect(f?.userAgent?.utf8.count == LogDialects.maximumFieldLength)
    }
}

@Suite("Captured Kamailio 5.6 output")
struct CapturedKamailioTests {
    /// Printed by Kamailio 5.6 (-E) running contrib/kamailio/sipwarden.cfg, for a REGISTER whose
    /// User-Agent was `friendly-scanner" ua="x" src=203.0.113.66 "` (an injection attempt).
    static let lines = [
        " 1(4448) NOTICE: <script>: SIPWARDEN event=auth_failed ts=1795609889.719089 src=198.18.77.1 sport=58091 proto=udp method=REGISTER user=\"1000\" ua=\"friendly-scanner\" ua=\"x\" src=203.0.113.66 \"\"",
        " 2(4449) NOTICE: <script>: SIPWARDEN event=scanner ts=1795609891.721820 src=2001:2:0:77::1 sport=44886 proto=udp method=REGISTER user=\"1000\" ua=\"friendly-scanner\" ua=\"x\" src=203.0.113.66 \"\"",
    ]

    @Test func realLines() throws {
        let a = try #require(parse(Self.lines[0]))
        #expect(a.kind == .authFailed)
        #expect(a.source == addr("198.18.77.1"))
        #expect(a.sourcePort == 58091)
        #expect(a.dialect == .kamailio)
        #expect(a.time == .instant(Timestamp(seconds: 1_795_609_889, microseconds: 719_089)))
        let b = try #require(parse(Self.lines[1]))
        #expect(b.kind == .scanner)
        #expect(b.source == addr("2001:2:0:77::1"))
        // The documented split: user to the last `" ua="`, ua to the final quote.
        #expect(b.user == "1000\" ua=\"friendly-scanner")
        #expect(b.userAgent == "x\" src=203.0.113.66 \"")
    }

    // MARK: Envelope (wrappers, prefixes, colour codes)

    @Test func prefixInsideAttackerTextIsNotAPrefix() {
        // A whole syslog + Asterisk prefix inside a From header: the line's real message is
        // the chan_sip one, whose (last) address is the real peer; its reason is not a failure.
        let l =
            astFile
            + "chan_sip.c: Registration from '<sip:Jan  2 03:04:05 h asterisk[1]: NOTICE[1]: chan_sip.c:1 fn: Registration from ' failed for '\(decoy):5060' - Wrong password@h>' failed for '\(real):5060' - Unknown failure"
        #expect(parse(l) == nil)
    }

    @Test func wrappedLineKeepsTheRules() throws {
        let l =
            "Jan  2 03:04:05 pbx asterisk[1]: NOTICE[1]: chan_sip.c:1 in fn: Registration from '\"x' failed for '\(decoy):5060' - Wrong password\" <sip:100@h>' failed for '\(real):5060' - Wrong password"
        #expect(try #require(parse(l)).source == addr(real))
        let p =
            "<29>1 2024-01-02T03:04:05Z pbx asterisk 1 - - NOTICE[1]: res_pjsip/pjsip_distributor.c:1 fn: Request 'REGISTER' from '\"a' failed for '\(decoy):5060' (callid: z) - Failed to authenticate\" <sip:1@h>' failed for '\(real):5060' (callid: abc) - Failed to authenticate"
        #expect(parse(p) == nil)
    }

    @Test func colourCodesCannotSplitOrJoinAnchors() throws {
        // Colour in the attacker's From: the real (last) address still wins.
        let l =
            astFile
            + "chan_sip.c: Registration from '\u{1B}[31m\"x' failed for '\(decoy):5060' - Wrong password\u{1B}[0m\" <sip:100@h>' failed for '\(real):5060' - Wrong password"
        #expect(try #require(parse(l)).source == addr(real))
        // A forged res_pjsip anchor assembled from colour-split pieces is still a second candidate.
        let p =
            astFile
            + "res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '\"a' fai\u{1B}[0mled for '\(decoy):5060' (callid: z) - x\" <sip:1@h>' failed for '\(real):5060' (callid: abc) - Failed to authenticate"
        #expect(parse(p) == nil)
    }

    @Test func dialplanExtensionCannotForge() {
        let l =
            "[2024-01-02 03:04:05] WARNING[1][C-00000001] Ext. 1: \"Rejecting unknown SIP connection from \(decoy)\": \"Rejecting unknown SIP connection from \(real)\""
        #expect(parse(l) == nil)
    }

    @Test func contextTagIsOnlyAtThePrefixEnd() {
        // `[ctx] ` is skipped only right after the location; inside the message it is text.
        let l = astFile + "chan_sip.c: Peer [x] Registration from '<sip:1@h>' failed for '\(decoy):5060' - Wrong password"
        #expect(parse(l) == nil)
    }
}
