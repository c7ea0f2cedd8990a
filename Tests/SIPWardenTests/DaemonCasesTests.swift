// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import ControlPlane
import Foundation
import Logging
import Storage
import Synchronization
import Testing

@testable import SIPWarden

/// The daemon's `/v1/cases` and `/v1/providers` over a real ledger and case engine.
@Suite struct DaemonCasesTests {
    final class Wakes: Sendable {
        let count = Mutex(0)
    }

    static func opened(_ bench: Bench, _ source: String) async throws -> UUID {
        guard case .opened(let id) = try await bench.engine.take(try bench.ban(source)) else { throw CaseTestFailure.notOpened }
        return id
    }

    @Test func listShowApproveCloseInReviewMode() async throws {
        let bench = try Bench(mode: .review)
        let id = try await Self.opened(bench, "198.18.7.9")
        let wakes = Wakes()
        let api = DaemonCases(engine: bench.engine, wake: { wakes.count.withLock { $0 += 1 } }, logger: .init(label: "test"))

        let listed = try api.cases(state: nil, includeClosed: false, limit: 10)
        #expect(listed.map(\.id) == [id.uuidString.lowercased()])
        #expect(listed.first?.state == "review" && listed.first?.asn == 64_500)
        #expect(listed.first?.history == nil)
        #expect(try api.cases(state: "sent", includeClosed: false, limit: 10).isEmpty)

        let shown = try #require(try api.abuseCase(id: id))
        #expect(shown.contacts == ["abuse@net-a.example", "noc@net-a.example"])
        #expect(shown.outbox?.map(\.state) == ["pending-approval"])
        #expect(shown.history?.isEmpty == false)
        // The held report is kept with the case as its outgoing message.
        #expect(shown.messages?.map(\.direction) == ["out"])
        #expect(shown.messages?.first?.messageID == shown.outbox?.first?.messageID)
        #expect(try api.abuseCase(id: UUID()) == nil)

        let approval = try #require(try api.approve(id: id))
        #expect(approval.released == 1 && approval.escalation == nil)
        #expect(approval.abuseCase.outbox?.map(\.state) == ["queued"])
        #expect(try bench.store.outbox(caseID: id).map(\.state) == [.queued])
        #expect(wakes.count.withLock { $0 } == 1)
        #expect(try api.approve(id: UUID()) == nil)

        let closed = try #require(try api.close(id: id, reason: "handled by phone"))
        #expect(closed.state == "closed")
        #expect(closed.history?.last?.note.contains("handled by phone") == true)
        #expect(try bench.store.abuseCase(id: id)?.state == .closed)
        #expect(wakes.count.withLock { $0 } == 2)
        #expect(try api.cases(state: nil, includeClosed: false, limit: 10).isEmpty)
        #expect(try api.cases(state: nil, includeClosed: true, limit: 10).count == 1)
        #expect(try api.cases(state: "closed", includeClosed: false, limit: 10).count == 1)
        #expect(try api.close(id: UUID(), reason: "x") == nil)
    }

    @Test func limitAndProviders() async throws {
        let bench = try Bench(mode: .auto)
        _ = try await Self.opened(bench, "198.18.7.9")
        // One case; a source of the same AS banned after it was closed opens a second one.
        let api = DaemonCases(engine: bench.engine, wake: {}, logger: .init(label: "test"))
        let rows = try api.providers()
        #expect(rows.count == 1)
        #expect(rows.first?.asn == 64_500 && rows.first?.cases == 1 && rows.first?.reported == 0)
        let first = try #require(try api.cases(state: nil, includeClosed: false, limit: 10).first)
        _ = try api.close(id: try #require(UUID(uuidString: first.id)), reason: "done")
        _ = try await Self.opened(bench, "198.18.8.9")
        #expect(try api.cases(state: nil, includeClosed: true, limit: 10).count == 2)
        #expect(try api.cases(state: nil, includeClosed: true, limit: 1).count == 1)
        #expect(try api.providers().first?.cases == 2)
    }

    /// The control plane validates `state=` against its own list of names; it must be the
    /// lifecycle's.
    @Test func theControlPlaneKnowsEveryCaseState() {
        #expect(CaseStates.names == CaseState.allCases.map(\.rawValue))
    }

    /// `sipwarden cases show --json` and `GET /v1/cases/{id}` print this one view: its keys
    /// are the documented snake_case ones, absent values left out.
    @Test func theSharedViewEncodesSnakeCaseWithoutNulls() async throws {
        let bench = try Bench(mode: .review)
        let id = try await Self.opened(bench, "198.18.7.9")
        let view = try #require(try CaseView.shown(id, store: bench.store))
        let line = CaseView.encodedLine(view)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["current_contact"] as? Int == 0)
        #expect(object["asn"] as? Int == 64_500)
        #expect(object["ticket"] == nil && !line.contains("null"))
        let outbox = try #require(object["outbox"] as? [[String: Any]])
        #expect(outbox.first?["message_id"] as? String == view.outbox?.first?.messageID)
        #expect(outbox.first?["recipient"] as? String == "abuse@net-a.example")
    }
}
