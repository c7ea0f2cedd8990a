// SPDX-License-Identifier: GPL-2.0-or-later

//
// libFuzzer target for the log dialect parsers. Built by Fuzz/build.sh together with the
// sources of NetworkAddress, WardenCore and LogFormats (one module), run by Fuzz/run.sh.

private let selections: [DialectSelection] = [
    .auto, .only(.asterisk), .only(.freeswitch), .only(.kamailio), .only(.opensips), .only(.sip),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = UnsafeBufferPointer(start: size > 0 ? data : nil, count: size > 0 ? size : 0)
    // Every selection on the whole input, and on each newline-separated line.
    for s in selections { _ = LogDialects.parse(buffer, selection: s) }
    _ = UnmatchedLines.looksLikeFailure(buffer)
    var start = 0
    for i in 0..<buffer.count where buffer[i] == 0x0A {
        let line = UnsafeBufferPointer(rebasing: buffer[start..<i])
        for s in selections { _ = LogDialects.parse(line, selection: s) }
        _ = UnmatchedLines.looksLikeFailure(line)
        start = i + 1
    }
    // The resolver must never trap on whatever a line yields.
    if let f = LogDialects.parse(buffer, selection: .auto), let t = f.time {
        _ = LogTimeResolver(utcOffsetSeconds: 3600).resolve(t, reference: Timestamp(seconds: 1_735_689_610))
    }
    return 0
}
