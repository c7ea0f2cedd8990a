// SPDX-License-Identifier: GPL-2.0-or-later

//
// libFuzzer target for NFLogMessage.parse (the flood guard's NFLOG reports). Built by
// Fuzz/nflog-build.sh together with the sources of NetworkAddress (one module), run by
// Fuzz/nflog-run.sh. Besides "never traps": parsing is deterministic, the view of the
// input as an array and as raw bytes agree, every reported source is an IPv4 or IPv6
// address taken from at least a whole header's worth of input, and a datagram never
// yields more elements than its 16-byte netlink headers could hold.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let raw = UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size > 0 ? size : 0)
    let first = NFLogMessage.parse(raw)
    let second = NFLogMessage.parse(Array(raw))
    precondition(first == second, "parse is not deterministic, or the two entry points disagree")
    precondition(first.elements.count <= size / 16 + 1, "more elements than netlink headers fit")
    for packet in first.packets {
        switch packet.source {
        case .v4: precondition(size >= 16 + 4 + 20, "an IPv4 source from less than a header")
        case .v6: precondition(size >= 16 + 4 + 40, "an IPv6 source from less than a header")
        }
        if let prefix = packet.prefix { precondition(prefix.utf8.count < size, "prefix longer than the input") }
    }
    _ = first.rejections.map(\.description)
    return 0
}
