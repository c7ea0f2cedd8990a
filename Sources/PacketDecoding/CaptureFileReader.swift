// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// Why a capture file could not be read (further). Frames delivered before the error
/// remain valid: a capture cut short by a crash still yields its complete frames.
public enum CaptureFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file has no bytes.
    case empty
    /// The first four bytes are neither a pcap nor a pcapng magic number.
    case unknownFormat(magic: UInt32)
    /// A pcap or pcapng version this reader does not know.
    case unsupportedVersion(major: Int, minor: Int)
    /// The file ends in the middle of something (`what` says what, `offset` where it began).
    case truncated(what: String, offset: Int)
    /// A frame larger than the reader accepts (corrupt length field).
    case frameTooLarge(frame: Int, length: Int, limit: Int)
    /// A pcapng block length that is too small, not a multiple of 4, too large, or whose
    /// trailing copy differs.
    case badBlockLength(offset: Int, length: Int)
    /// A pcapng section header whose byte-order magic is neither 0x1A2B3C4D nor swapped.
    case badByteOrderMagic(offset: Int)
    /// A pcapng packet block that names an interface with no description block before it.
    case undefinedInterface(frame: Int, interface: Int)
    /// A pcapng section declares more interfaces than the reader keeps.
    case tooManyInterfaces(offset: Int)
    /// A packet block whose captured length does not fit inside the block.
    case inconsistentBlock(frame: Int, offset: Int)
    /// The byte source reported an error (errno).
    case readFailed(errno: Int32)

    public var description: String {
        switch self {
        case .empty: "the capture file is empty"
        case .unknownFormat(let magic):
            "not a pcap or pcapng file (magic 0x\(String(magic, radix: 16)))"
        case .unsupportedVersion(let major, let minor): "unsupported capture file version \(major).\(minor)"
        case .truncated(let what, let offset): "the capture file ends inside \(what) (at byte \(offset))"
        case .frameTooLarge(let frame, let length, let limit): "frame \(frame) claims \(length) bytes, more than the \(limit) accepted"
        case .badBlockLength(let offset, let length): "invalid pcapng block length \(length) at byte \(offset)"
        case .badByteOrderMagic(let offset): "invalid pcapng byte-order magic in the section header at byte \(offset)"
        case .undefinedInterface(let frame, let interface): "frame \(frame) refers to undefined interface \(interface)"
        case .tooManyInterfaces(let offset): "too many interfaces in the pcapng section (at byte \(offset))"
        case .inconsistentBlock(let frame, let offset): "frame \(frame): captured length exceeds its block (at byte \(offset))"
        case .readFailed(let code): "read failed (errno \(code))"
        }
    }
}

/// One frame of a capture file. `bytes` is borrowed: valid only during the callback.
public struct CapturedFrame {
    /// 1-based position among the file's packets (Wireshark's frame number).
    public var number: Int
    public var linkType: LinkType
    public var timestamp: Timestamp
    /// The frame's length on the wire (may exceed `bytes.count` when the snap length cut it).
    public var originalLength: Int
    /// The pcapng interface it was captured on (0 for pcap).
    public var interface: Int
    public var bytes: UnsafeRawBufferPointer
}

/// Which kind of file is being read.
public enum CaptureFileFormat: Sendable, Hashable {
    case pcap(nanosecond: Bool, bigEndian: Bool)
    case pcapng
}

/// Reads classic pcap (both byte orders, microsecond and nanosecond magic) and pcapng
/// (sections in either byte order, interface link types, `if_tsresol`/`if_tsoffset`,
/// enhanced, simple and obsolete packet blocks; other blocks skipped) from an in-memory
/// buffer or an incremental byte source, with bounded memory (`maxFrameLength` per frame,
/// `maxBlockLength` per pcapng block).
///
/// Never traps on malformed input: every problem becomes a `CaptureFileError`.
public struct CaptureFileReader {
    /// Reads up to `buffer.count` bytes into `buffer`; returns the count, 0 at the end, or
    /// a negative errno on failure.
    public typealias Source = (UnsafeMutableRawBufferPointer) -> Int

    /// Largest frame accepted (pcap records, pcapng captured lengths).
    public static let maxFrameLength = 1 << 20
    /// Largest pcapng block accepted.
    public static let maxBlockLength = 16 << 20
    /// Interfaces kept per pcapng section.
    public static let maxInterfaces = 4096

    struct Interface {
        var linkType: LinkType
        var snapLength: Int
        /// Timestamp units: 10^-decimal or 2^-binary seconds.
        var decimalExponent: Int?
        var binaryExponent: Int?
        var offsetSeconds: Int64
    }

    private enum State {
        case start
        case pcap(bigEndian: Bool, nanosecond: Bool, linkType: LinkType, limit: Int)
        case pcapng(bigEndian: Bool)
        case finished
    }

