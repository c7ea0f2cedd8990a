// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// One eBPF instruction (`struct bpf_insn`: opcode, destination and source registers,
/// 16-bit offset, 32-bit immediate).
public struct EBPFInstruction: Hashable, Sendable {
    public var code: UInt8
    public var dst: UInt8
    public var src: UInt8
    public var offset: Int16
    public var imm: Int32

    public init(_ code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, offset: Int16 = 0, imm: Int32 = 0) {
        self.code = code
        self.dst = dst
        self.src = src
        self.offset = offset
        self.imm = imm
    }

    /// The 8 bytes the kernel reads (little-endian host).
    public var bytes: [UInt8] {
        let o = UInt16(bitPattern: offset)
        let i = UInt32(bitPattern: imm)
        return [
            code, dst & 0x0f | src << 4, UInt8(o & 0xff), UInt8(o >> 8),
            UInt8(i & 0xff), UInt8(i >> 8 & 0xff), UInt8(i >> 16 & 0xff), UInt8(i >> 24),
        ]
    }
}

/// The capture socket's kernel filter with a banned-source check: the classic program of
/// ``CaptureFilter`` translated to eBPF, where every "accept" first looks the packet's IP
/// source up in a hash map of banned sources (filled by user space as bans are made) and
/// drops the packet when it is banned and the ban has not expired. A flood from a source
/// that is already banned then costs one map lookup in the kernel per packet and nothing
/// in user space: no copy to the socket, no wake-up, no decoding.
///
/// Map (`BPF_MAP_TYPE_LRU_HASH`): key = the 16-byte address (IPv4 as `::ffff:a.b.c.d`) as
/// four 32-bit words each in host byte order (what the `LD_ABS` loads yield, see
/// ``key(_:)``); value = expiry (u64, `CLOCK_MONOTONIC` nanoseconds, as
/// `bpf_ktime_get_ns`) then a drop counter (u64, incremented atomically per dropped packet).
public enum BannedSourceFilterProgram {
    public static let keySize = 16
    public static let valueSize = 16

    // Opcode parts (linux/bpf.h, linux/bpf_common.h).
    static let ld: UInt8 = 0x00, ldx: UInt8 = 0x01, st: UInt8 = 0x02, stx: UInt8 = 0x03, alu: UInt8 = 0x04
    static let jmp: UInt8 = 0x05, alu64: UInt8 = 0x07
    static let w: UInt8 = 0x00, h: UInt8 = 0x08, b: UInt8 = 0x10, dw: UInt8 = 0x18
    static let imm: UInt8 = 0x00, abs: UInt8 = 0x20, ind: UInt8 = 0x40, mem: UInt8 = 0x60, atomic: UInt8 = 0xc0
    static let k: UInt8 = 0x00, x: UInt8 = 0x08
    static let add: UInt8 = 0x00, lsh: UInt8 = 0x60, rsh: UInt8 = 0x70, and: UInt8 = 0x50, mov: UInt8 = 0xb0, end: UInt8 = 0xd0
    static let ja: UInt8 = 0x00, jeq: UInt8 = 0x10, jgt: UInt8 = 0x20, jge: UInt8 = 0x30, jset: UInt8 = 0x40, jne: UInt8 = 0x50
    static let call: UInt8 = 0x80, exit: UInt8 = 0x90
    /// `BPF_PSEUDO_MAP_FD`: the immediate of a 64-bit load is a map file descriptor.
    static let pseudoMapFD: UInt8 = 1
    static let helperMapLookup: Int32 = 1, helperKtimeNanoseconds: Int32 = 5
    /// `offsetof(struct __sk_buff, protocol)`.
    static let skbProtocolOffset: Int16 = 16

