// SPDX-License-Identifier: GPL-2.0-or-later

//
// libFuzzer target for the intelligence parsers (Sources/IntelStore): the ip2asn TSV, the
// clouds' JSON (AWS, Google Cloud, Azure, Oracle), RFC 8805 geofeed CSV and plain CIDR
// lists. Every input goes through format detection and through every parser. Built by
// Fuzz/intel-build.sh (NetworkAddress, WardenCore and IntelStore as one module), run by
// Fuzz/intel-run.sh. Besides "never traps": an accepted file has ranges and a store built
// from it answers each of its ranges' first addresses, and every CIDR block a selector
// returns holds addresses the store attributes to that selector.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: size > 0 ? data : nil, count: size > 0 ? size : 0)
    _ = IntelFormat.detect(bytes: bytes)
    var datasets: [IntelDataset] = []
    for format in [nil] + IntelFormat.allCases.map(Optional.some) {
        do throws(IntelParseError) {
            let dataset = try IntelParser.parse(bytes: bytes, format: format, name: "fuzz")
            precondition(dataset.entryCount > 0, "an accepted file without ranges")
            precondition(dataset.entryCount <= size, "more ranges than bytes")
            datasets.append(dataset)
        } catch {
            precondition(error.line >= 0 && error.line <= size + 1, "error line outside the file")
            _ = error.located(in: "fuzz")
        }
    }
    guard !datasets.isEmpty else { return 0 }
    let store = IntelStore(datasets: datasets)
    for d in datasets {
        let selector: IntelSelector = d.role == .namedList ? .list(d.name) : .provider(d.format == .ip2asn ? "none" : "fuzz")
        for network in store.networks(matching: selector).prefix(64) {
            let answer = store.lookup(network.address)
            if case .list = selector { precondition(answer.lists.contains(d.name), "a list block the store does not attribute to the list") }
        }
    }
    // A handful of lookups around addresses taken from the input itself.
    var i = 0
    while i + 16 <= bytes.count, i < 256 {
        let v4 = IPAddress.v4(UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3]))
        _ = store.lookup(v4)
        if let v6 = IPAddress(bytes: UnsafeBufferPointer(rebasing: bytes[i..<i + 16])) { _ = store.lookup(v6) }
        i += 16
    }
    return 0
}