    private var buffer: [UInt8]
    private var start = 0
    private var end: Int
    private var sourceDone: Bool
    private let source: Source?
    /// File offset of `buffer[start]`.
    private var consumed = 0
    private var state = State.start
    private var interfaces: [Interface] = []
    private var frameCount = 0
    private var lastTimestamp = Timestamp(microseconds: 0)

    /// The format, once the header has been read.
    public private(set) var format: CaptureFileFormat?

    /// Reads from a complete in-memory file.
    public init(bytes: [UInt8]) {
        buffer = bytes
        end = bytes.count
        sourceDone = true
        source = nil
    }

    /// Reads incrementally from `source` (e.g. a file descriptor).
    public init(source: @escaping Source) {
        buffer = []
        end = 0
        sourceDone = false
        self.source = source
    }

    /// Frames delivered so far.
    public var framesRead: Int { frameCount }

    /// Reads the next frame and passes it to `body`. Returns false at the end of the file.
    public mutating func nextFrame(_ body: (CapturedFrame) -> Void) throws(CaptureFileError) -> Bool {
        while true {
            switch state {
            case .finished:
                return false
            case .start:
                try readFileHeader()
            case .pcap(let bigEndian, let nanosecond, let linkType, let limit):
                return try readPcapRecord(bigEndian: bigEndian, nanosecond: nanosecond, linkType: linkType, limit: limit, body)
            case .pcapng(let bigEndian):
                if let delivered = try readBlock(bigEndian: bigEndian, body) {
                    return delivered
                }
            }
        }
    }

    /// Calls `body` for every remaining frame.
    public mutating func forEachFrame(_ body: (CapturedFrame) -> Void) throws(CaptureFileError) {
        while try nextFrame(body) {}
    }

    // MARK: Buffering

    /// Makes at least `count` bytes available from `start`; false when the input ends first.
    private mutating func ensure(_ count: Int) throws(CaptureFileError) -> Bool {
        while end - start < count {
            guard !sourceDone, let source else { return false }
            if buffer.count - start < count || buffer.count - end < 4096 {
                // Compact, and grow to hold `count` (and a sensible read size).
                let live = end - start
                var fresh = [UInt8](repeating: 0, count: max(count, 256 << 10, live + 4096))
                if live > 0 {
                    fresh.withUnsafeMutableBytes { to in
                        buffer.withUnsafeBytes { from in
                            to.baseAddress?.copyMemory(from: from.baseAddress! + start, byteCount: live)
                        }
                    }
                }
                buffer = fresh
                start = 0
                end = live
            }
            let capacity = buffer.count - end
            let got = buffer.withUnsafeMutableBytes { raw in
                source(UnsafeMutableRawBufferPointer(rebasing: raw[end..<end + capacity]))
            }
            if got < 0 { throw .readFailed(errno: Int32(truncatingIfNeeded: -got)) }
            if got == 0 {
                sourceDone = true
            } else {
                end += min(got, capacity)
            }
        }
        return true
    }

    private mutating func advance(_ count: Int) {
        start += count
        consumed += count
    }

    private func u16(_ at: Int, _ bigEndian: Bool) -> UInt16 {
        let a = UInt16(buffer[start + at])
        let b = UInt16(buffer[start + at + 1])
        return bigEndian ? a << 8 | b : b << 8 | a
    }

    private func u32(_ at: Int, _ bigEndian: Bool) -> UInt32 {
        let v =
            UInt32(buffer[start + at]) | UInt32(buffer[start + at + 1]) << 8
            | UInt32(buffer[start + at + 2]) << 16 | UInt32(buffer[start + at + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }

    private func deliver(
        _ body: (CapturedFrame) -> Void, at offset: Int, length: Int, linkType: LinkType,
        timestamp: Timestamp, originalLength: Int, interface: Int
    ) {
        buffer.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[start + offset..<start + offset + length])
            body(
                CapturedFrame(
                    number: frameCount, linkType: linkType, timestamp: timestamp,
                    originalLength: originalLength, interface: interface, bytes: bytes))
        }
    }

    // MARK: Headers

