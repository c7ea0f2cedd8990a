// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Hummingbird
import HummingbirdTesting
import NetworkAddress
import Testing

@testable import ControlPlane

/// Snapshots holding a fixed list of active bans with ledger row ids and origins.
struct FeedSnapshots: BanAdministration, DaemonSnapshots {
    var views: [BanView]
    var isReady: Bool { true }
    func ban(_ request: BanRequest) throws(AdministrationError) -> BanView { throw AdministrationError(.failed, "read only") }
    func lift(_ network: IPNetwork) throws(AdministrationError) -> LiftResult { throw AdministrationError(.failed, "read only") }
    func bans(includeInactive: Bool, limit: Int) throws(AdministrationError) -> [BanView] { Array(views.reversed().prefix(limit)) }
    func status() throws(AdministrationError) -> StatusView { throw AdministrationError(.unavailable, "not here") }

    static func make(count: Int, feedEvery: Int = 0) -> FeedSnapshots {
        FeedSnapshots(
            views: (1...count).map { i in
                BanView(
                    id: Int64(i), network: "198.18.\(i / 200).\(i % 200)/32", kind: "auth_failed", reason: "r",
                    origin: feedEvery > 0 && i % feedEvery == 0 ? "feed" : "detector", offence: 1,
                    created: "2026-12-02T20:00:00Z", expires: "2026-12-02T21:00:00Z", lifted: nil, inKernel: true)
            })
    }
}

@Suite("Own bans published as a feed: text, JSON, APIBAN-compatible paging")
struct FeedRoutesTests {
    let token = APIToken(value: String(repeating: "cd", count: 32))

    func app(_ snapshots: FeedSnapshots) -> some ApplicationProtocol {
        Application(router: APIRouter.build(administration: snapshots, snapshots: snapshots, token: token, tokenForReads: false, metricsText: nil))
    }

    @Test func textAndJSONListTheActiveBansWithoutFeedBansUnlessAsked() async throws {
        let snapshots = FeedSnapshots.make(count: 10, feedEvery: 5)
        try await app(snapshots).test(.router) { client in
            try await client.execute(uri: "/v1/feed/bans.txt", method: .get) { response in
                #expect(response.status == .ok)
                let lines = String(decoding: response.body.readableBytesView, as: UTF8.self).split(separator: "\n")
                #expect(lines.first?.hasPrefix("#") == true)
                let listed = lines.dropFirst().map(String.init)
                #expect(listed == snapshots.views.filter { $0.origin != "feed" }.map(\.network))
            }
            try await client.execute(uri: "/v1/feed/bans.json?include_feeds=true", method: .get) { response in
                #expect(response.status == .ok)
                let list = try JSONDecoder().decode(FeedList.self, from: Data(response.body.readableBytesView))
                #expect(list.count == 10)
                #expect(list.bans.map(\.network) == snapshots.views.map(\.network))
                #expect(list.bans.filter { $0.origin == "feed" }.count == 2)
            }
            try await client.execute(uri: "/v1/feed/bans.json?include_feeds=maybe", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func theAPIBANAnswerPagesBy250AndEndsWithNone() async throws {
        let snapshots = FeedSnapshots.make(count: 600)
        try await app(snapshots).test(.router) { client in
            var collected: [String] = []
            var path = "/v1/feed/apiban/banned/100" // what APIBAN clients send first
            var pages = 0
            while pages < 10 {
                let (status, answer) = try await client.execute(uri: path, method: .get) { response in
                    (response.status, try JSONDecoder().decode(APIBANAnswer.self, from: Data(response.body.readableBytesView)))
                }
                if answer.next == "none" {
                    #expect(status == .badRequest)
                    #expect(answer.ipaddress == ["no new bans"])
                    break
                }
                #expect(status == .ok)
                #expect(answer.ipaddress.count <= 250)
                collected += answer.ipaddress
                path = "/v1/feed/apiban/banned/\(answer.next)"
                pages += 1
            }
            #expect(pages == 3)
            #expect(collected == snapshots.views.map(\.network))
            try await client.execute(uri: "/v1/feed/apiban/banned/x", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func theDocumentDescribesTheFeedEndpoints() {
        for path in ["/v1/feed/bans.txt:", "/v1/feed/bans.json:", "/v1/feed/apiban/banned:", "/v1/feed/apiban/banned/{id}:"] {
            #expect(OpenAPIDocument.yaml.contains(path))
        }
    }
}
