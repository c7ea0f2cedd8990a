// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import Probe

/// The comparison rules, on synthetic observations and on simulated servers.
@Suite struct ReportTests {
    static let challenge401 = ProbeResponseHeaders(
        wwwAuthenticate: ProbeChallenge(scheme: "Digest", realm: "e2e.example", qop: "auth"), server: "kamailio (5.6.3)"
    )
    static let challenge407 = ProbeResponseHeaders(
        proxyAuthenticate: ProbeChallenge(scheme: "Digest", realm: "e2e.example", qop: "auth"), server: "kamailio (5.6.3)"
    )
    static let plain = ProbeResponseHeaders(server: "kamailio (5.6.3)")

    func obs(
        _ method: ProbeMethod, _ subject: ProbeSubject, _ status: Int?, _ reason: String? = nil,
        headers: ProbeResponseHeaders? = ReportTests.plain, latency: Double? = 1, rep: Int = 0,
        provisional: [Int] = [], user: String? = nil
    ) -> ProbeObservation {
        ProbeObservation(
            method: method, subject: subject, user: user ?? (subject == .existing ? "100" : "48213307751\(rep)"),
            repetition: rep, finalStatus: status, reasonPhrase: status == nil ? nil : reason,
            provisionalStatuses: provisional, responseCount: (status == nil ? 0 : 1) + provisional.count,
            latencyMilliseconds: status == nil ? nil : latency, headers: status == nil ? nil : headers
        )
    }

    func report(_ observations: [ProbeObservation], methods: [ProbeMethod] = ProbeMethod.allCases) -> ProbeReport {
        let configuration = ProbeConfiguration(existingUser: "100", version: "1", methods: methods)
        return ProbeReport(target: loopbackTarget, configuration: configuration, unknownUsers: ["482133077510"], observations: observations)
    }

    /// Three repetitions of the same pair of answers.
    func triple(
        _ method: ProbeMethod, existing: (Int?, String?, ProbeResponseHeaders?), unknown: (Int?, String?, ProbeResponseHeaders?),
        existingLatency: Double = 1, unknownLatency: Double = 1
    ) -> [ProbeObservation] {
        (0..<3).flatMap { rep in
            [
                obs(method, .existing, existing.0, existing.1, headers: existing.2, latency: existingLatency + Double(rep) * 0.1, rep: rep),
                obs(method, .unknown, unknown.0, unknown.1, headers: unknown.2, latency: unknownLatency + Double(rep) * 0.1, rep: rep),
            ]
        }
    }

