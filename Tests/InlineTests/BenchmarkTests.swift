// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Inline
import Logging
import NetworkAddress
import Testing
import WardenCore

/// Throughput measurements (bench/inline/README.md). Off unless SIPWARDEN_BENCH=1; use a
/// release build: `swift test -c release --filter InlineBenchmark`.
@Suite("InlineBenchmark", .serialized, .enabled(if: KernelGate.benchmark, "set SIPWARDEN_BENCH=1"))
struct InlineBenchmark {
    static func rate(_ count: Int, _ elapsed: Duration) -> Int {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Int(Double(count) / seconds)
    }

    /// IP + UDP + SIP parse + admission, no kernel. Three traffic shapes.
    @Test func pureVerdictThroughput() {
        let clock = ContinuousClock()
        let n = 1_000_000
        var events: [AdmissionEvent] = []

        // 1. svcrack at line rate from one source: 5 admitted, then budget/exhausted drops.
        var packets: [[UInt8]] = (0..<1024).map { i in
            ipv4Packet(from: attacker, to: pbx, payload: SIPFixture(branch: "flood\(i)", credentials: true).request)
        }
        var filter = InlineFilter(controller: AdmissionController(policy: AdmissionPolicy(), seed: 1))
        var dropped = 0
        var elapsed = clock.measure {
            for i in 0..<n where !filter.judge(packets[i & 1023], .inbound, at: at(Double(i) / 1e6), events: &events).isAdmitted {
                dropped += 1
            }
        }
        let one = filter.controller.statistics
        print(
            "inline-bench one-source-flood packets=\(n) dropped=\(dropped) retransmissions=\(one.admittedRetransmissions) rate=\(Self.rate(n, elapsed))/s"
        )
        // The five admitted branches come round again every 1024 packets: retransmissions.
        #expect(one.admittedCredentialed == 5 && dropped == n - 5 - one.admittedRetransmissions)

        // 2. Spoofed flood: a new source per packet (table at its cap, evicting).
        packets = (0..<1024).map { i in SIPFixture(branch: "sp\(i)", credentials: i & 1 == 0).request }
        filter = InlineFilter(controller: AdmissionController(policy: AdmissionPolicy(maxSources: 100_000), seed: 2))
        let spoofed: [[UInt8]] = (0..<4096).map { i in
            ipv4Packet(from: .v4(0xC612_0000 | UInt32(i)), to: pbx, payload: packets[i & 1023])
        }
        elapsed = clock.measure {
            for i in 0..<n {
                // Rewrite the source address in place: every packet is a new source.
                var p = spoofed[i & 4095]
                let a = UInt32(0xC612_0000) &+ UInt32(truncatingIfNeeded: i)
                p[12] = UInt8(a >> 24)
                p[13] = UInt8(a >> 16 & 0xFF)
                p[14] = UInt8(a >> 8 & 0xFF)
                p[15] = UInt8(a & 0xFF)
                _ = filter.judge(p, .inbound, at: at(Double(i) / 1e6), events: &events)
            }
        }
        let s = filter.controller.statistics
        print("inline-bench spoofed-flood packets=\(n) tracked=\(s.trackedSources) evictions=\(s.evictions) rate=\(Self.rate(n, elapsed))/s")
        #expect(s.trackedSources <= 100_000)

        // 3. Healthy traffic: 10 000 clients, request in, 401 or 200 out (two verdicts per transaction).
        let clients = 10_000
        let pairs: [([UInt8], [UInt8])] = (0..<clients).map { i in
            let source = IPAddress.v4(0xC612_0000 | UInt32(i))
            let fixture = SIPFixture(branch: "h\(i)", credentials: i & 1 == 1)
            return (
                ipv4Packet(from: source, to: pbx, payload: fixture.request),
                ipv4Packet(from: pbx, sourcePort: 5060, to: source, destinationPort: 5070, payload: fixture.response(i & 1 == 1 ? 200 : 401))
            )
        }
        filter = InlineFilter(controller: AdmissionController(policy: AdmissionPolicy(), seed: 3))
        var admitted = 0
        elapsed = clock.measure {
            for i in 0..<(n / 2) {
                let (request, response) = pairs[i % clients]
                if filter.judge(request, .inbound, at: at(Double(i) / 1e6), events: &events).isAdmitted { admitted += 1 }
                _ = filter.judge(response, .outbound, at: at(Double(i) / 1e6), events: &events)
            }
        }
        print("inline-bench healthy-traffic packets=\(n) admitted=\(admitted) rate=\(Self.rate(n, elapsed))/s")
        #expect(admitted == n / 2)
    }

