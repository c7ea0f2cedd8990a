// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Inline
import Logging
import NetworkAddress
import Synchronization
import TestNamespaces
import Testing

/// Kernel tests run only inside a throwaway network namespace (see `ThrowawayNamespace`).
typealias KernelGate = ThrowawayNamespace

/// Events delivered by the queue's thread.
final class EventLog: Sendable {
    let events = Mutex<[AdmissionEvent]>([])
}

@discardableResult
func shell(_ arguments: [String], timeout: Duration = .seconds(20)) throws -> (status: Int32, output: String) {
    try ThrowawayNamespace.run(arguments, timeout: timeout)
}

/// The toy PBX (in the test namespace) and the SIP clients (in the peer namespace).
let sipScript = #"""
    import json, socket, sys, time, random

    def request(src, branch, user, auth, cseq=1):
        lines = ["REGISTER sip:198.19.252.1 SIP/2.0",
                 "Via: SIP/2.0/UDP %s:5070;branch=z9hG4bK%s;rport" % (src, branch),
                 "Max-Forwards: 70",
                 "From: <sip:%s@198.19.252.1>;tag=t%s" % (user, branch),
                 "To: <sip:%s@198.19.252.1>" % user,
                 "Call-ID: %s@%s" % (branch, src),
                 "CSeq: %d REGISTER" % cseq,
                 "Contact: <sip:%s@%s:5070>" % (user, src)]
        if auth:
            lines.append('Authorization: Digest username="%s", realm="lab", nonce="n", uri="sip:198.19.252.1", response="00112233445566778899aabbccddeeff"' % user)
        lines += ["User-Agent: inline-test", "Content-Length: 0", "", ""]
        return "\r\n".join(lines).encode()

    def pbx(seconds):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind(("198.19.252.1", 5060))
        s.settimeout(0.2)
        counts = {}
        end = time.time() + seconds
        print("ready", flush=True)
        while time.time() < end:
            try:
                data, peer = s.recvfrom(65535)
            except socket.timeout:
                continue
            if data == b"STOP":
                break
            text = data.decode("utf-8", "replace")
            if not text.startswith("REGISTER "):
                key = "%s junk" % peer[0]
                counts[key] = counts.get(key, 0) + 1
                continue
            head = text.split("\r\n\r\n")[0].split("\r\n")
            auth = any(l.lower().startswith("authorization:") for l in head)
            key = "%s %s" % (peer[0], "cred" if auth else "nocred")
            counts[key] = counts.get(key, 0) + 1
            ok = auth and 'username="legit"' in text
            via = [l for l in head if l.startswith("Via:")][0]
            keep = [l for l in head if l.split(":")[0] in ("From", "To", "Call-ID", "CSeq")]
            status = "200 OK" if ok else "401 Unauthorized"
            reply = ["SIP/2.0 " + status, via + ";received=" + peer[0]] + keep
            if not ok:
                reply.append('WWW-Authenticate: Digest realm="lab", nonce="%08x"' % random.getrandbits(32))
            reply += ["Content-Length: 0", "", ""]
            s.sendto("\r\n".join(reply).encode(), peer)
        print(json.dumps(counts), flush=True)

    def client(src, mode, count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind((src, 5070))
        dst = ("198.19.252.1", 5060)
        codes = []
        def collect(wait):
            s.settimeout(wait)
            try:
                while True:
                    data, _ = s.recvfrom(65535)
                    codes.append(int(data.split(b" ")[1]))
            except socket.timeout:
                pass
        if mode == "attack":
            s.sendto(request(src, "pre%d" % random.getrandbits(30), "100", False), dst)
            collect(1.0)
            for i in range(count):
                s.sendto(request(src, "atk%d-%d" % (random.getrandbits(30), i), "100", True), dst)
            collect(1.5)
            s.sendto(request(src, "post%d" % random.getrandbits(30), "100", False), dst)
            s.sendto(b"not SIP at all", dst)
            collect(1.0)
        elif mode == "legit":
            s.sendto(request(src, "l1%d" % random.getrandbits(30), "legit", False, 1), dst)
            collect(1.0)
            s.sendto(request(src, "l2%d" % random.getrandbits(30), "legit", True, 2), dst)
            collect(1.0)
        print(json.dumps(codes), flush=True)

    if sys.argv[1] == "pbx":
        pbx(float(sys.argv[2]))
    else:
        client(sys.argv[2], sys.argv[1], int(sys.argv[3]))
    """#

@Suite(
    "InlineQueue on a real NFQUEUE (veth between two namespaces)", .serialized,
    .enabled(if: KernelGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct QueueTrafficTests {
    static let local = "198.19.252.1"

    /// Wires the peer namespace (198.19.252.2 and .3) to ours (198.19.252.1).
    static func wirePeer() throws -> (name: String, cleanup: () -> Void) {
        let peer = try ThrowawayNamespace.wirePeer(tag: "i", local: ["\(local)/29"], peer: ["198.19.252.2/29", "198.19.252.3/29"])
        return (peer.namespace, peer.cleanup)
    }

    static func writeScript() throws -> String {
        let path = NSTemporaryDirectory() + "sipwarden-inline-\(getpid()).py"
        try sipScript.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func json<T: Decodable>(_ output: String, as: T.Type) throws -> T {
        let line = try #require(output.split(separator: "\n").last, "no output")
        return try JSONDecoder().decode(T.self, from: Data(line.utf8))
    }

    @Test func burstReachesThePBXExactlyMaxRetryTimes() throws {
        try KernelGate.check()
        let peer = try Self.wirePeer()
        defer { peer.cleanup() }
        let script = try Self.writeScript()
        defer { unlink(script) }
        let queueNumber = UInt16.random(in: 1000...9000)
        let report = try InlineRules.install(queue: queueNumber, ports: [5060...5060])
        defer { try? InlineRules.remove() }
        #expect(report.rules.count >= 2, "\(report)")

        let log = EventLog()
        let queue = try InlineQueue(
            configuration: InlineQueueConfiguration(queue: queueNumber, policy: AdmissionPolicy(maxRetry: 5)),
            logger: Logger(label: "inline-test"), onEvent: { event in log.events.withLock { $0.append(event) } }
        )
        try queue.start()
        defer { queue.stop() }

        let pbx = try HelperProcess(["python3", "-u", script, "pbx", "30"])
        usleep(300_000)
        let attack = try shell(["ip", "netns", "exec", peer.name, "python3", script, "attack", "198.19.252.2", "200"], timeout: .seconds(20))
        let legit = try shell(["ip", "netns", "exec", peer.name, "python3", script, "legit", "198.19.252.3", "0"], timeout: .seconds(20))
        _ = try? shell(["python3", "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'STOP', ('\(Self.local)', 5060))"])
        let pbxResult = pbx.finish(timeout: .seconds(10))
        #expect(attack.status == 0, "\(attack.output)")
        #expect(legit.status == 0, "\(legit.output)")

        let counts = try Self.json(pbxResult.output, as: [String: Int].self)
        // The whole point: of 200 credentialed REGISTERs sent as fast as possible,
        // exactly max-retry reached the PBX.
        #expect(counts["198.19.252.2 cred"] == 5, "PBX saw \(counts)")
        // The uncredentialed one before the burst passed; the one after exhaustion did not.
        #expect(counts["198.19.252.2 nocred"] == 1, "PBX saw \(counts)")
        // Unrelated (non-SIP) traffic is not judged, even from an exhausted source.
        #expect(counts["198.19.252.2 junk"] == 1, "PBX saw \(counts)")
        // The second source went through its whole handshake.
        #expect(counts["198.19.252.3 nocred"] == 1 && counts["198.19.252.3 cred"] == 1, "PBX saw \(counts)")
        let legitCodes = try Self.json(legit.output, as: [Int].self)
        #expect(legitCodes == [401, 200])
        let attackCodes = try Self.json(attack.output, as: [Int].self)
        #expect(attackCodes.filter { $0 == 401 }.count == 6, "attacker got \(attackCodes)")

        let seen = log.events.withLock { $0 }
        #expect(seen.count == 5)
        #expect(seen.allSatisfy { $0.securityEvent.source.description == "198.19.252.2" && $0.securityEvent.kind == .authFailed })
        if case .exhausted = seen.last {} else { Issue.record("no exhaustion event: \(seen)") }
        let stats = queue.statistics
        #expect(stats.admission.droppedBudget + stats.admission.droppedExhausted >= 195)
        #expect(stats.receiveOverruns == 0)
    }

    /// Runs the toy PBX while each client (the script's arguments: role, source, count) runs
    /// in turn in the peer namespace; the PBX's counts per source and kind.
    static func exchange(_ peer: String, _ script: String, clients: [[String]]) throws -> [String: Int] {
        let pbx = try HelperProcess(["python3", "-u", script, "pbx", "30"])
        usleep(300_000)
        for client in clients {
            let result = try shell(["ip", "netns", "exec", peer, "python3", script] + client, timeout: .seconds(20))
            #expect(result.status == 0, "\(client): \(result.output)")
        }
        _ = try? shell(["python3", "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'STOP', ('\(Self.local)', 5060))"])
        return try json(pbx.finish(timeout: .seconds(10)).output, as: [String: Int].self)
    }

    /// Queues SIP to port 5060 (the rules removed at `cleanup`) under `policy`, not started.
    static func queue(policy: AdmissionPolicy) throws -> (queue: InlineQueue, cleanup: () -> Void) {
        let queueNumber = UInt16.random(in: 1000...9000)
        _ = try InlineRules.install(queue: queueNumber, ports: [5060...5060])
        do {
            let queue = try InlineQueue(
                configuration: InlineQueueConfiguration(queue: queueNumber, policy: policy), logger: Logger(label: "inline-test"), onEvent: { _ in })
            return (queue, { try? InlineRules.remove() })
        } catch {
            try? InlineRules.remove()
            throw error
        }
    }

    /// A reload's policy reaches the verdict thread: after `replacePolicy` the same burst
    /// gets only the new max-retry guesses through, and an invalid policy changes nothing.
    @Test func aReplacedPolicyJudgesTheNextPackets() throws {
        try KernelGate.check()
        let peer = try Self.wirePeer()
        defer { peer.cleanup() }
        let script = try Self.writeScript()
        defer { unlink(script) }
        let (queue, cleanup) = try Self.queue(policy: AdmissionPolicy(maxRetry: 5))
        defer { cleanup() }
        try queue.start()
        defer { queue.stop() }
        try queue.replacePolicy(AdmissionPolicy(maxRetry: 2))
        #expect(throws: InlineQueueError.self) { try queue.replacePolicy(AdmissionPolicy(maxRetry: 0)) }
        #expect(queue.policy.maxRetry == 2)

        let counts = try Self.exchange(peer.name, script, clients: [["attack", "198.19.252.2", "100"]])
        #expect(counts["198.19.252.2 cred"] == 2, "PBX saw \(counts)")
        #expect(queue.statistics.admission.exhaustions == 1)
    }

    /// A provider rule's lower max-retry (`aws:EC2: { max-retry: 1 }`, handed over as the
    /// daemon does on start and reload) reaches the verdict thread: the covered source's
    /// burst gets one guess through; another source keeps the policy's budget.
    @Test func aProviderRulesMaxRetryBoundsTheCoveredSourceInline() throws {
        struct Covered: AdmissionMaxRetryLookup {
            func maxRetry(for address: IPAddress) -> Int? { IPNetwork("198.19.252.2/32")!.contains(address) ? 1 : nil }
        }
        try KernelGate.check()
        let peer = try Self.wirePeer()
        defer { peer.cleanup() }
        let script = try Self.writeScript()
        defer { unlink(script) }
        let (queue, cleanup) = try Self.queue(policy: AdmissionPolicy(maxRetry: 5))
        defer { cleanup() }
        queue.replaceSourceLimits(Covered())
        try queue.start()
        defer { queue.stop() }

        let counts = try Self.exchange(
            peer.name, script, clients: [["attack", "198.19.252.2", "100"], ["legit", "198.19.252.3", "0"]])
        #expect(counts["198.19.252.2 cred"] == 1, "PBX saw \(counts)")
        #expect(counts["198.19.252.3 nocred"] == 1 && counts["198.19.252.3 cred"] == 1, "PBX saw \(counts)")
        #expect(queue.statistics.admission.exhaustions == 1)
    }
}
