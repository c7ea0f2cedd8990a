// SPDX-License-Identifier: GPL-2.0-or-later

import LogFormats
import NetworkAddress
import Testing
import WardenCore

func addr(_ s: String) -> IPAddress { IPAddress(s)! }

func parse(_ line: String, _ selection: DialectSelection = .auto) -> LogFinding? {
    LogDialects.parse(line, selection: selection)
}

/// Asterisk file-channel prefix.
let astFile = "[2015-05-24 08:42:16] NOTICE[4583] "

// MARK: - chan_sip

@Suite("Asterisk chan_sip")
struct ChanSIPTests {
    @Test(arguments: [
        ("Wrong password", EventKind.authFailed),
        ("Username/auth name mismatch", .authFailed),
        ("No matching peer found", .unknownUser),
        ("Not a local domain", .unknownUser),
        ("Peer is not supposed to register", .unknownUser),
        ("Device does not match ACL", .aclDenied),
        ("Device not configured to use this transport type", .aclDenied),
    ])
    func registrationReasons(reason: String, kind: EventKind) throws {
        let line = astFile + "chan_sip.c: Registration from '\"100\" <sip:100@192.0.2.1>' failed for '198.51.100.7:5060' - \(reason)"
        let f = try #require(parse(line))
        #expect(f.kind == kind)
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.sourcePort == 5060)
        #expect(f.user == "100")
        #expect(f.reason == reason)
        #expect(f.dialect == .asterisk)
        #expect(f.time == .clock(LogClockTime(year: 2015, month: 5, day: 24, hour: 8, minute: 42, second: 16)))
        #expect(parse(line, .only(.asterisk)) == f)
        #expect(parse(line, .only(.freeswitch)) == nil)
        #expect(parse(line, .only(.kamailio)) == nil)
    }

    @Test(arguments: ["RTP initialization failed", "Unknown failure", "Something new"])
    func nonFailureReasons(reason: String) {
        #expect(parse(astFile + "chan_sip.c: Registration from '<sip:100@h>' failed for '198.51.100.7:5060' - \(reason)") == nil)
    }

    @Test func ipv6Bracketed() throws {
        let f = try #require(parse(astFile + "chan_sip.c: Registration from '<sip:1@h>' failed for '[2001:db8::7]:5062' - Wrong password"))
        #expect(f.source == addr("2001:db8::7"))
        #expect(f.sourcePort == 5062)
    }

    @Test func callRejected() throws {
        let line =
            astFile
            + "chan_sip.c: Call from '' (198.51.100.9:5070) to extension '0046701234567' rejected because extension not found in context 'default'."
        let f = try #require(parse(line))
        #expect(f.kind == .unauthenticatedCall)
        #expect(f.source == addr("198.51.100.9"))
        #expect(f.sourcePort == 5070)
        #expect(f.user == "0046701234567")
        #expect(f.transport == nil)
    }

    @Test func freePBXRejectingUnknown() throws {
        let f = try #require(parse(astFile + "chan_sip.c: Rejecting unknown SIP connection from 203.0.113.44"))
        #expect(f.kind == .unknownUser)
        #expect(f.source == addr("203.0.113.44"))
        let g = try #require(parse(astFile + "chan_sip.c: Rejecting unknown SIP connection from 203.0.113.44:5060"))
        #expect(g.sourcePort == 5060)
    }
}

// MARK: - Prefixes

@Suite("Asterisk prefixes")
struct AsteriskPrefixTests {
    let msg = "Registration from '<sip:100@h>' failed for '198.51.100.7:5060' - Wrong password"

    @Test func fileFormatWithCallTag() throws {
        let f = try #require(parse("[2015-05-24 08:42:16] NOTICE[4583][C-0000abcd] chan_sip.c: " + msg))
        #expect(f.source == addr("198.51.100.7"))
    }

