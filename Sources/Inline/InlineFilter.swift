// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import SIPMessage
public import WardenCore

/// Which way a queued packet travels relative to the PBX host.
public enum InlineDirection: Hashable, Sendable {
    /// Towards the PBX (netfilter LOCAL_IN): requests from clients are judged here.
    case inbound
    /// From the PBX (netfilter LOCAL_OUT): its responses release outstanding requests.
    case outbound
}

/// Counters of the packet layer around the admission core.
public struct InlineFilterStatistics: Hashable, Sendable {
    public var packets = 0
    /// Not IPv4/IPv6, or a truncated IP header: accepted.
    public var notIP = 0
    /// IP but not UDP (or a truncated UDP header): accepted.
    public var notUDP = 0
    /// UDP whose payload is not a SIP message and carries no credentials: accepted.
    public var notSIP = 0
    /// Unparsable payloads towards the PBX that carry credentials: dropped.
    public var unjudgeableDropped = 0
    /// Fragments towards the PBX (cannot be judged before reassembly): dropped.
    public var fragmentsDropped = 0
    public var admitted = 0
    public var dropped = 0
    /// Requests whose verdict was deferred (``AdmissionDecision/hold``); each is later
    /// counted as admitted or dropped by the admission core (`heldAdmitted`, `heldDropped`).
    public var held = 0

    public init() {}
}

/// The whole per-packet decision, without any I/O: IP and UDP header parsing (IPv4 and
/// IPv6 with extension headers), SIP parsing, and the ``AdmissionController``.
///
/// Policy for what is not a judgeable SIP request (documented in docs/INLINE.md):
/// unrelated traffic — non-UDP, non-SIP payloads, responses, the PBX's own requests —
/// is accepted at once. Two things towards the PBX are dropped instead, because letting
/// them through would let an attacker step around the budget: a payload the strict
/// parser rejects but that contains `Authorization` (a lenient PBX might still check the
/// password), and an IP fragment (its SIP content cannot be seen before reassembly).
public struct InlineFilter: Sendable {
    /// The admission core (readable for statistics and inspection).
    public private(set) var controller: AdmissionController
    public private(set) var statistics = InlineFilterStatistics()

    public init(controller: AdmissionController) {
        self.controller = controller
    }

    /// Judges from now on under `policy` (see ``AdmissionController/reconfigure(with:)``).
    public mutating func reconfigure(with policy: AdmissionPolicy) {
        controller.reconfigure(with: policy)
    }

    /// Lower max-retries of their own for some sources (see
    /// ``AdmissionController/replaceSourceLimits(_:)``).
    public mutating func replaceSourceLimits(_ limits: (any AdmissionMaxRetryLookup)?) {
        controller.replaceSourceLimits(limits)
    }

    /// Judges one IP packet (starting at the IP header, as NFQUEUE delivers it) and
    /// appends any admission events to `events`. Never traps, whatever the bytes.
    ///
    /// With a `ticket` (a number unique among held packets, e.g. the NFQUEUE packet id), a
    /// request that finds no room may be held (`.hold`): its verdict then comes from
    /// ``takeReleases(into:)``, and ``expireHeld(time:)`` must be called while
    /// ``heldRequests`` > 0 (see ``AdmissionController/inbound(_:flow:time:ticket:)``).
    public mutating func judge(
        packet: UnsafeRawBufferPointer, direction: InlineDirection, time: Timestamp, events: inout [AdmissionEvent],
        ticket: UInt32? = nil
    ) -> AdmissionDecision {
        statistics.packets += 1
        let decision = decide(packet: packet, direction: direction, time: time, events: &events, ticket: ticket)
        switch decision {
        case .admit: statistics.admitted += 1
        case .drop: statistics.dropped += 1
        case .hold: statistics.held += 1
        }
        return decision
    }

    /// Requests held now.
    public var heldRequests: Int { controller.heldRequests }

    /// Moves the deferred verdicts decided so far into `buffer` (appending); they count
    /// in ``statistics`` as admitted or dropped.
    public mutating func takeReleases(into buffer: inout [AdmissionRelease]) {
        let start = buffer.count
        controller.takeReleases(into: &buffer)
        for release in buffer[start...] {
            if release.decision.isAdmitted { statistics.admitted += 1 } else { statistics.dropped += 1 }
        }
    }

    /// Decides the held requests whose hold time has passed.
    public mutating func expireHeld(time: Timestamp) {
        controller.expireHeld(time: time)
    }

    private mutating func decide(
        packet: UnsafeRawBufferPointer, direction: InlineDirection, time: Timestamp, events: inout [AdmissionEvent],
        ticket: UInt32?
    ) -> AdmissionDecision {
        let parsed: UDPDatagram
        switch UDPDatagram.parse(packet) {
        case .datagram(let d): parsed = d
        case .notIP:
            statistics.notIP += 1
            return .admit(.untracked)
        case .notUDP:
            statistics.notUDP += 1
            return .admit(.untracked)
        case .fragment:
            guard direction == .inbound else { return .admit(.untracked) }
            statistics.fragmentsDropped += 1
            return .drop(.fragment)
        }
        let payload = UnsafeRawBufferPointer(rebasing: packet[parsed.payload])
        let message: SIPMessage
        do {
            message = try SIPMessage(parsing: payload, options: direction == .inbound ? .datagram : Self.serverOptions)
        } catch {
            if direction == .inbound, Self.mentionsAuthorization(payload) {
                statistics.unjudgeableDropped += 1
                return .drop(.unjudgeableCredentials)
            }
            statistics.notSIP += 1
            return .admit(.untracked)
        }
        let view = SIPMessageView(message: message, bytes: payload)
        switch direction {
        case .inbound:
            return controller.inbound(view, flow: parsed.flow, time: time, ticket: ticket)
        case .outbound:
            let produced = controller.outbound(view, flow: parsed.flow, time: time)
            if !produced.isEmpty { events.append(contentsOf: produced) }
            return .admit(.untracked)
        }
    }

