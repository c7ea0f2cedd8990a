// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing
import WardenCore

@testable import Abuse

private let t0 = Timestamp(seconds: 1_764_748_800) // 2025-12-03T08:00:00Z
private let attacker = IPAddress("198.18.7.9")!
private let server = IPAddress("198.19.0.1")!

private func failure(
    _ n: Int, source: IPAddress = attacker, kind: EventKind = .authFailed, user: String = "100", ua: String? = "friendly-scanner",
    port: UInt16 = 5062
) -> SecurityEvent {
    SecurityEvent(
        time: t0 + .milliseconds(250 * n), source: source, sourcePort: port, destination: server, destinationPort: 5060, transport: .udp,
        kind: kind, user: user, userAgent: ua, dialect: .kamailio, origin: .logLine(file: "/var/log/kamailio.log", line: 100 + n))
}

private func ban(_ network: String = "198.18.7.9", rule: BanRule = .failures, created: Timestamp = t0 + .seconds(2)) -> Ban {
    Ban(network: IPNetwork(network)!, rule: rule, origin: .detector, created: created, duration: .seconds(600), reason: "5 failures")
}

@Suite struct IncidentBuilderTests {
    @Test func anIncidentTellsTheBannedSourcesAttemptsInTimeOrder() throws {
        let events = [failure(3), failure(1, user: "101"), failure(2), failure(0), failure(4, source: IPAddress("198.18.7.10")!)]
        let id = UUID()
        let incident = try IncidentBuilder.incident(caseID: id, ban: ban(), events: events)
        #expect(incident.caseID == id)
        #expect(incident.source == attacker)
        #expect(incident.attempts == 4) // the other source's event is not this incident's
        #expect(incident.firstSeen == t0)
        #expect(incident.lastSeen == t0 + .milliseconds(750))
        #expect(incident.sourcePort == 5062)
        #expect(incident.destination == server)
        #expect(incident.destinationPort == 5060)
        #expect(incident.usersTried == ["100", "101"])
        #expect(incident.pattern == .bruteForce)
        let text = String(decoding: try #require(incident.evidence.first).bytes, as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(
            lines[0]
                == "2025-12-03T08:00:00.000000Z udp 198.18.7.9:5062 -> 198.19.0.1:5060 auth_failed user=\"100\" ua=\"friendly-scanner\" (log /var/log/kamailio.log:100)"
        )
        #expect(lines[1].contains("user=\"101\"") && lines[1].hasPrefix("2025-12-03T08:00:00.250000Z"))
    }

    @Test func theAccountsThePBXKnewAreRedactedByDefault() throws {
        // "100" failed with a wrong password (the PBX knows it); "admin" is no such user.
        let events = [failure(0), failure(1, kind: .unknownUser, user: "admin"), failure(2), failure(3, user: "101")]
        let incident = try IncidentBuilder.incident(caseID: UUID(), ban: ban(), events: events)
        #expect(incident.knownAccounts == ["100", "101"])
        let redacted = RedactionPolicy().apply(to: incident)
        #expect(redacted.usersTried == ["[redacted]", "admin", "[redacted]"])
        #expect(redacted.knownAccounts.isEmpty, "the list of real accounts never leaves")
        let text = String(decoding: redacted.evidence[0].bytes, as: UTF8.self)
        #expect(!text.contains("\"100\"") && !text.contains("\"101\"") && text.contains("user=\"admin\""))
        #expect(text.contains("198.18.7.9:5062"), "an account name inside an address or port is not touched")
        let kept = RedactionPolicy(redactAccountsTheServerKnows: false).apply(to: incident)
        #expect(kept.usersTried == ["100", "admin", "101"])
    }

    @Test func attackerWrittenFieldsCannotForgeALine() throws {
        let events = [failure(0, user: "x\"\n2025-12-03T00:00:00Z udp 203.0.113.1 auth_failed", ua: "ua\u{1B}[2J\u{202E}")]
        let incident = try IncidentBuilder.incident(caseID: UUID(), ban: ban(), events: events)
        let text = String(decoding: incident.evidence[0].bytes, as: UTF8.self)
        #expect(text.split(separator: "\n").count == 1)
        #expect(text.contains(#"user="x\"\u{A}2025"#))
        #expect(text.contains(#"ua="ua\u{1B}[2J\u{202E}""#))
    }

    @Test func patternsFollowTheRuleThenTheEvents() throws {
        let scans = (0..<5).map { failure($0, kind: .scanner) }
        #expect(try IncidentBuilder.incident(caseID: UUID(), ban: ban(rule: .kind(.scanner)), events: scans).pattern == .scanning)
        let users = (0..<8).map { failure($0, kind: .unknownUser, user: "\(200 + $0)") }
        #expect(try IncidentBuilder.incident(caseID: UUID(), ban: ban(), events: users).pattern == .enumeration)
        #expect(try IncidentBuilder.incident(caseID: UUID(), ban: ban(rule: .enumeration), events: [failure(0)]).pattern == .enumeration)
    }

