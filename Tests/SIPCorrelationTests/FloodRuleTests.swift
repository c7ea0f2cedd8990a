// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import SIPMessage
import Testing
import WardenCore

@testable import SIPCorrelation

/// The wire flood rule counts only unproductive requests (refused, challenged and never
/// completed, unanswered, malformed): a source whose requests succeed is not flooding.
@Suite("Flood rule: unproductive requests only")
struct FloodRuleTests {
    static let nat = IPAddress("198.18.2.1")!
    static let challenge = ["WWW-Authenticate: Digest realm=\"asterisk\", nonce=\"5e1b3c\""]

    /// One phone's registration: REGISTER → 401 → REGISTER with credentials → `final`,
    /// answered `latency` seconds after each request.
    static func register(
        _ wire: inout Wire, phone k: Int, from source: IPAddress, at t: Double, latency: Double = 0.002, final: Int = 200
    ) {
        var request = Request()
        request.fromURI = "sip:\(2000 + k)@198.18.0.10"
        request.toURI = request.fromURI
        request.fromTag = "tag\(k)"
        request.callID = "reg\(k)@198.18.2.1"
        request.branch = "z9hG4bKr\(k)a"
        let port = UInt16(10_000 + k % 50_000)
        wire.send(request.text, from: source, port, to: Net.pbx, at: t)
        wire.send(request.response(401, "Unauthorized", extra: challenge), from: Net.pbx, to: source, port, at: t + latency)
        request.branch = "z9hG4bKr\(k)b"
        request.cseq = 2
        request.withCredentials(user: "\(2000 + k)")
        wire.send(request.text, from: source, port, to: Net.pbx, at: t + 2 * latency)
        wire.send(
            request.response(final, final == 200 ? "OK" : "Unauthorized", extra: final == 200 ? [] : challenge),
            from: Net.pbx, to: source, port, at: t + 3 * latency)
    }

    @Test(
        "a registration storm from one NAT address, every phone with the right password, is no flood",
        arguments: [(300, 0.002), (1_000, 0.002), (3_000, 0.002), (3_000, 0.8)])
    func successfulStorm(rate: Int, latency: Double) {
        var wire = Wire()
        let count = 2 * rate // two seconds of registrations
        for k in 0..<count {
            Self.register(&wire, phone: k, from: Self.nat, at: 100 + Double(k) / Double(rate), latency: latency)
        }
        wire.correlator.expire(now: Timestamp(seconds: 200), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.events.isEmpty, "\(rate)/s: \(wire.events.prefix(3))")
        let stats = wire.correlator.statistics
        #expect(stats.requests == 2 * count)
        #expect(stats.transactionsCompleted == 2 * count)
        #expect(stats.abandonedChallenges == 0)
        #expect(stats.refusedRequests == 0)
        #expect(stats.unansweredRequests == 0)
    }

    @Test("svcrack-like wrong passwords at full speed: flood at the 200th refusal, besides auth_failed")
    func passwordGuessing() throws {
        var wire = Wire()
        for k in 0..<400 { // 5 000 guesses/s
            Self.register(&wire, phone: k, from: Net.attacker, at: 10 + Double(k) / 5_000, latency: 0.0001, final: 401)
        }
        let floods = wire.events.of(.flood)
        #expect(floods.count == 1)
        let flood = try #require(floods.first)
        #expect(flood.source == Net.attacker)
        #expect(flood.reason == "200 unproductive requests within 1.0 s")
        // Guess 200's response is the 800th packet.
        #expect(flood.origin == .frame(file: "test.pcap", number: 800))
        #expect(wire.events.of(.authFailed).count == 400)
        #expect(wire.correlator.statistics.refusedRequests == 400)
    }

    @Test("svwar-like unknown users: 404 answers are refusals and flood")
    func extensionScanning() throws {
        var wire = Wire()
        var request = Request()
        for k in 0..<300 {
            request.toURI = "sip:\(100 + k)@198.18.0.10"
            request.branch = "z9hG4bKw\(k)"
            request.callID = "w\(k)"
            let t = 20 + Double(k) / 1_000
            wire.send(request.text, from: Net.attacker, to: Net.pbx, at: t)
            wire.send(request.response(404, "Not Found"), from: Net.pbx, to: Net.attacker, at: t + 0.0005)
        }
        #expect(wire.events.of(.flood).map(\.source) == [Net.attacker])
        #expect(wire.events.of(.unknownUser).count == 300)
    }

