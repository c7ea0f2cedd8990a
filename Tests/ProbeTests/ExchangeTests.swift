// SPDX-License-Identifier: GPL-2.0-or-later

import SIPMessage
import TestSupport
import Testing

@testable import Probe

/// The transaction behaviour of the sans-I/O core, against simulated servers.
@Suite struct ExchangeTests {
    @Test func nonInviteFinalAnswer() throws {
        var probe = try makeProbe(methods: [.register], repetitions: 1)
        let first = probe.start(at: .zero)
        try #require(first.count == 1)
        let answer = try response(
            to: first[0], status: 401, reason: "Unauthorized",
            headers: ["WWW-Authenticate: Digest realm=\"e2e.example\", nonce=\"abc\", qop=\"auth\""])
        #expect(probe.receive(datagram: answer, at: .milliseconds(3)).isEmpty)
        let o = try #require(probe.observations.first)
        #expect(o.finalStatus == 401 && o.reasonPhrase == "Unauthorized")
        #expect(o.latencyMilliseconds == 3)
        #expect(o.headers?.wwwAuthenticate == ProbeChallenge(scheme: "Digest", realm: "e2e.example", qop: "auth", hasNonce: true))
        #expect(o.transmissions == 1 && o.responseCount == 1)
        #expect(o.subject == .existing)
        // The next request starts after the pause.
        #expect(probe.nextWakeup == .milliseconds(23))
        let second = probe.advance(to: .milliseconds(23))
        #expect(try ParsedRequest(try #require(second.first)).toUser == probe.unknownUsers[0])
    }

    @Test func retransmitsPerTimerEThenGivesUp() throws {
        var probe = try makeProbe(methods: [.options], repetitions: 1)
        let sent = try simulate(&probe) { _, _ in [] }
        // Per request: 0, 0.5, 1.5, 3.5 s; gives up at 4 s. Two requests (existing, unknown).
        let times = sent.map(\.at)
        let first = Array(times.prefix(4))
        #expect(first == [.zero, .milliseconds(500), .milliseconds(1500), .milliseconds(3500)])
        #expect(sent.count == 8)
        #expect(Set(sent.prefix(4).map(\.bytes)).count == 1) // retransmissions are identical
        #expect(probe.observations.map(\.transmissions) == [4, 4])
        #expect(probe.observations.allSatisfy { !$0.answered && $0.cleanup == ["no answer"] })
        #expect(probe.report().verdict == .inconclusive)
    }

    @Test func silentMethodIsNotRepeated() throws {
        var probe = try makeProbe(methods: [.register, .options], repetitions: 3)
        // Answers OPTIONS only.
        let sent = try simulate(&probe) { request, bytes in
            request.method == "OPTIONS" ? [(.milliseconds(1), try response(to: bytes, status: 200, reason: "OK"))] : []
        }
        let registers = Set(try sent.map { try ParsedRequest($0.bytes) }.filter { $0.method == "REGISTER" }.map(\.callID))
        #expect(registers.count == 2)
        #expect(probe.observations.filter { $0.method == .options }.count == 6)
        let report = probe.report()
        #expect(report.verdict == .noLeak)
        #expect(report.methods.first { $0.method == .register }?.tested == false)
    }

    @Test func nonInviteProvisionalSlowsRetransmissions() throws {
        var probe = try makeProbe(methods: [.register], repetitions: 1)
        let first = probe.start(at: .zero)
        _ = probe.receive(datagram: try response(to: first[0], status: 100, reason: "Trying", toTag: nil), at: .milliseconds(10))
        // In Proceeding, timer E fires at T2 (4 s), i.e. after the 4 s deadline: no retransmission.
        #expect(probe.advance(to: .milliseconds(600)).isEmpty)
        #expect(probe.advance(to: .milliseconds(3999)).isEmpty)
        _ = probe.advance(to: .seconds(4))
        let o = try #require(probe.observations.first)
        #expect(o.finalStatus == nil && o.provisionalStatuses == [100] && o.transmissions == 1)
        #expect(o.cleanup == ["no final answer"])
    }

