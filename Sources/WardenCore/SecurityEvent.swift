// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// One observed security failure: who did what, when, and where it was seen.
///
/// `source` always comes from a field the attacker cannot forge in-band: the PBX's own
/// record of the peer address, or the IP header of the packet. Attacker-written text
/// (`user`, `userAgent`, `callID`) is carried for evidence only, clipped by the sensor
/// that read it (at most `SecurityEvent.maximumFieldLength` bytes), and never used as an
/// address.
public struct SecurityEvent: Hashable, Sendable {
    /// Attacker-written text fields are cut to at most this many UTF-8 bytes by the sensor
    /// that reads them.
    public static let maximumFieldLength = 256

    /// When the failure happened (the PBX's time, or when the packet was seen).
    public var time: Timestamp
    /// The address to hold responsible: the PBX's record of the peer, or the IP source.
    public var source: IPAddress
    /// The source's port, when known.
    public var sourcePort: UInt16?
    /// The address the request was sent to (the PBX's local address, or the IP
    /// destination), when known. Evidence for reports; never banned.
    public var destination: IPAddress?
    /// The port the request was sent to, when known.
    public var destinationPort: UInt16?
    /// The transport the request arrived on, when known.
    public var transport: Transport?
    /// What the source did wrong.
    public var kind: EventKind
    /// User, extension or account the source tried (attacker-controlled text).
    public var user: String?
    /// User-Agent when known (attacker-controlled text).
    public var userAgent: String?
    /// The PBX's reason text or the response code that made this a failure.
    public var reason: String?
    /// The SIP Call-ID of the offending request, when the sensor sees it
    /// (attacker-controlled text).
    public var callID: String?
    /// Which decoder produced the event.
    public var dialect: Dialect
    /// Where in its input the event was found.
    public var origin: EventOrigin

    /// An event; every optional field defaults to unknown.
    public init(
        time: Timestamp, source: IPAddress, sourcePort: UInt16? = nil,
        destination: IPAddress? = nil, destinationPort: UInt16? = nil, transport: Transport? = nil,
        kind: EventKind, user: String? = nil, userAgent: String? = nil, reason: String? = nil,
        callID: String? = nil, dialect: Dialect, origin: EventOrigin
    ) {
        self.time = time
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.transport = transport
        self.kind = kind
        self.user = user
        self.userAgent = userAgent
        self.reason = reason
        self.callID = callID
        self.dialect = dialect
        self.origin = origin
    }
}
