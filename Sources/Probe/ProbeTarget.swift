// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// The transport the probe speaks.
public enum ProbeTransport: String, Sendable, Hashable, Codable {
    /// SIP over UDP (the only transport implemented).
    case udp

    /// The token used in a Via header (`UDP`).
    var viaToken: String { "UDP" }
}

/// Why a `HOST[:PORT]` argument was refused.
public enum ProbeTargetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The argument is empty.
    case empty
    /// The host is not a numeric IPv4/IPv6 address (host names are never resolved).
    case notNumeric(String)
    /// The port is not a number in 1...65535.
    case badPort(String)
    /// Multicast, broadcast and unspecified addresses are refused whatever the flags.
    case forbiddenAddress(IPAddress, reason: String)
    /// The address is not loopback and the user did not state that they own the host.
    case notLoopback(IPAddress)

    public var description: String {
        switch self {
        case .empty:
            return "no target given: expected HOST[:PORT] with a numeric IPv4 address or a [bracketed] IPv6 address"
        case .notNumeric(let text):
            return "'\(Self.printable(text))' is not a numeric IP address: the probe does not resolve host names; "
                + "give IPv4 as A.B.C.D[:PORT] and IPv6 as [ADDR]:PORT or a bare ADDR"
        case .badPort(let text):
            return "'\(Self.printable(text))' is not a valid port (expected 1-65535)"
        case .forbiddenAddress(let address, let reason):
            return "refusing to probe \(address): \(reason) addresses are never probed"
        case .notLoopback(let address):
            return "refusing to probe \(address): it is not a loopback address. Only probe hosts you operate; "
                + "if you own this host, pass --i-own-this-host"
        }
    }

    /// At most 64 printable ASCII characters of untrusted text, for messages.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            out.unicodeScalars.append(scalar.value >= 0x20 && scalar.value < 0x7f ? scalar : "?")
        }
        return text.unicodeScalars.count > 64 ? out + "…" : out
    }
}

/// Where the enumeration probe is sent: a numeric address, a port and a transport.
///
/// Built only through ``init(parsing:iOwnThisHost:transport:)``, which enforces the
/// safety rules: numeric addresses only (no DNS), never multicast / broadcast /
/// unspecified, and only loopback unless the caller asserts ownership of the host.
public struct ProbeTarget: Sendable, Hashable, CustomStringConvertible {
    /// The SIP port used when none is given.
    public static let defaultPort: UInt16 = 5060

    /// The address the requests go to (IPv4-mapped IPv6 is stored as IPv4).
    public let address: IPAddress
    /// The destination port.
    public let port: UInt16
    /// The transport.
    public let transport: ProbeTransport

    /// Parses `HOST[:PORT]`: `A.B.C.D`, `A.B.C.D:PORT`, `[IPv6]`, `[IPv6]:PORT` or a bare
    /// IPv6 address (which then cannot carry a port). Host names are refused, not
    /// resolved.
    ///
    /// - Parameters:
    ///   - text: the command-line argument.
    ///   - iOwnThisHost: the user's explicit statement that they operate the target;
    ///     without it only loopback addresses (127.0.0.0/8, ::1) are accepted.
    ///   - transport: the transport to use (UDP).
    /// - Throws: ``ProbeTargetError`` naming the rule that refused the argument.
    public init(parsing text: String, iOwnThisHost: Bool, transport: ProbeTransport = .udp) throws(ProbeTargetError) {
        let trimmed = Self.trimmed(text)
        guard !trimmed.isEmpty else { throw .empty }
        let hostText: Substring
        var portText: Substring? = nil
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { throw .notNumeric(text) }
            hostText = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .notNumeric(text) }
                portText = rest.dropFirst()
            }
            // Inside brackets only IPv6 is meaningful.
            guard hostText.contains(":") else { throw .notNumeric(text) }
        } else if trimmed.filter({ $0 == ":" }).count == 1, let colon = trimmed.firstIndex(of: ":") {
            hostText = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
        } else {
            hostText = trimmed[...]
        }
        guard let parsed = IPAddress(hostText) else { throw .notNumeric(String(hostText)) }
        var port = Self.defaultPort
        if let portText {
            guard let p = Self.parsePort(portText) else { throw .badPort(String(portText)) }
            port = p
        }
        try self.init(address: parsed, port: port, iOwnThisHost: iOwnThisHost, transport: transport)
    }

    /// Checks an already numeric address and port against the safety rules.
    /// - Throws: ``ProbeTargetError`` when the address is refused.
    public init(address: IPAddress, port: UInt16, iOwnThisHost: Bool, transport: ProbeTransport = .udp) throws(ProbeTargetError) {
        let address = address.unmapped
        guard port != 0 else { throw .badPort("0") }
        if let reason = Self.forbiddenReason(address) { throw .forbiddenAddress(address, reason: reason) }
        guard address.isLoopback || iOwnThisHost else { throw .notLoopback(address) }
        self.address = address
        self.port = port
        self.transport = transport
    }

    /// The host as it appears in a SIP URI or Via (IPv6 in brackets).
    public var hostText: String {
        switch address {
        case .v4: address.description
        case .v6: "[\(address.description)]"
        }
    }

    /// `host:port` with IPv6 in brackets.
    public var description: String { "\(hostText):\(port)" }

    /// Why `address` must never be probed, or nil when it may be.
    static func forbiddenReason(_ address: IPAddress) -> String? {
        switch address {
        case .v4(let v):
            if v == 0xFFFF_FFFF { return "broadcast" }
            if v >> 24 == 0 { return "unspecified (0.0.0.0/8)" }
            if v >> 28 == 0xE { return "multicast" }
            if v >> 28 == 0xF { return "reserved (240.0.0.0/4)" }
            return nil
        case .v6(let hi, let lo):
            if hi == 0 && lo == 0 { return "unspecified" }
            if hi >> 56 == 0xFF { return "multicast" }
            return nil
        }
    }

    static func parsePort(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard let value = Int(text), value >= 1, value <= 65535 else { return nil }
        return UInt16(value)
    }

    static func trimmed(_ text: String) -> Substring {
        var s = text[...]
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
