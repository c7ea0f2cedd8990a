// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// Byte-level helpers shared by the text parsers (no allocation on the common path).
enum IntelText {
    @inline(__always)
    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }

    /// The range with leading and trailing blanks (space, tab, CR) removed.
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, isSpace(bytes[lo]) { lo += 1 }
        while hi > lo, isSpace(bytes[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// Calls `body(lineNumber, range)` for every line (without its LF); stops at the first error.
    static func forEachLine(
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ body: (Int, Range<Int>) throws(IntelParseError) -> Void
    ) throws(IntelParseError) {
        var start = 0
        var line = 1
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        let n = bytes.count
        while start < n {
            var end = start
            while end < n, bytes[end] != 0x0A { end += 1 }
            try body(line, start..<end)
            line += 1
            start = end + 1
        }
    }

    /// Parses an address from a byte range.
    static func address(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> IPAddress? {
        guard !range.isEmpty, range.count <= 45 else { return nil }
        return IPAddress(utf8: UnsafeBufferPointer(rebasing: bytes[range]))
    }

    /// Parses `ADDR/LEN` or a bare address from a byte range; host bits are cleared.
    static func network(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> IPNetwork? {
        var slash = range.lowerBound
        while slash < range.upperBound, bytes[slash] != UInt8(ascii: "/") { slash += 1 }
        guard let address = address(bytes, range.lowerBound..<slash) else { return nil }
        if slash == range.upperBound { return IPNetwork(host: address) }
        guard let length = decimal(bytes, slash + 1..<range.upperBound), length <= 128 else { return nil }
        return IPNetwork(address: address, prefixLength: Int(length))
    }

    /// A non-negative decimal number of at most 10 digits (fits UInt32 range checks by caller).
    static func decimal(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UInt64? {
        guard !range.isEmpty, range.count <= 10 else { return nil }
        var v: UInt64 = 0
        for i in range {
            let c = bytes[i]
            guard c >= 0x30, c <= 0x39 else { return nil }
            v = v * 10 + UInt64(c - 0x30)
        }
        return v
    }

    /// A text field as a String, or nil when empty; refuses overlong fields.
    static func field(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, line: Int, what: String) throws(IntelParseError) -> String? {
        let r = trimmed(bytes, range)
        if r.isEmpty { return nil }
        guard r.count <= IntelLimits.maxFieldBytes else {
            throw IntelParseError(line: line, "\(what) longer than \(IntelLimits.maxFieldBytes) bytes")
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[r]), as: UTF8.self)
    }

    /// An ISO 3166 alpha-2 code packed in 16 bits ("US" → 0x5553), or 0 when the text is
    /// not two ASCII letters (iptoasn's "None", a geofeed's empty field).
    static func country(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UInt16 {
        let r = trimmed(bytes, range)
        guard r.count == 2 else { return 0 }
        let a = bytes[r.lowerBound] & 0xDF
        let b = bytes[r.lowerBound + 1] & 0xDF
        guard a >= 0x41, a <= 0x5A, b >= 0x41, b <= 0x5A else { return 0 }
        return UInt16(a) << 8 | UInt16(b)
    }

    static func countryString(_ code: UInt16) -> String? {
        guard code != 0 else { return nil }
        var s = ""
        s.unicodeScalars.append(Unicode.Scalar(UInt8(code >> 8)))
        s.unicodeScalars.append(Unicode.Scalar(UInt8(code & 0xFF)))
        return s
    }

    static func country(_ text: String?) -> UInt16 {
        guard let text else { return 0 }
        var copy = text
        return copy.withUTF8 { country($0, 0..<$0.count) }
    }
}

extension IPAddress {
    /// The v6 address as one 128-bit integer.
    @inline(__always)
    var key128: UInt128 {
        if case .v6(let hi, let lo) = self { return UInt128(hi) << 64 | UInt128(lo) }
        if case .v4(let v) = self { return UInt128(v) }
        return 0
    }

    init(key128 k: UInt128) {
        self = .v6(UInt64(truncatingIfNeeded: k >> 64), UInt64(truncatingIfNeeded: k))
    }
}

extension IPNetwork {
    /// First and last address of the prefix as integers of the family's width.
    var bounds4: (UInt32, UInt32)? {
        guard case .v4(let v) = address else { return nil }
        let host: UInt32 = prefixLength == 0 ? .max : (prefixLength >= 32 ? 0 : UInt32.max >> UInt32(prefixLength))
        return (v, v | host)
    }

    var bounds6: (UInt128, UInt128)? {
        guard case .v6 = address else { return nil }
        let k = address.key128
        let host: UInt128 = prefixLength == 0 ? .max : (prefixLength >= 128 ? 0 : UInt128.max >> UInt128(prefixLength))
        return (k, k | host)
    }
}
