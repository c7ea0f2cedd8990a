// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Abuse cases and the provider scorecard through the control plane (`/v1/cases`,
/// `/v1/providers`; docs/ABUSE.md): the daemon implements it over its running case engine
/// (the ledger's case tables, one transaction per change, the engine woken after a change),
/// so a change through the API and one through `sipwarden cases` never overwrite each other.
public protocol CaseAdministration: Sendable {
    /// The cases, most recently changed first, at most `limit`: those in `state` when given,
    /// else every case but the closed ones unless `includeClosed`. Without history,
    /// messages and outbox.
    func cases(state: String?, includeClosed: Bool, limit: Int) throws(AdministrationError) -> [CaseView]
    /// One case with its history, messages and outbox; nil when there is no such case.
    func abuseCase(id: UUID) throws(AdministrationError) -> CaseView?
    /// What `sipwarden cases approve` does: the case's held reports leave (review mode), or
    /// the escalation step waiting for approval is taken. Nil when there is no such case.
    func approve(id: UUID) throws(AdministrationError) -> CaseApproval?
    /// Closes the case (nothing more is sent or escalated); nil when there is no such case.
    func close(id: UUID, reason: String) throws(AdministrationError) -> CaseView?
    /// The provider scorecard, one row per network (AS, or organisation without one).
    func providers() throws(AdministrationError) -> [ProviderScoreView]
}

/// The names of the case states (`CaseState` in the Abuse module), for validating `state=`.
public enum CaseStates {
    /// In lifecycle order.
    public static let names = [
        "detected", "review", "sent", "acknowledged", "mitigated", "resumed", "overdue", "escalated", "closed",
    ]
}

/// The answer to `POST /v1/cases/{id}/approve`.
public struct CaseApproval: Codable, Sendable, Hashable {
    /// The case after the approval.
    public var abuseCase: CaseView
    /// Reports released from review (0 when none was held).
    public var released: Int
    /// The escalation step taken (`next-contact`, `national-cert`, `law-enforcement`), if
    /// one was waiting.
    public var escalation: String?

    public init(abuseCase: CaseView, released: Int, escalation: String?) {
        self.abuseCase = abuseCase
        self.released = released
        self.escalation = escalation
    }

    enum CodingKeys: String, CodingKey {
        case released, escalation
        case abuseCase = "case"
    }
}

/// The body of `POST /v1/cases/{id}/close` (may be absent).
public struct CaseCloseRequestBody: Codable, Sendable, Hashable {
    /// Why (kept in the case's history); default "closed by the operator".
    public var reason: String?
    public init(reason: String?) { self.reason = reason }
}

/// `GET /v1/cases`.
public struct CaseList: Codable, Sendable, Hashable {
    public var cases: [CaseView]
    public init(cases: [CaseView]) { self.cases = cases }
}

/// `GET /v1/providers`.
public struct ProviderList: Codable, Sendable, Hashable {
    public var providers: [ProviderScoreView]
    public init(providers: [ProviderScoreView]) { self.providers = providers }
}

extension ControlPlaneConfiguration {
    /// The same configuration serving `/v1/cases` and `/v1/providers` through `cases`.
    public func withCases(_ cases: (any CaseAdministration)?) -> ControlPlaneConfiguration {
        var copy = self
        copy.cases = cases
        return copy
    }
}