    @Test("challenges never followed up (svwar against alwaysauthreject) count once the outcome timeout passes")
    func abandonedChallenges() throws {
        var wire = Wire()
        var request = Request()
        for k in 0..<300 {
            request.toURI = "sip:\(100 + k)@198.18.0.10"
            request.branch = "z9hG4bKc\(k)"
            request.callID = "c\(k)"
            let t = 30 + Double(k) / 1_000
            wire.send(request.text, from: Net.attacker, to: Net.pbx, at: t)
            wire.send(request.response(401, "Unauthorized", extra: Self.challenge), from: Net.pbx, to: Net.attacker, at: t + 0.0005)
        }
        #expect(wire.events.isEmpty) // a challenge is normal until its retry is overdue
        wire.correlator.expire(now: Timestamp(seconds: 40), sensor: "test.pcap") { wire.events.append($0) }
        let flood = try #require(wire.events.of(.flood).first)
        #expect(wire.events.count == 1)
        #expect(flood.source == Net.attacker)
        #expect(flood.time == Timestamp(microseconds: 30_199_000 + 4_000_000))
        #expect(flood.origin == .frame(file: "test.pcap", number: 2 * 199 + 1))
        #expect(wire.correlator.statistics.abandonedChallenges == 300)
    }

    @Test("an unanswered request flood counts once the outcome timeout passes", arguments: ["INVITE", "OPTIONS"])
    func unansweredFlood(method: String) throws {
        var wire = Wire()
        var request = Request()
        request.method = method
        for k in 0..<250 {
            request.branch = "z9hG4bKu\(k)"
            wire.send(request.text, from: Net.attacker, 5099, to: Net.pbx, at: 50 + Double(k) / 500)
        }
        #expect(wire.events.isEmpty)
        // Another source's packet 4 s later drives the clock: the judgements land.
        wire.send("\r\n\r\n", from: Net.phone, to: Net.pbx, at: 54.5)
        let flood = try #require(wire.events.of(.flood).first)
        #expect(wire.events.count == 1)
        #expect(flood.source == Net.attacker)
        #expect(flood.sourcePort == 5099)
        #expect(flood.origin == .frame(file: "test.pcap", number: 200))
        #expect(wire.correlator.statistics.unansweredRequests == 250)
    }

    @Test("requests answered with success are never a flood, however fast; provisional answers count as answered")
    func answeredRequests() {
        var wire = Wire()
        var request = Request()
        request.method = "OPTIONS"
        for k in 0..<1_000 {
            request.branch = "z9hG4bKo\(k)"
            let t = 60 + Double(k) / 2_000
            wire.send(request.text, from: Net.phone, to: Net.pbx, at: t)
            wire.send(request.response(200, "OK"), from: Net.pbx, to: Net.phone, at: t + 0.001)
        }
        // INVITEs that are still ringing after the timeout: answered (180), not unproductive.
        request.method = "INVITE"
        request.withCredentials()
        for k in 0..<300 {
            request.branch = "z9hG4bKi\(k)"
            request.callID = "call\(k)"
            let t = 70 + Double(k) / 1_000
            wire.send(request.text, from: Net.phone, to: Net.pbx, at: t)
            wire.send(request.response(180, "Ringing"), from: Net.pbx, to: Net.phone, at: t + 0.01)
        }
        wire.correlator.expire(now: Timestamp(seconds: 100), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.events.isEmpty)
        #expect(wire.correlator.statistics.unansweredRequests == 0)
    }

    @Test("busy, unavailable, terminated and overloaded answers are not the client's fault")
    func neutralAnswers() {
        var wire = Wire()
        var request = Request()
        request.method = "INVITE"
        request.withCredentials()
        let codes = [486, 480, 487, 503, 603, 408, 481, 491]
        for k in 0..<400 {
            request.branch = "z9hG4bKn\(k)"
            request.callID = "n\(k)"
            let t = 80 + Double(k) / 1_000
            wire.send(request.text, from: Self.nat, to: Net.pbx, at: t)
            wire.send(request.response(codes[k % codes.count]), from: Net.pbx, to: Self.nat, at: t + 0.01)
        }
        wire.correlator.expire(now: Timestamp(seconds: 100), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.events.isEmpty)
    }

    @Test("a challenge is completed only by an accepted credentialed retry in the same exchange")
    func challengeCompletion() {
        // Retried with credentials in another Call-ID: the first exchange was abandoned.
        var wire = Wire(CorrelatorConfiguration(floodThreshold: 1))
        var request = Request()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        wire.send(request.response(401, "Unauthorized", extra: Self.challenge), from: Net.pbx, to: Net.phone, at: 1.01)
        request.callID = "another@198.18.0.20"
        request.branch = "z9hG4bKnext"
        request.withCredentials()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1.02)
        wire.send(request.response(200, "OK"), from: Net.pbx, to: Net.phone, at: 1.03)
        wire.correlator.expire(now: Timestamp(seconds: 6), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.events.map(\.kind) == [.flood])
        #expect(wire.correlator.statistics.abandonedChallenges == 1)

