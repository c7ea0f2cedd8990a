// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Foundation
import Hummingbird
import HummingbirdTesting
import NetworkAddress
import Testing

@Suite("Control plane routes, authentication and JSON")
struct APIRouterTests {
    let token = APIToken(value: String(repeating: "ab", count: 32))

    func app(
        _ fake: FakeDaemon, tokenForReads: Bool = false, metrics: (@Sendable () -> String)? = nil,
        ranges: (any RangeAdministration)? = FakeRanges(), cases: (any CaseAdministration)? = FakeCases()
    ) -> some ApplicationProtocol {
        Application(
            router: APIRouter.build(
                administration: fake, snapshots: fake, token: token, tokenForReads: tokenForReads,
                metricsText: metrics, ranges: ranges, cases: cases))
    }

    var auth: HTTPFields { [.authorization: "Bearer \(token.value)", .contentType: "application/json"] }

    static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func healthNeedsNoTokenOnTheSocket() async throws {
        try await app(FakeDaemon()).test(.router) { client in
            try await client.execute(uri: "/v1/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let decoded1 = try JSONDecoder().decode(HealthBody.self, from: Data(response.body.readableBytesView))
                #expect(decoded1.status == "ok")
            }
        }
    }

    @Test func banWithoutTokenIsRefusedAndChangesNothing() async throws {
        let fake = FakeDaemon()
        try await app(fake).test(.router) { client in
            try await client.execute(
                uri: "/v1/bans", method: .post, headers: [.contentType: "application/json"],
                body: Self.body(#"{"network":"198.18.7.0/24","ban_seconds":60}"#)
            ) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                let error = try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView))
                #expect(error.error.contains("bearer token"))
            }
            try await client.execute(uri: "/v1/bans?network=198.18.7.0/24", method: .delete) { response in
                #expect(response.status == .unauthorized)
            }
        }
        #expect(fake.state.withLock { $0.bans.isEmpty && $0.lifts.isEmpty })
    }

    @Test func banWithAWrongTokenIsRefused() async throws {
        let fake = FakeDaemon()
        let wrong = String(repeating: "ab", count: 31) + "ac"
        try await app(fake).test(.router) { client in
            for header in ["Bearer \(wrong)", "Bearer", "Basic \(token.value)", "Bearer \(token.value)x", token.value] {
                try await client.execute(
                    uri: "/v1/bans", method: .post, headers: [.authorization: header],
                    body: Self.body(#"{"network":"198.18.7.9"}"#)
                ) { response in
                    #expect(response.status == .unauthorized, "\(header)")
                }
            }
        }
        #expect(fake.state.withLock { $0.bans.isEmpty })
    }

    @Test func banWithTheTokenReachesTheDaemon() async throws {
        let fake = FakeDaemon()
        try await app(fake).test(.router) { client in
            try await client.execute(
                uri: "/v1/bans", method: .post, headers: auth,
                body: Self.body(#"{"network":"2001:2::66","ban_seconds":3600,"reason":"abuse case 1"}"#)
            ) { response in
                #expect(response.status == .created)
                let ban = try JSONDecoder().decode(BanView.self, from: Data(response.body.readableBytesView))
                #expect(ban.network == "2001:2::66")
                #expect(ban.reason == "abuse case 1")
                #expect(ban.inKernel == true)
                // snake_case on the wire
                #expect(String(decoding: response.body.readableBytesView, as: UTF8.self).contains(#""in_kernel":true"#))
            }
            try await client.execute(uri: "/v1/bans", method: .post, headers: auth, body: Self.body(#"{"network":"198.18.9.0/24"}"#)) { response in
                #expect(response.status == .created)
            }
        }
        let bans = fake.state.withLock { $0.bans }
        #expect(
            bans == [
                BanRequest(network: IPNetwork("2001:2::66")!, duration: .seconds(3600), reason: "abuse case 1"),
                BanRequest(network: IPNetwork("198.18.9.0/24")!, duration: nil, reason: "manual"),
            ])
    }

    @Test(arguments: [
        #"{"network":"198.18.7.1/24"}"#, // host bits set
        #"{"network":"not an address"}"#,
        #"{"network":"198.18.7.0/24","ban_seconds":0}"#,
        #"{"network":"198.18.7.0/24","ban_seconds":315360001}"#,
        #"{"network":"198.18.7.0/24","ban_seconds":"1h"}"#,
        #"{"ban_seconds":60}"#,
        #"["198.18.7.0/24"]"#,
        "{",
        "",
    ])
    func malformedBansAre400(_ text: String) async throws {
        let fake = FakeDaemon()
        try await app(fake).test(.router) { client in
            try await client.execute(uri: "/v1/bans", method: .post, headers: auth, body: Self.body(text)) { response in
                #expect(response.status == .badRequest)
                let error = try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView))
                #expect(!error.error.isEmpty)
            }
        }
        #expect(fake.state.withLock { $0.bans.isEmpty })
    }

    @Test func reasonLongerThanTheLimitIs400() async throws {
        let long = String(repeating: "x", count: APIRouter.maximumReasonLength + 1)
        try await app(FakeDaemon()).test(.router) { client in
            try await client.execute(uri: "/v1/bans", method: .post, headers: auth, body: Self.body(#"{"network":"198.18.0.1","reason":"\#(long)"}"#))
            { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func liftNeedsANetwork() async throws {
        let fake = FakeDaemon()
        try await app(fake).test(.router) { client in
            try await client.execute(uri: "/v1/bans", method: .delete, headers: auth) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/v1/bans?network=198.18.7.1/24", method: .delete, headers: auth) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/v1/bans", method: .post, headers: auth, body: Self.body(#"{"network":"198.18.7.0/24"}"#)) { _ in }
            try await client.execute(uri: "/v1/bans?network=198.18.7.0%2F24", method: .delete, headers: auth) { response in
                #expect(response.status == .ok)
                let result = try JSONDecoder().decode(LiftResult.self, from: Data(response.body.readableBytesView))
                #expect(result == LiftResult(network: "198.18.7.0/24", lifted: 1))
            }
        }
        #expect(fake.state.withLock { $0.lifts } == [IPNetwork("198.18.7.0/24")!])
    }

    @Test func daemonErrorsMapToStatuses() async throws {
        let cases: [(AdministrationError.Kind, HTTPResponse.Status)] = [
            (.invalid, .badRequest), (.refused, .conflict), (.failed, .internalServerError), (.unavailable, .serviceUnavailable),
        ]
        for (kind, status) in cases {
            let fake = FakeDaemon()
            fake.state.withLock { $0.failure = AdministrationError(kind, "because") }
            try await app(fake).test(.router) { client in
                try await client.execute(uri: "/v1/bans", method: .post, headers: auth, body: Self.body(#"{"network":"198.18.0.1"}"#)) { response in
                    #expect(response.status == status)
                    let error = try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView))
                    #expect(error == ErrorBody(error: "because"))
                }
            }
        }
    }

    @Test func listAndStatus() async throws {
        let fake = FakeDaemon()
        try await app(fake).test(.router) { client in
            for n in ["198.18.0.1", "198.18.0.2", "198.18.0.3"] {
                try await client.execute(uri: "/v1/bans", method: .post, headers: auth, body: Self.body(#"{"network":"\#(n)"}"#)) { _ in }
            }
            try await client.execute(uri: "/v1/bans?all=true&limit=2", method: .get) { response in
                #expect(response.status == .ok)
                let decoded2 = try JSONDecoder().decode(BanList.self, from: Data(response.body.readableBytesView))
                #expect(decoded2.bans.map(\.network) == ["198.18.0.1", "198.18.0.2"])
            }
            for bad in ["limit=0", "limit=x", "all=maybe", "limit=100001"] {
                try await client.execute(uri: "/v1/bans?\(bad)", method: .get) { #expect($0.status == .badRequest, "\(bad)") }
            }
            try await client.execute(uri: "/v1/status", method: .get) { response in
                #expect(response.status == .ok)
                let status = try JSONDecoder().decode(StatusView.self, from: Data(response.body.readableBytesView))
                #expect(status.ledger.activeBans == 3)
                #expect(String(decoding: response.body.readableBytesView, as: UTF8.self).contains(#""active_bans":3"#))
            }
        }
    }

    @Test func tcpNeedsTheTokenForReadsToo() async throws {
        try await app(FakeDaemon(), tokenForReads: true).test(.router) { client in
            for path in ["/v1/health", "/v1/status", "/v1/bans", "/openapi.yaml", "/metrics"] {
                try await client.execute(uri: path, method: .get) { #expect($0.status == .unauthorized, "\(path)") }
            }
            try await client.execute(uri: "/v1/status", method: .get, headers: auth) { #expect($0.status == .ok) }
        }
    }

    @Test func metricsAreServedAsPrometheusText() async throws {
        try await app(FakeDaemon(), metrics: { "sipwarden_up 1\n" }).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(String(decoding: response.body.readableBytesView, as: UTF8.self) == "sipwarden_up 1\n")
            }
        }
        try await app(FakeDaemon()).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .notFound) }
        }
    }

    /// Every operation the document describes is routed (none answers "no such route").
    @Test func everyDocumentedOperationIsRouted() async throws {
        let operations = OpenAPIDocumentPaths.operations(OpenAPIDocument.yaml)
        #expect(operations.count == 20)
        try await app(FakeDaemon(), metrics: { "" }).test(.router) { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(String(decoding: response.body.readableBytesView, as: UTF8.self) == OpenAPIDocument.yaml)
            }
            for (path, method) in operations {
                let ranges = path == "/v1/ranges"
                let query = ranges ? "?selector=list:lab" : "?network=198.18.0.1"
                let id = path.hasPrefix("/v1/cases/") ? FakeCases.knownID.uuidString : "100"
                let uri = (method == "delete" ? path + query : path).replacingOccurrences(of: "{id}", with: id)
                let body = method == "post" ? Self.body(ranges ? #"{"selector":"list:lab"}"# : #"{"network":"198.18.0.1"}"#) : nil
                try await client.execute(uri: uri, method: HTTPRequest.Method(method.uppercased())!, headers: auth, body: body) { response in
                    #expect(response.status != .notFound && response.status != .methodNotAllowed, "\(method) \(path)")
                    // APIBAN's answer ends its list with a 400 ("ID":"none"); this daemon has no ban.
                    #expect(response.status.code < (path.contains("/apiban/") ? 401 : 300), "\(method) \(path): \(response.status)")
                }
            }
        }
    }
}

/// The paths and methods of the document (its `paths:` section, two-space indented keys).
enum OpenAPIDocumentPaths {
    static func operations(_ yaml: String) -> [(String, String)] {
        var result: [(String, String)] = []
        var inPaths = false
        var path: String?
        for line in yaml.split(separator: "\n") {
            if line == "paths:" {
                inPaths = true
                continue
            }
            if inPaths, !line.hasPrefix(" ") { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = String(line.dropFirst(4).dropLast())
                if ["get", "post", "delete", "put", "patch"].contains(method) { result.append((path, method)) }
            }
        }
        return result
    }
}
