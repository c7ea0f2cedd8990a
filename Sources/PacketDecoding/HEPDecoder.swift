// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// Generic (vendor 0) HEPv3 chunk type ids used by sipwarden.
public enum HEPChunkType {
    public static let ipFamily: UInt16 = 1
    public static let ipProtocol: UInt16 = 2
    public static let ipv4Source: UInt16 = 3
    public static let ipv4Destination: UInt16 = 4
    public static let ipv6Source: UInt16 = 5
    public static let ipv6Destination: UInt16 = 6
    public static let sourcePort: UInt16 = 7
    public static let destinationPort: UInt16 = 8
    public static let timestampSeconds: UInt16 = 9
    public static let timestampMicroseconds: UInt16 = 10
    public static let protocolType: UInt16 = 11
    public static let captureID: UInt16 = 12
    public static let keepAliveTimer: UInt16 = 13
    public static let authKey: UInt16 = 14
    public static let payload: UInt16 = 15
    public static let compressedPayload: UInt16 = 16
    public static let correlationID: UInt16 = 17
}

/// HEP "protocol type" values (chunk 11) that matter here.
public enum HEPProtocolType {
    /// SIP: the only type sipwarden decodes.
    public static let sip: UInt8 = 1
}

/// HEP's IP family values (Linux `AF_INET` / `AF_INET6`, as every known sender writes them).
public enum HEPFamily {
    public static let ipv4: UInt8 = 2
    public static let ipv6: UInt8 = 10
}

/// One decoded HEP packet: the original packet's addressing as the capture agent saw it,
/// plus the HEP metadata.
public struct HEPPacket: Sendable, Hashable {
    /// HEP version: 1, 2 or 3.
    public var version: Int
    /// The original packet's flow. IPv4-mapped IPv6 addresses are reported as IPv4.
    public var flow: FlowKey
    /// The IP protocol id as sent (17 UDP, 6 TCP, 132 SCTP, 22 Kamailio's marker for TLS/WS/WSS).
    public var ipProtocol: UInt8
    /// When the agent captured the packet (HEPv1 carries no time: the receive time is used).
    public var time: Timestamp
    /// HEP protocol type (1 = SIP). HEPv1/v2 carry none and are always SIP.
    public var protocolType: UInt8
    /// The agent's capture id (0 when absent).
    public var captureID: UInt32
    /// The captured payload (the original SIP message).
    public var payload: [UInt8]

    public init(
        version: Int = 3, flow: FlowKey, ipProtocol: UInt8, time: Timestamp, protocolType: UInt8 = HEPProtocolType.sip,
        captureID: UInt32 = 0, payload: [UInt8]
    ) {
        self.version = version
        self.flow = flow
        self.ipProtocol = ipProtocol
        self.time = time
        self.protocolType = protocolType
        self.captureID = captureID
        self.payload = payload
    }
}

/// What a valid HEP datagram carries.
public enum HEPDecoded: Sendable {
    /// A SIP message, ready for the SIP decoder.
    case sip(WirePayload)
    /// A valid HEP packet of another protocol type (RTCP, logs, ...), to be counted and ignored.
    case nonSIP(protocolType: UInt8)
}

