// SPDX-License-Identifier: GPL-2.0-or-later

/// One HTTP request of an update: a conditional GET of a published file, or (APIBAN) a
/// POST with a bearer key and a JSON body.
public struct FetchRequest: Sendable, Hashable {
    public enum Method: String, Sendable, Hashable {
        case get = "GET"
        case post = "POST"
    }

    public var url: String
    public var method: Method
    /// The validator of the copy we hold: sent as `If-None-Match`.
    public var etag: String?
    /// The `Last-Modified` of the copy we hold: sent as `If-Modified-Since`.
    public var lastModified: String?
    /// Extra request headers (`Authorization`, `Content-Type`).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// A larger body is refused (`FetchError.tooLarge`) before it is all read.
    public var maxBytes: Int

    public init(
        url: String, method: Method = .get, etag: String? = nil, lastModified: String? = nil,
        headers: [(name: String, value: String)] = [], body: [UInt8]? = nil, maxBytes: Int
    ) {
        self.url = url
        self.method = method
        self.etag = etag
        self.lastModified = lastModified
        self.headers = headers
        self.body = body
        self.maxBytes = maxBytes
    }

    public static func == (a: FetchRequest, b: FetchRequest) -> Bool {
        a.url == b.url && a.method == b.method && a.etag == b.etag && a.lastModified == b.lastModified
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
            && a.body == b.body && a.maxBytes == b.maxBytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(url)
        hasher.combine(method)
        hasher.combine(etag)
        hasher.combine(body)
    }
}

/// What a server answered.
public enum FetchResponse: Sendable, Hashable {
    /// 304: the copy we hold is current.
    case notModified
    /// Any other status with its body (2xx is a new copy; APIBAN answers its end of list
    /// with a 400 and a JSON body).
    case response(status: Int, body: [UInt8], etag: String?, lastModified: String?)
}

/// Why a fetch produced no answer.
public enum FetchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The URL cannot be used (scheme, syntax).
    case badURL(String)
    /// Connection, TLS, timeout or read failure.
    case transport(String)
    /// The body is larger than the request's `maxBytes`.
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .badURL(let url): "not a usable URL: \(url)"
        case .transport(let message): message
        case .tooLarge(let limit): "answer larger than \(limit) bytes"
        }
    }
}

/// The I/O shell the updaters fetch through: `AsyncHTTPFetcher` (async-http-client) in
/// the daemon; tests may use it against a server on 127.0.0.1 or a stand-in.
public protocol ConditionalFetcher: Sendable {
    func fetch(_ request: FetchRequest) async throws(FetchError) -> FetchResponse
}