    @Test func inviteChallengeIsAcked() throws {
        var probe = try makeProbe(methods: [.invite], repetitions: 1)
        let invite = probe.start(at: .zero)[0]
        let inv = try ParsedRequest(invite)
        let challenge = try response(
            to: invite, status: 407, reason: "Proxy Authentication Required", toTag: "t407",
            headers: ["Proxy-Authenticate: Digest realm=\"x\", nonce=\"n\""])
        let out = probe.receive(datagram: challenge, at: .milliseconds(2))
        try #require(out.count == 1)
        let ack = try ParsedRequest(out[0])
        #expect(ack.method == "ACK" && ack.cseqMethod == "ACK" && ack.cseqNumber == inv.cseqNumber)
        #expect(ack.branch == inv.branch) // same transaction (RFC 3261 §17.1.1.3)
        #expect(ack.requestURI == inv.requestURI)
        #expect(ack.callID == inv.callID && ack.fromTag == inv.fromTag)
        #expect(ack.toTag == "t407")
        #expect(ack.maxForwards == 70 && ack.contentLength == 0)
        #expect(probe.observations.first?.cleanup == ["ACK"])
        // The server did not get our ACK and retransmits the 407, even after the next
        // request started: the same ACK goes out again.
        _ = probe.advance(to: .milliseconds(30))
        #expect(probe.receive(datagram: challenge, at: .milliseconds(500)) == out)
    }

    @Test func inviteStillRetransmitsUntilProvisional() throws {
        var probe = try makeProbe(methods: [.invite], repetitions: 1)
        let invite = probe.start(at: .zero)[0]
        #expect(probe.advance(to: .milliseconds(500)) == [invite])
        #expect(probe.advance(to: .milliseconds(1000)).isEmpty)
        #expect(probe.advance(to: .milliseconds(1500)) == [invite]) // timer A doubles: 0.5, 1, 2 s
        _ = probe.receive(datagram: try response(to: invite, status: 100, reason: "Trying", toTag: nil), at: .milliseconds(1600))
        #expect(probe.advance(to: .milliseconds(2500)).isEmpty) // no more retransmissions after 1xx
    }

