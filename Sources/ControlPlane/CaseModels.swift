// SPDX-License-Identifier: GPL-2.0-or-later

// The JSON of an abuse case and of a scorecard row: one encoding shared by the control
// plane (`/v1/cases`, `/v1/providers`) and the command line (`sipwarden cases list|show
// --json`, `sipwarden providers --json`), so the two never disagree. Keys are snake_case;
// times RFC 3339 in UTC; absent values are left out.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One abuse case. `history`, `messages` and `outbox` are present only where one case is
/// shown (`GET /v1/cases/{id}`, `sipwarden cases show --json`).
public struct CaseView: Codable, Sendable, Hashable {
    /// The case's UUID, lower case.
    public var id: String
    /// `detected`, `review`, `sent`, `acknowledged`, `mitigated`, `resumed`, `overdue`,
    /// `escalated` or `closed`.
    public var state: String
    /// The banned addresses the case reports.
    public var sources: [String]
    /// The abuse mailboxes, in the order they are tried.
    public var contacts: [String]
    /// Index into `contacts` of the one written to now.
    public var currentContact: Int
    public var opened: String
    /// Escalation steps taken.
    public var escalations: [String]
    /// Bounces received.
    public var bounces: Int
    public var asn: Int64?
    public var organisation: String?
    /// The provider's ticket number, from its acknowledgement.
    public var ticket: String?
    public var reported: String?
    public var acknowledged: String?
    public var mitigated: String?
    /// The sources' last packet seen (into the ban or after it).
    public var lastTraffic: String?
    /// The escalation step waiting for the operator's approval.
    public var pendingEscalation: String?
    public var history: [CaseHistoryView]?
    public var messages: [CaseMessageView]?
    public var outbox: [CaseOutboxView]?

    public init(
        id: String, state: String, sources: [String], contacts: [String], currentContact: Int, opened: String,
        escalations: [String], bounces: Int
    ) {
        self.id = id
        self.state = state
        self.sources = sources
        self.contacts = contacts
        self.currentContact = currentContact
        self.opened = opened
        self.escalations = escalations
        self.bounces = bounces
    }

    enum CodingKeys: String, CodingKey {
        case id, state, sources, contacts, opened, escalations, bounces, asn, organisation, ticket, reported, acknowledged, mitigated
        case history, messages, outbox
        case currentContact = "current_contact"
        case lastTraffic = "last_traffic"
        case pendingEscalation = "pending_escalation"
    }
}

/// One step of a case's timeline.
public struct CaseHistoryView: Codable, Sendable, Hashable {
    public var time: String
    public var state: String
    public var note: String
    public init(time: String, state: String, note: String) {
        self.time = time
        self.state = state
        self.note = note
    }
}

/// A message kept with a case: a report that went out, or an answer (classified).
public struct CaseMessageView: Codable, Sendable, Hashable {
    /// `in` or `out`.
    public var direction: String
    public var time: String
    public var messageID: String?
    /// The other side's address (attacker-influenced for answers: escape before printing).
    public var peer: String?
    /// An answer's class: `acknowledgement`, `bounce`, `out-of-office`, `feedback-report` or `human`.
    public var kind: String?
    public var ticket: String?

    public init(direction: String, time: String, messageID: String?, peer: String?, kind: String?, ticket: String?) {
        self.direction = direction
        self.time = time
        self.messageID = messageID
        self.peer = peer
        self.kind = kind
        self.ticket = ticket
    }

    enum CodingKeys: String, CodingKey {
        case direction, time, peer, kind, ticket
        case messageID = "message_id"
    }
}

/// A report in the case's outbox.
public struct CaseOutboxView: Codable, Sendable, Hashable {
    public var messageID: String
    public var recipient: String
    /// `pending-approval` (review), `queued`, `handing-over`, `sent` or `failed`.
    public var state: String
    public var attempts: Int
    public var sent: String?

    public init(messageID: String, recipient: String, state: String, attempts: Int, sent: String?) {
        self.messageID = messageID
        self.recipient = recipient
        self.state = state
        self.attempts = attempts
        self.sent = sent
    }

    enum CodingKeys: String, CodingKey {
        case recipient, state, attempts, sent
        case messageID = "message_id"
    }
}

/// One row of the provider scorecard: how one network handled the reports sent to it.
public struct ProviderScoreView: Codable, Sendable, Hashable {
    public var asn: Int64?
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

    public init(
        asn: Int64?, organisation: String?, cases: Int, reported: Int, bounced: Int, acknowledged: Int,
        medianSecondsToAcknowledge: Int64?, medianSecondsUntilStopped: Int64?, resumedShare: Double?, neverActedShare: Double?,
        overdueNow: Int
    ) {
        self.asn = asn
        self.organisation = organisation
        self.cases = cases
        self.reported = reported
        self.bounced = bounced
        self.acknowledged = acknowledged
        self.medianSecondsToAcknowledge = medianSecondsToAcknowledge
        self.medianSecondsUntilStopped = medianSecondsUntilStopped
        self.resumedShare = resumedShare
        self.neverActedShare = neverActedShare
        self.overdueNow = overdueNow
    }

    enum CodingKeys: String, CodingKey {
        case asn, organisation, cases, reported, bounced, acknowledged
        case medianSecondsToAcknowledge = "median_seconds_to_acknowledge"
        case medianSecondsUntilStopped = "median_seconds_until_stopped"
        case resumedShare = "resumed_share"
        case neverActedShare = "never_acted_share"
        case overdueNow = "overdue_now"
    }
}

extension CaseView {
    /// The one encoding of cases and scorecard rows (sorted keys, slashes unescaped), for
    /// the command line's `--json`.
    public static func encodedLine(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
