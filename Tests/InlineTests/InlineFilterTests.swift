// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Inline
import NetworkAddress
import Testing
import WardenCore

@Suite("InlineFilter: packets to verdicts")
struct InlineFilterTests {
    func filter(maxRetry: Int = 5) -> InlineFilter {
        InlineFilter(controller: AdmissionController(policy: AdmissionPolicy(maxRetry: maxRetry), seed: 7))
    }

    @Test func ipv4RequestsAndResponsesDriveTheBudget() {
        var f = filter(maxRetry: 2)
        var events: [AdmissionEvent] = []
        var admitted: [SIPFixture] = []
        for i in 0..<10 {
            let fixture = SIPFixture(branch: "v4\(i)", credentials: true)
            if f.judge(ipv4Packet(from: attacker, to: pbx, payload: fixture.request), .inbound, at: at(0), events: &events).isAdmitted {
                admitted.append(fixture)
            }
        }
        #expect(admitted.count == 2)
        for fixture in admitted {
            let packet = ipv4Packet(from: pbx, sourcePort: 5060, to: attacker, destinationPort: 5070, payload: fixture.response(401))
            #expect(f.judge(packet, .outbound, at: at(0.1), events: &events) == .admit(.untracked))
        }
        #expect(events.count == 2)
        #expect(events.last?.securityEvent.source == attacker)
        if case .exhausted = events.last {} else { Issue.record("not exhausted: \(events)") }
        #expect(f.statistics.packets == 12 && f.statistics.dropped == 8)
    }

