// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import ControlPlane
public import Foundation
public import Storage
public import WardenCore

/// The one mapping from a case (and its messages and outbox) and a scorecard row to their
/// JSON views, used by the control plane and by `sipwarden cases|providers --json`.
extension CaseView {
    /// The case; with `messages` and `outbox` (one case shown) also its history.
    public init(_ c: AbuseCase, messages: [CaseMessage]? = nil, outbox: [OutboxEntry]? = nil) {
        self.init(
            id: c.id.uuidString.lowercased(), state: c.state.rawValue, sources: c.sources.map(\.description), contacts: c.contacts,
            currentContact: c.currentContact, opened: c.openedAt.rfc3339, escalations: c.escalations.map(\.rawValue), bounces: c.bounces)
        asn = c.asn.map { Int64($0) }
        organisation = c.organisation
        ticket = c.ticket
        reported = c.reportedAt?.rfc3339
        acknowledged = c.acknowledgedAt?.rfc3339
        mitigated = c.mitigatedAt?.rfc3339
        lastTraffic = c.lastTrafficAt?.rfc3339
        pendingEscalation = c.pendingEscalation?.rawValue
        guard messages != nil || outbox != nil else { return }
        history = c.history.map { CaseHistoryView(time: $0.time.rfc3339, state: $0.state.rawValue, note: $0.note) }
        self.messages = messages.map { list in
            list.map { m in
                CaseMessageView(
                    direction: m.direction.rawValue, time: m.time.rfc3339, messageID: m.messageID, peer: m.peer,
                    kind: m.classification?.kind.rawValue, ticket: m.classification?.ticket)
            }
        }
        self.outbox = outbox.map { list in
            list.map { e in
                CaseOutboxView(messageID: e.messageID, recipient: e.recipient, state: e.state.rawValue, attempts: e.attempts, sent: e.sentAt?.rfc3339)
            }
        }
    }

    /// Case `id` as `GET /v1/cases/{id}` and `sipwarden cases show --json` show it, or nil.
    public static func shown(_ id: UUID, store: CaseStore) throws(LedgerError) -> CaseView? {
        guard let c = try store.abuseCase(id: id) else { return nil }
        return CaseView(c, messages: try store.messages(caseID: id), outbox: try store.outbox(caseID: id, limit: 10_000))
    }
}

extension ProviderScoreView {
    /// The scorecard row's view.
    public init(_ s: ProviderScore) {
        self.init(
            asn: s.asn.map { Int64($0) }, organisation: s.organisation, cases: s.cases, reported: s.reported, bounced: s.bounced,
            acknowledged: s.acknowledged, medianSecondsToAcknowledge: s.medianSecondsToAcknowledge,
            medianSecondsUntilStopped: s.medianSecondsUntilStopped, resumedShare: s.resumedShare, neverActedShare: s.neverActedShare,
            overdueNow: s.overdueNow)
    }

    /// The scorecard over every case in `store`, as the control plane and `sipwarden
    /// providers` show it.
    public static func scorecard(_ store: CaseStore, policy: CasePolicy, now: Timestamp) throws(LedgerError) -> [ProviderScoreView] {
        Scorecard.compute(try store.cases(limit: 1_000_000), now: now, policy: policy).map(ProviderScoreView.init)
    }
}
