// SPDX-License-Identifier: GPL-2.0-or-later

/// The transport the offending request arrived on, when the sensor knows it.
public enum Transport: String, Sendable, Hashable, Codable {
    case udp, tcp, tls, ws, wss, sctp
}