    @Test func ringingInviteIsCancelledThenAcked() throws {
        var probe = try makeProbe(methods: [.invite], repetitions: 1)
        let invite = probe.start(at: .zero)[0]
        let inv = try ParsedRequest(invite)
        _ = probe.receive(datagram: try response(to: invite, status: 180, reason: "Ringing", toTag: "r1"), at: .milliseconds(5))
        #expect(probe.nextWakeup == .milliseconds(1005))
        #expect(probe.advance(to: .milliseconds(1004)).isEmpty)
        let cancelOut = probe.advance(to: .milliseconds(1005))
        try #require(cancelOut.count == 1)
        let cancel = try ParsedRequest(cancelOut[0])
        #expect(cancel.method == "CANCEL" && cancel.cseqMethod == "CANCEL" && cancel.cseqNumber == inv.cseqNumber)
        #expect(cancel.branch == inv.branch && cancel.requestURI == inv.requestURI)
        #expect(cancel.toTag == nil) // To as in the INVITE (RFC 3261 §9.1)
        #expect(cancel.callID == inv.callID && cancel.fromTag == inv.fromTag)
        // CANCEL is retransmitted until answered.
        #expect(probe.advance(to: .milliseconds(1505)) == cancelOut)
        _ = probe.receive(datagram: try response(to: cancelOut[0], status: 200, reason: "OK", toTag: "r1"), at: .milliseconds(1510))
        #expect(probe.advance(to: .milliseconds(2600)).isEmpty)
        let terminated = try response(to: invite, status: 487, reason: "Request Terminated", toTag: "r1")
        let ackOut = probe.receive(datagram: terminated, at: .milliseconds(2700))
        let ack = try ParsedRequest(try #require(ackOut.first))
        #expect(ack.method == "ACK" && ack.branch == inv.branch && ack.toTag == "r1")
        let o = try #require(probe.observations.first)
        #expect(o.provisionalStatuses == [180] && o.finalStatus == 487 && o.cleanup == ["CANCEL", "ACK"])
        #expect(o.firstResponseMilliseconds == 5)
    }

    @Test func cancelWithoutFinalAnswerEndsAfterCleanupTimeout() throws {
        var probe = try makeProbe(methods: [.invite], repetitions: 1)
        let invite = probe.start(at: .zero)[0]
        _ = probe.receive(datagram: try response(to: invite, status: 100, reason: "Trying", toTag: nil), at: .milliseconds(1))
        _ = probe.advance(to: .milliseconds(1001)) // CANCEL
        var t = Duration.milliseconds(1001)
        var rounds = 0
        while probe.observations.isEmpty, rounds < 100 {
            rounds += 1
            t = probe.nextWakeup ?? t
            _ = probe.advance(to: t)
        }
        let o = try #require(probe.observations.first)
        #expect(o.finalStatus == nil && o.cleanup == ["CANCEL", "no final answer after CANCEL"])
        #expect(t == .milliseconds(3001)) // cleanup timeout 2 s after the CANCEL
    }

    @Test func noCancelBeforeAnyProvisional() throws {
        var probe = try makeProbe(methods: [.invite], repetitions: 1)
        let sent = try simulate(&probe) { _, _ in [] }
        #expect(!sent.contains { (try? ParsedRequest($0.bytes).method) == "CANCEL" })
    }

    @Test func answeredInviteIsAckedAndHungUp() throws {
        var probe = try makeProbe(methods: [.invite], repetitions: 1)
        let invite = probe.start(at: .zero)[0]
        let inv = try ParsedRequest(invite)
        let ok = try response(
            to: invite, status: 200, reason: "OK", toTag: "ans1",
            headers: [
                "Contact: <sip:100@127.0.0.1:5099;transport=udp>",
                "Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>",
                "Record-Route: <sip:p0.example;lr>",
            ])
        let out = probe.receive(datagram: ok, at: .milliseconds(4))
        try #require(out.count == 2)
        let ack = try ParsedRequest(out[0])
        let bye = try ParsedRequest(out[1])
        #expect(ack.method == "ACK" && ack.cseqNumber == inv.cseqNumber && ack.cseqMethod == "ACK")
        #expect(ack.branch != inv.branch) // 2xx ACK is its own transaction
        #expect(ack.requestURI == "sip:100@127.0.0.1:5099;transport=udp")
        #expect(ack.routes == ["<sip:p0.example;lr>", "<sip:p1.example;lr>", "<sip:p2.example;lr>"])
        #expect(ack.toTag == "ans1")
        #expect(bye.method == "BYE" && bye.cseqNumber == inv.cseqNumber + 1 && bye.toTag == "ans1")
        #expect(bye.branch != ack.branch && bye.branch != inv.branch)
        #expect(bye.callID == inv.callID && bye.fromTag == inv.fromTag)
        #expect(bye.requestURI == ack.requestURI && bye.routes == ack.routes)
        // A retransmitted 200 gets the same ACK again; the BYE is retransmitted until answered.
        #expect(probe.receive(datagram: ok, at: .milliseconds(300)) == [out[0]])
        #expect(probe.advance(to: .milliseconds(504)) == [out[1]])
        _ = probe.receive(datagram: try response(to: out[1], status: 200, reason: "OK", toTag: "ans1"), at: .milliseconds(510))
        let o = try #require(probe.observations.first)
        #expect(o.finalStatus == 200 && o.cleanup == ["ACK+BYE", "BYE answered 200"])
    }

    @Test func strayAndForeignDatagramsAreIgnored() throws {
        var probe = try makeProbe(methods: [.options], repetitions: 1)
        let options = probe.start(at: .zero)[0]
        // Wrong branch, wrong Call-ID, a request, garbage: none of them is an answer.
        var other = try makeProbe(methods: [.options], repetitions: 1, seed: 99)
        let foreign = other.start(at: .zero)[0]
        #expect(probe.receive(datagram: try response(to: foreign, status: 404, reason: "Not Found"), at: .milliseconds(1)).isEmpty)
        #expect(probe.receive(datagram: foreign, at: .milliseconds(1)).isEmpty)
        #expect(probe.receive(datagram: Array("garbage\r\n\r\n".utf8), at: .milliseconds(1)).isEmpty)
        #expect(probe.receive(datagram: [], at: .milliseconds(1)).isEmpty)
        #expect(probe.observations.isEmpty)
        _ = probe.receive(datagram: try response(to: options, status: 200, reason: "OK"), at: .milliseconds(2))
        #expect(probe.observations.count == 1)
    }

    @Test func randomDatagramsNeverTrap() throws {
        var rng = SplitMix64(seed: 1)
        var probe = try makeProbe(methods: [.invite], repetitions: 1)
        let invite = probe.start(at: .zero)[0]
        let valid = try response(
            to: invite, status: 407, reason: "Proxy Authentication Required",
            headers: ["Proxy-Authenticate: Digest realm=\"a\\\"b\", nonce=\"x", "Record-Route: <sip:a;lr>,,<"])
        for i in 0..<3000 {
            var d = valid
            for _ in 0..<Int(rng.next() % 8) {
                let at = Int(rng.next() % UInt64(d.count))
                d[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            if i % 3 == 0 { d = Array(d.prefix(Int(rng.next() % UInt64(d.count)))) }
            _ = probe.receive(datagram: d, at: .milliseconds(1))
            _ = ProbeChallenge.parse(String(decoding: d, as: UTF8.self))
            _ = ProbeResponse.splitList(String(decoding: d, as: UTF8.self))
        }
    }
}