    @Test func plainFormatterNoYear() throws {
        let f = try #require(parse("[Dec 21 12:57:01] NOTICE[77]: chan_sip.c:28061 handle_request_register: " + msg))
        #expect(f.time == .clock(LogClockTime(year: nil, month: 12, day: 21, hour: 12, minute: 57, second: 1)))
    }

    @Test func plainFormatterWithCallTagAndFraction() throws {
        let f = try #require(parse("[2024-01-02 03:04:05.123] NOTICE[77][C-00000001]: chan_sip.c:1 fn: " + msg))
        #expect(f.time == .clock(LogClockTime(year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, microsecond: 123_000)))
    }

    @Test func syslogFormat() throws {
        let f = try #require(parse("Jul  8 22:25:10 pbx asterisk[112836]: NOTICE[112882]: chan_sip.c:114 in handle_request_register: " + msg))
        #expect(f.time == .clock(LogClockTime(year: nil, month: 7, day: 8, hour: 22, minute: 25, second: 10)))
        #expect(f.source == addr("198.51.100.7"))
    }

    @Test func syslogRFC3339WithCallTag() throws {
        let f = try #require(parse("2024-07-08T22:25:10.5+02:00 pbx asterisk[1]: NOTICE[2][C-0000000a]: chan_sip.c:114 in fn: " + msg))
        #expect(f.time == .instant(Timestamp(seconds: 1_720_470_310, microseconds: 500_000))) // 20:25:10Z
    }

    @Test func unknownPrefixIsIgnored() {
        #expect(parse(msg) == nil)
        #expect(parse("NOTICE chan_sip.c: " + msg) == nil)
        #expect(parse("[2015-05-24 08:42:16] NOTICE chan_sip.c: " + msg) == nil)
    }

    @Test func ordinaryLinesAreNotFailures() {
        for line in [
            "[2015-05-24 08:42:16] NOTICE[4583] chan_sip.c: Peer '100' is now Reachable. (5ms / 2000ms)",
            "[2015-05-24 08:42:16] VERBOSE[4583][C-00000001] pbx.c:   == Spawn extension (default, 100, 1)",
            "[2015-05-24 08:42:16] WARNING[4583] res_pjsip_registrar.c: Registration attempt from 198.51.100.7 denied",
            "[2015-05-24 08:42:16] NOTICE[4583] res_pjsip/pjsip_distributor.c: Request 'OPTIONS' from '<sip:a@b>' failed for '198.51.100.7:5060' (callid: x) - Something else",
            "",
            "[",
        ] {
            #expect(parse(line) == nil, "\(line)")
        }
    }
}

// MARK: - res_pjsip

@Suite("Asterisk res_pjsip")
struct PJSIPTests {
    @Test(arguments: [
        ("No matching endpoint found", EventKind.unknownUser),
        ("Not match Endpoint ACL", .aclDenied),
        ("Not match Endpoint Contact ACL", .aclDenied),
        ("Failed to authenticate", .authFailed),
        ("Error to authenticate", .authFailed),
        ("No matching endpoint found after 5 tries in 2.123 ms", .unknownUser),
    ])
    func reasons(reason: String, kind: EventKind) throws {
        let line =
            astFile
            + "res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:100@203.0.113.5>' failed for '198.51.100.7:5060' (callid: abc@1.2.3.4) - \(reason)"
        let f = try #require(parse(line))
        #expect(f.kind == kind)
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.sourcePort == 5060)
        #expect(f.user == "100")
    }

    @Test func oldFormWithoutMethod() throws {
        let f = try #require(
            parse(
                astFile
                    + "res_pjsip/pjsip_distributor.c: Request from '\"1000\" <sip:1000@192.0.2.1>' failed for '198.51.100.8:5061' (callid: 1234) - No matching endpoint found"
            ))
        #expect(f.kind == .unknownUser)
        #expect(f.source == addr("198.51.100.8"))
        #expect(f.user == "1000")
    }

    @Test func ipv6() throws {
        let f = try #require(
            parse(
                astFile
                    + "res_pjsip/pjsip_distributor.c: Request 'INVITE' from '<sip:1@[2001:db8::1]>' failed for '[2001:db8::9]:5060' (callid: x) - Failed to authenticate"
            ))
        #expect(f.source == addr("2001:db8::9"))
    }

    @Test func badSuffixRejected() {
        #expect(
            parse(
                astFile
                    + "res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:1@h>' failed for '198.51.100.7:5060' (callid: x) - No matching endpoint found after x tries"
            ) == nil)
    }

    @Test func sessionNewForm() throws {
        let line =
            astFile
            + "res_pjsip_session.c: anonymous: Call (UDP:198.51.100.10:5060) to extension '9011441234' rejected because extension not found in context 'default'."
        let f = try #require(parse(line))
        #expect(f.kind == .unauthenticatedCall)
        #expect(f.transport == .udp)
        #expect(f.source == addr("198.51.100.10"))
        #expect(f.sourcePort == 5060)
        #expect(f.user == "9011441234")
    }

    @Test func sessionOldForm() throws {
        let f = try #require(
            parse(
                astFile
                    + "res_pjsip_session.c: Call from 'anonymous' (TCP:[2001:db8::5]:61470) to extension '0123' rejected because extension not found in context 'from-external'."
            ))
        #expect(f.transport == .tcp)
        #expect(f.source == addr("2001:db8::5"))
        #expect(f.sourcePort == 61470)
    }
}

