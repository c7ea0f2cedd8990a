// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress
public import WardenCore

/// Where a case stands. The traffic decides `mitigated` and `resumed`; mail decides
/// `acknowledged`; the clock decides `overdue`.
public enum CaseState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Opened from a ban; nothing sent yet.
    case detected
    /// Waiting for the operator's approval to send (review mode).
    case review
    /// Reported; no answer and the sources not silent yet.
    case sent
    /// The network answered (an acknowledgement or a person).
    case acknowledged
    /// The sources have been silent for the configured time since the report.
    case mitigated
    /// The sources came back after being called mitigated.
    case resumed
    /// A deadline passed (no acknowledgement, or the attack went on).
    case overdue
    /// Reported further up the ladder (next contact, national CERT, law enforcement).
    case escalated
    /// Finished (by the operator, or mitigated long enough).
    case closed
}

/// The steps up from the network's own abuse desk.
public enum EscalationStep: String, Sendable, Hashable, Codable, CaseIterable {
    /// The next contact: the allocation holder or upstream AS; for a dead contact, the
    /// regional registry's report procedure.
    case nextContact = "next-contact"
    /// The national CERT of the source's country.
    case nationalCERT = "national-cert"
    /// An evidence pack for law enforcement, and a notice to the operator.
    case lawEnforcement = "law-enforcement"
}

/// Deadlines and the rules that apply them (defaults: "within hours", not "over a week").
public struct CasePolicy: Sendable, Hashable {
    /// Nothing is sent until the operator approves (`cases approve ID`).
    public var review: Bool
    /// An acknowledgement is expected within this time of the report.
    public var acknowledgeWithin: Duration
    /// The attack is expected to stop within this time of the report.
    public var mitigateWithin: Duration
    /// Sources silent this long after the report (or after their last packet) are mitigated.
    public var silenceForMitigated: Duration
    /// Escalation steps need the operator's approval (unless false).
    public var approveEscalations: Bool
    /// A case mitigated this long is closed.
    public var closeAfterMitigated: Duration

    public init(
        review: Bool = true, acknowledgeWithin: Duration = .seconds(24 * 3600), mitigateWithin: Duration = .seconds(72 * 3600),
        silenceForMitigated: Duration = .seconds(6 * 3600), approveEscalations: Bool = true, closeAfterMitigated: Duration = .seconds(14 * 86_400)
    ) {
        self.review = review
        self.acknowledgeWithin = acknowledgeWithin
        self.mitigateWithin = mitigateWithin
        self.silenceForMitigated = silenceForMitigated
        self.approveEscalations = approveEscalations
        self.closeAfterMitigated = closeAfterMitigated
    }
}

/// Something that happened to a case, kept with it (its history).
public struct CaseRecord: Sendable, Hashable, Codable {
    public var time: Timestamp
    public var state: CaseState
    public var note: String
}

/// What the lifecycle asks the shell to do.
public enum CaseAction: Sendable, Hashable {
    /// Send the report to the contact at `contactIndex` (of ``AbuseCase/contacts``).
    case sendReport(contactIndex: Int)
    /// Ask the operator to approve sending (review mode) or an escalation step.
    case requestApproval(String)
    /// Carry out an escalation step (send to the next contact, the CERT; write the pack).
    case escalate(EscalationStep)
    /// Tell the operator (a notice in the log and the dashboard).
    case notifyOperator(String)
}

/// One abuse case: the sources of one network reported together, and all that followed.
public struct AbuseCase: Sendable, Hashable, Codable {
    public var id: UUID
    public var sources: [IPAddress]
    public var asn: UInt32?
    public var organisation: String?
    /// Contacts in the order to try (the abuse desk first; later ones after a bounce).
    public var contacts: [String]
    public var currentContact: Int
    public internal(set) var state: CaseState
    public internal(set) var history: [CaseRecord]
    public var ticket: String?
    public internal(set) var openedAt: Timestamp
    public internal(set) var reportedAt: Timestamp?
    public internal(set) var acknowledgedAt: Timestamp?
    public internal(set) var mitigatedAt: Timestamp?
    /// The last packet or failure seen from any of the sources.
    public internal(set) var lastTrafficAt: Timestamp?
    /// Escalation steps taken, in order.
    public internal(set) var escalations: [EscalationStep]
    /// The step waiting for the operator's approval, if any.
    public internal(set) var pendingEscalation: EscalationStep?
    /// When the current deadlines started (the report, or the last escalation/resumption).
    public internal(set) var clockStart: Timestamp?
    /// Whether it ever resumed, bounced, was acknowledged (for the scorecard).
    public internal(set) var everResumed = false
    public internal(set) var bounces = 0

    public init(
        id: UUID, sources: [IPAddress], asn: UInt32?, organisation: String?, contacts: [String], openedAt: Timestamp, lastTrafficAt: Timestamp?
    ) {
        self.id = id
        self.sources = sources
        self.asn = asn
        self.organisation = organisation
        self.contacts = contacts
        currentContact = 0
        state = .detected
        history = [CaseRecord(time: openedAt, state: .detected, note: "opened for \(sources.map(\.description).joined(separator: ", "))")]
        self.openedAt = openedAt
        self.lastTrafficAt = lastTrafficAt
        escalations = []
    }

    mutating func move(to next: CaseState, at time: Timestamp, _ note: String) {
        state = next
        history.append(CaseRecord(time: time, state: next, note: note))
    }

    mutating func note(_ text: String, at time: Timestamp) {
        history.append(CaseRecord(time: time, state: state, note: text))
    }
}
