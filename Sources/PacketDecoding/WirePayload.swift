// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// The addressing of one transport flow, as the IP and UDP/TCP headers state it.
///
/// `source` is the IP header's source address: the only address sipwarden ever bans for
/// traffic seen on the wire (never Via, Contact or From, which the sender writes).
public struct FlowKey: Hashable, Sendable {
    public var source: IPAddress
    public var sourcePort: UInt16
    public var destination: IPAddress
    public var destinationPort: UInt16
    public var transport: Transport

    public init(source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16, transport: Transport) {
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.transport = transport
    }

    /// The same flow seen from the other end.
    public var reversed: FlowKey {
        FlowKey(source: destination, sourcePort: destinationPort, destination: source, destinationPort: sourcePort, transport: transport)
    }
}

/// Where a payload was seen.
public enum PayloadOrigin: Hashable, Sendable {
    /// 1-based frame number in a capture file.
    case frame(Int)
    /// A live interface.
    case interface(String)
    /// A HEP packet from this agent (the collector's view of its sender), with the agent's capture id.
    case hep(agent: IPAddress, captureID: UInt32)
}

/// Transport payload bytes with their addressing: a whole UDP datagram (after IP
/// reassembly), or the next in-order bytes of a TCP stream (which may hold part of a SIP
/// message, one, or several: frame them with `SIPStreamFramer`).
public struct WirePayload: Sendable {
    public var time: Timestamp
    public var flow: FlowKey
    public var bytes: [UInt8]
    public var origin: PayloadOrigin

    public init(time: Timestamp, flow: FlowKey, bytes: [UInt8], origin: PayloadOrigin) {
        self.time = time
        self.flow = flow
        self.bytes = bytes
        self.origin = origin
    }
}
