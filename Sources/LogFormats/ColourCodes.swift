// SPDX-License-Identifier: GPL-2.0-or-later

//
// Terminal colour codes in log lines: Asterisk and FreeSWITCH colour their console output,
// and copies of it end up in files (raw ESC sequences) or in syslog (rsyslog writes the
// control byte ESC as the four characters `#033`).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

enum ColourCodes {
    /// True when the line holds an ESC byte or rsyslog's `#033` escape of it.
    static func present(_ b: Bytes) -> Bool {
        b.findByte(0x1B, from: 0) != nil || b.find("#033", from: 0) != nil
    }

    /// Copies `src` into `dst` (at least `src.count` bytes) without escape sequences and
    /// returns the number of bytes written. Removed: CSI sequences (`ESC [` parameters,
    /// intermediates, final byte — colours, cursor moves, erases), other two-byte ESC
    /// sequences, and CSI sequences introduced by `#033` instead of ESC. A lone ESC is dropped; a
    /// `#033` that introduces no CSI sequence is kept as text (a dialled `#0331`).
    ///
    /// Attacker text may hold such sequences too; removing them cannot create anything an
    /// attacker could not have written in plain text, and the message anchors stay positional.
    static func strip(_ src: UnsafeBufferPointer<UInt8>, into dst: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let n = src.count
        var i = 0
        var o = 0
        while i < n {
            let c = src[i]
            var introducer = 0
            if c == 0x1B {
                introducer = 1
            } else if c == UInt8(ascii: "#"), i + 3 < n, src[i + 1] == UInt8(ascii: "0"), src[i + 2] == UInt8(ascii: "3"),
                src[i + 3] == UInt8(ascii: "3")
            {
                introducer = 4
            }
            if introducer == 0 {
                dst[o] = c
                o += 1
                i += 1
                continue
            }
            var j = i + introducer
            if j < n, src[j] == UInt8(ascii: "[") {
                j += 1
                while j < n, src[j] >= 0x30, src[j] <= 0x3F { j += 1 } // parameters
                while j < n, src[j] >= 0x20, src[j] <= 0x2F { j += 1 } // intermediates
                if j < n, src[j] >= 0x40, src[j] <= 0x7E { j += 1 } // final byte
            } else if introducer == 1, j < n, src[j] >= 0x30, src[j] <= 0x7E {
                j += 1 // two-byte sequence (ESC c, ESC M, ESC 7, …)
            } else if introducer == 4 {
                // `#033` followed by anything else is text (e.g. a dialled `#0331`).
                dst[o] = c
                o += 1
                i += 1
                continue
            }
            i = j
        }
        return o
    }
}
