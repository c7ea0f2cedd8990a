// SPDX-License-Identifier: GPL-2.0-or-later

import LogFormats
import NetworkAddress
import Testing
import WardenCore

// Lines written from the formats (Asterisk logger.c / app_verbose.c, FreeSWITCH switch_log.c,
// RFC 3164 / RFC 5424, journalctl output modes), one class per suite.

private let chanSIP = "Registration from '\"100\" <sip:100@192.0.2.1>' failed for '198.51.100.7:5060' - Wrong password"
private let fsAuth = "SIP auth failure (REGISTER) on sofia profile 'internal' for [100@192.0.2.1] from ip 198.51.100.7"
private let esc = "\u{1B}"

private func source(_ line: String, _ selection: DialectSelection = .auto) -> IPAddress? {
    LogDialects.parse(line, selection: selection)?.source
}

private func clock(_ y: Int?, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int, us: Int = 0) -> LogTime {
    .clock(LogClockTime(year: y, month: mo, day: d, hour: h, minute: mi, second: s, microsecond: us))
}

@Suite("Envelope: colour codes")
struct ColourCodeTests {
    @Test(arguments: [
        // Asterisk console colours around the level and the message.
        "[2024-01-02 03:04:05] \(esc)[1;33mNOTICE\(esc)[0m[123]: chan_sip.c:100 fn: \(chanSIP)",
        "\(esc)[0;37m[2024-01-02 03:04:05] NOTICE[123]: \(esc)[1;37mchan_sip.c\(esc)[0m:100 \(esc)[1;37mfn\(esc)[0m: \(chanSIP)\(esc)[0m",
        // rsyslog's escaped form of the same bytes.
        "Jan  2 03:04:05 pbx asterisk[1]: #033[1;33mNOTICE#033[0m[123]: chan_sip.c:100 in fn: \(chanSIP)",
        // Other CSI sequences (erase line, cursor) and a two-byte ESC sequence.
        "\(esc)[2K\(esc)[1G[2024-01-02 03:04:05] NOTICE[123] chan_sip.c: \(chanSIP)",
        "\(esc)c[2024-01-02 03:04:05] NOTICE[123] chan_sip.c: \(chanSIP)",
    ])
    func asteriskColoured(line: String) throws {
        let f = try #require(LogDialects.parse(line, selection: .auto), "\(line.debugDescription)")
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.kind == .authFailed)
    }

    @Test func freeswitchColoured() throws {
        let raw = "\(esc)[33m2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 \(fsAuth)\(esc)[0m"
        #expect(source(raw) == addr("198.51.100.7"))
        let escaped = "#033[33m2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 \(fsAuth)#033[0m"
        #expect(source(escaped) == addr("198.51.100.7"))
    }

    @Test func textThatMerelyResemblesAnEscapeStays() throws {
        // A dialled `#0331…` is not a colour code: the extension keeps it.
        let line =
            "[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: Call from '' (198.51.100.9:5070) to extension '#0331234' rejected because extension not found in context 'default'."
        #expect(try #require(LogDialects.parse(line, selection: .auto)).user == "#0331234")
    }

    @Test func colourInsideAttackerTextCannotMoveTheAnchor() {
        // The forged anchor is in the From header; stripping colour from it leaves a line
        // where the PBX's own (last) address is still the one reported — and here the real
        // reason is not a failure, so nothing is reported.
        let line =
            "[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: Registration from '<sip:x' failed for '203.0.113.66:5060' - Wrong\(esc)[0m password>' failed for '198.51.100.7:5060' - RTP initialization failed"
        #expect(LogDialects.parse(line, selection: .auto) == nil)
    }
}

