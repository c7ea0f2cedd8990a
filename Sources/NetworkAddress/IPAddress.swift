// SPDX-License-Identifier: GPL-2.0-or-later

/// An IPv4 or IPv6 address held by value: 4 or 16 bytes, no heap allocation.
///
/// Parsing accepts only numeric text — never a host name — so nothing derived from
/// untrusted input can ever trigger a DNS lookup downstream (nft resolves names it
/// does not recognise as addresses). `description` always yields canonical text
/// (RFC 5952 for IPv6) that is safe to hand to the kernel.
public enum IPAddress: Hashable, Sendable, Comparable {
    case v4(UInt32)
    /// High and low 64 bits, network order.
    case v6(UInt64, UInt64)

    /// Address family of the address.
    public enum Family: Sendable, Hashable {
        case v4, v6
        /// Bit width of an address of this family.
        public var bitWidth: Int { self == .v4 ? 32 : 128 }
    }

    public var family: Family {
        switch self {
        case .v4: .v4
        case .v6: .v6
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with embedded IPv4 allowed);
    /// surrounding brackets are accepted for IPv6. Returns nil for anything else.
    public init?(_ text: some StringProtocol) {
        var copy = String(text)
        let parsed: IPAddress? = copy.withUTF8 { IPAddress(utf8: $0) }
        guard let parsed else { return nil }
        self = parsed
    }

    /// Parses an address from UTF-8 bytes (the whole buffer must be the address).
    public init?(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        var start = 0
        var end = bytes.count
        if end >= 2, bytes[0] == UInt8(ascii: "["), bytes[end - 1] == UInt8(ascii: "]") {
            start = 1
            end -= 1
        }
        guard end > start, end - start <= 45 else { return nil }
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if let v4 = Self.parseIPv4(slice) {
            self = .v4(v4)
        } else if let v6 = Self.parseIPv6(slice) {
            self = .v6(v6.0, v6.1)
        } else {
            return nil
        }
    }

    /// Builds an address from raw network-order bytes (4 or 16 of them).
    public init?(bytes: some Collection<UInt8>) {
        switch bytes.count {
        case 4:
            var v: UInt32 = 0
            for b in bytes { v = v << 8 | UInt32(b) }
            self = .v4(v)
        case 16:
            var hi: UInt64 = 0
            var lo: UInt64 = 0
            for (i, b) in bytes.enumerated() {
                if i < 8 { hi = hi << 8 | UInt64(b) } else { lo = lo << 8 | UInt64(b) }
            }
            self = .v6(hi, lo)
        default:
            return nil
        }
    }

    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are returned as IPv4; others unchanged.
    public var unmapped: IPAddress {
        if case .v6(let hi, let lo) = self, hi == 0, lo >> 32 == 0xFFFF {
            return .v4(UInt32(truncatingIfNeeded: lo))
        }
        return self
    }

    /// True for loopback addresses (127.0.0.0/8, ::1).
    public var isLoopback: Bool {
        switch self {
        case .v4(let v): v >> 24 == 127
        case .v6(let hi, let lo): hi == 0 && lo == 1
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        case (.v6(let ah, let al), .v6(let bh, let bl)): ah < bh || (ah == bh && al < bl)
        }
    }

    // MARK: Parsing

    static func parseIPv4(_ s: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for c in s {
            if c >= 0x30 && c <= 0x39 {
                // No leading zeros ("010" is octal to some parsers: refuse the ambiguity).
                if digits == 1 && octet == 0 { return nil }
                octet = octet * 10 + UInt32(c - 0x30)
                digits += 1
                if digits > 3 || octet > 255 { return nil }
            } else if c == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                octet = 0
                digits = 0
                dots += 1
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | octet
    }

    static func parseIPv6(_ s: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        var groups = [UInt16](repeating: 0, count: 8)
        var count = 0
        var compressAt = -1
        var i = 0
        let n = s.count
        if n >= 2, s[0] == UInt8(ascii: ":"), s[1] == UInt8(ascii: ":") {
            compressAt = 0
            i = 2
            if i == n { return (0, 0) }
        } else if n >= 1, s[0] == UInt8(ascii: ":") {
            return nil
        }
        while i < n {
            guard count < 8 else { return nil }
            // Find the end of this group.
            var j = i
            var value: UInt32 = 0
            var hexDigits = 0
            var sawDot = false
            while j < n, s[j] != UInt8(ascii: ":") {
                let c = s[j]
                if c == UInt8(ascii: ".") {
                    sawDot = true
                    break
                }
                guard let h = hexValue(c) else { return nil }
                value = value << 4 | UInt32(h)
                hexDigits += 1
                if hexDigits > 4 { return nil }
                j += 1
            }
            if sawDot {
                // Embedded IPv4 in the last 32 bits.
                guard count <= 6,
                    let v4 = parseIPv4(UnsafeBufferPointer(rebasing: s[i..<n]))
                else { return nil }
                groups[count] = UInt16(v4 >> 16)
                groups[count + 1] = UInt16(v4 & 0xFFFF)
                count += 2
                i = n
                break
            }
            guard hexDigits > 0 else { return nil }
            groups[count] = UInt16(value)
            count += 1
            i = j
            if i == n { break }
            // s[i] == ":"
            i += 1
            if i < n, s[i] == UInt8(ascii: ":") {
                guard compressAt < 0 else { return nil }
                compressAt = count
                i += 1
                if i == n { break }
            } else if i == n {
                return nil // trailing single colon
            }
        }
        if compressAt >= 0 {
            guard count < 8 else { return nil }
            let tail = count - compressAt
            var expanded = [UInt16](repeating: 0, count: 8)
            for k in 0..<compressAt { expanded[k] = groups[k] }
            for k in 0..<tail { expanded[8 - tail + k] = groups[compressAt + k] }
            groups = expanded
        } else if count != 8 {
            return nil
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for k in 0..<4 { hi = hi << 16 | UInt64(groups[k]) }
        for k in 4..<8 { lo = lo << 16 | UInt64(groups[k]) }
        return (hi, lo)
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}

extension IPAddress: CustomStringConvertible {
    /// Canonical text: dotted quad, or RFC 5952 compressed lowercase IPv6.
    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        case .v6(let hi, let lo):
            var groups = [UInt16](repeating: 0, count: 8)
            for k in 0..<4 { groups[k] = UInt16(truncatingIfNeeded: hi >> (48 - 16 * UInt64(k))) }
            for k in 0..<4 { groups[4 + k] = UInt16(truncatingIfNeeded: lo >> (48 - 16 * UInt64(k))) }
            // Longest run of zero groups (length >= 2), first one wins.
            var bestStart = -1
            var bestLen = 0
            var runStart = -1
            for k in 0...8 {
                if k < 8 && groups[k] == 0 {
                    if runStart < 0 { runStart = k }
                } else if runStart >= 0 {
                    let len = k - runStart
                    if len > bestLen && len >= 2 {
                        bestStart = runStart
                        bestLen = len
                    }
                    runStart = -1
                }
            }
            var out = ""
            var k = 0
            while k < 8 {
                if k == bestStart {
                    out += "::"
                    k += bestLen
                    continue
                }
                if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
                out += String(groups[k], radix: 16)
                k += 1
            }
            return out
        }
    }
}

extension IPAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let address = IPAddress(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an IP address: \(text)")
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