// MARK: - Security log

@Suite("Asterisk security log")
struct SecurityLogTests {
    static func line(
        _ event: String, account: String = "100", session: String = "0x7f00", remote: String = "IPV4/UDP/198.51.100.7/5060", tail: String = ""
    ) -> String {
        "[Dec 21 12:57:01] SECURITY[77]: res_security_log.c:114 security_event_stasis_cb: SecurityEvent=\"\(event)\",EventTV=\"2021-12-21T12:57:01.209+0000\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"1\",AccountID=\"\(account)\",SessionID=\"\(session)\",LocalAddress=\"IPV4/UDP/192.0.2.10/5060\",RemoteAddress=\"\(remote)\"\(tail)"
    }

    @Test(arguments: [
        ("InvalidAccountID", EventKind.unknownUser, ""),
        ("ChallengeResponseFailed", .authFailed, ",Challenge=\"1640091421/abc\",Response=\"0123\",ExpectedResponse=\"\""),
        ("InvalidPassword", .authFailed, ",Challenge=\"x\",ReceivedChallenge=\"y\",ReceivedHash=\"z\""),
        ("FailedACL", .aclDenied, ",ACLName=\"no_name\""),
        ("RequestNotAllowed", .aclDenied, ",RequestType=\"SUBSCRIBE\""),
        ("AuthMethodNotAllowed", .authFailed, ",AuthMethod=\"plaintext\""),
        ("UnexpectedAddress", .aclDenied, ",ExpectedAddress=\"IPV4/UDP/192.0.2.50/5060\""),
        ("InvalidTransport", .aclDenied, ",AttemptedTransport=\"TCP\""),
        ("RequestBadFormat", .malformed, ",RequestType=\"REGISTER\""),
        ("RequestNotSupported", .malformed, ",RequestType=\"FOO\""),
    ])
    func failureEvents(event: String, kind: EventKind, tail: String) throws {
        let f = try #require(parse(Self.line(event, tail: tail)))
        #expect(f.kind == kind)
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.sourcePort == 5060)
        #expect(f.transport == .udp)
        #expect(f.user == "100")
        #expect(f.reason == event)
        #expect(f.time == .instant(Timestamp(seconds: 1_640_091_421, microseconds: 209_000)))
    }

    @Test(arguments: ["ChallengeSent", "SuccessfulAuth", "SessionLimit", "MemoryLimit", "LoadAverageLimit", "Bogus"])
    func nonFailureEvents(event: String) {
        #expect(parse(Self.line(event, tail: ",Challenge=\"x\"")) == nil)
    }

    @Test func ipv6BareAndOldEventTV() throws {
        let l =
            "[2013-05-13 10:10:53] SECURITY[1] res_security_log.c: SecurityEvent=\"FailedACL\",EventTV=\"1368439853-500975\",Severity=\"Error\",Service=\"SIP\",EventVersion=\"1\",AccountID=\"x\",SessionID=\"0x1\",LocalAddress=\"IPV6/UDP/2001:db8::10/5060\",RemoteAddress=\"IPV6/UDP/2001:db8::bad/5061\",ACLName=\"no_name\""
        let f = try #require(parse(l))
        #expect(f.source == addr("2001:db8::bad"))
        #expect(f.sourcePort == 5061)
        #expect(f.time == .instant(Timestamp(seconds: 1_368_439_853, microseconds: 500_975)))
    }

    @Test func syslogSecurity() throws {
        let l =
            "Jul 08 22:25:10 host asterisk[112836]: SECURITY[112882]: res_security_log.c:114 in security_event_stasis_cb: SecurityEvent=\"InvalidAccountID\",EventTV=\"2024-07-08T22:25:10.100+0200\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"1\",AccountID=\"abc\",SessionID=\"s\",LocalAddress=\"IPV4/TCP/192.0.2.1/5060\",RemoteAddress=\"IPV4/TCP/203.0.113.8/40000\""
        let f = try #require(parse(l))
        #expect(f.source == addr("203.0.113.8"))
        #expect(f.transport == .tcp)
        #expect(f.kind == .unknownUser)
    }

    @Test func familyMismatchRejected() {
        #expect(parse(Self.line("InvalidAccountID", remote: "IPV4/UDP/2001:db8::1/5060")) == nil)
        #expect(parse(Self.line("InvalidAccountID", remote: "IPV4/UDP/198.51.100.7")) == nil)
        #expect(parse(Self.line("InvalidAccountID", remote: "IPV4/QUIC/198.51.100.7/5060")) == nil)
    }
}