@Suite("Envelope: Asterisk level, pid, call id and location variants")
struct AsteriskLevelVariantTests {
    @Test(arguments: [
        "[2024-01-02 03:04:05] NOTICE[123] chan_sip.c: ",
        "[2024-01-02 03:04:05] NOTICE [123] chan_sip.c: ",
        "[2024-01-02 03:04:05] NOTICE[123][C-0000001a] chan_sip.c: ",
        "[2024-01-02 03:04:05] NOTICE[123]: chan_sip.c:23417 handle_request_register: ",
        "[2024-01-02 03:04:05] NOTICE[123]: chan_sip.c:23417 in handle_request_register: ",
        "[2024-01-02 03:04:05] WARNING[123][C-0000001a]: chan_sip.c:23417 handle_request_register: ",
        "[2024-01-02 03:04:05] WARNING[123][C-0000001a] chan_sip.c:23417 handle_request_register: ",
        "[2024-01-02 03:04:05] VERBOSE[123][C-0000001a] chan_sip.c: ",
        "[2024-01-02 03:04:05] SECURITY[123] chan_sip.c: ",
        "[2024-01-02 03:04:05]  NOTICE[123] chan_sip.c: ",
    ])
    func prefixes(prefix: String) throws {
        let f = try #require(LogDialects.parse(prefix + chanSIP, selection: .auto), "\(prefix)")
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.time == clock(2024, 1, 2, 3, 4, 5))
        #expect(LogDialects.parse(prefix + chanSIP, selection: .only(.freeswitch)) == nil)
    }

    @Test func contextTagBeforeMessage() throws {
        #expect(source("[2024-01-02 03:04:05] NOTICE[123][C-0000001a] chan_sip.c: [from-sip-external] " + chanSIP) == addr("198.51.100.7"))
        #expect(source("[2024-01-02 03:04:05] NOTICE[123]: chan_sip.c:1 fn: [default] " + chanSIP) == addr("198.51.100.7"))
    }

    @Test func notAPrefix() {
        #expect(source(chanSIP) == nil) // no level at all
        #expect(source("NOTICE chan_sip.c: " + chanSIP) == nil) // no [pid]
        #expect(source("[2024-01-02 03:04:05] NOTICE[] chan_sip.c: " + chanSIP) == nil)
        #expect(source("[2024-01-02 03:04:05] NOTICE[123][C-] chan_sip.c: " + chanSIP) == nil)
        #expect(source("[2024-01-02 03:04:05] NOTICE[123] chan_sip.c:x fn: " + chanSIP) == nil)
    }
}

@Suite("Envelope: lines without a timestamp")
struct NoTimestampTests {
    @Test func journalMessageField() throws {
        // What the journal stores as MESSAGE when Asterisk logs to syslog: the caller supplies the time.
        let f = try #require(LogDialects.parse("NOTICE[566]: chan_sip.c:28926 handle_request_register: " + chanSIP, selection: .auto))
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.time == nil)
        let g = try #require(
            LogDialects.parse(
                "WARNING[566][C-00000002]: res_pjsip_session.c:3000 new_invite: PJSIP/anonymous-0000000a: Call (UDP:198.51.100.9:5070) to extension '011' rejected because extension not found in context 'default'.",
                selection: .auto))
        #expect(g.source == addr("198.51.100.9"))
        #expect(g.time == nil)
    }

    @Test func freeswitchWithoutDate() throws {
        let f = try #require(LogDialects.parse("[WARNING] sofia_reg.c:1657 " + fsAuth, selection: .auto))
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.time == nil)
    }

    @Test(arguments: ["    -- ", "  == ", "-- "])
    func consoleVerboseCopies(marker: String) throws {
        let f = try #require(LogDialects.parse(marker + chanSIP, selection: .auto))
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.time == nil)
    }

    @Test func consoleMarkerNeedsItsSpace() {
        #expect(source("    --" + chanSIP) == nil)
        #expect(source("    -= " + chanSIP) == nil)
    }
}

@Suite("Envelope: syslog and journal wrappers")
struct WrapperTests {
    let inner = "NOTICE[32257]: chan_sip.c:23417 in handle_request_register: " + chanSIP

