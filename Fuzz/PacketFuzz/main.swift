// SPDX-License-Identifier: GPL-2.0-or-later

//
// libFuzzer target for the capture path: the pcap/pcapng reader and the PacketDecoder
// (link layers, IP, fragment reassembly, TCP stream tracking). Built by Fuzz/packet-build.sh
// together with the sources of NetworkAddress, WardenCore and PacketDecoding (one module),
// run by Fuzz/packet-run.sh.
//
// The first input byte picks the mode:
//   0: the rest is a capture file; every frame it yields is decoded.
//   1: the rest is one frame, under every link type.
//   2: the rest is a sequence of frames (2-byte big-endian length, 1-byte link index,
//      bytes), fed to one decoder with small limits, so reassembly and TCP state evolve.

private let links = LinkType.supported + [LinkType(rawValue: 0xFFFF)]

private let smallLimits = PacketDecoder.Configuration(
    ports: .all, deliverEmptyDatagrams: true,
    reassembly: .init(maxDatagrams: 8, maxFragmentsPerDatagram: 8, maxBufferedBytes: 65_535, timeout: .seconds(2)),
    tcp: .init(
        maxFlows: 8, maxBufferedBytesPerFlow: 512, maxBufferedSegmentsPerFlow: 4, maxBufferedBytesTotal: 2048,
        maxWindow: 4096, resyncAfter: 2, idleTimeout: .seconds(5)))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    let mode = raw[0] % 3
    let rest = UnsafeRawBufferPointer(rebasing: raw[1...])
    switch mode {
    case 0:
        var reader = CaptureFileReader(bytes: Array(rest))
        var decoder = PacketDecoder(configuration: smallLimits)
        var last = Timestamp(microseconds: 0)
        do {
            try reader.forEachFrame { frame in
                precondition(frame.bytes.count <= CaptureFileReader.maxFrameLength)
                last = frame.timestamp
                decoder.decode(linkType: frame.linkType, timestamp: frame.timestamp, frame: frame.bytes, origin: .frame(frame.number)) { _ in }
            }
        } catch {
            precondition(!error.description.isEmpty)
        }
        decoder.finish(time: last) { _ in }
    case 1:
        for link in links {
            var decoder = PacketDecoder(configuration: smallLimits)
            decoder.decode(linkType: link, timestamp: Timestamp(seconds: 1), frame: rest, origin: .frame(1)) { output in
                if case .payload(let p) = output { precondition(p.bytes.count <= 65_535) }
            }
        }
    default:
        var decoder = PacketDecoder(configuration: smallLimits)
        var at = 0
        var time = Timestamp(seconds: 1_700_000_000)
        while at + 3 <= rest.count {
            let length = Int(rest[at]) << 8 | Int(rest[at + 1])
            let link = links[Int(rest[at + 2]) % links.count]
            let start = at + 3
            let end = min(start + length, rest.count)
            decoder.decode(
                linkType: link, timestamp: time, frame: UnsafeRawBufferPointer(rebasing: rest[start..<end]),
                origin: .frame(1)
            ) { _ in }
            time = time + .milliseconds(Int64(rest[at + 2]) * 10)
            at = end
            let s = decoder.statistics
            precondition(s.tcpFlows <= 8 && s.fragmentsPending <= 8)
        }
        decoder.finish(time: time) { _ in }
    }
    return 0
}
