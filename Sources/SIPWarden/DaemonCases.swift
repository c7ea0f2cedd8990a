// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import ControlPlane
import Foundation
import Logging
import Storage
import WardenCore

/// The daemon's side of `/v1/cases` and `/v1/providers`: reads from the ledger's case
/// tables, changes through the running `CaseEngine` (one transaction each, the same calls
/// `sipwarden cases approve|close` make), after which the case service's loop is woken
/// instead of waiting for its next tick.
final class DaemonCases: CaseAdministration {
    private let engine: CaseEngine
    private let wake: @Sendable () -> Void
    private let logger: Logger

    init(engine: CaseEngine, wake: @escaping @Sendable () -> Void, logger: Logger) {
        self.engine = engine
        self.wake = wake
        self.logger = logger
    }

    func cases(state: String?, includeClosed: Bool, limit: Int) throws(AdministrationError) -> [CaseView] {
        var states: Set<CaseState>?
        if let state {
            guard let s = CaseState(rawValue: state) else { throw AdministrationError(.invalid, "state: unknown \(state)") }
            states = [s]
        } else if !includeClosed {
            states = Set(CaseState.allCases).subtracting([.closed])
        }
        return try read { () throws(LedgerError) in try engine.store.cases(states: states, limit: limit).map { CaseView($0) } }
    }

    func abuseCase(id: UUID) throws(AdministrationError) -> CaseView? {
        try read { () throws(LedgerError) in try CaseView.shown(id, store: engine.store) }
    }

    func approve(id: UUID) throws(AdministrationError) -> CaseApproval? {
        guard let before = try read({ () throws(LedgerError) in try engine.store.abuseCase(id: id) }) else { return nil }
        let released: Int
        do { released = try engine.approve(id) } catch {
            throw AdministrationError(.failed, "cannot approve the case: \(error)")
        }
        wake()
        logger.notice(
            "operator approved a case through the control plane",
            metadata: ["case": "\(CaseEngine.key(id))", "released": "\(released)", "escalation": "\(before.pendingEscalation?.rawValue ?? "")"])
        guard let after = try abuseCase(id: id) else { return nil }
        return CaseApproval(abuseCase: after, released: released, escalation: before.pendingEscalation?.rawValue)
    }

    func close(id: UUID, reason: String) throws(AdministrationError) -> CaseView? {
        guard try read({ () throws(LedgerError) in try engine.store.abuseCase(id: id) }) != nil else { return nil }
        do { try engine.apply(.close(reason: reason), to: id) } catch {
            throw AdministrationError(.failed, "cannot close the case: \(error)")
        }
        wake()
        logger.notice("operator closed a case through the control plane", metadata: ["case": "\(CaseEngine.key(id))"])
        return try abuseCase(id: id)
    }

    func providers() throws(AdministrationError) -> [ProviderScoreView] {
        let policy = engine.settings.casePolicy
        return try read { () throws(LedgerError) in try ProviderScoreView.scorecard(engine.store, policy: policy, now: systemClock()) }
    }

    private func read<T>(_ body: () throws(LedgerError) -> T) throws(AdministrationError) -> T {
        do { return try body() } catch { throw AdministrationError(.failed, "cannot read the ledger: \(error)") }
    }
}