        // Same exchange, accepted after a stale-nonce challenge: complete.
        var ok = Wire(CorrelatorConfiguration(floodThreshold: 1))
        var first = Request()
        ok.send(first.text, from: Net.phone, to: Net.pbx, at: 1)
        ok.send(first.response(401, "Unauthorized", extra: Self.challenge), from: Net.pbx, to: Net.phone, at: 1.01)
        first.branch = "z9hG4bKsecond"
        first.cseq = 2
        first.withCredentials()
        ok.send(first.text, from: Net.phone, to: Net.pbx, at: 1.02)
        ok.send(
            first.response(401, "Unauthorized", extra: ["WWW-Authenticate: Digest realm=\"asterisk\", nonce=\"77\", stale=true"]),
            from: Net.pbx, to: Net.phone, at: 1.03)
        first.branch = "z9hG4bKthird"
        first.cseq = 3
        ok.send(first.text, from: Net.phone, to: Net.pbx, at: 1.04)
        ok.send(first.response(200, "OK"), from: Net.pbx, to: Net.phone, at: 1.05)
        ok.correlator.expire(now: Timestamp(seconds: 6), sensor: "test.pcap") { ok.events.append($0) }
        #expect(ok.events.isEmpty)
    }

    @Test("a late refusal of a request already counted as unanswered is not counted twice")
    func lateAnswer() {
        var wire = Wire(CorrelatorConfiguration(floodThreshold: 2))
        var request = Request()
        request.withCredentials()
        wire.send(request.text, from: Net.phone, to: Net.pbx, at: 1)
        wire.correlator.expire(now: Timestamp(microseconds: 5_500_000), sensor: "test.pcap") { wire.events.append($0) }
        wire.send(request.response(403, "Forbidden"), from: Net.pbx, to: Net.phone, at: 5.6)
        #expect(wire.events.map(\.kind) == [.authFailed]) // the failure itself, but no second count
        #expect(wire.correlator.statistics.unansweredRequests == 1)
        #expect(wire.correlator.statistics.refusedRequests == 0)
    }

    @Test("the judgement queue is bounded by the transaction cap; overflow is dropped unjudged")
    func judgementBound() {
        var wire = Wire(CorrelatorConfiguration(maxOpenTransactions: 100))
        var request = Request()
        request.method = "OPTIONS"
        for k in 0..<1_000 {
            request.branch = "z9hG4bKq\(k)"
            wire.send(request.text, from: .v4(0xC612_0300 &+ UInt32(k)), to: Net.pbx, at: 1 + Double(k) / 10_000)
        }
        #expect(wire.correlator.statistics.judgementsDropped == 900)
        wire.correlator.expire(now: Timestamp(seconds: 10), sensor: "test.pcap") { wire.events.append($0) }
        #expect(wire.correlator.statistics.unansweredRequests == 100)
        #expect(wire.correlator.memoryFootprint.sources == 100)
    }

    @Test(
        "outcome of a final response",
        arguments: [
            (200, "REGISTER", false, false, RequestOutcome.settled), (302, "INVITE", false, false, .settled),
            (401, "REGISTER", false, false, .challenge), (407, "INVITE", false, false, .challenge),
            (401, "REGISTER", true, false, .refused), (401, "REGISTER", true, true, .challenge),
            (401, "CANCEL", false, false, .refused), (403, "REGISTER", false, false, .refused),
            (404, "INVITE", false, false, .refused), (400, "OPTIONS", false, false, .refused),
            (405, "PUBLISH", false, false, .refused), (484, "INVITE", true, false, .refused),
            (486, "INVITE", true, false, .settled), (487, "INVITE", true, false, .settled),
            (480, "INVITE", true, false, .settled), (423, "REGISTER", true, false, .settled),
            (500, "INVITE", true, false, .settled), (503, "REGISTER", false, false, .settled),
            (603, "INVITE", true, false, .settled),
        ])
    func outcome(code: Int, method: String, credentials: Bool, stale: Bool, expected: RequestOutcome) {
        let m = SIPMethod.allCases.first { $0.token == method } ?? .extension
        #expect(RequestOutcome.of(code: code, method: m, hasCredentials: credentials, staleChallenge: stale) == expected)
    }
}
