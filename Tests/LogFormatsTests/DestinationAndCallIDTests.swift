// SPDX-License-Identifier: GPL-2.0-or-later

import LogFormats
import NetworkAddress
import Testing
import WardenCore

/// The destination (the PBX's local address) and the Call-ID, where a log form states them.
@Suite("Destination and Call-ID from PBX logs")
struct DestinationAndCallIDTests {
    /// res_security_log's common IEs in the order Asterisk writes them (security_events.c).
    static func securityLine(
        _ event: String = "InvalidAccountID", service: String = "PJSIP", account: String = "100",
        session: String = "a84b4c76e66710@198.18.0.20", local: String = "IPV4/UDP/198.18.0.10/5070",
        remote: String = "IPV4/UDP/198.18.1.66/5071", tail: String = ""
    ) -> String {
        "[Dec 21 12:57:01] SECURITY[77]: res_security_log.c:114 security_event_stasis_cb: SecurityEvent=\"\(event)\",EventTV=\"2021-12-21T12:57:01.209+0000\",Severity=\"Error\",Service=\"\(service)\",EventVersion=\"1\",AccountID=\"\(account)\",SessionID=\"\(session)\",LocalAddress=\"\(local)\",RemoteAddress=\"\(remote)\"\(tail)"
    }

    @Test("security log: LocalAddress is the destination, RemoteAddress the source")
    func securityLogLocalAddress() throws {
        let f = try #require(LogDialects.parse(Self.securityLine(), selection: .auto))
        #expect(f.source == IPAddress("198.18.1.66"))
        #expect(f.sourcePort == 5071)
        #expect(f.destination == IPAddress("198.18.0.10"))
        #expect(f.destinationPort == 5070)
    }

    @Test("security log over IPv6: the bare IPv6 LocalAddress is read")
    func securityLogIPv6() throws {
        let line = Self.securityLine(
            "FailedACL", local: "IPV6/TCP/2001:2::10/5061", remote: "IPV6/TCP/2001:2::66/40000", tail: ",ACLName=\"no_name\""
        )
        let f = try #require(LogDialects.parse(line, selection: .auto))
        #expect(f.source == IPAddress("2001:2::66"))
        #expect(f.destination == IPAddress("2001:2::10"))
        #expect(f.destinationPort == 5061)
    }

    @Test("res_pjsip reports the Call-ID as SessionID; chan_sip's SessionID (a pointer) is no Call-ID")
    func securityLogSessionID() throws {
        let pjsip = try #require(LogDialects.parse(Self.securityLine(service: "PJSIP"), selection: .auto))
        #expect(pjsip.callID == "a84b4c76e66710@198.18.0.20")
        #expect(pjsip.user == "100")
        let chanSIP = try #require(LogDialects.parse(Self.securityLine(service: "SIP", session: "0x7f1c2c0151e8"), selection: .auto))
        #expect(chanSIP.callID == nil)
        #expect(chanSIP.destination == IPAddress("198.18.0.10"))
    }

    @Test("a forged address block inside AccountID gives neither the source nor the destination")
    func forgedBlockInAccount() throws {
        let forged = "x\",SessionID=\"y\",LocalAddress=\"IPV4/UDP/198.18.5.5/5060\",RemoteAddress=\"IPV4/UDP/198.18.6.6/5060"
        let line = Self.securityLine("FailedACL", account: forged, tail: ",ACLName=\"no_name\"")
        let f = try #require(LogDialects.parse(line, selection: .auto))
        #expect(f.source == IPAddress("198.18.1.66"))
        #expect(f.destination == IPAddress("198.18.0.10"))
        #expect(f.destinationPort == 5070)
    }

    @Test("an attacker-written SessionID is clipped to the field limit")
    func longSessionIDClipped() throws {
        let callID = String(repeating: "c", count: 600)
        let f = try #require(LogDialects.parse(Self.securityLine(session: callID), selection: .auto))
        #expect(f.callID == String(repeating: "c", count: LogDialects.maximumFieldLength))
    }

    @Test("res_pjsip NOTICE: the text between `(callid: ` and `) - REASON` is the Call-ID; no destination")
    func pjsipNoticeCallID() throws {
        let line =
            "[2015-05-24 08:42:16] NOTICE[4583] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:100@198.18.0.10>' failed for '198.18.1.66:5071' (callid: 3c2a7e1b-(x) - y@h) - No matching endpoint found"
        let f = try #require(LogDialects.parse(line, selection: .auto))
        #expect(f.source == IPAddress("198.18.1.66"))
        #expect(f.callID == "3c2a7e1b-(x) - y@h")
        #expect(f.destination == nil)
        #expect(f.destinationPort == nil)
    }

    @Test("chan_sip NOTICE lines state neither destination nor Call-ID")
    func chanSIPNothing() throws {
        let line =
            "[2015-05-24 08:42:16] NOTICE[4583] chan_sip.c: Registration from '\"100\" <sip:100@198.18.0.10>' failed for '198.18.1.66:5060' - Wrong password"
        let f = try #require(LogDialects.parse(line, selection: .auto))
        #expect(f.callID == nil && f.destination == nil && f.destinationPort == nil)
    }

    @Test("the event made of a finding carries its destination and Call-ID")
    func eventCarriesFields() throws {
        let f = try #require(LogDialects.parse(Self.securityLine(), selection: .auto))
        let event = f.event(at: Timestamp(seconds: 1), origin: .logLine(file: "security.log", line: 3))
        #expect(event.destination == f.destination && event.destinationPort == f.destinationPort)
        #expect(event.callID == f.callID)
        #expect(event.source == f.source && event.kind == f.kind && event.user == f.user)
        #expect(event.time == Timestamp(seconds: 1))
        #expect(event.origin == .logLine(file: "security.log", line: 3))
    }
}
