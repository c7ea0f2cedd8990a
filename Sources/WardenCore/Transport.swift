// SPDX-License-Identifier: GPL-2.0-or-later

/// The transport the offending request arrived on, when the sensor knows it.
public enum Transport: String, Sendable, Hashable, Codable {
    /// UDP.
    case udp
    /// TCP.
    case tcp
    /// TLS over TCP.
    case tls
    /// WebSocket (RFC 7118).
    case ws
    /// Secure WebSocket.
    case wss
    /// SCTP (RFC 4168).
    case sctp
}
