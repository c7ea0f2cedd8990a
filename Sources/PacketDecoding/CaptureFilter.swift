// SPDX-License-Identifier: GPL-2.0-or-later

/// One classic BPF instruction (`struct sock_filter`).
public struct BPFInstruction: Hashable, Sendable, CustomStringConvertible {
    public var code: UInt16
    public var jt: UInt8
    public var jf: UInt8
    public var k: UInt32

    public init(_ code: UInt16, _ jt: UInt8 = 0, _ jf: UInt8 = 0, _ k: UInt32 = 0) {
        self.code = code
        self.jt = jt
        self.jf = jf
        self.k = k
    }

    // Opcode parts (linux/bpf_common.h).
    public static let ld: UInt16 = 0x00, ldx: UInt16 = 0x01, alu: UInt16 = 0x04, jmp: UInt16 = 0x05, ret: UInt16 = 0x06
    public static let w: UInt16 = 0x00, h: UInt16 = 0x08, b: UInt16 = 0x10
    public static let imm: UInt16 = 0x00, abs: UInt16 = 0x20, ind: UInt16 = 0x40, msh: UInt16 = 0xA0
    public static let ja: UInt16 = 0x00, jeq: UInt16 = 0x10, jgt: UInt16 = 0x20, jge: UInt16 = 0x30, jset: UInt16 = 0x40
    /// `SKF_AD_OFF + SKF_AD_PROTOCOL`: the ancillary load of the frame's EtherType.
    public static let ancillaryProtocol: UInt32 = 0xFFFF_F000

    public var description: String {
        "{ 0x\(String(code, radix: 16)), \(jt), \(jf), 0x\(String(k, radix: 16)) }"
    }
}

/// The kernel filter for SIP capture, generated from a port set.
///
/// It runs on an `AF_PACKET` `SOCK_DGRAM` socket, where offset 0 is the network header and
/// the EtherType comes from the ancillary `SKF_AD_PROTOCOL` load (so it works on any
/// interface type, with VLAN tags already stripped by the kernel). It accepts:
/// - IPv4 UDP or TCP whose source or destination port is in the set (the header length
///   comes from the IHL nibble, so IP options are handled);
/// - IPv4 non-first fragments (offset ≠ 0: they have no ports; the decoder reassembles and
///   then applies the port set);
/// - IPv6 UDP or TCP directly after the fixed header, with a port in the set;
/// - IPv6 packets whose first next-header is a fragment (44) header, or a hop-by-hop (0),
///   routing (43) or destination-options (60) header not followed directly by ICMPv6:
///   ports are then not at a fixed offset, so the decoder filters them after walking the
///   chain. (This keeps out MLD reports, hop-by-hop + ICMPv6, the usual such packets.)
/// Everything else (ARP, ICMP, other ports) is rejected in the kernel.
///
/// ```
///  0  ld   proto                      ; EtherType
///  1  jeq  #0x86dd       → v6
///  2  jeq  #0x0800       else → reject
///  3  ldb  [9]                        ; IPv4 protocol
///  4  jeq  #17           → 6
///  5  jeq  #6            else → reject
///  6  ldh  [6]
///  7  jset #0x1fff       → accept     ; non-first fragment
///  8  ldxb 4*([0]&0xf)                ; X = IPv4 header length
///  9  ja   ports
/// 10  v6: ldb [6]                     ; IPv6 next header
/// 11  jeq  #17           → v6ports
/// 12  jeq  #6            → v6ports
/// 13  jeq  #44           → accept
/// 14  jeq  #0            → ext
/// 15  jeq  #43           → ext
/// 16  jeq  #60           else → reject
/// 17  ext: ldb [40]                   ; the extension header's next header
/// 18  jeq  #58           → reject, else → accept
/// 19  reject: ret #0
/// 20  accept: ret #snap
/// 21  v6ports: ldx #40
/// 22  ports: ldh [x+0]                ; source port
///     for each range: jeq #p / ret #snap, or jge #lo / jgt #hi / ret #snap
///     ldh [x+2]                       ; destination port
///     (the same checks)
///     ret #0
/// ```
/// Every conditional jump is short (the port checks only jump over their own `ret`), so
/// the program stays valid for any number of ranges up to `PortSet.maxRanges`.
public enum CaptureFilter {
    /// Bytes of each accepted packet handed to the socket (more than any IP packet).
    public static let defaultSnapLength: UInt32 = 262_144

    /// The program for `ports`.
    public static func program(ports: PortSet, snapLength: UInt32 = defaultSnapLength) -> [BPFInstruction] {
        typealias I = BPFInstruction
        let reject = I(I.ret, 0, 0, 0)
        let accept = I(I.ret, 0, 0, snapLength)
        var p: [BPFInstruction] = [
            I(I.ld | I.w | I.abs, 0, 0, I.ancillaryProtocol), // 0
            I(I.jmp | I.jeq, 8, 0, 0x86DD), // 1 → 10
            I(I.jmp | I.jeq, 0, 16, 0x0800), // 2 → 3 / 19
            I(I.ld | I.b | I.abs, 0, 0, 9), // 3
            I(I.jmp | I.jeq, 1, 0, 17), // 4 → 6 / 5
            I(I.jmp | I.jeq, 0, 13, 6), // 5 → 6 / 19
            I(I.ld | I.h | I.abs, 0, 0, 6), // 6
            I(I.jmp | I.jset, 12, 0, 0x1FFF), // 7 → 20 / 8
            I(I.ldx | I.b | I.msh, 0, 0, 0), // 8
            I(I.jmp | I.ja, 0, 0, 12), // 9 → 22
            I(I.ld | I.b | I.abs, 0, 0, 6), // 10
            I(I.jmp | I.jeq, 9, 0, 17), // 11 → 21
            I(I.jmp | I.jeq, 8, 0, 6), // 12 → 21
            I(I.jmp | I.jeq, 6, 0, 44), // 13 → 20
            I(I.jmp | I.jeq, 2, 0, 0), // 14 → 17
            I(I.jmp | I.jeq, 1, 0, 43), // 15 → 17
            I(I.jmp | I.jeq, 0, 2, 60), // 16 → 17 / 19
            I(I.ld | I.b | I.abs, 0, 0, 40), // 17
            I(I.jmp | I.jeq, 0, 1, 58), // 18 → 19 / 20
            reject, // 19
            accept, // 20
            I(I.ldx | I.w | I.imm, 0, 0, 40), // 21
        ]
        if ports == .all {
            p.append(accept)
            return p
        }
        for offset: UInt32 in [0, 2] {
            p.append(I(I.ld | I.h | I.ind, 0, 0, offset))
            for range in ports.ranges {
                if range.lowerBound == range.upperBound {
                    p.append(I(I.jmp | I.jeq, 0, 1, UInt32(range.lowerBound)))
                } else {
                    p.append(I(I.jmp | I.jge, 0, 2, UInt32(range.lowerBound)))
                    p.append(I(I.jmp | I.jgt, 1, 0, UInt32(range.upperBound)))
                }
                p.append(accept)
            }
        }
        p.append(reject)
        return p
    }
}
