// SPDX-License-Identifier: GPL-2.0-or-later

import LogFormats
import Testing
import WardenCore

@Suite("Unmatched lines: failures in no known form")
struct UnmatchedLinesTests {
    @Test(arguments: [
        // Plausible failure lines in forms sipwarden does not parse.
        "[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: Registration from '<sip:1@h>' failed for '198.51.100.7:5060' - Some new reason",
        "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1 Authentication failed for user 100 from 198.51.100.7",
        "Jan  2 03:04:05 pbx yate[1]: Wrong password for 'alice' from [2001:db8::7]:5060",
        "pbx: rejected REGISTER from 198.51.100.7: unauthorized",
        "ERROR: auth: user not found, source=198.51.100.7",
        "Access DENIED to 198.51.100.7:5061",
        "NOTICE: no matching endpoint for request from 2001:db8::1",
    ])
    func flagged(line: String) {
        #expect(UnmatchedLines.looksLikeFailure(line), "\(line)")
    }

    @Test(arguments: [
        // Normal PBX chatter, with addresses but no failure; or failure words but no address.
        "[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: Peer '100' is now Reachable. (5ms / 2000ms)",
        "[2024-01-02 03:04:05] VERBOSE[1][C-00000001] pbx.c:     -- Executing [100@from-internal:1] Dial(\"PJSIP/101-00000001\", \"PJSIP/100\") in new stack",
        "[2024-01-02 03:04:05] VERBOSE[1] res_pjsip_registrar.c:     -- Added contact 'sip:100@198.51.100.7:5060' to AOR '100' with expiration of 3600 seconds",
        "[2024-01-02 03:04:05] WARNING[1] res_rtp_asterisk.c: 198.51.100.7:10000 -- Strict RTP learning after remote address set",
        "2024-01-02 03:04:05.123456 [NOTICE] sofia_reg.c:1757 Registering 1000@test from ip 198.51.100.7",
        "2024-01-02 03:04:05.123456 [DEBUG] switch_core_state_machine.c:581 (sofia/internal/1000@d) Running State Change CS_HANGUP",
        "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1533 SIP auth challenge (REGISTER) on sofia profile 'internal' for [1000@d] from ip 198.51.100.7",
        "2024-01-02 03:04:05.123456 [DEBUG] sofia.c:7954 IP 198.51.100.7 Rejected by acl \"domains\". Falling back to Digest auth.",
        "[2024-01-02 03:04:05] SECURITY[1] res_security_log.c: SecurityEvent=\"ChallengeSent\",EventTV=\"1\",Severity=\"Informational\",Service=\"PJSIP\",EventVersion=\"1\",AccountID=\"100\",SessionID=\"x\",LocalAddress=\"IPV4/UDP/192.0.2.1/5060\",RemoteAddress=\"IPV4/UDP/198.51.100.7/5060\",Challenge=\"\"",
        "[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: Registration from '<sip:1@h>' failed for '198.51.100.7:5060' - RTP initialization failed",
        "[2024-01-02 03:04:05] WARNING[1] res_pjsip_outbound_registration.c: Fatal response '403' received from 'sip:provider.example' on registration attempt to 'sip:1@192.0.2.1', stopping outbound registration",
        "[2024-01-02 03:04:05] ERROR[1] res_config_odbc.c: SQL query failed: timeout after 5 s",
        "[2024-01-02 03:04:05] WARNING[1] chan_sip.c: Failed to authenticate device <sip:100@pbx.example>;tag=1",
        "Jan  2 03:04:05 pbx systemd[1]: asterisk.service: Failed with result 'exit-code'.",
        "Jan  2 03:04:05 pbx kernel: [12345.678] eth0: link up",
        "",
    ])
    func notFlagged(line: String) {
        #expect(!UnmatchedLines.looksLikeFailure(line), "\(line)")
    }

    @Test func escapingForTerminals() {
        #expect(UnmatchedLineCount.escaped("a\u{1B}[31mb\r\n\u{7F}\\") == "a\\x1B[31mb\\x0D\\x0A\\x7F\\\\")
        #expect(UnmatchedLineCount.escaped("plain ünïcode") == "plain ünïcode")
        #expect(UnmatchedLineCount.escaped("\u{85}") == "\\x85")
    }
}
