// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import PacketDecoding

/// A classic BPF interpreter (the subset the generated program uses, with the kernel's
/// semantics: an out-of-bounds load rejects the packet), so the filter is checked against
/// real packet bytes without root.
struct BPFMachine {
    var program: [BPFInstruction]

    func run(packet: [UInt8], ethertype: UInt16) -> UInt32 {
        var a: UInt32 = 0
        var x: UInt32 = 0
        var pc = 0
        var steps = 0
        func load(_ offset: Int, _ size: Int) -> UInt32? {
            guard offset >= 0, offset + size <= packet.count else { return nil }
            var v: UInt32 = 0
            for i in 0..<size { v = v << 8 | UInt32(packet[offset + i]) }
            return v
        }
        while pc < program.count, steps < 10_000 {
            steps += 1
            let i = program[pc]
            pc += 1
            let cls = i.code & 0x07
            switch cls {
            case BPFInstruction.ld:
                let size = [0x00: 4, 0x08: 2, 0x10: 1][Int(i.code & 0x18)]!
                switch i.code & 0xE0 {
                case BPFInstruction.abs where i.k == BPFInstruction.ancillaryProtocol:
                    a = UInt32(ethertype)
                case BPFInstruction.abs:
                    guard let v = load(Int(i.k), size) else { return 0 }
                    a = v
                case BPFInstruction.ind:
                    guard let v = load(Int(x) + Int(i.k), size) else { return 0 }
                    a = v
                default:
                    Issue.record("unexpected ld mode \(i)")
                    return 0
                }
            case BPFInstruction.ldx:
                switch i.code & 0xE0 {
                case BPFInstruction.imm: x = i.k
                case BPFInstruction.msh:
                    guard let v = load(Int(i.k), 1) else { return 0 }
                    x = (v & 0xF) * 4
                default:
                    Issue.record("unexpected ldx mode \(i)")
                    return 0
                }
            case BPFInstruction.jmp:
                let op = i.code & 0xF0
                if op == BPFInstruction.ja {
                    pc += Int(i.k)
                    continue
                }
                let taken: Bool
                switch op {
                case BPFInstruction.jeq: taken = a == i.k
                case BPFInstruction.jgt: taken = a > i.k
                case BPFInstruction.jge: taken = a >= i.k
                case BPFInstruction.jset: taken = a & i.k != 0
                default:
                    Issue.record("unexpected jump \(i)")
                    return 0
                }
                pc += Int(taken ? i.jt : i.jf)
            case BPFInstruction.ret:
                return i.k
            default:
                Issue.record("unexpected class \(i)")
                return 0
            }
        }
        Issue.record("fell off the program")
        return 0
    }
}

@Suite("Kernel capture filter (classic BPF)")
struct CaptureFilterTests {
    let sip = Frames.sipRequest()

    func accepts(_ ports: PortSet, _ packet: [UInt8], ethertype: UInt16 = 0x0800) -> Bool {
        BPFMachine(program: CaptureFilter.program(ports: ports)).run(packet: packet, ethertype: ethertype) > 0
    }