// MARK: - IAX2, AMI

@Suite("Asterisk IAX2 and AMI")
struct IAXManagerTests {
    @Test(arguments: [
        ("chan_iax2.c: Host 198.51.100.3 failed MD5 authentication for 'user1' (abc != def)", EventKind.authFailed, "user1"),
        ("chan_iax2.c: Host 198.51.100.3 failed to authenticate as 'Fail2ban'", .authFailed, "Fail2ban"),
        ("chan_iax2.c: Host 198.51.100.3:4569 failed to authenticate as bob", .authFailed, "bob"),
        ("chan_iax2.c: Host 198.51.100.3 did not provide proper plaintext password for 'p'", .authFailed, "p"),
        ("chan_iax2.c: Host 198.51.100.3 denied access to register peer 'p2'", .aclDenied, "p2"),
        ("chan_iax2.c: No registration for peer 'ghost' (from 198.51.100.3)", .unknownUser, "ghost"),
        ("manager.c: 198.51.100.3 tried to authenticate with nonexistent user 'admin'", .unknownUser, "admin"),
        ("manager.c: 198.51.100.3 failed to authenticate as 'admin'", .authFailed, "admin"),
        ("manager.c: 198.51.100.3 failed to pass IP ACL as 'admin'", .aclDenied, "admin"),
    ])
    func lines(message: String, kind: EventKind, user: String) throws {
        let f = try #require(parse(astFile + message))
        #expect(f.kind == kind)
        #expect(f.source == addr("198.51.100.3"))
        #expect(f.user == user)
    }

    @Test func managerIPv6() throws {
        let f = try #require(
            parse("[Dec 10 22:07:20] NOTICE[28451]: manager.c:2350 authenticate: 2001:db8::44 tried to authenticate with nonexistent user 'ZRG_1'"))
        #expect(f.source == addr("2001:db8::44"))
    }

    @Test func hostWithGarbageAddressRejected() {
        #expect(parse(astFile + "chan_iax2.c: Host example.com failed to authenticate as 'x'") == nil)
        #expect(parse(astFile + "manager.c: 300.1.1.1 failed to authenticate as 'x'") == nil)
    }
}