/// Decodes HEP (Homer Encapsulation Protocol) datagrams: HEPv3 (`HEP3` + chunks), and the
/// older fixed-layout HEPv1/v2 as Kamailio's siptrace sends them.
///
/// Pure and allocation-light: the only allocation is the payload copy of an accepted SIP
/// packet. Every length is checked before use; malformed input is rejected with a typed
/// `HEPError`, never a trap.
///
/// HEPv3 rules:
/// - the total length field must equal the datagram's size;
/// - every chunk must be at least 6 bytes and fit in the packet;
/// - generic (vendor 0) chunks 1–17 may appear at most once; fixed-size ones must have their
///   exact size; chunks of other vendors and unknown generic types are skipped;
/// - mandatory: IP family, IP protocol id, source and destination address of that family
///   (and none of the other), source and destination port, timestamp seconds, protocol
///   type, and (for SIP) the payload (chunk 15). Microseconds and capture id default to 0;
/// - when the decoder has an auth key, chunk 14 must be present and equal to it (one
///   trailing NUL byte is tolerated); without a key, chunk 14 is ignored.
///
/// HEPv1/v2 (no length field, no auth): an 8-byte header (version, header length, family,
/// IP protocol, source port, destination port in network order), the two addresses, for
/// v2 a 12-byte time header (seconds, microseconds as little-endian 32-bit values, a
/// 16-bit capture id, 2 bytes of padding — the C struct Kamailio copies), then the payload.
/// They carry no protocol type (always SIP) and cannot be authenticated, so they are
/// rejected when an auth key is configured.
public struct HEPDecoder: Sendable {
    /// The required auth key, or nil to accept packets with or without one.
    public let authKey: [UInt8]?

    /// Creates a decoder; an empty or nil `authKey` disables the check.
    public init(authKey: String? = nil) {
        if let authKey, !authKey.isEmpty { self.authKey = Array(authKey.utf8) } else { self.authKey = nil }
    }

    /// Creates a decoder requiring exactly these key bytes (nil or empty: no check).
    public init(authKeyBytes: [UInt8]?) {
        if let authKeyBytes, !authKeyBytes.isEmpty { authKey = authKeyBytes } else { authKey = nil }
    }

    /// Decodes a datagram received from `agent` into a SIP payload or a non-SIP marker.
    /// - Parameters:
    ///   - agent: the UDP sender of the HEP datagram (recorded in the payload's origin).
    ///   - receivedAt: used as the capture time only for HEPv1, which carries none.
    public func decode(_ datagram: UnsafeRawBufferPointer, agent: IPAddress, receivedAt: Timestamp) throws(HEPError) -> HEPDecoded {
        let fields = try parse(datagram, receivedAt: receivedAt)
        guard fields.protocolType == HEPProtocolType.sip else { return .nonSIP(protocolType: fields.protocolType) }
        let payload = Array(UnsafeRawBufferPointer(rebasing: datagram[fields.payloadStart..<fields.payloadEnd]))
        return .sip(
            WirePayload(
                time: fields.time, flow: fields.flow, bytes: payload,
                origin: .hep(agent: agent.unmapped, captureID: fields.captureID)))
    }

    /// Decodes a datagram held in an array.
    public func decode(_ datagram: [UInt8], agent: IPAddress, receivedAt: Timestamp) throws(HEPError) -> HEPDecoded {
        try Self.withRaw(datagram) { (raw) throws(HEPError) in try decode(raw, agent: agent, receivedAt: receivedAt) }
    }

    /// Decodes a datagram into all its fields, whatever its protocol type (for inspection
    /// and tests). Same validation as `decode`.
    public func packet(_ datagram: UnsafeRawBufferPointer, receivedAt: Timestamp) throws(HEPError) -> HEPPacket {
        let f = try parse(datagram, receivedAt: receivedAt)
        return HEPPacket(
            version: f.version, flow: f.flow, ipProtocol: f.ipProtocol, time: f.time, protocolType: f.protocolType,
            captureID: f.captureID,
            payload: Array(UnsafeRawBufferPointer(rebasing: datagram[f.payloadStart..<f.payloadEnd])))
    }

    /// `packet(_:receivedAt:)` for an array.
    public func packet(_ datagram: [UInt8], receivedAt: Timestamp) throws(HEPError) -> HEPPacket {
        try Self.withRaw(datagram) { (raw) throws(HEPError) in try packet(raw, receivedAt: receivedAt) }
    }

