// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A case administration that knows one open case and records what it was asked.
final class FakeCases: CaseAdministration {
    static let knownID = UUID(uuidString: "7d7f1c2e-52a4-4c1e-9c55-0a8f3b1e2d44")!

    struct Calls {
        var lists: [(state: String?, includeClosed: Bool, limit: Int)] = []
        var approvals: [UUID] = []
        var closes: [(UUID, String)] = []
    }

    let calls = Mutex(Calls())

    static func view(state: String = "review") -> CaseView {
        var c = CaseView(
            id: knownID.uuidString.lowercased(), state: state, sources: ["198.18.0.77"], contacts: ["abuse@net-a.test"],
            currentContact: 0, opened: "2026-12-03T10:00:00Z", escalations: [], bounces: 0)
        c.asn = 64_500
        return c
    }

    func cases(state: String?, includeClosed: Bool, limit: Int) throws(AdministrationError) -> [CaseView] {
        calls.withLock { $0.lists.append((state, includeClosed, limit)) }
        return [Self.view()]
    }

    func abuseCase(id: UUID) throws(AdministrationError) -> CaseView? {
        guard id == Self.knownID else { return nil }
        var c = Self.view()
        c.history = [CaseHistoryView(time: "2026-12-03T10:00:00Z", state: "review", note: "held for review")]
        c.messages = []
        c.outbox = [
            CaseOutboxView(
                messageID: "<sipwarden.\(id.uuidString.lowercased()).1@op.test>", recipient: "abuse@net-a.test", state: "pending-approval",
                attempts: 0, sent: nil)
        ]
        return c
    }

    func approve(id: UUID) throws(AdministrationError) -> CaseApproval? {
        guard var c = try abuseCase(id: id) else { return nil }
        calls.withLock { $0.approvals.append(id) }
        c.outbox?[0].state = "queued"
        return CaseApproval(abuseCase: c, released: 1, escalation: nil)
    }

    func close(id: UUID, reason: String) throws(AdministrationError) -> CaseView? {
        guard var c = try abuseCase(id: id) else { return nil }
        calls.withLock { $0.closes.append((id, reason)) }
        c.state = "closed"
        return c
    }

    func providers() throws(AdministrationError) -> [ProviderScoreView] {
        [
            ProviderScoreView(
                asn: 64_500, organisation: "Net A", cases: 2, reported: 2, bounced: 0, acknowledged: 1, medianSecondsToAcknowledge: 3600,
                medianSecondsUntilStopped: nil, resumedShare: nil, neverActedShare: 0.5, overdueNow: 1)
        ]
    }
}

@Suite("Control plane: /v1/cases and /v1/providers")
struct CaseRoutesTests {
    let token = APIToken(value: String(repeating: "cd", count: 32))
    var auth: HTTPFields { [.authorization: "Bearer \(token.value)", .contentType: "application/json"] }

    func app(_ cases: (any CaseAdministration)?) -> some ApplicationProtocol {
        Application(
            router: APIRouter.build(
                administration: FakeDaemon(), snapshots: FakeDaemon(), token: token, tokenForReads: false, metricsText: nil, cases: cases))
    }