    /// A registrar's 200 to a REGISTER lists every binding of the account: from a NAT
    /// address with many phones on one account, hundreds of Contact fields. It must still
    /// end its transaction, or each such answer would hold a request in flight until the
    /// transaction timeout and a registration storm would be throttled to a halt.
    @Test func anAnswerListingHundredsOfBindingsEndsItsTransaction() {
        var f = filter(maxRetry: 1)
        var events: [AdmissionEvent] = []
        for i in 0..<3 {
            let fixture = SIPFixture(branch: "many\(i)", credentials: true)
            #expect(
                f.judge(ipv4Packet(from: legit, to: pbx, payload: fixture.request), .inbound, at: at(Double(i)), events: &events)
                    == .admit(.credentialed))
            var response = String(decoding: fixture.response(200, reason: "OK"), as: UTF8.self)
            let uris = (0..<600).map { "<sip:100@198.19.252.3:\(10_000 + $0)>;expires=300" }
            // As many Contact fields (more than a request may have), or one of 28 KB.
            let bindings =
                i == 1
                ? "Contact: " + uris.joined(separator: ", ") + "\r\n"
                : uris.map { "Contact: \($0)\r\n" }.joined()
            response = response.replacingOccurrences(of: "Content-Length: 0", with: bindings + "Content-Length: 0")
            let packet = ipv4Packet(from: pbx, sourcePort: 5060, to: legit, destinationPort: 5070, payload: Array(response.utf8))
            #expect(f.judge(packet, .outbound, at: at(Double(i) + 0.1), events: &events) == .admit(.untracked))
            #expect(f.controller.state(of: legit, at: at(Double(i) + 0.2))?.credentialedOutstanding == 0)
        }
        #expect(f.controller.statistics.unmatchedResponses == 0)
        #expect(events.isEmpty)
    }

    @Test func ipv6WithExtensionHeaderIsParsed() {
        var f = filter(maxRetry: 1)
        var events: [AdmissionEvent] = []
        let a = SIPFixture(branch: "v6a", credentials: true)
        let b = SIPFixture(branch: "v6b", credentials: true)
        #expect(
            f.judge(ipv6Packet(from: "2001:2::2", to: "2001:2::1", payload: a.request, extensionHeader: 0), .inbound, at: at(0), events: &events)
                == .admit(.credentialed))
        #expect(f.judge(ipv6Packet(from: "2001:2::2", to: "2001:2::1", payload: b.request), .inbound, at: at(0), events: &events) == .drop(.budget))
        #expect(f.controller.state(of: IPAddress("2001:2::2")!, at: at(0))?.credentialedOutstanding == 1)
    }

    @Test func unrelatedTrafficIsAcceptedAtOnce() {
        var f = filter(maxRetry: 1)
        var events: [AdmissionEvent] = []
        #expect(
            f.judge(ipv4Packet(from: attacker, to: pbx, payload: Array("hello, not SIP".utf8)), .inbound, at: at(0), events: &events)
                == .admit(.untracked))
        #expect(f.judge(ipv4Packet(from: attacker, to: pbx, payload: []), .inbound, at: at(0), events: &events) == .admit(.untracked))
        #expect(f.judge([0x45, 0, 0], .inbound, at: at(0), events: &events) == .admit(.untracked))
        #expect(f.judge([], .inbound, at: at(0), events: &events) == .admit(.untracked))
        var tcp = ipv4Packet(from: attacker, to: pbx, payload: SIPFixture(branch: "t", credentials: true).request)
        tcp[9] = 6
        #expect(f.judge(tcp, .inbound, at: at(0), events: &events) == .admit(.untracked))
        // The PBX's own requests are not accounted.
        let options = SIPFixture(method: "OPTIONS", branch: "o", credentials: true)
        #expect(f.judge(ipv4Packet(from: pbx, to: attacker, payload: options.request), .outbound, at: at(0), events: &events) == .admit(.untracked))
        #expect(f.statistics.notSIP == 2 && f.statistics.notIP == 2 && f.statistics.notUDP == 1)
        #expect(events.isEmpty)
    }

    @Test func unjudgeableCredentialsAndFragmentsAreDropped() {
        var f = filter()
        var events: [AdmissionEvent] = []
        // Broken start line, but a password guess inside: a lenient PBX might check it.
        let broken = Array("REGISTER  sip:x SIP/2.0\r\nPROXY-AUTHORIZATION: Digest username=\"100\"\r\n\r\n".utf8)
        #expect(f.judge(ipv4Packet(from: attacker, to: pbx, payload: broken), .inbound, at: at(0), events: &events) == .drop(.unjudgeableCredentials))
        let request = SIPFixture(branch: "frag", credentials: true).request
        #expect(
            f.judge(ipv4Packet(from: attacker, to: pbx, payload: request, moreFragments: true), .inbound, at: at(0), events: &events)
                == .drop(.fragment))
        #expect(
            f.judge(ipv4Packet(from: attacker, to: pbx, payload: request, fragmentOffset: 100), .inbound, at: at(0), events: &events)
                == .drop(.fragment))
        #expect(
            f.judge(ipv6Packet(from: "2001:2::2", to: "2001:2::1", payload: request, extensionHeader: 44), .inbound, at: at(0), events: &events)
                == .drop(.fragment))
        #expect(f.statistics.unjudgeableDropped == 1 && f.statistics.fragmentsDropped == 3)
    }

    @Test func arbitraryBytesNeverTrap() {
        var f = filter()
        var events: [AdmissionEvent] = []
        var rng = SystemRandomNumberGenerator()
        let base = ipv4Packet(from: attacker, to: pbx, payload: SIPFixture(branch: "fz", credentials: true).request)
        let base6 = ipv6Packet(from: "2001:2::2", to: "2001:2::1", payload: SIPFixture(branch: "fz6").request, extensionHeader: 60)
        for i in 0..<20_000 {
            var p = i.isMultiple(of: 2) ? base : base6
            let cut = Int.random(in: 0...p.count, using: &rng)
            p.removeLast(p.count - cut)
            for _ in 0..<Int.random(in: 0...6, using: &rng) where !p.isEmpty {
                p[Int.random(in: 0..<p.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = f.judge(p, i.isMultiple(of: 3) ? .outbound : .inbound, at: at(Double(i) / 1000), events: &events)
        }
        #expect(f.statistics.packets == 20_000)
    }

    @Test func mentionsAuthorizationIgnoresCase() {
        var f = filter()
        var events: [AdmissionEvent] = []
        let odd = Array("garbage aUtHoRiZaTiOn garbage".utf8)
        #expect(f.judge(ipv4Packet(from: attacker, to: pbx, payload: odd), .inbound, at: at(0), events: &events) == .drop(.unjudgeableCredentials))
        #expect(
            f.judge(ipv4Packet(from: attacker, to: pbx, payload: Array("authorizatio".utf8)), .inbound, at: at(0), events: &events)
                == .admit(.untracked))
    }

    @Test func failModesMapToKernelSettings() {
        #expect(InlineFailMode.bypassWhenStopped.bypassWhenNotListening && !InlineFailMode.bypassWhenStopped.acceptOnOverflow)
        #expect(InlineFailMode.open.bypassWhenNotListening && InlineFailMode.open.acceptOnOverflow)
        #expect(!InlineFailMode.closed.bypassWhenNotListening && !InlineFailMode.closed.acceptOnOverflow)
    }
}
