// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A range administration that records what it was asked.
final class FakeRanges: RangeAdministration {
    let requests = Mutex<[RangeBlockRequestBody]>([])

    func rangeBlocks() throws(AdministrationError) -> [RangeBlockView] {
        requests.withLock { $0 }.map {
            RangeBlockView(
                selector: $0.selector, scope: $0.scope ?? "sip", origin: "manual",
                created: "2026-12-03T00:00:00Z", expires: nil, intervals: 1, refreshed: "2026-12-03T00:00:00Z")
        }
    }

    func block(_ request: RangeBlockRequestBody) throws(AdministrationError) -> RangeBlockView {
        guard request.selector.hasPrefix("list:") else { throw AdministrationError(.invalid, "selector: unknown") }
        requests.withLock { $0.append(request) }
        return RangeBlockView(
            selector: request.selector, scope: request.scope ?? "sip", origin: "manual",
            created: "2026-12-03T00:00:00Z", expires: nil, intervals: 1, refreshed: "2026-12-03T00:00:00Z")
    }

    func unblock(selector: String) throws(AdministrationError) -> RangeUnblockResult {
        RangeUnblockResult(selector: selector, lifted: requests.withLock { $0.contains { $0.selector == selector } })
    }
}

@Suite("Control plane: /v1/ranges")
struct RangeRoutesTests {
    let token = APIToken(value: String(repeating: "ab", count: 32))

    @Test func blockListUnblockWithTokenAndValidation() async throws {
        let ranges = FakeRanges()
        let router = APIRouter.build(
            administration: FakeDaemon(), snapshots: FakeDaemon(), token: token, tokenForReads: false,
            metricsText: nil, ranges: ranges)
        let auth: HTTPFields = [.authorization: "Bearer \(token.value)", .contentType: "application/json"]
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/ranges", method: .post, body: ByteBuffer(string: #"{"selector":"list:lab"}"#)) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/ranges", method: .post, headers: auth, body: ByteBuffer(string: #"{"selector":"list:lab","scope":"some"}"#)
            ) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(
                uri: "/v1/ranges", method: .post, headers: auth, body: ByteBuffer(string: #"{"selector":"list:lab","block_seconds":0}"#)
            ) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/v1/ranges", method: .post, headers: auth, body: ByteBuffer(string: #"{"selector":"AS1"}"#)) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(
                uri: "/v1/ranges", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"selector":"list:lab","scope":"all","block_seconds":60}"#)
            ) {
                #expect($0.status == .created)
            }
            #expect(ranges.requests.withLock { $0 } == [RangeBlockRequestBody(selector: "list:lab", scope: "all", blockSeconds: 60)])
            try await client.execute(uri: "/v1/ranges", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(decoding: response.body.readableBytesView, as: UTF8.self).contains(#""selector":"list:lab""#))
            }
            try await client.execute(uri: "/v1/ranges?selector=list:lab", method: .delete, headers: auth) { response in
                #expect(response.status == .ok)
                #expect(String(decoding: response.body.readableBytesView, as: UTF8.self).contains(#""lifted":true"#))
            }
            try await client.execute(uri: "/v1/ranges", method: .delete, headers: auth) { #expect($0.status == .badRequest) }
        }
    }

    @Test func withoutRangeBlocksTheRoutesAnswer404() async throws {
        let router = APIRouter.build(administration: FakeDaemon(), snapshots: FakeDaemon(), token: token, tokenForReads: false, metricsText: nil)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/ranges", method: .get) { #expect($0.status == .notFound) }
        }
    }
}