    /// The map key of `address`.
    public static func key(_ address: IPAddress) -> [UInt8] {
        let words: [UInt32]
        switch address {
        case .v4(let a): words = [0, 0, 0x0000_ffff, a]
        case .v6(let hi, let lo):
            words = [
                UInt32(truncatingIfNeeded: hi >> 32), UInt32(truncatingIfNeeded: hi),
                UInt32(truncatingIfNeeded: lo >> 32), UInt32(truncatingIfNeeded: lo),
            ]
        }
        return words.flatMap { word in withUnsafeBytes(of: word) { Array($0) } }
    }

    /// The map value: expiry then drop counter.
    public static func value(expiresAtMonotonicNanoseconds expiry: UInt64, drops: UInt64 = 0) -> [UInt8] {
        withUnsafeBytes(of: expiry) { Array($0) } + withUnsafeBytes(of: drops) { Array($0) }
    }

    /// Translates `classic` (a program of the shape ``CaptureFilter/program(ports:snapLength:)``
    /// makes: loads, `ldx msh`/`ldx imm`, conditional and unconditional jumps, returns) to
    /// eBPF, with the banned-source check before every non-zero return. Registers: A = r0,
    /// X = r7, r6 = the socket buffer (required by `LD_ABS`/`LD_IND`), r8 scratch.
    public static func program(classic: [BPFInstruction], mapFD: Int32) -> [EBPFInstruction] {
        typealias I = EBPFInstruction
        var out: [I] = [I(alu64 | mov | x, dst: 6, src: 1)] // r6 = ctx
        var start: [Int] = [] // eBPF index of each classic instruction
        var jumps: [(at: Int, classicTarget: Int)] = []
        var checks: [(at: Int, snap: Int32)] = [] // jumps to the ban check of an accepting return
        for (index, c) in classic.enumerated() {
            start.append(out.count)
            let cls = UInt8(c.code & 0x07)
            let size = UInt8(c.code & 0x18)
            let mode = UInt8(c.code & 0xe0)
            switch (cls, mode) {
            case (ld, abs) where c.k == BPFInstruction.ancillaryProtocol:
                out.append(I(ldx | w | mem, dst: 0, src: 6, offset: skbProtocolOffset)) // r0 = skb->protocol (be16)
                out.append(I(alu | end | x, dst: 0, imm: 16)) // to host order (BPF_TO_BE)
            case (ld, abs):
                out.append(I(ld | size | abs, imm: Int32(bitPattern: c.k)))
            case (ld, ind):
                out.append(I(ld | size | ind, src: 7, imm: Int32(bitPattern: c.k)))
            case (ld, imm):
                out.append(I(alu64 | mov | k, dst: 0, imm: Int32(bitPattern: c.k)))
            case (ldx, imm):
                out.append(I(alu64 | mov | k, dst: 7, imm: Int32(bitPattern: c.k)))
            case (ldx, 0xa0): // msh: X = 4 * (P[k] & 0xf), A kept
                out.append(I(alu64 | mov | x, dst: 8, src: 0))
                out.append(I(ld | b | abs, imm: Int32(bitPattern: c.k)))
                out.append(I(alu64 | and | k, dst: 0, imm: 0x0f))
                out.append(I(alu64 | lsh | k, dst: 0, imm: 2))
                out.append(I(alu64 | mov | x, dst: 7, src: 0))
                out.append(I(alu64 | mov | x, dst: 0, src: 8))
            case (UInt8(BPFInstruction.jmp), _):
                let op = UInt8(c.code & 0xf0)
                if op == ja {
                    jumps.append((out.count, index + 1 + Int(c.k)))
                    out.append(I(jmp | ja))
                } else {
                    jumps.append((out.count, index + 1 + Int(c.jt)))
                    out.append(I(jmp | op | k, dst: 0, imm: Int32(bitPattern: c.k)))
                    if c.jf != 0 {
                        jumps.append((out.count, index + 1 + Int(c.jf)))
                        out.append(I(jmp | ja))
                    }
                }
            case (UInt8(BPFInstruction.ret), _):
                if c.k == 0 {
                    out.append(I(alu64 | mov | k, dst: 0, imm: 0))
                    out.append(I(jmp | exit))
                } else {
                    checks.append((out.count, Int32(bitPattern: c.k)))
                    out.append(I(jmp | ja))
                }
            default:
                // Not produced by CaptureFilter; reject rather than guess.
                out.append(I(alu64 | mov | k, dst: 0, imm: 0))
                out.append(I(jmp | exit))
            }
        }
        start.append(out.count)
        for (at, target) in jumps {
            out[at].offset = Int16(clamping: start[min(target, classic.count)] - at - 1)
        }
        // One ban check per distinct snap length (CaptureFilter uses one).
        var checkStart: [Int32: Int] = [:]
        for snap in Set(checks.map(\.snap)).sorted() {
            checkStart[snap] = out.count
            out += banCheck(mapFD: mapFD, snap: snap)
        }
        for (at, snap) in checks {
            out[at].offset = Int16(clamping: checkStart[snap]! - at - 1)
        }
        return out
    }