    @Test func leakyRegistrarAndProxy() {
        let r = report(
            triple(.register, existing: (401, "Unauthorized", Self.challenge401), unknown: (404, "Not Found", Self.plain))
                + triple(.invite, existing: (407, "Proxy Authentication Required", Self.challenge407), unknown: (404, "Not Found", Self.plain))
                + triple(.options, existing: (200, "OK", Self.plain), unknown: (200, "OK", Self.plain))
        )
        #expect(r.verdict == .leak && r.leaks)
        #expect(r.methods.map(\.leaks) == [true, true, false])
        let register = r.findings.first { $0.method == .register && $0.kind == .statusCode }
        #expect(
            register?.message
                == "REGISTER: existing user gets 401 Unauthorized (challenge), unknown user gets 404 Not Found — svwar can enumerate extensions")
        #expect(register?.severity == .leak)
        #expect(register?.differences.contains { $0.hasPrefix("answer: 401 | 404") } == true)
        #expect(register?.differences.contains { $0.hasPrefix("WWW-Authenticate:") } == true)
        #expect(r.findings.contains { $0.method == .invite && $0.kind == .statusCode && $0.message.contains("407") && $0.message.contains("404") })
        #expect(r.findings.contains { $0.method == .options && $0.kind == .noDifference })
        #expect(r.findings.first?.severity == .leak) // leaks first
        #expect(r.serverProduct == "Kamailio")
        #expect(r.remediation.map(\.product) == ["Any server", "Kamailio"])
    }

    @Test func challengeEveryoneIsNotEnumerable() {
        let r = report(
            triple(.register, existing: (401, "Unauthorized", Self.challenge401), unknown: (401, "Unauthorized", Self.challenge401))
                + triple(
                    .invite, existing: (407, "Proxy Authentication Required", Self.challenge407),
                    unknown: (407, "Proxy Authentication Required", Self.challenge407))
                + triple(.options, existing: (200, "OK", Self.plain), unknown: (200, "OK", Self.plain))
        )
        #expect(r.verdict == .noLeak && !r.leaks)
        #expect(r.methods.allSatisfy { $0.tested && !$0.leaks })
        #expect(r.findings.allSatisfy { $0.kind == .noDifference && $0.severity == .info })
        #expect(r.findings[0].message == "REGISTER: no difference (401 Unauthorized (challenge) for both) — not enumerable with this method")
        #expect(r.remediation.isEmpty)
    }

    @Test func headerDifferenceWithSameStatusLeaks() {
        var otherRealm = Self.challenge401
        otherRealm.wwwAuthenticate?.realm = "unknown-users"
        var otherServer = Self.challenge401
        otherServer.server = "kamailio (5.6.3) [fallback]"
        for unknownHeaders in [otherRealm, otherServer] {
            let r = report(
                triple(.register, existing: (401, "Unauthorized", Self.challenge401), unknown: (401, "Unauthorized", unknownHeaders)),
                methods: [.register])
            #expect(r.leaks)
            let f = r.findings.first { $0.kind == .header }
            #expect(f?.severity == .leak)
            #expect(f?.message.hasPrefix("REGISTER: same status (401 Unauthorized (challenge)) but ") == true)
        }
        // A missing challenge with the same status is also a difference.
        let r = report(
            triple(.register, existing: (401, "Unauthorized", Self.challenge401), unknown: (401, "Unauthorized", Self.plain)), methods: [.register])
        #expect(r.findings.first?.message.contains("WWW-Authenticate differs") == true)
    }

    @Test func reasonPhraseEchoingTheUserIsMasked() {
        let obsList = (0..<3).flatMap { rep in
            [
                obs(.register, .existing, 403, "User 100 blocked", rep: rep),
                obs(.register, .unknown, 403, "User 48213307751\(rep) blocked", rep: rep),
            ]
        }
        #expect(!report(obsList, methods: [.register]).leaks)
        // ... but a different wording is a leak.
        let leaky = (0..<3).flatMap { rep in
            [obs(.register, .existing, 403, "Forbidden", rep: rep), obs(.register, .unknown, 403, "Forbidden (no such user)", rep: rep)]
        }
        let r = report(leaky, methods: [.register])
        #expect(r.leaks && r.findings.first?.differences.first?.hasPrefix("reason:") == true)
        #expect(ProbeReport.mask("user 100 not 1000 or x100", user: "100") == "user <user> not 1000 or x100")
    }

    @Test func silenceIsALeak() {
        let r = report(
            triple(.invite, existing: (407, "Proxy Authentication Required", Self.challenge407), unknown: (nil, nil, nil)), methods: [.invite])
        #expect(r.leaks)
        let f = r.findings.first
        #expect(f?.kind == .silence)
        #expect(
            f?.message
                == "INVITE: existing user gets 407 Proxy Authentication Required (challenge), unknown user gets no answer — the silence itself tells existing users apart"
        )
    }

    @Test func provisionalDifferenceLeaks() {
        let o = (0..<3).flatMap { rep in
            [
                obs(.invite, .existing, 487, "Request Terminated", rep: rep, provisional: [100, 180]),
                obs(.invite, .unknown, 487, "Request Terminated", rep: rep, provisional: [100]),
            ]
        }
        let r = report(o, methods: [.invite])
        #expect(r.leaks && r.findings.first?.message.contains("provisional differs") == true)
    }

    @Test func inconsistentAnswersAreNotAVerdict() {
        // The existing user sometimes gets what unknown users get: no consistent signal.
        let o = [
            obs(.register, .existing, 401, "Unauthorized", rep: 0), obs(.register, .unknown, 404, "Not Found", rep: 0),
            obs(.register, .existing, 404, "Not Found", rep: 1), obs(.register, .unknown, 404, "Not Found", rep: 1),
        ]
        #expect(!report(o, methods: [.register]).leaks)
    }

    @Test func nothingAnsweredIsInconclusive() {
        let r = report(triple(.options, existing: (nil, nil, nil), unknown: (nil, nil, nil)), methods: [.options])
        #expect(r.verdict == .inconclusive && !r.leaks)
        #expect(r.findings.map(\.kind) == [.untested])
        #expect(r.findings[0].message == "OPTIONS: no answer for either user — not tested")
    }

    @Test func timingRule() {
        func timing(_ e: [Double], _ u: [Double]) -> ProbeFinding? { ProbeReport.timingFinding(method: .register, existing: e, unknown: u) }
        // Clearly separated, > 5 ms and > 3x: warning.
        let slow = timing([20, 22, 21], [1, 1.2, 0.9])
        #expect(slow?.severity == .warning && slow?.kind == .timing)
        #expect(
            slow?.message.contains(
                "answers for the existing user are consistently slower (median 21.0 ms for the existing user, 1.0 ms for unknown users)") == true)
        #expect(timing([1, 1.1, 0.9], [30, 40, 35])?.message.contains("answers for unknown users") == true)
        #expect(timing([20, 22, 0.5], [1, 1.2, 0.9]) == nil) // ranges overlap
        #expect(timing([5.5, 5.6, 5.7], [1, 1.2, 0.9]) == nil) // < 5 ms apart
        #expect(timing([40, 41, 42], [20, 21, 22]) == nil) // < 3x
        #expect(timing([40], [1]) == nil) // too few samples
        // Timing alone never makes a leak verdict.
        let r = report(
            triple(
                .register, existing: (401, "Unauthorized", Self.challenge401), unknown: (401, "Unauthorized", Self.challenge401),
                existingLatency: 30, unknownLatency: 1), methods: [.register])
        #expect(!r.leaks && r.verdict == .noLeak)
        #expect(r.findings.contains { $0.kind == .timing })
        #expect(r.remediation.count == 1 && r.remediation[0].text.contains("as long as"))
    }

    @Test func ourCancelDelayIsNotATimingSignal() {
        // The existing user rings (180 after 0.5 ms) and we CANCEL 1 s later; unknown users
        // get 404 at once. The 1 s is ours, not the server's: no timing warning.
        let o = (0..<3).flatMap { rep in
            [
                ProbeObservation(
                    method: .invite, subject: .existing, user: "100", repetition: rep, finalStatus: 487,
                    reasonPhrase: "Request Terminated", provisionalStatuses: [180], responseCount: 2,
                    latencyMilliseconds: 1002 + Double(rep), firstResponseMilliseconds: 0.5,
                    headers: Self.plain, cleanup: ["CANCEL", "ACK"]),
                obs(.invite, .unknown, 404, "Not Found", latency: 0.4 + Double(rep) * 0.01, rep: rep),
            ]
        }
        let r = report(o, methods: [.invite])
        #expect(r.leaks)
        #expect(!r.findings.contains { $0.kind == .timing })
        #expect(r.methods[0].existingMedianMilliseconds == 0.5)
        #expect(r.findings[0].message.contains("existing user gets 180 then 487 Request Terminated after our CANCEL"))
    }

    @Test func productSpecificAdvice() {
        var asterisk = Self.plain
        asterisk.server = "Asterisk PBX 16.2.1"
        let r = report(triple(.register, existing: (401, "Unauthorized", asterisk), unknown: (404, "Not Found", asterisk)), methods: [.register])
        #expect(r.serverProduct == "Asterisk")
        #expect(r.remediation.map(\.product) == ["Any server", "Asterisk chan_sip", "Asterisk res_pjsip"])
        #expect(r.remediation[1].text.contains("alwaysauthreject=yes"))
        // Unknown product: every product's advice.
        var anon = Self.plain
        anon.server = nil
        let all = report(triple(.register, existing: (401, "Unauthorized", anon), unknown: (404, "Not Found", anon)), methods: [.register])
        #expect(all.serverProduct == nil)
        #expect(all.remediation.count == 1 + ProbeReport.adviceTable.count)
    }

    @Test func renderers() throws {
        var hostile = Self.plain
        hostile.server = "evil\u{1b}[2J\"quote\\"
        let r = report(
            triple(.register, existing: (401, "Unauthorized", Self.challenge401), unknown: (404, "Not Found\u{07}", hostile))
                + triple(.options, existing: (nil, nil, nil), unknown: (nil, nil, nil)), methods: [.register, .options])
        let text = r.renderText()
        #expect(text.contains("Verdict: LEAKS"))
        #expect(text.contains("[leak] REGISTER: existing user gets 401 Unauthorized (challenge)"))
        #expect(text.contains("What to change:"))
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        let json = r.renderJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["verdict"] as? String == "leak")
        #expect(object["leaks"] as? Bool == true)
        #expect(object["target"] as? String == "127.0.0.1:5070")
        let methods = try #require(object["methods"] as? [[String: Any]])
        #expect(methods.count == 2 && methods[0]["method"] as? String == "REGISTER" && methods[0]["leaks"] as? Bool == true)
        #expect(methods[1]["tested"] as? Bool == false && methods[1]["existingMedianMs"] is NSNull)
        let observations = try #require(object["observations"] as? [[String: Any]])
        #expect(observations.count == 12)
        let headers = observations.compactMap { $0["headers"] as? [String: Any] }
        #expect(headers.contains { $0["server"] as? String == "evil\u{1b}[2J\"quote\\" })
        #expect(observations[0]["latencyMs"] as? Double == 1)
        let findings = try #require(object["findings"] as? [[String: Any]])
        #expect(findings.first?["kind"] as? String == "status-code")
    }

    @Test func simulatedServers() throws {
        /// A registrar that 404s unknown users before authentication (like the lab's Kamailio).
        func leaky(_ r: ParsedRequest, _ bytes: [UInt8]) throws -> [(delay: Duration, datagram: [UInt8])] {
            let known = (100...109).map(String.init).contains(r.toUser ?? "")
            switch r.method {
            case "OPTIONS": return [(.milliseconds(1), try response(to: bytes, status: 200, reason: "OK"))]
            case "ACK": return []
            case "REGISTER":
                return [
                    (
                        .milliseconds(1),
                        known
                            ? try response(
                                to: bytes, status: 401, reason: "Unauthorized",
                                headers: ["WWW-Authenticate: Digest realm=\"x\", nonce=\"\(r.callID)\""])
                            : try response(to: bytes, status: 404, reason: "Not Found")
                    )
                ]
            default:
                return [
                    (
                        .milliseconds(1),
                        known
                            ? try response(
                                to: bytes, status: 407, reason: "Proxy Authentication Required",
                                headers: ["Proxy-Authenticate: Digest realm=\"x\", nonce=\"\(r.callID)\""])
                            : try response(to: bytes, status: 404, reason: "Not Found")
                    )
                ]
            }
        }
        /// Challenges everyone first.
        func strict(_ r: ParsedRequest, _ bytes: [UInt8]) throws -> [(delay: Duration, datagram: [UInt8])] {
            switch r.method {
            case "OPTIONS": return [(.milliseconds(1), try response(to: bytes, status: 200, reason: "OK"))]
            case "ACK": return []
            case "REGISTER":
                return [
                    (
                        .milliseconds(1),
                        try response(
                            to: bytes, status: 401, reason: "Unauthorized", headers: ["WWW-Authenticate: Digest realm=\"x\", nonce=\"\(r.callID)\""])
                    )
                ]
            default:
                return [
                    (
                        .milliseconds(1),
                        try response(
                            to: bytes, status: 407, reason: "Proxy Authentication Required",
                            headers: ["Proxy-Authenticate: Digest realm=\"x\", nonce=\"\(r.callID)\""])
                    )
                ]
            }
        }
        var a = try makeProbe()
        let sentA = try simulate(&a, server: leaky)
        let ra = a.report()
        #expect(ra.verdict == .leak)
        #expect(ra.methods.map(\.leaks) == [true, true, false])
        #expect(a.observations.count == 18)
        // Every INVITE got exactly one ACK.
        let parsed = try sentA.map { try ParsedRequest($0.bytes) }
        #expect(parsed.filter { $0.method == "ACK" }.count == parsed.filter { $0.method == "INVITE" }.count)
        var b = try makeProbe()
        try simulate(&b, server: strict)
        let rb = b.report()
        #expect(rb.verdict == .noLeak)
        #expect(rb.methods.allSatisfy { $0.tested && !$0.leaks })
    }
}
