// SPDX-License-Identifier: GPL-2.0-or-later

/// Attack-tool signatures on raw bytes. Everything here reads attacker-written text, so
/// every function is bounds-checked, allocation-free and linear in its input.
enum ScannerSignatures {
    /// A lower-cased User-Agent pattern, stored inline as bytes.
    struct Pattern: Sendable, Hashable {
        let bytes: [UInt8]
        let text: String
    }

    /// Lower-cases the configured patterns, dropping empty and over-long ones.
    static func compile(_ patterns: [String]) -> [Pattern] {
        var out: [Pattern] = []
        for p in patterns {
            let lowered = p.utf8.map(lower)
            guard !lowered.isEmpty, lowered.count <= 64 else { continue }
            if out.contains(where: { $0.bytes == lowered }) { continue }
            out.append(Pattern(bytes: lowered, text: p))
        }
        return out
    }

    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { (c &- 0x41) < 26 ? c | 0x20 : c }

    /// The first pattern contained (case-insensitively) in `haystack`, if any.
    static func matchUserAgent(_ haystack: UnsafeRawBufferPointer, _ patterns: [Pattern]) -> Pattern? {
        let n = haystack.count
        for pattern in patterns {
            let m = pattern.bytes.count
            guard m <= n else { continue }
            let found: Bool = pattern.bytes.withUnsafeBufferPointer { pat in
                let first = pat[0]
                var i = 0
                while i <= n - m {
                    if lower(haystack[i]) == first {
                        var k = 1
                        while k < m, lower(haystack[i + k]) == pat[k] { k += 1 }
                        if k == m { return true }
                    }
                    i += 1
                }
                return false
            }
            if found { return pattern }
        }
        return nil
    }

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        if c &- 0x30 < 10 { return c &- 0x30 }
        let l = c | 0x20
        if l &- 0x61 < 6 { return l &- 0x61 &+ 10 }
        return nil
    }

    /// sipvicious' Via branch: `z9hG4bK-` followed by 1 to 10 decimal digits and nothing
    /// else (`'z9hG4bK-%s' % random.getrandbits(32)` in svhelper.makeRequest).
    static func isSipviciousBranch(_ b: UnsafeRawBufferPointer) -> Bool {
        let prefix: StaticString = "z9hG4bK-"
        let p = prefix.utf8CodeUnitCount
        guard b.count > p, b.count <= p + 10 else { return false }
        for i in 0..<p where b[i] != prefix.utf8Start[i] { return false }
        for i in p..<b.count where !isDigit(b[i]) { return false }
        return true
    }

    /// sipvicious' From tag: `createTag(data)` = hex of `data + "\x01" + str(random 32-bit)`,
    /// with `data` printable ASCII; or svcrack's fixed tag `3206210844`.
    static func isSipviciousTag(_ t: UnsafeRawBufferPointer) -> Bool {
        let fixed: StaticString = "3206210844"
        if t.count == fixed.utf8CodeUnitCount {
            var same = true
            for i in 0..<t.count where t[i] != fixed.utf8Start[i] {
                same = false
                break
            }
            if same { return true }
        }
        // Hex of: printable{0,} 0x01 digit{1,10}. At most 512 hex characters looked at.
        guard t.count >= 4, t.count % 2 == 0, t.count <= 512 else { return false }
        var separator = -1
        var digits = 0
        var i = 0
        while i < t.count {
            guard let hi = hexValue(t[i]), let lo = hexValue(t[i + 1]) else { return false }
            let byte = hi << 4 | lo
            if separator < 0 {
                if byte == 0x01 {
                    separator = i
                } else if byte < 0x20 || byte > 0x7e {
                    return false
                }
            } else {
                guard isDigit(byte) else { return false }
                digits += 1
            }
            i += 2
        }
        return separator >= 0 && (1...10).contains(digits)
    }

    /// The literal defaults sipvicious writes when the user gives none: svmap's From
    /// `sip:100@1.1.1.1`, makeRequest's Contact `sip:123@1.1.1.1`, and `Contact: None`
    /// (svmap REGISTER passes Python's None).
    static func isSipviciousDefaultURI(_ u: UnsafeRawBufferPointer) -> Bool {
        equals(u, "sip:100@1.1.1.1") || equals(u, "sip:123@1.1.1.1") || equals(u, "None")
    }

    static func equals(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        for i in 0..<b.count where b[i] != s.utf8Start[i] { return false }
        return true
    }
}

