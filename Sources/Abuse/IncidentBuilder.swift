// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress
public import WardenCore

/// Builds the ``AbuseIncident`` a report tells from a ban and the events that led to it
/// (the ledger keeps both). Pure: the same ban and events give the same incident.
///
/// The source is the banned address — the IP header's or the log's, as the detector
/// judged it — never an address an attacker wrote into a field. The evidence is
/// sipwarden's own record of each event, one line per event, in time order: when, how,
/// from where to where, what was tried and where sipwarden saw it (log file and line, or
/// capture sensor). Attacker-written fields (user names, User-Agents) are quoted and
/// stripped of control characters, so they cannot forge a line of the report.
public enum IncidentBuilder {
    /// What went wrong building an incident.
    public enum BuildError: Error, Hashable, Sendable, CustomStringConvertible {
        /// A prefix ban stands for many hosts; a report is about one source address.
        case notAHost(IPNetwork)
        /// The ban has no events of that source (an operator's or a feed's ban).
        case noEvidence(IPNetwork)

        public var description: String {
            switch self {
            case .notAHost(let n): "\(n) is a prefix ban: report its hosts one by one"
            case .noEvidence(let n): "the ban of \(n) has no recorded events to report (an operator's or a feed's ban?)"
            }
        }
    }

    /// Most evidence lines in one incident (the first ones, then the last ones).
    public static let evidenceLineLimit = 200
    /// Most user names and User-Agents listed.
    public static let distinctValueLimit = 50

    /// The incident of `ban`, reported under `caseID`.
    /// - Parameter events: the ban's evidence (any order); events of other sources and
    ///   successes are ignored.
    public static func incident(caseID: UUID, ban: Ban, events: [SecurityEvent]) throws(BuildError) -> AbuseIncident {
        guard ban.network.isHost else { throw .notAHost(ban.network) }
        let source = ban.network.address.unmapped
        let attempts =
            events
            .filter { $0.source.unmapped == source && $0.kind != .authSucceeded }
            .sorted { $0.time < $1.time }
        guard let first = attempts.first, let last = attempts.last else { throw .noEvidence(ban.network) }
        let lines = evidenceLines(attempts)
        let evidence = EvidenceItem(
            contentType: "text/plain", description: "sipwarden's record of the \(attempts.count) failed attempts (one line each)",
            bytes: Array(lines.joined(separator: "\n").utf8) + [0x0A])
        var incident = AbuseIncident(
            caseID: caseID, source: source, sourcePort: mostCommon(attempts.compactMap(\.sourcePort)),
            destination: mostCommon(attempts.compactMap(\.destination)), destinationPort: mostCommon(attempts.compactMap(\.destinationPort)),
            transport: mostCommon(attempts.compactMap(\.transport)) ?? .udp,
            firstSeen: first.time, lastSeen: last.time, thresholdExceeded: ban.created,
            attempts: attempts.count, pattern: pattern(rule: ban.rule, events: attempts),
            usersTried: distinct(attempts.compactMap(\.user)), userAgents: distinct(attempts.compactMap(\.userAgent)),
            evidence: [evidence])
        incident.knownAccounts = distinct(attempts.filter { $0.kind == .authFailed }.compactMap(\.user))
        return incident
    }

    /// The attack's shape: the rule that banned it first, then what the events say.
    static func pattern(rule: BanRule, events: [SecurityEvent]) -> AttackPattern {
        switch rule {
        case .enumeration, .kind(.unknownUser): return .enumeration
        case .kind(.scanner): return .scanning
        case .kind(.flood): return .flood
        default: break
        }
        var counts: [EventKind: Int] = [:]
        for e in events { counts[e.kind, default: 0] += 1 }
        let users = Set(events.compactMap(\.user))
        if (counts[.unknownUser] ?? 0) > (counts[.authFailed] ?? 0) || users.count > max(3, events.count / 2) { return .enumeration }
        if (counts[.scanner] ?? 0) * 2 > events.count { return .scanning }
        if (counts[.flood] ?? 0) * 2 > events.count { return .flood }
        return .bruteForce
    }

    /// One line per event; past the limit, the first half and the last half with a marker.
    static func evidenceLines(_ events: [SecurityEvent]) -> [String] {
        guard events.count > evidenceLineLimit else { return events.map(line) }
        let half = evidenceLineLimit / 2
        return events.prefix(half).map(line) + ["… \(events.count - 2 * half) more attempts of the same kind …"] + events.suffix(half).map(line)
    }

    /// `2026-12-03T08:00:00.123456Z udp 198.18.0.5:5060 -> 198.19.0.1:5060 auth_failed user="100" ua="friendly-scanner" (log /var/log/kamailio.log:1234)`
    static func line(_ e: SecurityEvent) -> String {
        var parts = [timestamp(e.time), (e.transport ?? .udp).rawValue]
        let from = endpoint(e.source, e.sourcePort)
        if let destination = e.destination {
            parts.append("\(from) -> \(endpoint(destination, e.destinationPort))")
        } else if let port = e.destinationPort {
            parts.append("\(from) -> port \(port)")
        } else {
            parts.append(from)
        }
        parts.append(e.kind.rawValue)
        if let user = e.user { parts.append("user=\(quoted(user))") }
        if let ua = e.userAgent { parts.append("ua=\(quoted(ua))") }
        if let callID = e.callID { parts.append("call-id=\(quoted(callID))") }
        switch e.origin {
        case .logLine(let file, let line): parts.append(line > 0 ? "(log \(file):\(line))" : "(log \(file))")
        case .frame(let file, let number): parts.append(number > 0 ? "(capture \(file) frame \(number))" : "(capture \(file))")
        case .wire(let sensor): parts.append("(\(sensor))")
        }
        return parts.joined(separator: " ")
    }

    /// RFC 3339 UTC with microseconds: `2026-12-03T08:00:00.123456Z`.
    static func timestamp(_ t: Timestamp) -> String {
        let fraction = ((t.microseconds % 1_000_000) + 1_000_000) % 1_000_000
        let digits = String(fraction)
        return String(t.rfc3339.dropLast()) + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    static func endpoint(_ address: IPAddress, _ port: UInt16?) -> String {
        let a = address.unmapped
        guard let port else { return a.description }
        if case .v4 = a { return "\(a):\(port)" }
        return "[\(a)]:\(port)"
    }

    /// An attacker-written value, quoted, its control characters and quotes escaped, cut
    /// to 128 characters.
    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars.prefix(128) {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format:
                out += String(format: "\\u{%X}", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func distinct(_ values: [String]) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for v in values where seen.insert(v).inserted {
            out.append(v)
            if out.count == distinctValueLimit { break }
        }
        return out
    }

    /// The most frequent value (the earliest of equally frequent ones).
    static func mostCommon<T: Hashable>(_ values: [T]) -> T? {
        var counts: [T: Int] = [:]
        var best: (value: T, count: Int)?
        for v in values {
            let c = counts[v, default: 0] + 1
            counts[v] = c
            if c > (best?.count ?? 0) { best = (v, c) }
        }
        return best?.value
    }
}