    @Test func prefixBansAndBansWithoutEventsAreRefused() {
        #expect(throws: IncidentBuilder.BuildError.notAHost(IPNetwork("198.18.7.0/24")!)) {
            try IncidentBuilder.incident(caseID: UUID(), ban: ban("198.18.7.0/24"), events: [failure(0)])
        }
        #expect(throws: IncidentBuilder.BuildError.noEvidence(IPNetwork("198.18.7.9/32")!)) {
            try IncidentBuilder.incident(caseID: UUID(), ban: ban(), events: [failure(0, kind: .authSucceeded)])
        }
    }

    @Test func longAttacksKeepTheirFirstAndLastLines() throws {
        let events = (0..<1_000).map { failure($0) }
        let incident = try IncidentBuilder.incident(caseID: UUID(), ban: ban(), events: events)
        let lines = String(decoding: incident.evidence[0].bytes, as: UTF8.self).split(separator: "\n")
        #expect(incident.attempts == 1_000)
        #expect(lines.count == IncidentBuilder.evidenceLineLimit + 1)
        #expect(lines[100] == "… 800 more attempts of the same kind …")
        #expect(lines.last!.contains("kamailio.log:1099"))
    }
}

@Suite struct AbuseIPDBReportTests {
    private func incident() throws -> AbuseIncident {
        try IncidentBuilder.incident(caseID: UUID(), ban: ban(), events: (0..<12).map { failure($0, user: "\(100 + $0)") })
    }

    @Test func theReportIsRedactedAndFormEncoded() throws {
        let report = AbuseIPDBReport(
            incident: try incident(),
            redaction: RedactionPolicy(
                ownNetworks: IPNetworkSet([IPNetwork("198.19.0.1/32")!]), accountNames: ["101"], redactAccountsTheServerKnows: false))
        #expect(report.address == attacker)
        #expect(report.categories == [8, 18])
        #expect(report.comment.contains("12 failed attempts over SIP/UDP to port 5060, 2025-12-03T08:00:00Z to 2025-12-03T08:00:02Z."))
        #expect(report.comment.contains(#""100", "[redacted]", "102""#))
        #expect(!report.comment.contains("198.19.0.1"))
        #expect(report.comment.contains(", ….")) // more than ten accounts
        let body = report.formBody
        // Twelve accounts, one try each: enumeration, in words a desk reads.
        #expect(body.hasPrefix("ip=198.18.7.9&categories=8%2C18&comment=SIP+extension+enumeration+%28requests+for+many"))
        #expect(body.hasSuffix("&timestamp=2025-12-03T08%3A00%3A02Z"))
        // An IPv6 source's colons are encoded.
        let v6 = AbuseIPDBReport(address: IPAddress("2001:2::9")!, categories: [8], comment: "a&b=c ü", attackTime: t0)
        #expect(v6.formBody == "ip=2001%3A2%3A%3A9&categories=8&comment=a%26b%3Dc+%C3%BC&timestamp=2025-12-03T08%3A00%3A00Z")
    }

    @Test func longCommentsAreCutAtACharacterBoundary() {
        let report = AbuseIPDBReport(address: attacker, categories: [8], comment: String(repeating: "é", count: 2_000), attackTime: t0)
        #expect(report.comment.utf8.count <= AbuseIPDBReport.commentLimit)
        #expect(report.comment.hasSuffix("é…"))
    }

    @Test func answersAreClassified() {
        func parse(_ status: Int, _ body: String, retryAfter: String? = nil) -> AbuseIPDBAnswer {
            AbuseIPDBAnswer.parse(status: status, retryAfter: retryAfter, body: Array(body.utf8))
        }
        #expect(parse(200, #"{"data":{"ipAddress":"198.18.7.9","abuseConfidenceScore":52}}"#) == .accepted(score: 52))
        #expect(parse(200, "not json") == .accepted(score: nil))
        let limited = #"{"errors":[{"detail":"Daily rate limit of 1000 requests exceeded for this endpoint.","status":429}]}"#
        #expect(
            parse(429, limited, retryAfter: "3600")
                == .retry(after: .seconds(3600), detail: "Daily rate limit of 1000 requests exceeded for this endpoint."))
        #expect(
            parse(429, limited, retryAfter: "soon")
                == .retry(after: AbuseIPDBAnswer.defaultRetry, detail: "Daily rate limit of 1000 requests exceeded for this endpoint."))
        #expect(
            parse(429, limited, retryAfter: "9999999")
                == .retry(after: .seconds(86_400), detail: "Daily rate limit of 1000 requests exceeded for this endpoint."))
        let twice =
            #"{"errors":[{"detail":"You can only report the same IP address (`198.18.7.9`) once in 15 minutes.","status":429,"source":{"parameter":"ip"}}]}"#
        #expect(parse(429, twice) == .alreadyReported(detail: "You can only report the same IP address (`198.18.7.9`) once in 15 minutes."))
        let badKey = #"{"errors":[{"detail":"Authentication failed. Your API key is either missing, incorrect, or revoked.","status":401}]}"#
        #expect(parse(401, badKey) == .rejected(status: 401, detail: "Authentication failed. Your API key is either missing, incorrect, or revoked."))
        #expect(parse(503, "<html>") == .retry(after: AbuseIPDBAnswer.defaultRetry, detail: "HTTP 503"))
        #expect(parse(422, "{\"errors\":[]}") == .rejected(status: 422, detail: "HTTP 422"))
    }
}