    static func text(_ response: TestResponse) -> String { String(decoding: response.body.readableBytesView, as: UTF8.self) }
    static func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
    }

    @Test func listPassesTheFiltersAndRefusesBadOnes() async throws {
        let cases = FakeCases()
        try await app(cases).test(.router) { client in
            try await client.execute(uri: "/v1/cases", method: .get) { response in
                #expect(response.status == .ok)
                let list = Self.json(response)["cases"] as? [[String: Any]]
                #expect(list?.first?["id"] as? String == FakeCases.knownID.uuidString.lowercased())
                #expect(list?.first?["current_contact"] as? Int == 0)
                // A listed case carries no history, messages nor outbox.
                #expect(list?.first?["history"] == nil && list?.first?["outbox"] == nil)
            }
            try await client.execute(uri: "/v1/cases?all=true&limit=5", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/cases?state=overdue", method: .get) { #expect($0.status == .ok) }
            for bad in ["state=open", "state=", "all=yes", "limit=0", "limit=100001", "limit=x"] {
                try await client.execute(uri: "/v1/cases?\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    #expect((Self.json(response)["error"] as? String)?.isEmpty == false, "\(bad)")
                }
            }
        }
        let lists = cases.calls.withLock { $0.lists }
        #expect(lists.count == 3)
        #expect(lists.map { $0.state } == [nil, nil, "overdue"])
        #expect(lists.map { $0.includeClosed } == [false, true, false])
        #expect(lists.map { $0.limit } == [1_000, 5, 1_000])
    }

    @Test func showAnswersTheCaseWithItsHistoryOr404Or400() async throws {
        try await app(FakeCases()).test(.router) { client in
            try await client.execute(uri: "/v1/cases/\(FakeCases.knownID.uuidString.lowercased())", method: .get) { response in
                #expect(response.status == .ok)
                let c = try JSONDecoder().decode(CaseView.self, from: Data(response.body.readableBytesView))
                #expect(c.state == "review" && c.asn == 64_500)
                #expect(c.history?.first?.note == "held for review")
                #expect(c.outbox?.first?.state == "pending-approval")
                #expect(Self.text(response).contains(#""message_id":"<sipwarden."#))
            }
            try await client.execute(uri: "/v1/cases/\(UUID().uuidString)", method: .get) { response in
                #expect(response.status == .notFound)
                #expect((Self.json(response)["error"] as? String)?.hasPrefix("no case ") == true)
            }
            for bad in ["7d7f1c2e", "not-a-uuid", "7d7f1c2e-52a4-4c1e-9c55-0a8f3b1e2d4g"] {
                try await client.execute(uri: "/v1/cases/\(bad)", method: .get) { #expect($0.status == .badRequest, "\(bad)") }
            }
        }
    }

    @Test func approveNeedsTheTokenAndMovesTheKnownCase() async throws {
        let cases = FakeCases()
        let known = "/v1/cases/\(FakeCases.knownID.uuidString)/approve"
        try await app(cases).test(.router) { client in
            try await client.execute(uri: known, method: .post) { #expect($0.status == .unauthorized) }
            #expect(cases.calls.withLock { $0.approvals }.isEmpty)
            try await client.execute(uri: known, method: .post, headers: auth) { response in
                #expect(response.status == .ok)
                let answer = try JSONDecoder().decode(CaseApproval.self, from: Data(response.body.readableBytesView))
                #expect(answer.released == 1 && answer.escalation == nil)
                #expect(answer.abuseCase.outbox?.first?.state == "queued")
                #expect(Self.text(response).contains(#""case":{"#))
            }
            try await client.execute(uri: "/v1/cases/\(UUID().uuidString)/approve", method: .post, headers: auth) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/v1/cases/nope/approve", method: .post, headers: auth) { #expect($0.status == .badRequest) }
        }
        #expect(cases.calls.withLock { $0.approvals } == [FakeCases.knownID])
    }

    @Test func closeTakesAnOptionalReason() async throws {
        let cases = FakeCases()
        let known = "/v1/cases/\(FakeCases.knownID.uuidString)/close"
        try await app(cases).test(.router) { client in
            try await client.execute(uri: known, method: .post, body: ByteBuffer(string: #"{"reason":"x"}"#)) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: known, method: .post, headers: auth) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response)["state"] as? String == "closed")
            }
            try await client.execute(uri: known, method: .post, headers: auth, body: ByteBuffer(string: #"{"reason":"provider answered by phone"}"#))
            {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: known, method: .post, headers: auth, body: ByteBuffer(string: #"{"reason":7}"#)) {
                #expect($0.status == .badRequest)
            }
            let long = String(repeating: "r", count: APIRouter.maximumReasonLength + 1)
            try await client.execute(uri: known, method: .post, headers: auth, body: ByteBuffer(string: #"{"reason":"\#(long)"}"#)) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/v1/cases/\(UUID().uuidString)/close", method: .post, headers: auth) { #expect($0.status == .notFound) }
        }
        let closes = cases.calls.withLock { $0.closes }
        #expect(closes.map { $0.1 } == ["closed by the operator", "provider answered by phone"])
    }

    @Test func providersAnswersTheScorecardInSnakeCase() async throws {
        try await app(FakeCases()).test(.router) { client in
            try await client.execute(uri: "/v1/providers", method: .get) { response in
                #expect(response.status == .ok)
                let row = (Self.json(response)["providers"] as? [[String: Any]])?.first
                #expect(row?["asn"] as? Int == 64_500)
                #expect(row?["median_seconds_to_acknowledge"] as? Int == 3600)
                #expect(row?["never_acted_share"] as? Double == 0.5)
                #expect(row?["overdue_now"] as? Int == 1)
                // Absent values are left out, not null.
                #expect(row?.keys.contains("median_seconds_until_stopped") == false)
            }
        }
    }

    @Test func withoutTheCaseServiceEveryRouteSaysSo() async throws {
        let id = FakeCases.knownID.uuidString
        try await app(nil).test(.router) { client in
            for (method, path) in [
                (HTTPRequest.Method.get, "/v1/cases"), (.get, "/v1/cases/\(id)"), (.post, "/v1/cases/\(id)/approve"),
                (.post, "/v1/cases/\(id)/close"), (.get, "/v1/providers"),
            ] {
                try await client.execute(uri: path, method: method, headers: auth) { response in
                    #expect(response.status == .notFound, "\(path)")
                    #expect((Self.json(response)["error"] as? String)?.contains("no abuse: section") == true, "\(path)")
                }
            }
            // Still no change without the token.
            try await client.execute(uri: "/v1/cases/\(id)/approve", method: .post) { #expect($0.status == .unauthorized) }
        }
    }
}
