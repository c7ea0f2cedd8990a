// SPDX-License-Identifier: GPL-2.0-or-later

import AsyncHTTPClient
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `ConditionalFetcher` over async-http-client: HTTPS (system trust store), redirects
/// followed (at most 5), no transparent decompression (a `.gz` source is stored as
/// published and inflated by `Gunzip`), bounded bodies, and `file://` URLs read from
/// disk for hosts that receive their files by other means.
///
/// Every fetcher uses one client for the whole process (its connection pool on NIO's
/// singleton event loops), created at the first fetch and never shut down: updates run
/// for the daemon's lifetime, and a client that is never released needs no shutdown.
public struct AsyncHTTPFetcher: ConditionalFetcher {
    private let timeout: TimeAmount
    private let userAgent: String

    /// - Parameters:
    ///   - timeout: for the whole request, connection to last byte.
    ///   - userAgent: sent with every request.
    public init(timeout: Duration = .seconds(120), userAgent: String = "sipwarden") {
        let (seconds, attoseconds) = timeout.components
        self.timeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        self.userAgent = userAgent
    }

    /// The process's client.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 5, allowCycles: false),
            timeout: .init(connect: .seconds(20), read: .seconds(60)),
            decompression: .disabled
        )
        configuration.httpVersion = .automatic
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public func fetch(_ request: FetchRequest) async throws(FetchError) -> FetchResponse {
        if request.url.hasPrefix("file://") { return try Self.readFile(request) }
        guard request.url.hasPrefix("https://") || request.url.hasPrefix("http://") else { throw .badURL(request.url) }
        var http = HTTPClientRequest(url: request.url)
        http.method = request.method == .get ? .GET : .POST
        http.headers.add(name: "User-Agent", value: userAgent)
        if let etag = request.etag { http.headers.add(name: "If-None-Match", value: etag) }
        if let lastModified = request.lastModified { http.headers.add(name: "If-Modified-Since", value: lastModified) }
        for header in request.headers { http.headers.add(name: header.name, value: header.value) }
        if let body = request.body { http.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await Self.client.execute(http, timeout: timeout)
            if response.status == .notModified { return .notModified }
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > request.maxBytes {
                throw FetchError.tooLarge(limit: request.maxBytes)
            }
            var buffer: ByteBuffer
            do {
                buffer = try await response.body.collect(upTo: request.maxBytes)
            } catch is NIOTooManyBytesError {
                throw FetchError.tooLarge(limit: request.maxBytes)
            }
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            return .response(
                status: Int(response.status.code), body: bytes,
                etag: response.headers.first(name: "ETag"), lastModified: response.headers.first(name: "Last-Modified"))
        } catch let error as FetchError {
            throw error
        } catch {
            throw .transport("\(error)")
        }
    }

    /// `file:///path`: the file as if a server had sent it (no validators: always new).
    static func readFile(_ request: FetchRequest) throws(FetchError) -> FetchResponse {
        let path = String(request.url.dropFirst("file://".count))
        guard path.hasPrefix("/") else { throw .badURL(request.url) }
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path, maxBytes: request.maxBytes)
        } catch let .tooLarge(limit) {
            throw .tooLarge(limit: limit)
        } catch {
            throw .transport("\(error)")
        }
        return .response(status: 200, body: bytes, etag: nil, lastModified: nil)
    }
}
