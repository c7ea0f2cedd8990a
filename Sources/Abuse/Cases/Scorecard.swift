// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import WardenCore

/// How one network (AS and organisation) has handled the reports sent to it.
public struct ProviderScore: Sendable, Hashable, Codable {
    public var asn: UInt32?
    public var organisation: String?
    public var cases: Int
    /// Cases whose report went out.
    public var reported: Int
    /// Cases with at least one bounce.
    public var bounced: Int
    public var acknowledged: Int
    public var medianSecondsToAcknowledge: Int64?
    /// From the report to the sources' last packet, over mitigated cases.
    public var medianSecondsUntilStopped: Int64?
    /// Share (0…1) of mitigated cases whose sources came back.
    public var resumedShare: Double?
    /// Share (0…1) of reported cases past the mitigation deadline with neither an answer
    /// nor the attack stopping.
    public var neverActedShare: Double?
    /// Cases overdue or escalated now.
    public var overdueNow: Int

    /// The JSON names (`providers --json`, `/v1/providers`): snake case, as the case views.
    enum CodingKeys: String, CodingKey {
        case asn, organisation, cases, reported, bounced, acknowledged
        case medianSecondsToAcknowledge = "median_seconds_to_acknowledge"
        case medianSecondsUntilStopped = "median_seconds_until_stopped"
        case resumedShare = "resumed_share"
        case neverActedShare = "never_acted_share"
        case overdueNow = "overdue_now"
    }
}

/// The provider scorecard: the answer, with data, to "should I bother to report, or block
/// the range for ever?". Pure.
public enum Scorecard {
    public static func compute(_ cases: [AbuseCase], now: Timestamp, policy: CasePolicy) -> [ProviderScore] {
        let groups = Dictionary(grouping: cases) { ProviderKey(asn: $0.asn, organisation: $0.asn == nil ? $0.organisation : nil) }
        return groups.map { key, cases in
            let reported = cases.filter { $0.reportedAt != nil }
            let acknowledged = reported.compactMap { c in c.acknowledgedAt.map { $0 - c.reportedAt! } }
            let mitigated = reported.filter { $0.mitigatedAt != nil }
            let stopped = mitigated.map { c in max(c.lastTrafficAt ?? c.reportedAt!, c.reportedAt!) - c.reportedAt! }
            let due = reported.filter { now - $0.reportedAt! >= policy.mitigateWithin }
            let neverActed = due.filter { $0.acknowledgedAt == nil && $0.mitigatedAt == nil }
            return ProviderScore(
                asn: key.asn, organisation: cases.compactMap(\.organisation).first, cases: cases.count, reported: reported.count,
                bounced: cases.filter { $0.bounces > 0 }.count, acknowledged: acknowledged.count,
                medianSecondsToAcknowledge: median(acknowledged), medianSecondsUntilStopped: median(stopped),
                resumedShare: mitigated.isEmpty ? nil : Double(mitigated.filter(\.everResumed).count) / Double(mitigated.count),
                neverActedShare: due.isEmpty ? nil : Double(neverActed.count) / Double(due.count),
                overdueNow: cases.filter(\.isOverdueNow).count
            )
        }
        .sorted { ($0.neverActedShare ?? -1, $0.cases, $0.asn ?? 0) > ($1.neverActedShare ?? -1, $1.cases, $1.asn ?? 0) }
    }

    /// The ids of the cases overdue now (``ProviderScore/overdueNow``'s cases), per AS, in
    /// the order given. Cases without an AS are not counted: a range rule has no AS to
    /// block for them (`ranges.overdue-block`, docs/RANGES.md).
    public static func overdueByAS(_ cases: [AbuseCase]) -> [UInt32: [UUID]] {
        var result: [UInt32: [UUID]] = [:]
        for c in cases where c.isOverdueNow {
            guard let asn = c.asn else { continue }
            result[asn, default: []].append(c.id)
        }
        return result
    }

    /// The median in whole seconds (the lower middle for an even count).
    static func median(_ durations: [Duration]) -> Int64? {
        guard !durations.isEmpty else { return nil }
        let sorted = durations.map { $0.components.seconds }.sorted()
        return sorted[(sorted.count - 1) / 2]
    }

    private struct ProviderKey: Hashable {
        var asn: UInt32?
        var organisation: String?
    }
}

extension AbuseCase {
    /// A deadline passed and nothing has stopped the attack since: `overdue` or `escalated`
    /// (the scorecard's `overdueNow`).
    public var isOverdueNow: Bool { state == .overdue || state == .escalated }
}
