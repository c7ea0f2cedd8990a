// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Logging
import NetworkAddress
import Testing

@testable import ControlPlane

@Suite("Control plane over a real Unix socket, token file, endpoints")
struct ClientServerTests {
    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "/cp-test-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }

    /// Runs blocking code (the synchronous client, `RunningControlPlane`'s waits) on a
    /// thread of its own, so the server's tasks keep the concurrency pool's threads even
    /// when the other suites run in parallel.
    static func onOwnThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            Thread {
                do {
                    try body()
                    done.resume()
                } catch { done.resume(throwing: error) }
            }.start()
        }
    }

    @Test func theClientBansThroughTheServerAndTheSocketIsRootOnly() async throws {
        try await Self.onOwnThread(Self.clientBansThroughTheServer)
    }

    static func clientBansThroughTheServer() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let token = try APIToken.loadOrCreate(stateDirectory: directory)
        let fake = FakeDaemon()
        let socket = ControlPlaneConfiguration.socketPath(stateDirectory: directory)
        let server = ControlPlaneServer(
            configuration: ControlPlaneConfiguration(socketPath: socket, tcp: nil, token: token, logger: Logger(label: "test")),
            administration: fake, snapshots: fake)
        let running = try RunningControlPlane.start(server, timeout: .seconds(120))
        let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let client = ControlPlaneClient(socketPath: socket, token: token)
        let view = try client.ban(BanRequestBody(network: "198.18.7.0/24", banSeconds: 60, reason: "r"))
        #expect(view.network == "198.18.7.0/24")
        #expect(try client.bans(all: false, limit: 10).map(\.network) == ["198.18.7.0/24"])
        #expect(try client.status().ledger.activeBans == 1)
        #expect(try client.lift(network: "198.18.7.0/24") == LiftResult(network: "198.18.7.0/24", lifted: 1))

        // Without the token: refused, nothing changed.
        let anonymous = ControlPlaneClient(socketPath: socket, token: nil)
        #expect(throws: ControlPlaneClientError.self) { try anonymous.ban(BanRequestBody(network: "198.18.0.9", banSeconds: nil, reason: nil)) }
        do {
            _ = try anonymous.ban(BanRequestBody(network: "198.18.0.9", banSeconds: nil, reason: nil))
        } catch let .refused(status, _) {
            #expect(status == 401)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(fake.state.withLock { $0.bans.isEmpty })
        #expect(try anonymous.bans(all: true, limit: 5).isEmpty) // reads are open on the socket

        running.stop()
        #expect(!FileManager.default.fileExists(atPath: socket))
        #expect(throws: ControlPlaneClientError.noDaemon) { try client.status() }
    }

    @Test func noSocketMeansNoDaemon() {
        let client = ControlPlaneClient(socketPath: Self.temporaryDirectory() + "/api.sock", token: nil)
        #expect(throws: ControlPlaneClientError.noDaemon) { try client.status() }
    }

    @Test func theTokenFileIsCreatedOnceWithMode0600() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try APIToken.loadOrCreate(stateDirectory: directory)
        let path = directory + "/" + APIToken.fileName
        #expect(first.value.count == 64)
        let allHex = first.value.allSatisfy { $0.isHexDigit }
        #expect(allHex)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(try APIToken.loadOrCreate(stateDirectory: directory) == first)
        #expect(APIToken.random() != first)
        // A copy others may read is made 0600 again.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(try APIToken.load(path: path) == first)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        // A file without a token is refused, not replaced.
        try "short\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: APITokenError.self) { try APIToken.loadOrCreate(stateDirectory: directory) }
    }

    @Test func tokensCompareWhole() {
        let token = APIToken(value: "0123456789abcdef0123456789abcdef")
        #expect(token.matches("0123456789abcdef0123456789abcdef"))
        #expect(!token.matches("0123456789abcdef0123456789abcdee"))
        #expect(!token.matches("0123456789abcdef0123456789abcde"))
        #expect(!token.matches("0123456789abcdef0123456789abcdef0"))
        #expect(!token.matches(""))
    }

    @Test(arguments: [
        ("9480", TCPEndpoint(host: "127.0.0.1", port: 9480)),
        ("127.0.0.1:80", TCPEndpoint(host: "127.0.0.1", port: 80)),
        ("[::1]:9480", TCPEndpoint(host: "::1", port: 9480)),
        ("198.18.0.1:9480", TCPEndpoint(host: "198.18.0.1", port: 9480)),
    ])
    func endpointsParse(_ text: String, _ expected: TCPEndpoint) {
        #expect(TCPEndpoint(parsing: text) == expected)
    }

    @Test(arguments: ["", "0", "65536", "localhost:80", "::1:80", "[::1]", "1.2.3:80", "127.0.0.1:", "[zz]:80"])
    func badEndpointsAreRefused(_ text: String) {
        #expect(TCPEndpoint(parsing: text) == nil)
    }

    @Test func loopbackIsTold() {
        #expect(TCPEndpoint(host: "127.0.0.5", port: 1).isLoopback)
        #expect(TCPEndpoint(host: "::1", port: 1).isLoopback)
        #expect(!TCPEndpoint(host: "198.18.0.1", port: 1).isLoopback)
        #expect(!TCPEndpoint(host: "0.0.0.0", port: 1).isLoopback)
    }

    @Test func responsesAreFramedByLengthOrChunks() throws {
        let length = Array("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n{}\n\n".utf8)
        let parsed = try #require(HTTPClientResponse.parse(length, atEnd: false))
        #expect(parsed.isComplete)
        #expect(parsed.response.status == 201)
        #expect(parsed.response.body == Array("{}\n\n".utf8))
        #expect(HTTPClientResponse.parse(Array(length.dropLast(2)), atEnd: false)?.isComplete == false)
        let chunked = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n".utf8)
        #expect(HTTPClientResponse.parse(chunked, atEnd: false)?.response.body == Array("abcde".utf8))
        #expect(HTTPClientResponse.parse(Array(chunked.prefix(60)), atEnd: false)?.isComplete == false)
        #expect(HTTPClientResponse.parse(Array("HTTP/1.1 200 OK\r\n".utf8), atEnd: true) == nil)
        #expect(HTTPClientResponse.parse(Array("garbage\r\n\r\n".utf8), atEnd: true) == nil)
    }
}
