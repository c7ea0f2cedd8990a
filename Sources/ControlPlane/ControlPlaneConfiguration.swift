// SPDX-License-Identifier: GPL-2.0-or-later

public import Logging
import NetworkAddress

/// Where and how the control plane listens, and what it serves.
public struct ControlPlaneConfiguration: Sendable {
    /// The Unix socket's file name in the state directory.
    public static let socketName = "api.sock"

    /// The Unix socket (mode 0600, root only); nil = none.
    public var socketPath: String?
    /// TCP host and port (`--http ADDR:PORT`); nil = none. Every request on TCP needs
    /// the token, reads included.
    public var tcp: TCPEndpoint?
    /// Required for every request that changes state (and, on TCP, for every request).
    public var token: APIToken
    /// Prometheus text exposition for `GET /metrics`; nil = 404.
    public var metricsText: (@Sendable () -> String)?
    /// Range blocks for `/v1/ranges`; nil = those routes answer 404.
    public var ranges: (any RangeAdministration)?
    /// Abuse cases for `/v1/cases` and `/v1/providers`; nil = those routes answer 404.
    public var cases: (any CaseAdministration)?
    public var logger: Logger

    public init(
        socketPath: String?, tcp: TCPEndpoint?, token: APIToken, metricsText: (@Sendable () -> String)? = nil,
        logger: Logger
    ) {
        self.socketPath = socketPath
        self.tcp = tcp
        self.token = token
        self.metricsText = metricsText
        self.logger = logger
    }

    /// The socket path in a state directory.
    public static func socketPath(stateDirectory: String) -> String {
        stateDirectory + "/" + socketName
    }
}

/// A TCP listening address: numeric host and port.
public struct TCPEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `ADDR:PORT`, `[V6]:PORT` or a bare `PORT` (= 127.0.0.1:PORT). Hosts must be
    /// numeric (no name is ever resolved).
    public init?(parsing text: String) {
        func port(_ s: Substring) -> Int? {
            guard let p = Int(s), (1...65_535).contains(p) else { return nil }
            return p
        }
        if let p = port(text[...]) {
            self.init(host: "127.0.0.1", port: p)
            return
        }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let p = port(rest.dropFirst()), Self.isNumeric(host) else { return nil }
            self.init(host: String(host), port: p)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let p = port(text[text.index(after: colon)...]) else { return nil }
        let host = text[..<colon]
        guard !host.contains(":"), Self.isNumeric(host) else { return nil }
        self.init(host: String(host), port: p)
    }

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        IPAddress(host)?.isLoopback ?? false
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    private static func isNumeric(_ host: Substring) -> Bool {
        IPAddress(host) != nil
    }
}