// MARK: - FreeSWITCH

@Suite("FreeSWITCH")
struct FreeSWITCHTests {
    let pre = "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 "

    @Test(arguments: ["REGISTER", "INVITE"])
    func authFailure(method: String) throws {
        let f = try #require(parse(pre + "SIP auth failure (\(method)) on sofia profile 'internal' for [1000@192.0.2.1] from ip 198.51.100.20"))
        #expect(f.kind == .authFailed)
        #expect(f.source == addr("198.51.100.20"))
        #expect(f.user == "1000")
        #expect(f.reason == "SIP auth failure (\(method))")
        #expect(f.dialect == .freeswitch)
        #expect(f.time == .clock(LogClockTime(year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, microsecond: 123_456)))
        #expect(
            parse(pre + "SIP auth failure (\(method)) on sofia profile 'internal' for [1000@192.0.2.1] from ip 198.51.100.20", .only(.asterisk))
                == nil)
    }

    @Test func challengeIsNeverAFailure() {
        #expect(parse(pre + "SIP auth challenge (REGISTER) on sofia profile 'internal' for [1000@192.0.2.1] from ip 198.51.100.20") == nil)
        #expect(parse(pre + "SIP auth challenge (INVITE) on sofia profile 'internal' for [1000@192.0.2.1] from ip 198.51.100.20") == nil)
    }

    @Test func newerPrefixWithPercentAndUUID() throws {
        let a = try #require(
            parse("2025-05-19 15:51:13.902347 97.30% [WARNING] sofia_reg.c:3210 Can't find user [9898@192.168.109.85] from 172.70.100.1"))
        #expect(a.kind == .unknownUser)
        #expect(a.source == addr("172.70.100.1"))
        #expect(a.user == "9898")
        let b = try #require(
            parse(
                "c8c0f6d2-9a7e-4f1e-8d61-2f0a1b3c4d5e 2025-05-19 15:51:13.902347 [WARNING] sofia_reg.c:1 SIP auth failure (INVITE) on sofia profile 'external' for [1@d] from ip 2001:db8::20"
            ))
        #expect(b.source == addr("2001:db8::20"))
    }

    @Test func journalWithoutDate() throws {
        let f = try #require(
            parse("[WARNING] sofia_reg.c:1234 SIP auth failure (REGISTER) on sofia profile 'internal' for [1001@domain] from ip 198.51.100.21"))
        #expect(f.time == nil)
        #expect(f.source == addr("198.51.100.21"))
    }

    @Test func cantFindUserJoinedForm() throws {
        let l =
            pre
            + "Can't find user [110@172.31.38.106] from 5.39.101.60 You must define a domain called '172.31.38.106' in your directory and add a user with the id=\"110\" attribute and you must configure your device to use the proper domain in its authentication credentials."
        let f = try #require(parse(l))
        #expect(f.source == addr("5.39.101.60"))
        #expect(f.kind == .unknownUser)
        #expect(f.user == "110")
        let short =
            pre
            + "Can't find user [110@d] from 5.39.101.60 You must define a domain called 'd' in your directory and add a user with the id=\"110\" attribute"
        #expect(try #require(parse(short)).source == addr("5.39.101.60"))
        // Inconsistent copies (not what FreeSWITCH writes) are refused.
        #expect(
            parse(
                pre
                    + "Can't find user [110@d] from 5.39.101.60 You must define a domain called 'e' in your directory and add a user with the id=\"110\" attribute"
            ) == nil)
    }

    @Test func continuationLineIgnored() {
        #expect(parse("You must define a domain called '172.31.38.106' in your directory and add a user with the id=\"110\" attribute") == nil)
    }

    @Test func aclLines() throws {
        let a = try #require(parse("2024-01-02 03:04:05.123456 [WARNING] sofia.c:10554 IP 198.51.100.30 Rejected by acl \"domains\""))
        #expect(a.kind == .aclDenied)
        #expect(a.source == addr("198.51.100.30"))
        let b = try #require(parse("2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1 IP 2001:db8::30 Rejected by register acl \"reg\""))
        #expect(b.source == addr("2001:db8::30"))
        #expect(
            parse("2024-01-02 03:04:05.123456 [DEBUG] sofia.c:1 IP 198.51.100.30 Rejected by acl \"domains\". Falling back to Digest auth.") == nil)
    }

    @Test func ordinaryLines() {
        #expect(parse("2024-01-02 03:04:05.123456 [NOTICE] sofia_reg.c:1757 Registering 1000@test from ip 198.51.100.7") == nil)
        #expect(parse("2024-01-02 03:04:05.123456 [INFO] mod_sofia.c:1 something") == nil)
    }
}