    /// A real queue: UDP SIP flood from the peer namespace, bounded in count.
    @Test(.enabled(if: KernelGate.enabled, "needs a throwaway network namespace"))
    func queueVerdictThroughput() throws {
        try KernelGate.check()
        let peer = try QueueTrafficTests.wirePeer()
        defer { peer.cleanup() }
        let queueNumber = UInt16.random(in: 1000...9000)
        _ = try InlineRules.install(queue: queueNumber, ports: [5060...5060])
        defer { try? InlineRules.remove() }
        let count = Int(KernelGate.environment["SIPWARDEN_BENCH_PACKETS"] ?? "") ?? 30_000
        let queue = try InlineQueue(
            configuration: InlineQueueConfiguration(queue: queueNumber, policy: AdmissionPolicy(maxRetry: 5)),
            logger: Logger(label: "inline-bench"), onEvent: { _ in }
        )
        defer { queue.stop() }
        // The flood is sent before the verdict thread starts: it waits in the kernel queue
        // and the socket buffer, so the drain rate measures the verdict thread alone (a
        // Python sender cannot outrun it). Keep `count` below what the buffer holds.
        // A sink on the SIP port (never read: admitted packets just fill its buffer).
        let sink = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(sink) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(5060).bigEndian
        address.sin_addr.s_addr = inet_addr(QueueTrafficTests.local)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sink, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }

        let sender = #"""
            import socket, sys, time
            n = int(sys.argv[1])
            msgs = []
            for i in range(256):
                msgs.append(("REGISTER sip:198.19.252.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.19.252.2:5070;branch=z9hG4bKf%d\r\n"
                             "From: <sip:100@x>;tag=a\r\nTo: <sip:100@x>\r\nCall-ID: c%d\r\nCSeq: 1 REGISTER\r\n"
                             "Authorization: Digest username=\"100\", realm=\"x\", nonce=\"n\", uri=\"sip:x\", response=\"0\"\r\n"
                             "Content-Length: 0\r\n\r\n" % (i, i)).encode())
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("198.19.252.2", 5070))
            dst = ("198.19.252.1", 5060)
            t0 = time.time()
            sent = 0
            for i in range(n):
                try:
                    s.sendto(msgs[i & 255], dst)
                    sent += 1
                except BlockingIOError:
                    pass
            print(sent, time.time() - t0, flush=True)
            """#
        let path = NSTemporaryDirectory() + "sipwarden-inline-flood-\(getpid()).py"
        try sender.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let flood = try shell(["ip", "netns", "exec", peer.name, "python3", path, String(count)], timeout: .seconds(120))
        let before = queue.statistics.verdicts
        let start = ContinuousClock.now
        try queue.start()
        // Wait until the queue has drained (verdicts stop growing), bounded.
        var last = -1
        var idleSince = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            usleep(20_000)
            let v = queue.statistics.verdicts
            if v != last {
                last = v
                idleSince = ContinuousClock.now
            } else if ContinuousClock.now - idleSince > .milliseconds(300) {
                break
            }
        }
        let elapsed = idleSince - start
        let stats = queue.statistics
        let verdicts = stats.verdicts - before
        print(
            "inline-bench queue sent=\(flood.output.trimmingCharacters(in: .whitespacesAndNewlines)) verdicts=\(verdicts) dropped=\(stats.dropped) overruns=\(stats.receiveOverruns) rate=\(Self.rate(verdicts, elapsed))/s rcvbuf=\(stats.receiveBufferBytes)"
        )
        // queue, portid, waiting, copy mode, copy range, queue_dropped, user_dropped, last id, 1
        print(
            "inline-bench /proc/net/netfilter/nfnetlink_queue: "
                + ((try? String(contentsOfFile: "/proc/net/netfilter/nfnetlink_queue", encoding: .utf8)) ?? "?"))
        #expect(flood.status == 0, "\(flood.output)")
        #expect(verdicts > 0)
        #expect(stats.admission.admittedCredentialed <= 5)
    }
}
