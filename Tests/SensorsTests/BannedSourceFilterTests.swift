// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Logging
import NetworkAddress
import PacketDecoding
import TestNamespaces
import Testing

@testable import Sensors

@Suite("Banned-source filter program")
struct BannedSourceFilterProgramTests {
    @Test("map keys are the 16-byte address as four host-order words, IPv4 as ::ffff:a.b.c.d")
    func keys() {
        func words(_ bytes: [UInt8]) -> [UInt32] {
            stride(from: 0, to: 16, by: 4).map { i in bytes[i..<i + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
        }
        #expect(words(BannedSourceFilterProgram.key(IPAddress("198.18.1.66")!)) == [0, 0, 0xffff, 0xC612_0142])
        #expect(words(BannedSourceFilterProgram.key(IPAddress("2001:2::66")!)) == [0x2001_0002, 0, 0, 0x66])
        #expect(BannedSourceFilterProgram.key(IPAddress("198.18.1.66")!).count == BannedSourceFilterProgram.keySize)
    }

    @Test(
        "the translation keeps every jump inside the program and checks bans before every accepting return",
        arguments: [PortSet.sipDefault, PortSet(parsing: "5060,5080-5090,7000")!, PortSet.all])
    func translation(ports: PortSet) throws {
        let classic = CaptureFilter.program(ports: ports)
        let program = BannedSourceFilterProgram.program(classic: classic, mapFD: 42)
        #expect(program.count < 4096)
        for (index, instruction) in program.enumerated() where instruction.code & 0x07 == 0x05 {
            let op = instruction.code & 0xf0
            if op == 0x80 || op == 0x90 { continue } // call, exit
            let target = index + 1 + Int(instruction.offset)
            #expect(target > index && target < program.count, "jump at \(index) to \(target)")
        }
        let mapLoads = program.filter { $0.code == 0x18 && $0.src == 1 }
        #expect(mapLoads.map(\.imm) == [42])
        // Classic returns: as many "return 0" as before plus the check's drop, and the
        // snap length only returned by the ban check.
        let accepting = classic.filter { $0.code == BPFInstruction.ret && $0.k != 0 }.count
        #expect(accepting > 0)
        let snapReturns = program.filter { $0.code == 0xb7 && $0.dst == 0 && $0.imm == Int32(CaptureFilter.defaultSnapLength) }
        #expect(snapReturns.count == 1)
        #expect(program.allSatisfy { $0.bytes.count == 8 })
    }
}

/// Real packets over a veth pair: our namespace 198.19.249.1 / 2001:2:0:249::1, the peer
/// sends from .2–.4 / ::2–::3 after some of them were put in the filter.
@Suite(
    "Banned-source filter live (veth between two namespaces)", .serialized,
    .enabled(if: PacketCaptureGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct BannedSourceFilterLiveTests {
    static let script = """
        import socket, time
        def send(src, dst, tag, count, family=socket.AF_INET, port=5060):
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.bind((src, 0))
            for i in range(count):
                s.sendto(("OPTIONS sip:x SIP/2.0\\r\\nCall-ID: %s-%d\\r\\n\\r\\n" % (tag, i)).encode(), (dst, port))
            s.close()
        # Warm-up (neighbour resolution, link up) on a port the capture does not take.
        for src, dst, fam in [("198.19.249.2", "198.19.249.1", socket.AF_INET), ("198.19.249.3", "198.19.249.1", socket.AF_INET),
                              ("198.19.249.4", "198.19.249.1", socket.AF_INET), ("2001:2:0:249::2", "2001:2:0:249::1", socket.AF_INET6),
                              ("2001:2:0:249::3", "2001:2:0:249::1", socket.AF_INET6)]:
            send(src, dst, "warmup", 1, fam, port=9)
        time.sleep(0.5)
        send("198.19.249.2", "198.19.249.1", "banned4", 20)
        send("2001:2:0:249::2", "2001:2:0:249::1", "banned6", 20, socket.AF_INET6)
        send("198.19.249.3", "198.19.249.1", "lifted4", 20)
        send("2001:2:0:249::3", "2001:2:0:249::1", "free6", 20, socket.AF_INET6)
        send("198.19.249.3", "198.19.249.1", "otherport", 5, port=5999)
        send("198.19.249.4", "198.19.249.1", "expiring-early", 5)
        time.sleep(3.0)
        send("198.19.249.4", "198.19.249.1", "expiring-late", 5)
        print("peer done")
        """

    @Test func bannedSourcesNeverReachUserSpace() throws {
        try PacketCaptureGate.check()
        let peer = try ThrowawayNamespace.wirePeer(
            tag: "w", local: ["198.19.249.1/29", "2001:2:0:249::1/64"],
            peer: ["198.19.249.2/29", "198.19.249.3/29", "198.19.249.4/29", "2001:2:0:249::2/64", "2001:2:0:249::3/64"]
        )
        defer { peer.cleanup() }
        let filter = try BannedSourceFilter(capacity: 64)
        let banned4 = IPAddress("198.19.249.2")!
        let banned6 = IPAddress("2001:2:0:249::2")!
        let lifted = IPAddress("198.19.249.3")!
        let expiring = IPAddress("198.19.249.4")!
        #expect(filter.insert(banned4, for: .seconds(60)))
        #expect(filter.insert(banned6, for: nil))
        #expect(filter.insert(lifted, for: .seconds(60)))
        filter.remove(lifted)
        #expect(filter.insert(expiring, for: .milliseconds(2_500)))

        let collector = CaptureCollector()
        let capture = PacketCapture(
            configuration: .init(interface: peer.interface, ports: .sipDefault),
            logger: Logger(label: "test.capture"), bannedSources: filter)
        try capture.start { collector.add($0) }
        defer { capture.stop() }

        let result = try captureShell(["ip", "netns", "exec", peer.namespace, "timeout", "10", "/usr/bin/python3", "-c", Self.script])
        #expect(result.status == 0, "peer script: \(result.output)")
        func seen(_ tag: String) -> Int {
            collector.payloads.filter { String(decoding: $0.bytes, as: UTF8.self).contains("Call-ID: \(tag)-") }.count
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, seen("lifted4") < 20 || seen("free6") < 20 || seen("expiring-late") < 5 {
            usleep(10_000)
        }
        capture.stop()
        #expect(seen("banned4") == 0)
        #expect(seen("banned6") == 0)
        #expect(seen("lifted4") == 20)
        #expect(seen("free6") == 20)
        #expect(seen("otherport") == 0)
        #expect(seen("expiring-early") == 0)
        #expect(seen("expiring-late") == 5)
        #expect(filter.drops(banned4) == 20)
        #expect(filter.drops(banned6) == 20)
        #expect(filter.drops(expiring) == 5)
        #expect(filter.drops(lifted) == nil)
        #expect(capture.statistics.bannedSourceFilter)
        #expect(capture.statistics.received >= 20 + 20 + 5)
    }
}