// MARK: - Kamailio / OpenSIPS

@Suite("SIPWARDEN lines")
struct SIPWardenLineTests {
    let body =
        "SIPWARDEN event=auth_failed ts=1795601780.545421 src=198.18.0.3 sport=39532 proto=udp method=REGISTER user=\"101\" ua=\"friendly-scanner\""

    @Test func kamailioStderr() throws {
        let f = try #require(parse(" 5(1234) NOTICE: <script>: " + body))
        #expect(f.kind == .authFailed)
        #expect(f.source == addr("198.18.0.3"))
        #expect(f.sourcePort == 39532)
        #expect(f.transport == .udp)
        #expect(f.user == "101")
        #expect(f.userAgent == "friendly-scanner")
        #expect(f.reason == "REGISTER")
        #expect(f.dialect == .kamailio)
        #expect(f.time == .instant(Timestamp(seconds: 1_795_601_780, microseconds: 545_421)))
    }

    @Test func openSIPSFromPrefixAndForced() throws {
        let f = try #require(parse("Jul  8 22:25:10 pbx /usr/sbin/opensips[2370]: " + body))
        #expect(f.dialect == .opensips)
        #expect(try #require(parse(body, .only(.opensips))).dialect == .opensips)
        #expect(try #require(parse(body)).dialect == .kamailio)
    }

    @Test(arguments: EventKind.allCases)
    func everyKind(kind: EventKind) throws {
        let f = try #require(
            parse("SIPWARDEN event=\(kind.rawValue) ts=1.5 src=2001:2::2 sport=5060 proto=TLS method=INVITE user=\"<null>\" ua=\"\""))
        #expect(f.kind == kind)
        #expect(f.source == addr("2001:2::2"))
        #expect(f.transport == .tls)
        #expect(f.user == nil)
        #expect(f.userAgent == nil)
        #expect(f.time == .instant(Timestamp(seconds: 1, microseconds: 500_000)))
    }

    @Test func strictFields() {
        for bad in [
            "SIPWARDEN event=bogus ts=1.5 src=198.18.0.3 sport=1 proto=udp method=R user=\"a\" ua=\"b\"",
            "SIPWARDEN event=flood ts=x src=198.18.0.3 sport=1 proto=udp method=R user=\"a\" ua=\"b\"",
            "SIPWARDEN event=flood ts=1.5 src=host.example sport=1 proto=udp method=R user=\"a\" ua=\"b\"",
            "SIPWARDEN event=flood ts=1.5 src=198.18.0.3 sport=70000 proto=udp method=R user=\"a\" ua=\"b\"",
            "SIPWARDEN event=flood ts=1.5 src=198.18.0.3 sport=1 proto=quic method=R user=\"a\" ua=\"b\"",
            "SIPWARDEN event=flood ts=1.5 sport=1 src=198.18.0.3 proto=udp method=R user=\"a\" ua=\"b\"",
            "SIPWARDEN event=flood ts=1.5 src=198.18.0.3 sport=1 proto=udp method=R user=\"a\" ua=\"b",
            "SIPWARDEN event=flood ts=1.5 src=198.18.0.3 sport=1 proto=udp method=R user=\"a\"",
            "xSIPWARDEN event=flood ts=1.5 src=198.18.0.3 sport=1 proto=udp method=R user=\"a\" ua=\"b\"",
        ] {
            #expect(parse(bad) == nil, "\(bad)")
        }
    }
}