    /// Looks the IP source up; drops (returns 0) when banned and unexpired, else returns `snap`.
    static func banCheck(mapFD: Int32, snap: Int32) -> [EBPFInstruction] {
        typealias I = EBPFInstruction
        var p: [I] = [
            I(ld | b | abs, imm: 0), // 0  r0 = version/IHL byte
            I(alu64 | rsh | k, dst: 0, imm: 4), // 1  r0 = IP version
            I(jmp | jeq | k, dst: 0, offset: 7, imm: 6), // 2  → 10 (IPv6)
            I(jmp | jne | k, dst: 0, offset: -1, imm: 4), // 3  → pass (patched)
            I(ld | w | abs, imm: 12), // 4  IPv4 source
            I(stx | w | mem, dst: 10, src: 0, offset: -4), // 5
            I(st | w | mem, dst: 10, offset: -8, imm: 0x0000_ffff), // 6
            I(st | w | mem, dst: 10, offset: -12, imm: 0), // 7
            I(st | w | mem, dst: 10, offset: -16, imm: 0), // 8
            I(jmp | ja, offset: 8), // 9  → 18 (lookup)
        ]
        for (n, offset) in [(8, -16), (12, -12), (16, -8), (20, -4)] { // 10–17: IPv6 source
            p.append(I(ld | w | abs, imm: Int32(n)))
            p.append(I(stx | w | mem, dst: 10, src: 0, offset: Int16(offset)))
        }
        p += [
            I(ld | dw | imm, dst: 1, src: pseudoMapFD, imm: mapFD), // 18–19 r1 = map
            I(0),
            I(alu64 | mov | x, dst: 2, src: 10), // 20
            I(alu64 | add | k, dst: 2, imm: -16), // 21 r2 = &key
            I(jmp | call, imm: helperMapLookup), // 22
            I(jmp | jeq | k, dst: 0, offset: -1, imm: 0), // 23 → pass (patched)
            I(alu64 | mov | x, dst: 8, src: 0), // 24 r8 = value
            I(jmp | call, imm: helperKtimeNanoseconds), // 25
            I(ldx | dw | mem, dst: 1, src: 8, offset: 0), // 26 r1 = expiry
            I(jmp | jge | x, dst: 0, src: 1, offset: -1), // 27 now ≥ expiry → pass (patched)
            I(alu64 | mov | k, dst: 1, imm: 1), // 28
            I(stx | dw | atomic, dst: 8, src: 1, offset: 8, imm: Int32(add)), // 29 drops += 1
            I(alu64 | mov | k, dst: 0, imm: 0), // 30 drop
            I(jmp | exit), // 31
            I(alu64 | mov | k, dst: 0, imm: snap), // 32 pass
            I(jmp | exit), // 33
        ]
        let pass = 32
        for at in [3, 23, 27] { p[at].offset = Int16(pass - at - 1) }
        return p
    }
}