    @Test func rfc3164() throws {
        let f = try #require(LogDialects.parse("Nov  4 18:30:40 pbx asterisk[32229]: " + inner, selection: .auto))
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.time == clock(nil, 11, 4, 18, 30, 40))
        #expect(source("Nov 4 18:30:40 pbx asterisk[32229]: " + inner) == addr("198.51.100.7")) // unpadded day
        #expect(source("Nov 14 18:30:40 asterisk[32229]: " + inner) == addr("198.51.100.7")) // no host
        #expect(source("Nov 14 18:30:40 pbx asterisk: " + inner) == addr("198.51.100.7")) // no pid
    }

    @Test func rfc3164WithPriority() throws {
        let f = try #require(LogDialects.parse("<29>Nov  4 18:30:40 pbx asterisk[32229]: " + inner, selection: .auto))
        #expect(f.source == addr("198.51.100.7"))
        #expect(source("<>Nov  4 18:30:40 pbx asterisk[1]: " + inner) == nil)
    }

    @Test func rfc5424() throws {
        let f = try #require(LogDialects.parse("<29>1 2024-07-08T22:25:10.826-06:00 pbx asterisk 112836 - - " + inner, selection: .auto))
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.time == .instant(Timestamp(seconds: 1_720_499_110, microseconds: 826_000)))
        let sd = "<29>1 2024-07-08T22:25:10Z pbx asterisk 1 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]x\"][b@1 c=\"d\"] "
        #expect(source(sd + inner) == addr("198.51.100.7"))
    }

    @Test func journalctlOutputModes() throws {
        // short-precise
        let a = try #require(LogDialects.parse("Jul 08 22:25:10.826123 alba asterisk[112836]: " + inner, selection: .auto))
        #expect(a.time == clock(nil, 7, 8, 22, 25, 10, us: 826_123))
        // short-iso (zone without colon) and short-iso-precise
        let b = try #require(LogDialects.parse("2024-07-08T22:25:10-0600 alba asterisk[112836]: " + inner, selection: .auto))
        #expect(b.time == .instant(Timestamp(seconds: 1_720_499_110)))
        #expect(source("2024-07-08T22:25:10.826123-06:00 alba asterisk[112836]: " + inner) == addr("198.51.100.7"))
        // short-unix
        let c = try #require(LogDialects.parse("1720499110.826123 alba asterisk[112836]: " + inner, selection: .auto))
        #expect(c.time == .instant(Timestamp(seconds: 1_720_499_110, microseconds: 826_123)))
    }

    @Test func wrapperAroundThePBXsOwnDatedPrefix() throws {
        // The PBX's own time has a year: it wins over the year-less syslog time.
        let f = try #require(
            LogDialects.parse("Mar 27 10:06:15 pbx asterisk[1]: [2024-03-27 10:06:14] NOTICE[566]: chan_sip.c:1 fn: " + chanSIP, selection: .auto))
        #expect(f.time == clock(2024, 3, 27, 10, 6, 14))
        // An exact wrapper time wins over the PBX's year-less one.
        let g = try #require(
            LogDialects.parse("2024-03-27T10:06:15Z pbx asterisk[1]: [Mar 27 10:06:14] NOTICE[566]: chan_sip.c:1 fn: " + chanSIP, selection: .auto))
        #expect(g.time == .instant(Timestamp(seconds: 1_711_533_975)))
        // FreeSWITCH inside a syslog/journal wrapper.
        let h = try #require(
            LogDialects.parse(
                "2016-09-25T18:57:58.150982 www.example freeswitch[122921]: 2016-09-25 18:57:58.150982 [WARNING] sofia_reg.c:1720 " + fsAuth,
                selection: .auto))
        #expect(h.source == addr("198.51.100.7"))
        #expect(h.dialect == .freeswitch)
        #expect(source("Sep 25 18:57:58 pbx freeswitch[1]: [WARNING] sofia_reg.c:1720 " + fsAuth) == addr("198.51.100.7"))
    }

    @Test func wrapperRequiresATag() throws {
        #expect(source("Nov  4 18:30:40 pbx asterisk " + inner) == nil)
        #expect(source("Nov  4 18:30:40 pbx: asterisk " + inner) == nil)
        // Without a tag the date belongs to the PBX's own (Asterisk 1.4) prefix.
        #expect(try #require(LogDialects.parse("Nov  4 18:30:40 " + inner, selection: .auto)).time == clock(nil, 11, 4, 18, 30, 40))
    }
}

@Suite("Envelope: timestamps")
struct TimestampVariantTests {
    @Test(arguments: [
        ("[2024-01-02 03:04:05] ", clock(2024, 1, 2, 3, 4, 5)),
        ("[2024-01-02 03:04:05.123] ", clock(2024, 1, 2, 3, 4, 5, us: 123_000)),
        ("[Jan  2 03:04:05] ", clock(nil, 1, 2, 3, 4, 5)),
        ("[Jan 2 03:04:05] ", clock(nil, 1, 2, 3, 4, 5)),
        ("[Jan 02 03:04:05.5] ", clock(nil, 1, 2, 3, 4, 5, us: 500_000)),
        ("[Jan  2 2024 03:04:05] ", clock(2024, 1, 2, 3, 4, 5)),
        ("[2024-01-02T03:04:05.250+01:00] ", LogTime.instant(Timestamp(seconds: 1_704_161_045, microseconds: 250_000))),
        // Asterisk 1.4: the date without brackets.
        ("Jan  2 03:04:05 ", clock(nil, 1, 2, 3, 4, 5)),
        ("2024-01-02 03:04:05 ", clock(2024, 1, 2, 3, 4, 5)),
    ])
    func asteriskDates(prefix: String, time: LogTime) throws {
        let f = try #require(LogDialects.parse(prefix + "NOTICE[1] chan_sip.c: " + chanSIP, selection: .auto))
        #expect(f.time == time)
    }

