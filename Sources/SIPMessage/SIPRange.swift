// SPDX-License-Identifier: GPL-2.0-or-later

/// A half-open range of byte offsets into the buffer a ``SIPMessage`` was parsed from.
///
/// Unlike `Range<Int>`, constructing one never traps: the parser only ever builds
/// ranges with `0 <= lowerBound <= upperBound <= buffer count`, and the internal
/// initialiser clamps anything else to an empty range.
public struct SIPRange: Sendable, Hashable, CustomStringConvertible {
    /// Offset of the first byte.
    public let lowerBound: Int
    /// Offset one past the last byte.
    public let upperBound: Int

    @inline(__always)
    init(_ lower: Int, _ upper: Int) {
        lowerBound = lower
        upperBound = upper >= lower ? upper : lower
    }

    /// The empty range at offset 0 (used for absent parts).
    public static let empty = SIPRange(0, 0)

    /// Number of bytes in the range.
    public var count: Int { upperBound - lowerBound }
    /// Whether the range holds no bytes.
    public var isEmpty: Bool { upperBound == lowerBound }
    /// The equivalent standard library range.
    public var range: Range<Int> { lowerBound..<upperBound }
    public var description: String { "\(lowerBound)..<\(upperBound)" }
}

/// Byte classes of the RFC 3261 grammar, as 128-bit membership masks (ASCII only;
/// every byte >= 0x80 is outside every class). `SIPMessageTests` recomputes each mask
/// from its textual definition, so the constants cannot silently drift.
enum CharClass {
    /// `token`: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
    static let token: (UInt64, UInt64) = (0x03ff_6ca2_0000_0000, 0x47ff_ffff_87ff_fffe)
    /// `word` (Call-ID): token chars plus ( ) < > : \ DQUOTE / [ ] ? { }
    static let word: (UInt64, UInt64) = (0xd7ff_efa6_0000_0000, 0x6fff_ffff_bfff_fffe)
    /// URI characters other than "%": alphanum, mark `-_.!~*'()`, reserved `;/?:@&=+$,`,
    /// and `[` `]` `#` (IPv6 references and fragments of non-SIP URIs).
    static let uri: (UInt64, UInt64) = (0xafff_ffda_0000_0000, 0x47ff_fffe_afff_ffff)
    /// `gen-value` of a generic parameter when not quoted: token chars plus `:` `[` `]` (hosts).
    static let paramValue: (UInt64, UInt64) = (0x07ff_6ca2_0000_0000, 0x47ff_ffff_afff_fffe)
    /// URI scheme characters after the first ALPHA: ALPHA / DIGIT / "+" / "-" / "."
    static let scheme: (UInt64, UInt64) = (0x03ff_6800_0000_0000, 0x07ff_fffe_07ff_fffe)

    @inline(__always)
    static func contains(_ set: (UInt64, UInt64), _ c: UInt8) -> Bool {
        if c < 64 { return (set.0 >> UInt64(c)) & 1 == 1 }
        if c < 128 { return (set.1 >> UInt64(c &- 64)) & 1 == 1 }
        return false
    }

    @inline(__always) static func isToken(_ c: UInt8) -> Bool { contains(token, c) }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
    @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20) &- 0x61 < 6 }
    /// SP or HTAB.
    @inline(__always) static func isWSP(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
    /// SP, HTAB, CR or LF: inside a header value (after framing) CR/LF only occur as
    /// part of a folded line continuation, which is linear white space.
    @inline(__always) static func isLWS(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a }
    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { isAlpha(c) ? c | 0x20 : c }
    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8 {
        isDigit(c) ? c &- 0x30 : (c | 0x20) &- 0x61 &+ 10
    }
}