    private static func withRaw<R>(
        _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(HEPError) -> R
    ) throws(HEPError) -> R {
        let result: Result<R, HEPError> = bytes.withUnsafeBytes { raw in
            do throws(HEPError) { return .success(try body(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: Parsing

    /// The validated fields, with the payload as a byte range of the datagram.
    struct Fields {
        var version: Int
        var flow: FlowKey
        var ipProtocol: UInt8
        var time: Timestamp
        var protocolType: UInt8
        var captureID: UInt32
        var payloadStart: Int
        var payloadEnd: Int
    }

    func parse(_ d: UnsafeRawBufferPointer, receivedAt: Timestamp) throws(HEPError) -> Fields {
        let n = d.count
        guard n >= 6 else { throw .truncated(length: n) }
        if d[0] == 0x48, d[1] == 0x45, d[2] == 0x50, d[3] == 0x33 { // "HEP3"
            return try parseV3(d)
        }
        if d[0] == 1 || d[0] == 2 { return try parseV2(d, receivedAt: receivedAt) }
        throw .unknownVersion(firstByte: d[0])
    }

    private func parseV3(_ d: UnsafeRawBufferPointer) throws(HEPError) -> Fields {
        let n = d.count
        let declared = Self.be16(d, 4)
        guard declared == n else { throw .lengthMismatch(declared: declared, received: n) }

        var seen: UInt32 = 0
        var family: UInt8 = 0
        var ipProtocol: UInt8 = 0
        var src4: UInt32 = 0
        var dst4: UInt32 = 0
        var src6 = (UInt64(0), UInt64(0))
        var dst6 = (UInt64(0), UInt64(0))
        var srcPort: UInt16 = 0
        var dstPort: UInt16 = 0
        var seconds: UInt32 = 0
        var micros: UInt32 = 0
        var protocolType: UInt8 = 0
        var captureID: UInt32 = 0
        var keyRange = 0..<0
        var payloadRange = 0..<0

        var offset = 6
        while offset < n {
            let remaining = n - offset
            guard remaining >= 6 else { throw .chunkOverrun(offset: offset, length: remaining, remaining: remaining) }
            let vendor = Self.be16(d, offset)
            let type = Self.be16(d, offset + 2)
            let length = Self.be16(d, offset + 4)
            guard length >= 6 else { throw .chunkTooShort(offset: offset, length: length) }
            guard length <= remaining else { throw .chunkOverrun(offset: offset, length: length, remaining: remaining) }
            let start = offset + 6
            let size = length - 6
            offset += length
            guard vendor == 0, type >= 1, type <= 17 else { continue }
            let bit = UInt32(1) << UInt32(type)
            guard seen & bit == 0 else { throw .duplicateChunk(type: UInt16(type)) }
            seen |= bit

            let expected: Int? =
                switch UInt16(type) {
                case HEPChunkType.ipFamily, HEPChunkType.ipProtocol, HEPChunkType.protocolType: 1
                case HEPChunkType.ipv4Source, HEPChunkType.ipv4Destination: 4
                case HEPChunkType.ipv6Source, HEPChunkType.ipv6Destination: 16
                case HEPChunkType.sourcePort, HEPChunkType.destinationPort, HEPChunkType.keepAliveTimer: 2
                case HEPChunkType.timestampSeconds, HEPChunkType.timestampMicroseconds, HEPChunkType.captureID: 4
                default: nil
                }
            if let expected, size != expected { throw .badChunkSize(type: UInt16(type), dataLength: size) }

            switch UInt16(type) {
            case HEPChunkType.ipFamily: family = d[start]
            case HEPChunkType.ipProtocol: ipProtocol = d[start]
            case HEPChunkType.ipv4Source: src4 = Self.be32(d, start)
            case HEPChunkType.ipv4Destination: dst4 = Self.be32(d, start)
            case HEPChunkType.ipv6Source: src6 = (Self.be64(d, start), Self.be64(d, start + 8))
            case HEPChunkType.ipv6Destination: dst6 = (Self.be64(d, start), Self.be64(d, start + 8))
            case HEPChunkType.sourcePort: srcPort = UInt16(Self.be16(d, start))
            case HEPChunkType.destinationPort: dstPort = UInt16(Self.be16(d, start))
            case HEPChunkType.timestampSeconds: seconds = Self.be32(d, start)
            case HEPChunkType.timestampMicroseconds: micros = Self.be32(d, start)
            case HEPChunkType.protocolType: protocolType = d[start]
            case HEPChunkType.captureID: captureID = Self.be32(d, start)
            case HEPChunkType.authKey: keyRange = start..<(start + size)
            case HEPChunkType.payload: payloadRange = start..<(start + size)
            default: break // keep-alive timer, compressed payload, correlation id: presence only
            }
        }

        func has(_ type: UInt16) -> Bool { seen & (UInt32(1) << UInt32(type)) != 0 }
        func require(_ type: UInt16) throws(HEPError) { if !has(type) { throw .missingChunk(type: type) } }

        // Authentication first, so a sender without the key learns nothing more.
        try checkKey(d, present: has(HEPChunkType.authKey), range: keyRange)

        try require(HEPChunkType.ipFamily)
        let source: IPAddress
        let destination: IPAddress
        switch family {
        case HEPFamily.ipv4:
            guard !has(HEPChunkType.ipv6Source), !has(HEPChunkType.ipv6Destination) else { throw .familyMismatch(family: family) }
            try require(HEPChunkType.ipv4Source)
            try require(HEPChunkType.ipv4Destination)
            source = .v4(src4)
            destination = .v4(dst4)
        case HEPFamily.ipv6:
            guard !has(HEPChunkType.ipv4Source), !has(HEPChunkType.ipv4Destination) else { throw .familyMismatch(family: family) }
            try require(HEPChunkType.ipv6Source)
            try require(HEPChunkType.ipv6Destination)
            source = IPAddress.v6(src6.0, src6.1).unmapped
            destination = IPAddress.v6(dst6.0, dst6.1).unmapped
        default:
            throw .unsupportedFamily(family)
        }
        try require(HEPChunkType.sourcePort)
        try require(HEPChunkType.destinationPort)
        try require(HEPChunkType.ipProtocol)
        try require(HEPChunkType.timestampSeconds)
        guard micros < 1_000_000 else { throw .invalidTimestamp(microseconds: micros) }
        try require(HEPChunkType.protocolType)

        let time = Timestamp(microseconds: Int64(seconds) * 1_000_000 + Int64(micros))
        if protocolType != HEPProtocolType.sip {
            // Not decoded further: transport and payload rules are SIP's.
            let flow = FlowKey(source: source, sourcePort: srcPort, destination: destination, destinationPort: dstPort, transport: .udp)
            return Fields(
                version: 3, flow: flow, ipProtocol: ipProtocol, time: time, protocolType: protocolType,
                captureID: captureID, payloadStart: payloadRange.lowerBound, payloadEnd: payloadRange.upperBound)
        }
        let transport = try Self.transport(ipProtocol)
        if !has(HEPChunkType.payload) {
            throw has(HEPChunkType.compressedPayload) ? .compressedPayload : .missingChunk(type: HEPChunkType.payload)
        }
        guard !payloadRange.isEmpty else { throw .emptyPayload }
        let flow = FlowKey(source: source, sourcePort: srcPort, destination: destination, destinationPort: dstPort, transport: transport)
        return Fields(
            version: 3, flow: flow, ipProtocol: ipProtocol, time: time, protocolType: protocolType,
            captureID: captureID, payloadStart: payloadRange.lowerBound, payloadEnd: payloadRange.upperBound)
    }

    private func parseV2(_ d: UnsafeRawBufferPointer, receivedAt: Timestamp) throws(HEPError) -> Fields {
        let n = d.count
        guard n >= 8 else { throw .truncated(length: n) }
        let version = Int(d[0])
        let headerLength = d[1]
        let family = d[2]
        let ipProtocol = d[3]
        let srcPort = UInt16(Self.be16(d, 4))
        let dstPort = UInt16(Self.be16(d, 6))
        let addressBytes: Int
        switch family {
        case HEPFamily.ipv4: addressBytes = 8
        case HEPFamily.ipv6: addressBytes = 32
        default: throw .unsupportedFamily(family)
        }
        guard Int(headerLength) == 8 + addressBytes else { throw .badHeaderLength(headerLength) }
        var offset = Int(headerLength)
        let timeBytes = version == 2 ? 12 : 0
        guard n >= offset + timeBytes else { throw .truncated(length: n) }
        // No key can be carried: refuse before looking further when one is required.
        if authKey != nil { throw .authenticationMissing }

        let source: IPAddress
        let destination: IPAddress
        if family == HEPFamily.ipv4 {
            source = .v4(Self.be32(d, 8))
            destination = .v4(Self.be32(d, 12))
        } else {
            source = IPAddress.v6(Self.be64(d, 8), Self.be64(d, 16)).unmapped
            destination = IPAddress.v6(Self.be64(d, 24), Self.be64(d, 32)).unmapped
        }
        var time = receivedAt
        var captureID: UInt32 = 0
        if version == 2 {
            let seconds = Self.le32(d, offset)
            let micros = Self.le32(d, offset + 4)
            guard micros < 1_000_000 else { throw .invalidTimestamp(microseconds: micros) }
            time = Timestamp(microseconds: Int64(seconds) * 1_000_000 + Int64(micros))
            captureID = UInt32(d[offset + 8]) | UInt32(d[offset + 9]) << 8
            offset += timeBytes
        }
        let transport = try Self.transport(ipProtocol)
        guard offset < n else { throw .emptyPayload }
        let flow = FlowKey(source: source, sourcePort: srcPort, destination: destination, destinationPort: dstPort, transport: transport)
        return Fields(
            version: version, flow: flow, ipProtocol: ipProtocol, time: time, protocolType: HEPProtocolType.sip,
            captureID: captureID, payloadStart: offset, payloadEnd: n)
    }

    /// Compares the carried key with the configured one in time independent of where they differ.
    private func checkKey(_ d: UnsafeRawBufferPointer, present: Bool, range: Range<Int>) throws(HEPError) {
        guard let authKey else { return }
        guard present else { throw .authenticationMissing }
        var end = range.upperBound
        if end > range.lowerBound, d[end - 1] == 0 { end -= 1 }
        let count = end - range.lowerBound
        var difference = UInt8(truncatingIfNeeded: count ^ authKey.count)
        if count == authKey.count {
            for i in 0..<count { difference |= d[range.lowerBound + i] ^ authKey[i] }
        }
        guard difference == 0, count == authKey.count else { throw .authenticationFailed }
    }

    /// Maps the HEP IP protocol id to a transport.
    static func transport(_ ipProtocol: UInt8) throws(HEPError) -> Transport {
        switch ipProtocol {
        case 17: .udp
        case 6: .tcp
        case 132: .sctp
        case 22: .tls // Kamailio's stand-in (IPPROTO_IDP) for TLS, WS and WSS
        default: throw .unsupportedTransport(ipProtocol)
        }
    }

    // Callers guarantee the bytes exist.
    @inline(__always)
    static func be16(_ d: UnsafeRawBufferPointer, _ i: Int) -> Int { Int(d[i]) << 8 | Int(d[i + 1]) }

    @inline(__always)
    static func be32(_ d: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3])
    }

    @inline(__always)
    static func le32(_ d: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(d[i + 3]) << 24 | UInt32(d[i + 2]) << 16 | UInt32(d[i + 1]) << 8 | UInt32(d[i])
    }

    @inline(__always)
    static func be64(_ d: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(be32(d, i)) << 32 | UInt64(be32(d, i + 4))
    }
}