    /// How the PBX's own messages are parsed: its answers end the transactions that hold
    /// budget, so a large one (a 200 listing hundreds of bindings) must still be read.
    static let serverOptions = SIPParseOptions.datagram.forServerResponses()

    /// Whether `bytes` contain "authorization" in any letter case (also matches
    /// Proxy-Authorization).
    static func mentionsAuthorization(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let needle: [UInt8] = Array("authorization".utf8)
        let n = needle.count
        guard bytes.count >= n else { return false }
        var i = 0
        let last = bytes.count - n
        while i <= last {
            if bytes[i] | 0x20 == needle[0] {
                var j = 1
                while j < n, bytes[i + j] | 0x20 == needle[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }
}

/// A UDP datagram located inside an IP packet.
struct UDPDatagram {
    var flow: FlowKey
    /// Payload byte range within the packet.
    var payload: Range<Int>

    enum Parsed {
        case datagram(UDPDatagram)
        case notIP
        case notUDP
        case fragment
    }

    /// Parses IPv4 (options allowed) or IPv6 (hop-by-hop, routing, destination options
    /// and AH extension headers skipped) followed by UDP. Bounds-checked everywhere.
    static func parse(_ p: UnsafeRawBufferPointer) -> Parsed {
        guard p.count >= 1 else { return .notIP }
        switch p[0] >> 4 {
        case 4:
            guard p.count >= 20 else { return .notIP }
            let ihl = Int(p[0] & 0x0F) * 4
            let total = Int(p[2]) << 8 | Int(p[3])
            guard ihl >= 20, total >= ihl else { return .notIP }
            let end = min(total, p.count)
            guard end >= ihl else { return .notIP }
            let moreFragments = p[6] & 0x20 != 0
            let offset = Int(p[6] & 0x1F) << 8 | Int(p[7])
            guard p[9] == 17 else { return .notUDP }
            if moreFragments || offset != 0 { return .fragment }
            let source = IPAddress.v4(read32(p, 12))
            let destination = IPAddress.v4(read32(p, 16))
            return udp(p, at: ihl, end: end, source: source, destination: destination)
        case 6:
            guard p.count >= 40 else { return .notIP }
            let payloadLength = Int(p[4]) << 8 | Int(p[5])
            let end = min(40 + payloadLength, p.count)
            var next = p[6]
            var at = 40
            var hops = 0
            while hops < 8 {
                hops += 1
                switch next {
                case 0, 43, 60:
                    guard at + 8 <= end else { return .notUDP }
                    next = p[at]
                    at += (Int(p[at + 1]) + 1) * 8
                case 51:
                    guard at + 8 <= end else { return .notUDP }
                    next = p[at]
                    at += (Int(p[at + 1]) + 2) * 4
                case 44:
                    // Fragment header: only a first fragment could carry a UDP header, and
                    // even that holds an incomplete SIP message.
                    guard at + 8 <= end else { return .notUDP }
                    return p[at] == 17 ? .fragment : .notUDP
                case 17:
                    let source = IPAddress.v6(read64(p, 8), read64(p, 16))
                    let destination = IPAddress.v6(read64(p, 24), read64(p, 32))
                    return udp(p, at: at, end: end, source: source, destination: destination)
                default:
                    return .notUDP
                }
            }
            return .notUDP
        default:
            return .notIP
        }
    }

    private static func udp(_ p: UnsafeRawBufferPointer, at: Int, end: Int, source: IPAddress, destination: IPAddress) -> Parsed {
        guard at >= 0, at + 8 <= end else { return .notUDP }
        let sourcePort = UInt16(p[at]) << 8 | UInt16(p[at + 1])
        let destinationPort = UInt16(p[at + 2]) << 8 | UInt16(p[at + 3])
        let length = Int(p[at + 4]) << 8 | Int(p[at + 5])
        // UDP length 0 is legal only for IPv6 jumbograms; then the IP length rules.
        let stop = length >= 8 ? min(at + length, end) : end
        let flow = FlowKey(source: source, sourcePort: sourcePort, destination: destination, destinationPort: destinationPort, transport: .udp)
        return .datagram(UDPDatagram(flow: flow, payload: (at + 8)..<max(stop, at + 8)))
    }

    @inline(__always)
    private static func read32(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(p[i]) << 24 | UInt32(p[i + 1]) << 16 | UInt32(p[i + 2]) << 8 | UInt32(p[i + 3])
    }

    @inline(__always)
    private static func read64(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(read32(p, i)) << 32 | UInt64(read32(p, i + 4))
    }
}