    private mutating func readFileHeader() throws(CaptureFileError) {
        guard try ensure(4) else {
            if end - start == 0 { throw .empty }
            throw .truncated(what: "the file header", offset: 0)
        }
        let magic = u32(0, false)
        switch magic {
        case 0xA1B2_C3D4, 0xA1B2_3C4D, 0xD4C3_B2A1, 0x4D3C_B2A1:
            let bigEndian = magic == 0xD4C3_B2A1 || magic == 0x4D3C_B2A1
            let nanosecond = magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1
            guard try ensure(24) else { throw .truncated(what: "the pcap file header", offset: 0) }
            let major = Int(u16(4, bigEndian))
            let minor = Int(u16(6, bigEndian))
            guard major == 2 else { throw .unsupportedVersion(major: major, minor: minor) }
            let snap = Int(u32(16, bigEndian))
            let linkType = LinkType(rawValue: u32(20, bigEndian) & 0xFFFF)
            let limit = min(max(snap, 262_144), Self.maxFrameLength)
            advance(24)
            format = .pcap(nanosecond: nanosecond, bigEndian: bigEndian)
            state = .pcap(bigEndian: bigEndian, nanosecond: nanosecond, linkType: linkType, limit: limit)
        case 0x0A0D_0D0A:
            format = .pcapng
            state = .pcapng(bigEndian: false) // the section header decides
        default:
            throw .unknownFormat(magic: u32(0, true))
        }
    }

    // MARK: pcap

    private mutating func readPcapRecord(
        bigEndian: Bool, nanosecond: Bool, linkType: LinkType, limit: Int,
        _ body: (CapturedFrame) -> Void
    ) throws(CaptureFileError) -> Bool {
        guard try ensure(16) else {
            if end - start == 0 {
                state = .finished
                return false
            }
            throw .truncated(what: "the record header of frame \(frameCount + 1)", offset: consumed)
        }
        let seconds = Int64(u32(0, bigEndian))
        let fraction = Int64(u32(4, bigEndian))
        let included = Int(u32(8, bigEndian))
        let original = Int(u32(12, bigEndian))
        guard included <= limit else {
            throw .frameTooLarge(frame: frameCount + 1, length: included, limit: limit)
        }
        guard try ensure(16 + included) else {
            throw .truncated(what: "frame \(frameCount + 1)", offset: consumed)
        }
        frameCount += 1
        let timestamp = Timestamp(microseconds: seconds * 1_000_000 + (nanosecond ? fraction / 1000 : fraction))
        lastTimestamp = timestamp
        deliver(body, at: 16, length: included, linkType: linkType, timestamp: timestamp, originalLength: original, interface: 0)
        advance(16 + included)
        return true
    }

    // MARK: pcapng

    /// Reads one block. Returns true when a frame was delivered, false at the end of the
    /// file, nil when the block was not a packet (the caller reads on).
    private mutating func readBlock(bigEndian current: Bool, _ body: (CapturedFrame) -> Void) throws(CaptureFileError) -> Bool? {
        guard try ensure(12) else {
            if end - start == 0 {
                state = .finished
                return false
            }
            throw .truncated(what: "a pcapng block header", offset: consumed)
        }
        let blockOffset = consumed
        var bigEndian = current
        let type = u32(0, bigEndian)
        if type == 0x0A0D_0D0A {
            switch u32(8, false) {
            case 0x1A2B_3C4D: bigEndian = false
            case 0x4D3C_2B1A: bigEndian = true
            default: throw .badByteOrderMagic(offset: blockOffset)
            }
        }
        let length = Int(u32(4, bigEndian))
        guard length >= 12, length % 4 == 0, length <= Self.maxBlockLength else {
            throw .badBlockLength(offset: blockOffset, length: length)
        }
        guard try ensure(length) else { throw .truncated(what: "a pcapng block", offset: blockOffset) }
        guard Int(u32(length - 4, bigEndian)) == length else {
            throw .badBlockLength(offset: blockOffset, length: length)
        }
        var delivered = false
        switch type {
        case 0x0A0D_0D0A:
            guard length >= 28 else { throw .badBlockLength(offset: blockOffset, length: length) }
            let major = Int(u16(12, bigEndian))
            let minor = Int(u16(14, bigEndian))
            guard major == 1 else { throw .unsupportedVersion(major: major, minor: minor) }
            interfaces.removeAll()
            state = .pcapng(bigEndian: bigEndian)
        case 1:
            guard length >= 20 else { throw .badBlockLength(offset: blockOffset, length: length) }
            guard interfaces.count < Self.maxInterfaces else { throw .tooManyInterfaces(offset: blockOffset) }
            var interface = Interface(
                linkType: LinkType(rawValue: UInt32(u16(8, bigEndian))),
                snapLength: Int(u32(12, bigEndian)), decimalExponent: 6, binaryExponent: nil,
                offsetSeconds: 0)
            readInterfaceOptions(&interface, from: 16, to: length - 4, bigEndian: bigEndian)
            interfaces.append(interface)
        case 6, 2:
            // Enhanced packet block (6), or the obsolete packet block (2).
            guard length >= 32 else { throw .badBlockLength(offset: blockOffset, length: length) }
            let frame = frameCount + 1
            let interfaceID = type == 6 ? Int(u32(8, bigEndian)) : Int(u16(8, bigEndian))
            guard interfaceID < interfaces.count else { throw .undefinedInterface(frame: frame, interface: interfaceID) }
            let units = UInt64(u32(12, bigEndian)) << 32 | UInt64(u32(16, bigEndian))
            let captured = Int(u32(20, bigEndian))
            let original = Int(u32(24, bigEndian))
            guard captured <= Self.maxFrameLength else {
                throw .frameTooLarge(frame: frame, length: captured, limit: Self.maxFrameLength)
            }
            guard captured <= length - 32 else { throw .inconsistentBlock(frame: frame, offset: blockOffset) }
            let interface = interfaces[interfaceID]
            frameCount = frame
            let timestamp = Self.timestamp(units, interface)
            lastTimestamp = timestamp
            deliver(
                body, at: 28, length: captured, linkType: interface.linkType, timestamp: timestamp,
                originalLength: original, interface: interfaceID)
            delivered = true
        case 3:
            // Simple packet block: no interface id (always 0), no timestamp (the previous
            // frame's is used, so time-driven state does not jump).
            guard length >= 16 else { throw .badBlockLength(offset: blockOffset, length: length) }
            let frame = frameCount + 1
            guard let interface = interfaces.first else { throw .undefinedInterface(frame: frame, interface: 0) }
            let original = Int(u32(8, bigEndian))
            var captured = min(original, length - 16)
            if interface.snapLength > 0 { captured = min(captured, interface.snapLength) }
            guard captured <= Self.maxFrameLength else {
                throw .frameTooLarge(frame: frame, length: captured, limit: Self.maxFrameLength)
            }
            frameCount = frame
            deliver(
                body, at: 12, length: captured, linkType: interface.linkType, timestamp: lastTimestamp,
                originalLength: original, interface: 0)
            delivered = true
        default:
            break // name resolution, statistics, custom, decryption secrets ...: not needed
        }
        advance(length)
        return delivered ? true : nil
    }

