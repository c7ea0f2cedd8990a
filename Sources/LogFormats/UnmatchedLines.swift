// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import WardenCore

/// Lines that look like a security failure but match no known form (issue 8, item 2): the
/// operator of a PBX whose log format sipwarden does not know learns it from the counts.
///
/// A pure classifier, called only on lines the dialects did not turn into a finding. A line
/// is suspicious when it carries an IP address and a failure word (`failed`, `rejected`,
/// `wrong password`, `no matching`, `not found`, `unauthorized`, `denied`, …) and is not
/// one of the known forms that are deliberately not failures (a digest challenge, an ACL
/// miss that falls back to authentication, informational security events, …).
public enum UnmatchedLines {
    /// Failure words, matched ASCII case-insensitively.
    static let words: [StaticString] = [
        "fail", "reject", "wrong password", "no matching", "not found", "unauthori", "denied", "forbidden",
        "invalid password", "bad password", "nonexistent", "does not match", "not allowed", "hacking",
    ]

    /// Known lines that mention failure words but are not failures by the source.
    static let benign: [StaticString] = [
        "SIP auth challenge", "Falling back to Digest auth", "SecurityEvent=\"ChallengeSent\"",
        "SecurityEvent=\"SuccessfulAuth\"", "- RTP initialization failed", "- Unknown failure",
        // Outbound registrations to a provider (the PBX is the client there).
        "outbound registration", "Registration for '",
    ]

    /// True when `line` (which no dialect accepted) looks like a security failure.
    public static func looksLikeFailure(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let b = Bytes(line)
        guard b.count >= 16, b.count <= 4096 else { return false }
        guard containsAny(b, words) else { return false }
        if containsAny(b, benign) { return false }
        return containsAddress(b)
    }

    /// Convenience for tests: a `String` line.
    public static func looksLikeFailure(_ line: String) -> Bool {
        var copy = line
        return copy.withUTF8 { looksLikeFailure($0) }
    }

    /// Lower-cased first bytes of `words` and `benign`: most bytes of a line start no phrase.
    static let firstBytes: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for ph in words + benign {
            let c = ph.utf8Start[0]
            t[Int(lowerASCII(c))] = true
            if c >= 0x61, c <= 0x7A { t[Int(c - 0x20)] = true } else if c >= 0x41, c <= 0x5A { t[Int(c | 0x20)] = true }
        }
        return t
    }()

    /// Any of `phrases` occurs in the line, ASCII case-insensitively.
    static func containsAny(_ b: Bytes, _ phrases: [StaticString]) -> Bool {
        let table = firstBytes
        for i in 0..<b.count where table[Int(b.p[i])] {
            let c = lowerASCII(b.p[i])
            for ph in phrases where lowerASCII(ph.utf8Start[0]) == c && b.hasCaseInsensitive(ph, at: i) {
                return true
            }
        }
        return false
    }

    /// An IPv4 address (optionally with port) or an IPv6 address somewhere in the line, as a
    /// token between characters that cannot belong to an address.
    static func containsAddress(_ b: Bytes) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            guard isAddressByte(b.p[i]) else {
                i += 1
                continue
            }
            let s = i
            var dots = 0
            var colons = 0
            while i < n, isAddressByte(b.p[i]) {
                if b.p[i] == UInt8(ascii: ".") { dots += 1 }
                if b.p[i] == UInt8(ascii: ":") { colons += 1 }
                i += 1
            }
            var e = i
            while e > s, b.p[e - 1] == UInt8(ascii: ".") || b.p[e - 1] == UInt8(ascii: ":") { e -= 1 }
            guard e - s >= 3, e - s <= 60 else { continue }
            if dots >= 3, b.hostPort(s..<e) != nil { return true }
            if colons >= 2, dots == 0 || dots == 3, b.ip(s..<e) != nil, b.find("::", from: s, to: e) != nil || colons == 7 {
                return true
            }
            // An IPv4 address inside a longer dotted token (e.g. `1.2.3.4.` or `x@1.2.3.4`) is
            // split by the token rules above; a dotted quad followed by `:port` is accepted.
        }
        return false
    }

    @inline(__always) static func isAddressByte(_ c: UInt8) -> Bool {
        isHex(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: ":")
    }
}

/// Per-file counts of `UnmatchedLines`, with one sample line (the first seen).
public struct UnmatchedLineCount: Hashable, Sendable, Codable {
    public var count: Int
    /// The first suspicious line, cut to `LogDialects.maximumLineLength` bytes
    /// (attacker-influenced text: escape it before printing).
    public var sample: String

    public init(count: Int, sample: String) {
        self.count = count
        self.sample = sample
    }
}

extension UnmatchedLineCount {
    /// A sample as stored: the line's bytes, cut to 1000 bytes, invalid UTF-8 repaired.
    public static func sample(_ line: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: line[0..<min(line.count, LogDialects.maximumLineLength)]), as: UTF8.self)
    }

    /// `text` with control characters (C0, DEL, C1) written as `\xNN`, for terminals and logs.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || v == 0x7F || (v >= 0x80 && v < 0xA0) || v == 0x5C {
                if v == 0x5C {
                    out += "\\\\"
                } else {
                    let hex = String(v, radix: 16, uppercase: true)
                    out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
