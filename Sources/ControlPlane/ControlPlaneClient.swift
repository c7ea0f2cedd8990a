// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// A small blocking HTTP/1.1 client for the control plane's Unix socket, used by the
/// command line (`sipwarden bans …`, `sipwarden status`): one request per connection
/// (`Connection: close`), bounded in size and time. No dependency beyond libc.
public struct ControlPlaneClient: Sendable {
    public let socketPath: String
    /// Sent as `Authorization: Bearer …` when set.
    public let token: APIToken?
    /// Longest wait for connecting, sending and receiving each.
    public var timeout: Duration = .seconds(30)
    /// Largest response accepted.
    public static let maximumResponseBytes = 64 * 1024 * 1024

    public init(socketPath: String, token: APIToken?) {
        self.socketPath = socketPath
        self.token = token
    }

    /// `GET /v1/bans`.
    public func bans(all: Bool, limit: Int) throws(ControlPlaneClientError) -> [BanView] {
        try decode(BanList.self, send("GET", "/v1/bans?all=\(all)&limit=\(limit)")).bans
    }

    /// `POST /v1/bans`.
    public func ban(_ body: BanRequestBody) throws(ControlPlaneClientError) -> BanView {
        let data: Data
        do { data = try JSONEncoder().encode(body) } catch { throw .protocolError("cannot encode the request: \(error)") }
        return try decode(BanView.self, send("POST", "/v1/bans", body: Array(data)))
    }

    /// `DELETE /v1/bans?network=…`.
    public func lift(network: String) throws(ControlPlaneClientError) -> LiftResult {
        try decode(LiftResult.self, send("DELETE", "/v1/bans?network=\(Self.percentEncoded(network))"))
    }

    /// `GET /v1/status`.
    public func status() throws(ControlPlaneClientError) -> StatusView {
        try decode(StatusView.self, send("GET", "/v1/status"))
    }

    /// Sends one request; returns the response whatever its status.
    public func send(_ method: String, _ target: String, body: [UInt8]? = nil) throws(ControlPlaneClientError) -> HTTPClientResponse {
        let fd = try connectSocket()
        defer { close(fd) }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: sipwarden\r\n"
        if let token { head += "Authorization: Bearer \(token.value)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        try sendAll(fd, Array(head.utf8) + (body ?? []))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .protocolError("receiving from \(socketPath): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            received.append(contentsOf: buffer[0..<n])
            guard received.count <= Self.maximumResponseBytes else { throw .protocolError("response larger than \(Self.maximumResponseBytes) bytes") }
            if let complete = HTTPClientResponse.parse(received, atEnd: false), complete.isComplete { return complete.response }
        }
        guard let parsed = HTTPClientResponse.parse(received, atEnd: true), parsed.isComplete else {
            throw .protocolError("incomplete HTTP response from \(socketPath)")
        }
        return parsed.response
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPClientResponse) throws(ControlPlaneClientError) -> T {
        guard (200..<300).contains(response.status) else {
            let message =
                (try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body)))?.error
                ?? String(decoding: response.body.prefix(200), as: UTF8.self)
            throw .refused(status: response.status, message: message)
        }
        do { return try JSONDecoder().decode(T.self, from: Data(response.body)) } catch {
            throw .protocolError("unexpected answer: \(error)")
        }
    }

    private func connectSocket() throws(ControlPlaneClientError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .protocolError("socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .protocolError("socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 {
            let code = errno
            close(fd)
            if code == ENOENT || code == ECONNREFUSED {
                throw .noDaemon
            }
            throw .protocolError("cannot connect to \(socketPath): \(String(cString: strerror(code)))")
        }
        return fd
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(ControlPlaneClientError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .protocolError("sending to \(socketPath): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// `text` with everything but unreserved characters and `/`, `:` percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }
}

/// Why a control plane request did not succeed.
public enum ControlPlaneClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No daemon listens on the socket (absent, or refusing): work on the ledger directly.
    case noDaemon
    /// The daemon answered with an error status.
    case refused(status: Int, message: String)
    /// Anything else: the daemon is there but the exchange failed.
    case protocolError(String)

    public var description: String {
        switch self {
        case .noDaemon: "no daemon listens on the control socket"
        case .refused(let status, let message): "the daemon refused (HTTP \(status)): \(message)"
        case .protocolError(let message): message
        }
    }
}

/// A parsed HTTP/1.1 response (status and body; headers only as far as framing needs).
public struct HTTPClientResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: [UInt8]

    /// Parses what was received so far: nil when the head is incomplete or malformed;
    /// `isComplete` false while the body announced by Content-Length (or chunked) is not
    /// all there.
    static func parse(_ bytes: [UInt8], atEnd: Bool) -> (response: HTTPClientResponse, isComplete: Bool)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) }) else {
            return nil
        }
        let head = String(decoding: bytes[0..<end], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else { return nil }
        var contentLength: Int?
        var chunked = false
        var contentType: String?
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmedSpaces
            switch name {
            case "content-length": contentLength = Int(value)
            case "transfer-encoding": chunked = value.lowercased().contains("chunked")
            case "content-type": contentType = value
            default: break
            }
        }
        let rest = Array(bytes[(end + 4)...])
        if chunked {
            guard let body = dechunk(rest) else {
                return (HTTPClientResponse(status: status, contentType: contentType, body: []), false)
            }
            return (HTTPClientResponse(status: status, contentType: contentType, body: body), true)
        }
        if let contentLength {
            let complete = rest.count >= contentLength
            return (HTTPClientResponse(status: status, contentType: contentType, body: Array(rest.prefix(contentLength))), complete)
        }
        // No framing: the body ends when the server closes.
        return (HTTPClientResponse(status: status, contentType: contentType, body: rest), atEnd)
    }

    /// The body of a complete chunked encoding, or nil while incomplete.
    static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
        var body: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = (i..<max(i, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else { return nil }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmedSpaces, radix: 16), size >= 0 else { return nil }
            i = lineEnd + 2
            if size == 0 { return body }
            guard bytes.count >= i + size + 2 else { return nil }
            body.append(contentsOf: bytes[i..<(i + size)])
            i += size + 2
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmedSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
