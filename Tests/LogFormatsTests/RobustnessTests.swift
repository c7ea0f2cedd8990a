// SPDX-License-Identifier: GPL-2.0-or-later

import LogFormats
import NetworkAddress
import TestSupport
import Testing
import WardenCore

/// Valid lines of every dialect (also the fuzzer's seed corpus: Fuzz/corpus/dialects/).
let corpusLines: [String] = [
    "[2015-05-24 08:42:16] NOTICE[4583] chan_sip.c: Registration from '\"100\" <sip:100@192.0.2.1>' failed for '198.51.100.7:5060' - Wrong password",
    "[2015-05-24 08:42:16] NOTICE[4583][C-0000abcd] chan_sip.c: Registration from '<sip:1@h>' failed for '[2001:db8::7]:5062' - No matching peer found",
    "[Dec 21 12:57:01] NOTICE[77]: chan_sip.c:28061 handle_request_register: Registration from '<sip:100@h>' failed for '198.51.100.7:5060' - Device does not match ACL",
    "Jul  8 22:25:10 pbx asterisk[112836]: NOTICE[112882]: chan_sip.c:114 in handle_request_register: Registration from '<sip:100@h>' failed for '198.51.100.7:5060' - Wrong password",
    "[2015-05-24 08:42:16] NOTICE[4583] chan_sip.c: Call from '' (198.51.100.9:5070) to extension '0046701234567' rejected because extension not found in context 'default'.",
    "[2015-05-24 08:42:16] NOTICE[4583] chan_sip.c: Rejecting unknown SIP connection from 203.0.113.44",
    "[2015-05-24 08:42:16] NOTICE[4583] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:100@203.0.113.5>' failed for '198.51.100.7:5060' (callid: abc@1.2.3.4) - Failed to authenticate",
    "[2015-05-24 08:42:16] NOTICE[4583] res_pjsip/pjsip_distributor.c: Request 'INVITE' from '<sip:1@h>' failed for '198.51.100.7:5060' (callid: x) - No matching endpoint found after 5 tries in 2.123 ms",
    "[2015-05-24 08:42:16] NOTICE[4583] res_pjsip/pjsip_distributor.c: Request from '\"1000\" <sip:1000@192.0.2.1>' failed for '198.51.100.8:5061' (callid: 1234) - No matching endpoint found",
    "[2015-05-24 08:42:16] NOTICE[4583] res_pjsip_session.c: anonymous: Call (UDP:198.51.100.10:5060) to extension '9011441234' rejected because extension not found in context 'default'.",
    "[2015-05-24 08:42:16] NOTICE[4583] res_pjsip_session.c: Call from 'anonymous' (TCP:[2001:db8::5]:61470) to extension '0123' rejected because extension not found in context 'from-external'.",
    "[Dec 21 12:57:01] SECURITY[77]: res_security_log.c:114 security_event_stasis_cb: SecurityEvent=\"ChallengeResponseFailed\",EventTV=\"2021-12-21T12:57:01.209+0000\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"1\",AccountID=\"100\",SessionID=\"abc\",LocalAddress=\"IPV4/UDP/192.0.2.10/5060\",RemoteAddress=\"IPV4/UDP/198.51.100.7/5060\",Challenge=\"n\",Response=\"r\",ExpectedResponse=\"\"",
    "[2013-05-13 10:10:53] SECURITY[1] res_security_log.c: SecurityEvent=\"FailedACL\",EventTV=\"1368439853-500975\",Severity=\"Error\",Service=\"SIP\",EventVersion=\"1\",AccountID=\"x\",SessionID=\"0x1\",LocalAddress=\"IPV6/UDP/2001:db8::10/5060\",RemoteAddress=\"IPV6/UDP/2001:db8::bad/5061\",ACLName=\"no_name\"",
    "Jul 08 22:25:10 host asterisk[112836]: SECURITY[112882]: res_security_log.c:114 in security_event_stasis_cb: SecurityEvent=\"InvalidAccountID\",EventTV=\"2024-07-08T22:25:10.100+0200\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"1\",AccountID=\"abc\",SessionID=\"s\",LocalAddress=\"IPV4/TCP/192.0.2.1/5060\",RemoteAddress=\"IPV4/TCP/203.0.113.8/40000\"",
    "[2012-02-13 17:53:59] NOTICE[1638] chan_iax2.c: Host 198.51.100.3 failed MD5 authentication for 'user1' (abc != def)",
    "[2012-02-13 17:53:59] NOTICE[1638] chan_iax2.c: No registration for peer 'ghost' (from 198.51.100.3)",
    "[Dec 10 22:07:20] NOTICE[28451]: manager.c:2350 authenticate: 198.51.100.3 tried to authenticate with nonexistent user 'ZRG_1'",
    "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 SIP auth failure (REGISTER) on sofia profile 'internal' for [1000@192.0.2.1] from ip 198.51.100.20",
    "2025-05-19 15:51:13.902347 97.30% [WARNING] sofia_reg.c:3210 Can't find user [9898@192.168.109.85] from 172.70.100.1",
    "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1 Can't find user [110@d] from 5.39.101.60 You must define a domain called 'd' in your directory and add a user with the id=\"110\" attribute and you must configure your device to use the proper domain in its authentication credentials.",
    "2024-01-02 03:04:05.123456 [WARNING] sofia.c:10554 IP 198.51.100.30 Rejected by acl \"domains\"",
    " 5(1234) NOTICE: <script>: SIPWARDEN event=auth_failed ts=1795601780.545421 src=198.18.0.3 sport=39532 proto=udp method=REGISTER user=\"101\" ua=\"friendly-scanner\"",
    "Jul  8 22:25:10 pbx /usr/sbin/opensips[2370]: SIPWARDEN event=unknown_user ts=1795601780.5 src=2001:2::2 sport=5060 proto=UDP method=REGISTER user=\"555\" ua=\"sipvicious\"",
]