// MARK: - Time resolution

@Suite("LogTimeResolver")
struct LogTimeResolverTests {
    let ref = Timestamp(seconds: 1_735_689_610) // 2025-01-01T00:00:10Z

    @Test func fullDateUTC() {
        let t = LogTimeResolver().resolve(.clock(LogClockTime(year: 2015, month: 5, day: 24, hour: 8, minute: 42, second: 16)), reference: ref)
        #expect(t == Timestamp(seconds: 1_432_456_936))
    }

    @Test func assumedZone() {
        let r = LogTimeResolver(utcOffsetSeconds: 7200)
        let t = r.resolve(.clock(LogClockTime(year: 2015, month: 5, day: 24, hour: 8, minute: 42, second: 16, microsecond: 5)), reference: ref)
        #expect(t == Timestamp(seconds: 1_432_456_936 - 7200, microseconds: 5))
        // A zone stated in the line wins over the assumed one.
        let u = r.resolve(.clock(LogClockTime(year: 2015, month: 5, day: 24, hour: 8, minute: 42, second: 16, utcOffsetSeconds: 0)), reference: ref)
        #expect(u == Timestamp(seconds: 1_432_456_936))
    }

    @Test func yearRollover() {
        // A Dec 31 line read just after New Year belongs to the previous year.
        let t = LogTimeResolver().resolve(.clock(LogClockTime(year: nil, month: 12, day: 31, hour: 23, minute: 59, second: 59)), reference: ref)
        #expect(t == Timestamp(seconds: 1_735_689_599))
        // A Jan 1 line takes the reference's year.
        let j = LogTimeResolver().resolve(.clock(LogClockTime(year: nil, month: 1, day: 1, hour: 0, minute: 0, second: 5)), reference: ref)
        #expect(j == Timestamp(seconds: 1_735_689_605))
        // Up to one day ahead (clock skew) stays in the reference year.
        let s = LogTimeResolver().resolve(.clock(LogClockTime(year: nil, month: 1, day: 1, hour: 23, minute: 0, second: 0)), reference: ref)
        #expect(s == Timestamp(seconds: 1_735_689_600 + 23 * 3600))
    }

    @Test func referenceYearInAssumedZone() {
        // 2025-01-01T00:00:10Z is still 2024-12-31 at UTC-5: a Dec 31 19:00 line is 2024.
        let r = LogTimeResolver(utcOffsetSeconds: -18_000)
        let t = r.resolve(.clock(LogClockTime(year: nil, month: 12, day: 31, hour: 19, minute: 0, second: 0)), reference: ref)
        #expect(t == Timestamp(seconds: 1_735_689_600))
    }

    @Test func leapDayAndInstant() {
        let t = LogTimeResolver().resolve(.clock(LogClockTime(year: 2024, month: 2, day: 29, hour: 12, minute: 0, second: 0)), reference: ref)
        #expect(t == Timestamp(seconds: 1_709_208_000))
        #expect(LogTimeResolver().resolve(.instant(Timestamp(seconds: 7)), reference: ref) == Timestamp(seconds: 7))
    }

    @Test func outOfRangeFieldsDoNotTrap() {
        let r = LogTimeResolver(utcOffsetSeconds: Int.max)
        _ = r.resolve(
            .clock(LogClockTime(year: Int.max, month: 99, day: -4, hour: 99, minute: -1, second: 99, microsecond: Int.min)),
            reference: Timestamp(microseconds: Int64.max))
        _ = r.resolve(
            .clock(LogClockTime(year: nil, month: 0, day: 0, hour: 0, minute: 0, second: 0, utcOffsetSeconds: Int.min)),
            reference: Timestamp(microseconds: Int64.min))
    }
}