@Suite struct AbuseIPDBQueueTests {
    private func report(_ address: String, at t: Timestamp = t0) -> AbuseIPDBReport {
        AbuseIPDBReport(address: IPAddress(address)!, categories: [8, 18], comment: "c", attackTime: t)
    }

    @Test func oneReportPerAddressPerFifteenMinutes() {
        var q = AbuseIPDBQueue()
        #expect(q.enqueue(report("198.18.0.1"), now: t0) == .queued)
        #expect(q.enqueue(report("198.18.0.1"), now: t0) == .merged)
        #expect(q.next(now: t0)?.address == IPAddress("198.18.0.1"))
        q.record(.accepted(score: 10), for: IPAddress("198.18.0.1")!, now: t0)
        #expect(q.pending.isEmpty)
        // Banned again five minutes later: queued, but waits until 15 minutes have passed.
        #expect(q.enqueue(report("198.18.0.1"), now: t0 + .seconds(300)) == .queued)
        #expect(q.next(now: t0 + .seconds(300)) == nil)
        #expect(q.nextChance(now: t0 + .seconds(300)) == t0 + .seconds(900))
        #expect(q.next(now: t0 + .seconds(900))?.address == IPAddress("198.18.0.1"))
    }

    @Test func anotherAddressIsNotHeldUpBySpacing() {
        var q = AbuseIPDBQueue()
        q.enqueue(report("198.18.0.1"), now: t0)
        q.record(.accepted(score: nil), for: IPAddress("198.18.0.1")!, now: t0)
        q.enqueue(report("198.18.0.1"), now: t0 + .seconds(1))
        q.enqueue(report("198.18.0.2"), now: t0 + .seconds(1))
        #expect(q.next(now: t0 + .seconds(2))?.address == IPAddress("198.18.0.2"))
    }

    @Test func retryAfterPausesTheQueueAndKeepsTheReport() {
        var q = AbuseIPDBQueue()
        q.enqueue(report("198.18.0.1"), now: t0)
        q.enqueue(report("198.18.0.2"), now: t0)
        q.record(.retry(after: .seconds(60), detail: "rate"), for: IPAddress("198.18.0.1")!, now: t0)
        #expect(q.pending.count == 2 && q.pending[0].attempts == 1)
        #expect(q.next(now: t0 + .seconds(59)) == nil)
        #expect(q.nextChance(now: t0) == t0 + .seconds(60))
        #expect(q.next(now: t0 + .seconds(60))?.address == IPAddress("198.18.0.1"))
    }

    @Test func refusalsLeaveTheQueueAndAreKept() {
        var q = AbuseIPDBQueue()
        q.enqueue(report("198.18.0.1"), now: t0)
        q.record(.rejected(status: 401, detail: "bad key"), for: IPAddress("198.18.0.1")!, now: t0)
        #expect(q.pending.isEmpty)
        #expect(q.refusals.map(\.status) == [401])
    }

    @Test func theDailyLimitHoldsUntilMidnightUTC() {
        var q = AbuseIPDBQueue(dailyLimit: 2)
        for i in 1...3 { q.enqueue(report("198.18.0.\(i)"), now: t0) }
        for i in 1...2 {
            let r = q.next(now: t0)!
            #expect(r.address == IPAddress("198.18.0.\(i)"))
            q.record(.accepted(score: nil), for: r.address, now: t0)
        }
        #expect(q.next(now: t0) == nil)
        let midnight = Timestamp(seconds: (1_764_748_800 / 86_400 + 1) * 86_400)
        #expect(q.nextChance(now: t0) == midnight)
        #expect(q.next(now: midnight)?.address == IPAddress("198.18.0.3"))
    }

    @Test func aResendAfterACrashIsAnsweredAsAlreadyReportedAndCountsOnce() throws {
        var q = AbuseIPDBQueue()
        q.enqueue(report("198.18.0.1"), now: t0)
        // Sent, then the process died before recording: the saved queue still has it.
        let saved = try JSONEncoder().encode(q)
        var restarted = try JSONDecoder().decode(AbuseIPDBQueue.self, from: saved)
        #expect(restarted == q)
        let again = try #require(restarted.next(now: t0 + .seconds(5)))
        restarted.record(.alreadyReported(detail: "once in 15 minutes"), for: again.address, now: t0 + .seconds(5))
        #expect(restarted.pending.isEmpty)
        #expect(restarted.refusals.isEmpty)
    }
}