let selections: [DialectSelection] = [.auto, .only(.asterisk), .only(.freeswitch), .only(.kamailio), .only(.opensips), .only(.sip)]

func parseBytes(_ bytes: [UInt8], _ selection: DialectSelection) -> LogFinding? {
    bytes.withUnsafeBufferPointer { LogDialects.parse($0, selection: selection) }
}

/// Invariant: an IPv4 source is always text that occurs in the line.
func sourceAppearsInLine(_ f: LogFinding?, _ bytes: [UInt8]) -> Bool {
    guard let f, case .v4 = f.source else { return true }
    let needle = Array(f.source.description.utf8)
    guard needle.count <= bytes.count else { return false }
    for i in 0...(bytes.count - needle.count) where bytes[i..<(i + needle.count)].elementsEqual(needle) { return true }
    return false
}

@Suite("Robustness")
struct RobustnessTests {
    @Test func corpusLinesAllParse() {
        for line in corpusLines {
            #expect(parse(line) != nil, "\(line)")
        }
    }

    @Test func everyTruncationOfEveryLine() {
        for line in corpusLines {
            let bytes = Array(line.utf8)
            for n in 0...bytes.count {
                let cut = Array(bytes[0..<n])
                for s in selections {
                    let f = parseBytes(cut, s)
                    #expect(sourceAppearsInLine(f, cut))
                }
            }
        }
    }

    @Test func truncatedLinesWithPBXTailAreRejected() {
        // Formats whose address is followed by PBX-written text lose that text when cut.
        for line in [0, 1, 2, 3, 4, 6, 8, 9, 10].map({ corpusLines[$0] }) {
            let bytes = Array(line.utf8)
            for n in 0..<(bytes.count - 1) {
                #expect(parseBytes(Array(bytes[0..<n]), .auto) == nil, "\(line) cut at \(n)")
            }
        }
    }

    @Test func randomBytes() {
        var rng = SplitMix64(seed: 0x5157_A4D3)
        let alphabet = Array("[]'\"()=,:/.- 0123456789abcdefABCDEFIPVULTCSGNRQZxX@%<>\t\u{0}\u{FF}".utf8)
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...200, using: &rng)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(n)
            for _ in 0..<n {
                bytes.append(Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng))
            }
            for s in selections {
                #expect(sourceAppearsInLine(parseBytes(bytes, s), bytes))
            }
        }
    }

    @Test func randomMutationsOfValidLines() {
        var rng = SplitMix64(seed: 42)
        let fragments = [
            "' failed for '", "198.51.100.7:5060", "[2001:db8::1]:5", "\",LocalAddress=\"IPV4/UDP/1.2.3.4/5060\",RemoteAddress=\"IPV4/UDP/",
            " from ip ", "] from ", "\" ua=\"", " - ", "(callid: ", "SIPWARDEN event=", "'.", "\"", "'", "]", "::",
            "You must define a domain called '",
        ].map { Array($0.utf8) }
        for _ in 0..<20_000 {
            var bytes = Array(corpusLines.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let pos = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: if !bytes.isEmpty { bytes[pos] = UInt8.random(in: 0...255, using: &rng) }
                case 1: if !bytes.isEmpty { bytes.remove(at: pos) }
                case 2: bytes.insert(contentsOf: fragments.randomElement(using: &rng)!, at: pos)
                case 3: bytes.removeSubrange(pos..<bytes.count)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: pos)
                }
            }
            for s in selections {
                #expect(sourceAppearsInLine(parseBytes(bytes, s), bytes))
            }
        }
    }

    @Test func emptyAndTinyBuffers() {
        for s in selections {
            #expect(LogDialects.parse(UnsafeBufferPointer<UInt8>(start: nil, count: 0), selection: s) == nil)
            #expect(parseBytes([0x5B], s) == nil)
            #expect(parseBytes([0xFF, 0xFE], s) == nil)
        }
    }
}