/// A tolerant look at the header section of a message the strict parser rejected, so
/// that a scanner is still recognised when its request is malformed (svmap's REGISTER
/// carries `Contact: None`). Reads at most `limit` bytes and 128 lines.
struct RawHeaderScan {
    var isRequest = false
    var userAgent: Range<Int>?
    var branch: Range<Int>?
    var fromTag: Range<Int>?
    var fromURI: Range<Int>?
    var contact: Range<Int>?

    init(_ b: UnsafeRawBufferPointer, limit: Int = 8192) {
        let n = min(b.count, limit)
        var i = 0
        while i < n, b[i] == 0x0d || b[i] == 0x0a { i += 1 }
        // Start line: a request does not begin with "SIP/".
        isRequest = !(n - i >= 4 && b[i] == 0x53 && b[i + 1] == 0x49 && b[i + 2] == 0x50 && b[i + 3] == 0x2f)
        while i < n, b[i] != 0x0a { i += 1 }
        i += 1
        var lines = 0
        while i < n, lines < 128 {
            lines += 1
            let start = i
            while i < n, b[i] != 0x0a { i += 1 }
            var end = i
            i += 1
            if end > start, b[end - 1] == 0x0d { end -= 1 }
            if end == start { break } // empty line: end of headers
            var colon = start
            while colon < end, b[colon] != 0x3a { colon += 1 }
            guard colon < end else { continue }
            var nameEnd = colon
            while nameEnd > start, b[nameEnd - 1] == 0x20 || b[nameEnd - 1] == 0x09 { nameEnd -= 1 }
            var vs = colon + 1
            while vs < end, b[vs] == 0x20 || b[vs] == 0x09 { vs += 1 }
            let value = vs..<end
            switch Self.header(b, start, nameEnd) {
            case 1: if userAgent == nil { userAgent = value }
            case 2: if branch == nil { branch = Self.parameter(b, value, "branch") }
            case 3:
                if fromTag == nil {
                    fromTag = Self.parameter(b, value, "tag")
                    fromURI = Self.uri(b, value)
                }
            case 4: if contact == nil { contact = Self.uri(b, value) }
            default: break
            }
        }
    }

    /// 1 = User-Agent, 2 = Via/v, 3 = From/f, 4 = Contact/m, 0 = other.
    private static func header(_ b: UnsafeRawBufferPointer, _ s: Int, _ e: Int) -> Int {
        func named(_ lit: StaticString) -> Bool {
            guard e - s == lit.utf8CodeUnitCount else { return false }
            for k in 0..<(e - s) where ScannerSignatures.lower(b[s + k]) != lit.utf8Start[k] { return false }
            return true
        }
        if named("user-agent") { return 1 }
        if named("via") || named("v") { return 2 }
        if named("from") || named("f") { return 3 }
        if named("contact") || named("m") { return 4 }
        return 0
    }

    /// The value of `;name=` in `value` (up to the next `;`, `,`, space or end).
    private static func parameter(_ b: UnsafeRawBufferPointer, _ value: Range<Int>, _ name: StaticString) -> Range<Int>? {
        let m = name.utf8CodeUnitCount
        var i = value.lowerBound
        while i < value.upperBound {
            if b[i] == 0x3b {
                var k = i + 1
                while k < value.upperBound, b[k] == 0x20 { k += 1 }
                if value.upperBound - k > m {
                    var same = true
                    for j in 0..<m where ScannerSignatures.lower(b[k + j]) != name.utf8Start[j] {
                        same = false
                        break
                    }
                    if same {
                        var e = k + m
                        while e < value.upperBound, b[e] == 0x20 { e += 1 }
                        if e < value.upperBound, b[e] == 0x3d {
                            e += 1
                            while e < value.upperBound, b[e] == 0x20 { e += 1 }
                            let vs = e
                            while e < value.upperBound, b[e] != 0x3b, b[e] != 0x2c, b[e] != 0x20, b[e] != 0x3e { e += 1 }
                            return vs..<e
                        }
                    }
                }
            }
            i += 1
        }
        return nil
    }

    /// The URI inside `<...>`, or the value up to the first `;` without angle brackets.
    private static func uri(_ b: UnsafeRawBufferPointer, _ value: Range<Int>) -> Range<Int> {
        var i = value.lowerBound
        while i < value.upperBound, b[i] != 0x3c { i += 1 }
        if i < value.upperBound {
            let s = i + 1
            var e = s
            while e < value.upperBound, b[e] != 0x3e { e += 1 }
            return s..<e
        }
        var e = value.lowerBound
        while e < value.upperBound, b[e] != 0x3b { e += 1 }
        while e > value.lowerBound, b[e - 1] == 0x20 { e -= 1 }
        return value.lowerBound..<e
    }
}