    @Test func unparseableBracketStillReads() throws {
        let f = try #require(LogDialects.parse("[yesterday teatime] NOTICE[1] chan_sip.c: " + chanSIP, selection: .auto))
        #expect(f.time == nil)
    }

    @Test(arguments: [
        ("2024-01-02 03:04:05.123456 ", clock(2024, 1, 2, 3, 4, 5, us: 123_456)),
        ("2024-01-02 03:04:05 ", clock(2024, 1, 2, 3, 4, 5)),
        ("01-02 03:04:05.123456 ", clock(nil, 1, 2, 3, 4, 5, us: 123_456)),
        ("2024-01-02 03:04:05.123456 97.27% ", clock(2024, 1, 2, 3, 4, 5, us: 123_456)),
        ("", nil),
    ])
    func freeswitchDates(prefix: String, time: LogTime?) throws {
        let f = try #require(LogDialects.parse(prefix + "[WARNING] sofia_reg.c:1657 " + fsAuth, selection: .auto))
        #expect(f.time == time)
    }
}

@Suite("Envelope: FreePBX dialplan Log() lines and Asterisk message forms")
struct DialplanAndMessageFormTests {
    @Test(arguments: [
        "[2024-01-02 03:04:05] WARNING[6756][C-0000001d] Ext. s: \"Rejecting unknown SIP connection from 198.51.100.7\"",
        "[2024-01-02 03:04:05] WARNING[6756][C-0000001d] Ext. s: \"Rejecting unknown SIP connection from 198.51.100.7:5062\"",
        "Jan  2 03:04:05 pbx asterisk[2350]: WARNING[1195][C-00000b43]: Ext. s:6 in @ from-sip-external: \"Rejecting unknown SIP connection from 198.51.100.7\"",
        "[2024-01-02 03:04:05] WARNING[1195][C-00000b43]: Ext. s:6 @ from-sip-external: Rejecting unknown SIP connection from 198.51.100.7",
    ])
    func rejectingUnknown(line: String) throws {
        let f = try #require(LogDialects.parse(line, selection: .auto))
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.kind == .unknownUser)
    }

    @Test func rejectingUnknownIPv6() throws {
        #expect(
            source("[2024-01-02 03:04:05] WARNING[1][C-00000001] Ext. s: \"Rejecting unknown SIP connection from [2001:db8::7]:5060\"")
                == addr("2001:db8::7"))
    }

    @Test func dialledExtensionCannotForgeTheMessage() {
        // EXTEN (caller-chosen) holds the whole message; the real Log() text is something else.
        let forged = "[2024-01-02 03:04:05] WARNING[1][C-00000001] Ext. x: \"Rejecting unknown SIP connection from 203.0.113.66\": \"Call rejected\""
        #expect(source(forged) == nil)
        // EXTEN holding ": " makes the real message unreadable (hidden, never misattributed).
        let hidden = "[2024-01-02 03:04:05] WARNING[1][C-00000001] Ext. x: y: \"Rejecting unknown SIP connection from 198.51.100.7\""
        #expect(source(hidden) == nil)
        // Something after the address.
        #expect(source("[2024-01-02 03:04:05] WARNING[1] Ext. s: \"Rejecting unknown SIP connection from 198.51.100.7\" x") == nil)
    }

    @Test func oldACLWording() throws {
        let f = try #require(
            LogDialects.parse(
                "[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: Registration from '<sip:100@h>' failed for '198.51.100.7' - ACL error (permit/deny)",
                selection: .auto))
        #expect(f.kind == .aclDenied)
    }

    @Test func hackingAttempt() throws {
        let f = try #require(
            LogDialects.parse("[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: hacking attempt detected '198.51.100.7'", selection: .auto))
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.kind == .authFailed)
        #expect(source("[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: hacking attempt detected '198.51.100.7' x") == nil)
    }

    @Test(arguments: ["anonymous", "PJSIP/anonymous-0000000a", "trunk_endpoint"])
    func pjsipSessionNames(name: String) throws {
        let line =
            "[2024-01-02 03:04:05] NOTICE[1][C-00000001] res_pjsip_session.c: \(name): Call (UDP:198.51.100.9:5070) to extension '0046' rejected because extension not found in context 'from-external'."
        let f = try #require(LogDialects.parse(line, selection: .auto))
        #expect(f.source == addr("198.51.100.9"))
        #expect(f.transport == .udp)
        #expect(f.user == "0046")
    }

    @Test func sessionCallWithoutName() throws {
        let f = try #require(
            LogDialects.parse(
                "[2024-01-02 03:04:05] NOTICE[1] res_pjsip_session.c: Call (UDP:198.51.100.9:5070) to extension '0046' rejected because extension not found in context 'default'.",
                selection: .auto))
        #expect(f.source == addr("198.51.100.9"))
        // The extension is the caller's: a forged address block there is not the PBX's.
        #expect(
            source(
                "[2024-01-02 03:04:05] NOTICE[1] res_pjsip_session.c: Call (UDP:198.51.100.9:5070) to extension 'x' rejected because extension not found in context 'default'.' rejected because extension not found in context 'default'."
            ) == addr("198.51.100.9"))
        #expect(
            source(
                "[2024-01-02 03:04:05] NOTICE[1] res_pjsip_session.c: Call (evil) to extension 'Call (UDP:203.0.113.66:5060) to extension '1' rejected because extension not found in context 'default'."
            ) == nil)
    }

    @Test func bracketedIPv4InCallFrom() throws {
        let f = try #require(
            LogDialects.parse(
                "[Jan 18 17:39:50] NOTICE[12049]: res_pjsip_session.c:2337 new_invite: Call from 'anonymous' (TCP:[198.51.100.9]:61470) to extension '9011' rejected because extension not found in context 'default'.",
                selection: .auto))
        #expect(f.source == addr("198.51.100.9"))
        #expect(f.sourcePort == 61470)
        #expect(f.transport == .tcp)
    }
}

