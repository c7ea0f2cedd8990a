// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import SIPCorrelation
// libFuzzer target for SIPCorrelator. Built by Fuzz/correlation-build.sh, which compiles
// NetworkAddress, SIPMessage, WardenCore, PacketDecoding and SIPCorrelation as modules with
// coverage and AddressSanitizer, then this file against them.
//
// Input: chunks separated by two NUL bytes. Each chunk's first byte chooses how its other
// bytes are delivered: bit 0 UDP/TCP, bit 1 client→server or server→client, bits 2–3 which
// of four clients (two IPv4, two IPv6), bits 4–7 how many 2-second steps the clock
// advances first (so transaction timeouts fire). The correlator gets tiny caps so that
// every eviction path runs.
import WardenCore

@inline(never)
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

let server = IPAddress.v4(0xC612_000A) // 198.18.0.10
let server6 = IPAddress.v6(0x2001_0002_0000_0000, 0x10)
let clients: [IPAddress] = [.v4(0xC612_0014), .v4(0xC612_0142), .v6(0x2001_0002_0000_0000, 0x66), .v6(0x2001_0002_0000_0000, 0x67)]

let configuration = CorrelatorConfiguration(
    floodThreshold: 5, transactionTimeout: .seconds(32), maxOpenTransactions: 8, maxTrackedSources: 4,
    maxTCPFlows: 4, maxBufferedTCPBytes: 8_192, maxMessageSize: 4_096, maxInferredServers: 2
)

func run(_ data: UnsafeBufferPointer<UInt8>) -> [SecurityEvent] {
    var correlator = SIPCorrelator(configuration: configuration)
    var events: [SecurityEvent] = []
    var time: Int64 = 1_700_000_000_000_000
    var start = 0
    var frame = 0
    while start < data.count {
        var end = start
        while end < data.count, !(data[end] == 0 && end + 1 < data.count && data[end + 1] == 0) { end += 1 }
        if end > start {
            let control = data[start]
            let client = clients[Int(control >> 2) & 3]
            let serverAddress = client.family == .v4 ? server : server6
            let toServer = control & 2 == 0
            time += Int64(control >> 4) * 2_000_000 + 1_000
            frame += 1
            let flow =
                toServer
                ? FlowKey(
                    source: client, sourcePort: 5060, destination: serverAddress, destinationPort: 5060, transport: control & 1 == 0 ? .udp : .tcp)
                : FlowKey(
                    source: serverAddress, sourcePort: 5060, destination: client, destinationPort: 5060, transport: control & 1 == 0 ? .udp : .tcp)
            let payload = WirePayload(
                time: Timestamp(microseconds: time), flow: flow,
                bytes: Array(UnsafeBufferPointer(rebasing: data[(start + 1)..<end])), origin: .frame(frame)
            )
            correlator.ingest(payload, sensor: "fuzz") { event in
                // The blamed address is always one of the payload's IP addresses, and a
                // server answering is never blamed for it.
                // (A flood event judged later blames the client of an earlier request.)
                require(
                    event.source == flow.source || event.source == flow.destination
                        || (event.kind == .flood && clients.contains(event.source)), "event blames a third address")
                // A flood event judged later names the frame of the request it judged.
                if case .frame(file: "fuzz", number: let number) = event.origin {
                    require(number == frame || (event.kind == .flood && number < frame), "event origin")
                } else {
                    require(false, "event origin")
                }
                require(event.dialect == .sip, "dialect")
                events.append(event)
            }
            let footprint = correlator.memoryFootprint
            require(footprint.transactions <= 8, "transactions over cap: \(footprint.transactions)")
            require(footprint.sources <= 4, "sources over cap")
            require(footprint.tcpFlows <= 4, "flows over cap")
            require(footprint.tcpBytes >= 0 && footprint.tcpBytes <= 8_192, "TCP bytes \(footprint.tcpBytes)")
        }
        start = end + 2
    }
    require(correlator.statistics.transactionsOpen <= 8, "open transactions")
    correlator.expire(now: Timestamp(microseconds: time + 200_000_000), sensor: "fuzz") { events.append($0) }
    require(correlator.memoryFootprint.transactions == 0, "transactions survive their timeout")
    require(correlator.statistics.eventsByKind.reduce(0, +) == events.count, "event counters")
    return events
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeBufferPointer(start: data, count: size)
    let first = run(buffer)
    // Deterministic: the same input gives the same events.
    require(first == run(buffer), "non-deterministic events")
    return 0
}
