// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
public import WardenCore

/// One result of decoding a frame.
public enum DecodedOutput: Sendable {
    /// A whole UDP datagram (after IP reassembly), or the next in-order bytes of a TCP stream.
    case payload(WirePayload)
    /// TCP bytes of `flow` were lost (capture loss, buffer limits) or the connection was
    /// replaced: drop any partial message held for it.
    case streamGap(flow: FlowKey, skipped: Int, time: Timestamp)
    /// The TCP direction `flow` ended; drop its state.
    case streamClosed(flow: FlowKey, reason: StreamCloseReason, time: Timestamp)
}

/// Decodes captured frames into SIP-relevant transport payloads: link layer → IPv4/IPv6
/// (with fragment reassembly) → UDP datagrams whole, TCP as in-order stream bytes.
///
/// Pure and synchronous: time comes only from the frames' timestamps (reassembly timeouts
/// and idle TCP eviction follow packet time, so a replayed capture behaves as it did live).
/// All state is bounded by `Configuration`. Never traps on any input: bad frames are
/// counted in `statistics` and skipped.
public struct PacketDecoder: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Only traffic with a source or destination port in this set is delivered
        /// (`PortSet.all` for everything).
        public var ports: PortSet
        /// Deliver UDP datagrams with an empty payload (off: they carry nothing for SIP).
        public var deliverEmptyDatagrams: Bool
        public var reassembly: IPReassembler.Limits
        public var tcp: TCPStreamTracker.Limits

        public init(
            ports: PortSet = .sipDefault, deliverEmptyDatagrams: Bool = false,
            reassembly: IPReassembler.Limits = .init(), tcp: TCPStreamTracker.Limits = .init()
        ) {
            self.ports = ports
            self.deliverEmptyDatagrams = deliverEmptyDatagrams
            self.reassembly = reassembly
            self.tcp = tcp
        }
    }

    /// Counters since creation. `frames` = every other frame counter + `decoded`, where
    /// `decoded` counts IP packets parsed through to UDP/TCP (fragments count in
    /// `fragments` until their datagram completes).
    public struct Statistics: Sendable, Hashable {
        public var frames = 0
        /// Frames whose UDP or TCP header was decoded.
        public var decoded = 0
        /// Frames that are not IP (ARP, LLDP, ...).
        public var nonIP = 0
        /// Frames of a link type the decoder does not know.
        public var unsupportedLink = 0
        /// Frames cut short (snap length, broken capture).
        public var truncated = 0
        /// Frames whose headers contradict themselves.
        public var malformed = 0
        /// IP packets carrying neither UDP nor TCP.
        public var otherProtocol = 0
        /// UDP/TCP packets outside the configured ports.
        public var filteredByPort = 0
        /// IP fragments received.
        public var fragments = 0
        /// Datagrams rebuilt from fragments.
        public var reassembled = 0
        /// Fragments discarded (overlap, oversize, malformed, duplicates, timeouts, eviction).
        public var fragmentsDiscarded = 0
        /// Incomplete datagrams held right now.
        public var fragmentsPending = 0
        public var udpPayloads = 0
        public var tcpPayloads = 0
        public var tcpBytes = 0
        /// TCP bytes lost: never seen (gaps) or dropped (out of window, abandoned buffers).
        public var tcpBytesDropped = 0
        /// TCP bytes seen twice (retransmissions).
        public var tcpDuplicateBytes = 0
        /// TCP directions tracked right now.
        public var tcpFlows = 0

        public init() {}
    }

    public let configuration: Configuration
    private var reassembler: IPReassembler
    private var tcp: TCPStreamTracker
    private var counters = Statistics()

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        reassembler = IPReassembler(limits: configuration.reassembly)
        tcp = TCPStreamTracker(limits: configuration.tcp)
    }

    /// The counters, including the reassembler's and the TCP tracker's.
    public var statistics: Statistics {
        var s = counters
        let r = reassembler.statistics
        s.fragments = r.fragments
        s.reassembled = r.reassembled
        s.fragmentsDiscarded = r.duplicates + r.overlapDiscards + r.oversizeDiscards + r.malformed + r.timedOut + r.evicted
        s.fragmentsPending = reassembler.pendingDatagrams
        let t = tcp.statistics
        s.tcpBytesDropped = t.gapBytes + t.droppedBytes
        s.tcpDuplicateBytes = t.duplicateBytes
        s.tcpFlows = tcp.flowCount
        return s
    }

    /// The reassembler's own counters.
    public var reassemblyStatistics: IPReassembler.Statistics { reassembler.statistics }
    /// The TCP tracker's own counters.
    public var tcpStatistics: TCPStreamTracker.Statistics { tcp.statistics }

    /// Decodes one frame. `output` is called zero or more times, synchronously.
    /// - Parameters:
    ///   - linkType: the frame's link-layer header type.
    ///   - timestamp: when it was captured (drives timeouts).
    ///   - frame: the captured bytes (borrowed for the duration of the call).
    ///   - origin: copied into every payload produced.
    public mutating func decode(
        linkType: LinkType, timestamp: Timestamp, frame: UnsafeRawBufferPointer,
        origin: PayloadOrigin, _ output: (DecodedOutput) -> Void
    ) {
        counters.frames += 1
        let located: (IPVersion, Int)
        switch LinkLayer.network(linkType: linkType, frame: frame) {
        case .success(let value): located = value
        case .failure(let failure):
            count(failure)
            return
        }
        guard let network = frame.suffix(from: located.1) else {
            counters.truncated += 1
            return
        }
        decodeIP(version: located.0, network, timestamp: timestamp, origin: origin, output)
    }

    /// Decodes one frame held in an array.
    public mutating func decode(
        linkType: LinkType, timestamp: Timestamp, frame: [UInt8],
        origin: PayloadOrigin, _ output: (DecodedOutput) -> Void
    ) {
        frame.withUnsafeBytes { decode(linkType: linkType, timestamp: timestamp, frame: $0, origin: origin, output) }
    }

    /// Decodes a frame and returns its payloads (stream gap and close notices dropped):
    /// convenient for tests and tools.
    public mutating func payloads(linkType: LinkType, timestamp: Timestamp, frame: [UInt8], origin: PayloadOrigin) -> [WirePayload] {
        var result: [WirePayload] = []
        decode(linkType: linkType, timestamp: timestamp, frame: frame, origin: origin) {
            if case .payload(let p) = $0 { result.append(p) }
        }
        return result
    }

    /// Releases all TCP stream state (call at the end of a capture file), reporting each
    /// stream as closed, and forgets pending fragments.
    public mutating func finish(time: Timestamp, _ output: (DecodedOutput) -> Void) {
        tcp.closeAll { key, event in Self.forward(key, event, time: time, origin: .frame(0), output) }
        reassembler.discardPending()
    }

    private mutating func count(_ failure: HeaderFailure) {
        switch failure {
        case .unsupportedLink: counters.unsupportedLink += 1
        case .notIP: counters.nonIP += 1
        case .truncated: counters.truncated += 1
        case .malformed: counters.malformed += 1
        case .notTransport: counters.otherProtocol += 1
        }
    }

    private mutating func decodeIP(
        version: IPVersion, _ bytes: UnsafeRawBufferPointer, timestamp: Timestamp,
        origin: PayloadOrigin, _ output: (DecodedOutput) -> Void
    ) {
        let packet: IPPacket
        switch IPLayer.parse(version, bytes) {
        case .success(let value): packet = value
        case .failure(let failure):
            count(failure)
            return
        }
        guard let fragment = packet.fragment else {
            transport(packet.proto, packet.payload, packet: packet, timestamp: timestamp, origin: origin, output)
            return
        }
        let (_, done) = reassembler.add(
            source: packet.source, destination: packet.destination, identification: fragment.identification,
            proto: packet.proto, isIPv6: version == .v6, offset: fragment.offset, moreFragments: fragment.moreFragments,
            data: packet.payload, time: timestamp)
        guard let (proto, datagram) = done else { return }
        datagram.withUnsafeBytes { whole in
            var upper = proto
            var body = whole
            if version == .v6 {
                switch IPLayer.skipExtensions(proto, whole) {
                case .success(let walk):
                    upper = walk.proto
                    body = walk.rest
                    if upper == 44 {
                        counters.malformed += 1
                        return
                    }
                case .failure(let failure):
                    count(failure)
                    return
                }
            }
            transport(upper, body, packet: packet, timestamp: timestamp, origin: origin, output)
        }
    }

    private mutating func transport(
        _ proto: UInt8, _ bytes: UnsafeRawBufferPointer, packet: IPPacket, timestamp: Timestamp,
        origin: PayloadOrigin, _ output: (DecodedOutput) -> Void
    ) {
        switch proto {
        case 17:
            let datagram: UDPDatagram
            switch TransportLayer.udp(bytes) {
            case .success(let value): datagram = value
            case .failure(let failure):
                count(failure)
                return
            }
            counters.decoded += 1
            guard configuration.ports.matches(datagram.sourcePort, datagram.destinationPort) else {
                counters.filteredByPort += 1
                return
            }
            guard !datagram.payload.isEmpty || configuration.deliverEmptyDatagrams else { return }
            counters.udpPayloads += 1
            let flow = FlowKey(
                source: packet.source, sourcePort: datagram.sourcePort, destination: packet.destination,
                destinationPort: datagram.destinationPort, transport: .udp)
            output(.payload(WirePayload(time: timestamp, flow: flow, bytes: Array(datagram.payload), origin: origin)))
        case 6:
            let segment: TCPSegment
            switch TransportLayer.tcp(bytes) {
            case .success(let value): segment = value
            case .failure(let failure):
                count(failure)
                return
            }
            counters.decoded += 1
            guard configuration.ports.matches(segment.sourcePort, segment.destinationPort) else {
                counters.filteredByPort += 1
                return
            }
            let flow = FlowKey(
                source: packet.source, sourcePort: segment.sourcePort, destination: packet.destination,
                destinationPort: segment.destinationPort, transport: .tcp)
            var delivered = 0
            var bytesOut = 0
            tcp.add(
                flow: flow, sequence: segment.sequence, syn: segment.flags.contains(.syn), fin: segment.flags.contains(.fin),
                rst: segment.flags.contains(.rst), payload: segment.payload, time: timestamp
            ) { key, event in
                if case .data(let bytes) = event {
                    delivered += 1
                    bytesOut += bytes.count
                }
                Self.forward(key, event, time: timestamp, origin: origin, output)
            }
            counters.tcpPayloads += delivered
            counters.tcpBytes += bytesOut
        default:
            counters.otherProtocol += 1
        }
    }

    private static func forward(
        _ key: FlowKey, _ event: StreamEvent, time: Timestamp, origin: PayloadOrigin,
        _ output: (DecodedOutput) -> Void
    ) {
        switch event {
        case .data(let bytes):
            output(.payload(WirePayload(time: time, flow: key, bytes: bytes, origin: origin)))
        case .gap(let skipped):
            output(.streamGap(flow: key, skipped: skipped, time: time))
        case .closed(let reason):
            output(.streamClosed(flow: key, reason: reason, time: time))
        }
    }
}
