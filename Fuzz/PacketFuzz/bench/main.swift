// SPDX-License-Identifier: GPL-2.0-or-later

//
// Decode throughput of CaptureFileReader + PacketDecoder on a synthetic pcap of SIP UDP
// packets (Ethernet/IPv4/UDP, ~480-byte REGISTERs from 65,536 sources), one core.
// Built by `Fuzz/packet-build.sh bench` (release, no sanitizers); run:
//   .build-packetfuzz/packet-bench [packets]

#if canImport(Glibc)
    import Glibc
#endif

@main
struct PacketBench {
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    static func main() {
        let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
        var file = le32(0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(1)
        file.reserveCapacity(count * 540 + 24)
        for i in 0..<count {
            let sip = Array(
                ("REGISTER sip:198.18.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.19.\(i >> 8 & 0xFF).\(i & 0xFF):5060;branch=z9hG4bK\(i)\r\n"
                    + "Max-Forwards: 70\r\nFrom: <sip:\(i % 1000)@198.18.0.1>;tag=\(i)\r\nTo: <sip:\(i % 1000)@198.18.0.1>\r\n"
                    + "Call-ID: \(i)-bench@198.19.0.1\r\nCSeq: 1 REGISTER\r\nContact: <sip:\(i % 1000)@198.19.0.1:5060>\r\n"
                    + "User-Agent: friendly-scanner\r\nExpires: 3600\r\nAllow: INVITE, ACK, CANCEL, OPTIONS, BYE, REGISTER\r\nContent-Length: 0\r\n\r\n")
                    .utf8)
            let udp = be16(UInt16(40000 + i % 1000)) + be16(5060) + be16(UInt16(8 + sip.count)) + [0, 0] + sip
            let ip: [UInt8] =
                [0x45, 0] + be16(UInt16(20 + udp.count)) + be16(UInt16(truncatingIfNeeded: i)) + [0x40, 0, 64, 17, 0, 0]
                + [198, 19, UInt8(i >> 8 & 0xFF), UInt8(i & 0xFF)] + [198, 18, 0, 1] + udp
            let frame: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0] + ip
            file +=
                le32(UInt32(1_700_000_000 + i / 10_000)) + le32(UInt32(i % 10_000 * 100)) + le32(UInt32(frame.count)) + le32(UInt32(frame.count))
                + frame
        }
        print("synthetic pcap: \(count) packets, \(file.count) bytes")

        for round in 1...3 {
            var reader = CaptureFileReader(bytes: file)
            var decoder = PacketDecoder()
            var payloads = 0
            var bytes = 0
            let start = now()
            do {
                try reader.forEachFrame { frame in
                    decoder.decode(linkType: frame.linkType, timestamp: frame.timestamp, frame: frame.bytes, origin: .frame(frame.number)) { output in
                        if case .payload(let p) = output {
                            payloads += 1
                            bytes += p.bytes.count
                        }
                    }
                }
            } catch {
                print("error: \(error)")
                return
            }
            let elapsed = now() - start
            precondition(payloads == count)
            print(
                "round \(round): reader+decoder \(count) packets in \(Double(Int(elapsed * 1000)) / 1000) s = \(Int(Double(count) / elapsed)) packets/s (\(bytes / count) payload bytes each)"
            )
        }
    }
}
