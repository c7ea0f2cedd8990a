// SPDX-License-Identifier: GPL-2.0-or-later

/// Why a HEP datagram was rejected, without details: the key for per-reason counters.
public enum HEPRejection: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case truncated
    case unknownVersion
    case lengthMismatch
    case badHeaderLength
    case chunkTooShort
    case chunkOverrun
    case badChunkSize
    case duplicateChunk
    case missingChunk
    case unsupportedFamily
    case familyMismatch
    case unsupportedTransport
    case invalidTimestamp
    case authenticationMissing
    case authenticationFailed
    case compressedPayload
    case emptyPayload

    public var description: String { rawValue }
}

/// A HEP datagram that cannot be trusted to describe a SIP packet, with the exact reason.
///
/// Offsets and lengths are in bytes from the start of the datagram.
public enum HEPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Too short to hold the header of any HEP version.
    case truncated(length: Int)
    /// Neither the `HEP3` magic nor a HEPv1/v2 version byte.
    case unknownVersion(firstByte: UInt8)
    /// The HEPv3 total length field disagrees with the datagram's size.
    case lengthMismatch(declared: Int, received: Int)
    /// A HEPv1/v2 header length that does not match its address family.
    case badHeaderLength(UInt8)
    /// A chunk whose length field is smaller than the 6-byte chunk header.
    case chunkTooShort(offset: Int, length: Int)
    /// A chunk that extends past the end of the packet (or a chunk header cut short).
    case chunkOverrun(offset: Int, length: Int, remaining: Int)
    /// A fixed-size chunk (family, ports, addresses, times, ids) with the wrong data size.
    case badChunkSize(type: UInt16, dataLength: Int)
    /// A generic chunk that may appear once appears twice.
    case duplicateChunk(type: UInt16)
    /// A mandatory chunk is absent.
    case missingChunk(type: UInt16)
    /// An IP family other than 2 (IPv4) or 10 (IPv6).
    case unsupportedFamily(UInt8)
    /// Address chunks that do not match the declared IP family.
    case familyMismatch(family: UInt8)
    /// An IP protocol id that sipwarden does not map to a SIP transport.
    case unsupportedTransport(UInt8)
    /// Microseconds outside 0...999 999.
    case invalidTimestamp(microseconds: UInt32)
    /// The listener requires an auth key and the packet has none.
    case authenticationMissing
    /// The packet's auth key differs from the configured one.
    case authenticationFailed
    /// Only a compressed payload (chunk 16), which sipwarden does not inflate.
    case compressedPayload
    /// The captured payload is empty.
    case emptyPayload

    /// The reason without details.
    public var reason: HEPRejection {
        switch self {
        case .truncated: .truncated
        case .unknownVersion: .unknownVersion
        case .lengthMismatch: .lengthMismatch
        case .badHeaderLength: .badHeaderLength
        case .chunkTooShort: .chunkTooShort
        case .chunkOverrun: .chunkOverrun
        case .badChunkSize: .badChunkSize
        case .duplicateChunk: .duplicateChunk
        case .missingChunk: .missingChunk
        case .unsupportedFamily: .unsupportedFamily
        case .familyMismatch: .familyMismatch
        case .unsupportedTransport: .unsupportedTransport
        case .invalidTimestamp: .invalidTimestamp
        case .authenticationMissing: .authenticationMissing
        case .authenticationFailed: .authenticationFailed
        case .compressedPayload: .compressedPayload
        case .emptyPayload: .emptyPayload
        }
    }

    public var description: String {
        switch self {
        case .truncated(let n): "datagram of \(n) bytes is too short for a HEP header"
        case .unknownVersion(let b): "not HEP (first byte 0x\(String(b, radix: 16)))"
        case .lengthMismatch(let d, let r): "HEP length field says \(d) bytes, datagram has \(r)"
        case .badHeaderLength(let l): "HEPv1/v2 header length \(l) does not match its address family"
        case .chunkTooShort(let o, let l): "chunk at offset \(o) has length \(l) (< 6)"
        case .chunkOverrun(let o, let l, let r): "chunk at offset \(o) of length \(l) overruns the packet (\(r) bytes left)"
        case .badChunkSize(let t, let l): "chunk type \(t) has \(l) data bytes, which is not its fixed size"
        case .duplicateChunk(let t): "chunk type \(t) appears more than once"
        case .missingChunk(let t): "mandatory chunk type \(t) is missing"
        case .unsupportedFamily(let f): "unsupported IP family \(f)"
        case .familyMismatch(let f): "address chunks do not match IP family \(f)"
        case .unsupportedTransport(let p): "unsupported IP protocol id \(p)"
        case .invalidTimestamp(let us): "timestamp microseconds \(us) out of range"
        case .authenticationMissing: "auth key required but absent"
        case .authenticationFailed: "auth key does not match"
        case .compressedPayload: "compressed payload (chunk 16) is not supported"
        case .emptyPayload: "empty captured payload"
        }
    }
}