@Suite("Envelope: FreeSWITCH layouts and messages")
struct FreeSWITCHLayoutTests {
    @Test(arguments: [
        "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 ",
        "2024-01-02 03:04:05.123456 97.27% [WARNING] sofia_reg.c:1657 ",
        "01-02 03:04:05.123456 [WARN] [SOFIA] [sofia_reg.c:4130] ",
        "2024-01-02 03:04:05.123456 [WARNING] [SOFIA] [sofia_reg.c:4130] ",
        "2024-01-02 03:04:05.123456 [WARNING] [sofia_reg.c:4130] ",
        "8a9b2c3d-1111-2222-3333-444455556666 2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 ",
        "8a9b2c3d-1111-2222-3333-444455556666 2024-01-02 03:04:05.123456 95.00% [WARNING] sofia_reg.c:1657 ",
    ])
    func layouts(prefix: String) throws {
        let f = try #require(LogDialects.parse(prefix + fsAuth, selection: .auto), "\(prefix)")
        #expect(f.source == addr("198.51.100.7"))
        #expect(f.dialect == .freeswitch)
        #expect(LogDialects.parse(prefix + fsAuth, selection: .only(.asterisk)) == nil)
    }

    @Test func registerACL() throws {
        let p = "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1800 "
        #expect(try #require(LogDialects.parse(p + "IP 198.51.100.7 Rejected by register acl \"domains\"", selection: .auto)).kind == .aclDenied)
        #expect(try #require(LogDialects.parse(p + "IP 198.51.100.7 Rejected by register acl", selection: .auto)).kind == .aclDenied)
        #expect(source(p + "IP 198.51.100.7 Rejected by register acl x") == nil)
        #expect(
            source("2024-01-02 03:04:05.123456 [DEBUG] sofia.c:7954 IP 198.51.100.7 Rejected by acl \"domains\". Falling back to Digest auth.") == nil
        )
    }

    @Test func challengeIsNeverAFailure() {
        #expect(
            source(
                "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1533 SIP auth challenge (INVITE) on sofia profile 'internal' for [100@192.0.2.1] from ip 198.51.100.7"
            ) == nil)
    }

    @Test func cantFindUserForms() throws {
        let p = "2024-01-02 03:04:05.123456 97.60% [WARNING] sofia_reg.c:3223 "
        #expect(try #require(LogDialects.parse(p + "Can't find user [401@192.0.2.1] from 198.51.100.7", selection: .auto)).kind == .unknownUser)
        #expect(source(p + "Can't find user [401@::1] from 2001:db8::7") == addr("2001:db8::7"))
    }
}