    @Test func udpAndTCPEitherDirection() {
        let ports = PortSet.sipDefault
        #expect(accepts(ports, Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 5060, sip))))
        #expect(accepts(ports, Frames.ipv4("198.18.0.1", "198.18.0.2", proto: 17, Frames.udp(5061, 40000, sip))))
        #expect(accepts(ports, Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 6, Frames.tcp(40000, 5060, seq: 1, flags: 2))))
        #expect(!accepts(ports, Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 5062, sip))))
        #expect(!accepts(ports, Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(53, 40000, sip))))
        #expect(!accepts(ports, Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 1, [8, 0, 0, 0, 0x13, 0xC4, 0x13, 0xC4])))
        // IP options move the ports: the IHL nibble is honoured.
        let options = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 5060, sip), options: [1, 1, 1, 0, 1, 1, 1, 0])
        #expect(accepts(ports, options))
        let optionsOther = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 9, sip), options: [0x13, 0xC4, 0x13, 0xC4])
        #expect(!accepts(ports, optionsOther))
        // Not IP at all.
        #expect(!accepts(ports, [UInt8](repeating: 0, count: 28), ethertype: 0x0806))
        // Too short to hold ports: rejected, never read out of bounds.
        #expect(!accepts(ports, Array(Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, 5060, sip)).prefix(21))))
    }

    @Test func fragments() {
        let ports = PortSet.sipDefault
        let later = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, [UInt8](repeating: 0, count: 64), id: 1, fragmentOffset: 1480)
        #expect(accepts(ports, later))
        let firstOther = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(1, 2, sip), id: 1, moreFragments: true)
        #expect(!accepts(ports, firstOther))
        let v6frag = Frames.ipv6(
            "2001:2::2", "2001:2::1", next: 44, Frames.fragmentHeader(next: 17, offset: 8, more: false, id: 1) + [UInt8](repeating: 0, count: 8))
        #expect(accepts(ports, v6frag, ethertype: 0x86DD))
    }

    @Test func ipv6() {
        let ports = PortSet.sipDefault
        #expect(accepts(ports, Frames.ipv6("2001:2::2", "2001:2::1", next: 17, Frames.udp(40000, 5060, sip)), ethertype: 0x86DD))
        #expect(accepts(ports, Frames.ipv6("2001:2::1", "2001:2::2", next: 6, Frames.tcp(5060, 40000, seq: 1, flags: 0x12)), ethertype: 0x86DD))
        #expect(!accepts(ports, Frames.ipv6("2001:2::2", "2001:2::1", next: 17, Frames.udp(40000, 443, sip)), ethertype: 0x86DD))
        #expect(!accepts(ports, Frames.ipv6("2001:2::2", "2001:2::1", next: 58, [128, 0, 0, 0]), ethertype: 0x86DD))
        // MLD (hop-by-hop then ICMPv6) stays in the kernel.
        #expect(!accepts(ports, Frames.ipv6("2001:2::2", "ff02::16", next: 0, Frames.extensionHeader(next: 58) + [143, 0, 0, 0]), ethertype: 0x86DD))
        // Other extension headers: passed to the decoder, which filters after walking them.
        #expect(
            accepts(
                ports, Frames.ipv6("2001:2::2", "2001:2::1", next: 60, Frames.extensionHeader(next: 6) + Frames.tcp(1, 5060, seq: 1, flags: 2)),
                ethertype: 0x86DD))
        #expect(
            accepts(
                ports, Frames.ipv6("2001:2::2", "2001:2::1", next: 0, Frames.extensionHeader(next: 17) + Frames.udp(1, 2, sip)), ethertype: 0x86DD))
    }

    @Test func portRangesAndAll() {
        let ports = PortSet(parsing: "5060,5080-5090,6000")!
        let cases: [(UInt16, Bool)] = [
            (5060, true), (5079, false), (5080, true), (5085, true), (5090, true), (5091, false), (6000, true), (5061, false),
        ]
        for (port, expected) in cases {
            let packet = Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(40000, port, sip))
            #expect(accepts(ports, packet) == expected, "port \(port)")
            let reply = Frames.ipv4("198.18.0.1", "198.18.0.2", proto: 17, Frames.udp(port, 40000, sip))
            #expect(accepts(ports, reply) == expected, "source port \(port)")
        }
        #expect(accepts(.all, Frames.ipv4("198.18.0.2", "198.18.0.1", proto: 17, Frames.udp(1, 2, sip))))
    }

    @Test func programStaysSmallAndJumpsStayInside() {
        let ranges: [ClosedRange<UInt16>] = (0..<PortSet.maxRanges).map { (i: Int) -> ClosedRange<UInt16> in
            let low = UInt16(1000 + i * 10)
            return low...low + 2
        }
        let many = PortSet(ranges)!
        let program = CaptureFilter.program(ports: many)
        #expect(program.count < 4096)
        for (index, instruction) in program.enumerated() where instruction.code & 0x07 == BPFInstruction.jmp {
            if instruction.code & 0xF0 == BPFInstruction.ja {
                #expect(index + 1 + Int(instruction.k) < program.count)
            } else {
                #expect(index + 1 + Int(instruction.jt) < program.count)
                #expect(index + 1 + Int(instruction.jf) < program.count)
            }
        }
        #expect(program.last == BPFInstruction(BPFInstruction.ret, 0, 0, 0))
    }
}