    private func readInterfaceOptions(_ interface: inout Interface, from: Int, to limit: Int, bigEndian: Bool) {
        var at = from
        while at + 4 <= limit {
            let code = u16(at, bigEndian)
            let length = Int(u16(at + 2, bigEndian))
            let value = at + 4
            guard code != 0, value + length <= limit else { return }
            if code == 9, length == 1 {
                let raw = Int(buffer[start + value])
                if raw & 0x80 == 0 {
                    interface.decimalExponent = raw
                    interface.binaryExponent = nil
                } else {
                    interface.decimalExponent = nil
                    interface.binaryExponent = raw & 0x7F
                }
            } else if code == 14, length == 8 {
                let hi = UInt64(u32(value, bigEndian))
                let lo = UInt64(u32(value + 4, bigEndian))
                interface.offsetSeconds = Int64(bitPattern: bigEndian ? hi << 32 | lo : lo << 32 | hi)
            }
            at = value + (length + 3) / 4 * 4
        }
    }

    /// Converts a pcapng timestamp to microseconds since the epoch, saturating.
    static func timestamp(_ units: UInt64, _ interface: Interface) -> Timestamp {
        var micros: UInt64
        if let decimal = interface.decimalExponent {
            if decimal == 6 {
                micros = units
            } else if decimal < 6 {
                var factor: UInt64 = 1
                for _ in decimal..<6 { factor *= 10 }
                let (product, overflow) = units.multipliedReportingOverflow(by: factor)
                micros = overflow ? UInt64(Int64.max) : product
            } else {
                var divisor: UInt64 = 1
                var exponent = decimal
                while exponent > 6, divisor <= UInt64.max / 10 {
                    divisor *= 10
                    exponent -= 1
                }
                micros = exponent > 6 ? 0 : units / divisor
            }
        } else {
            let shift = interface.binaryExponent ?? 0
            // units * 1e6 / 2^shift, without overflow.
            let wide = units.multipliedFullWidth(by: 1_000_000)
            if shift >= 64 {
                micros = shift >= 128 ? 0 : wide.high >> UInt64(shift - 64)
            } else if shift == 0 {
                micros = wide.high == 0 ? wide.low : UInt64(Int64.max)
            } else {
                let high = wide.high >> UInt64(shift)
                micros = high != 0 ? UInt64(Int64.max) : wide.high << UInt64(64 - shift) | wide.low >> UInt64(shift)
            }
        }
        let clamped = Int64(min(micros, UInt64(Int64.max)))
        let (offset, overflow) = interface.offsetSeconds.multipliedReportingOverflow(by: 1_000_000)
        if overflow { return Timestamp(microseconds: interface.offsetSeconds < 0 ? 0 : Int64.max) }
        let (sum, overflow2) = clamped.addingReportingOverflow(offset)
        return Timestamp(microseconds: overflow2 ? Int64.max : sum)
    }
}
