// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Logging
import NetworkAddress
import PacketDecoding
import Synchronization
import TestNamespaces
import Testing
import WardenCore

@testable import Sensors

/// Collects capture output across threads.
final class CaptureCollector: Sendable {
    private let state = Mutex<[DecodedOutput]>([])
    func add(_ output: DecodedOutput) { state.withLock { $0.append(output) } }
    var outputs: [DecodedOutput] { state.withLock { $0 } }
    var payloads: [WirePayload] { outputs.compactMap { if case .payload(let p) = $0 { p } else { nil } } }
}

@Suite("PacketCapture configuration")
struct PacketCaptureConfigurationTests {
    @Test func specParsing() throws {
        let plain = try #require(PacketCaptureConfiguration(spec: "eth0"))
        #expect(plain.interface == "eth0" && plain.ports == .sipDefault)
        let any = try #require(PacketCaptureConfiguration(spec: "any:5060,5080-5090"))
        #expect(any.interface == nil && any.ports.description == "5060,5080-5090")
        for bad in ["", ":5060", "eth0:", "eth0:x", "eth0:0", "a-very-long-interface-name", "eth 0", "../x"] {
            #expect(PacketCaptureConfiguration(spec: bad) == nil, "\(bad)")
        }
    }

    @Test func unknownInterfaceIsATypedError() {
        let capture = PacketCapture(configuration: .init(interface: "swnope0"), logger: Logger(label: "test.capture"))
        #expect(throws: PacketCaptureError.noSuchInterface("swnope0")) { try capture.start { _ in } }
        #expect(PacketCaptureError.noSuchInterface("x").description == "no network interface named 'x'")
    }
}

/// Real packets over a veth pair: our namespace 198.19.251.1 / 2001:2:0:251::1, the peer
/// namespace .2 / ::2. The peer sends UDP (v4, v6, a fragmented 3 KB datagram), a TCP
/// stream to 5060 and UDP to 5999; we answer over TCP and send one UDP datagram out.
@Suite(
    "PacketCapture live (veth between two namespaces)", .serialized,
    .enabled(if: PacketCaptureGate.enabled, "needs a throwaway network namespace: run via scripts/test-in-netns.sh"))
struct PacketCaptureLiveTests {
    static let local = "198.19.251.1", peerAddress = "198.19.251.2"
    static let local6 = "2001:2:0:251::1", peer6 = "2001:2:0:251::2"

    private func wirePeer() throws -> (namespace: String, interface: String, cleanup: () -> Void) {
        let peer = try ThrowawayNamespace.wirePeer(
            tag: "c", local: ["\(Self.local)/30", "\(Self.local6)/64"], peer: ["\(Self.peerAddress)/30", "\(Self.peer6)/64"]
        )
        return (peer.namespace, peer.interface, peer.cleanup)
    }

    /// A TCP listener on local:5060 that answers the first request on a background thread.
    private func startResponder() throws -> (fd: Int32, thread: Thread) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(4))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(5060).bigEndian
        address.sin_addr.s_addr = inet_addr(Self.local)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(fd, 4) == 0, "bind/listen: errno \(errno)")
        let thread = Thread {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 8_000) > 0 else { return }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline, !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
                var p = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                let n = recv(client, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            let response = Array("SIP/2.0 401 Unauthorized\r\nCall-ID: live-tcp\r\nContent-Length: 0\r\n\r\n".utf8)
            _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
            usleep(200_000)
        }
        thread.start()
        return (fd, thread)
    }

    static let peerScript = """
        import socket, time
        def reg(tag, pad=""):
            return ("REGISTER sip:198.19.251.1 SIP/2.0\\r\\nCall-ID: %s\\r\\n%sContent-Length: 0\\r\\n\\r\\n" % (tag, pad)).encode()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("198.19.251.2", 40001))
        for i in range(3):
            u.sendto(reg("live-udp-%d" % i), ("198.19.251.1", 5060))
            u.sendto(b"OTHER PORT %d" % i, ("198.19.251.1", 5999))
        u.sendto(reg("live-big", "X-Pad: " + "p" * 3000 + "\\r\\n"), ("198.19.251.1", 5060))
        u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        u6.sendto(reg("live-udp6"), ("2001:2:0:251::1", 5060))
        t = socket.create_connection(("198.19.251.1", 5060), timeout=3)
        t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        m = reg("live-tcp")
        t.sendall(m[:30]); time.sleep(0.05); t.sendall(m[30:])
        t.settimeout(3)
        got = b""
        while b"\\r\\n\\r\\n" not in got:
            d = t.recv(4096)
            if not d: break
            got += d
        t.close()
        print("peer done", len(got))
        """

    @Test func capturesSIPBothDirectionsAndFiltersOtherPorts() throws {
        try PacketCaptureGate.check()
        let peer = try wirePeer()
        defer { peer.cleanup() }
        let collector = CaptureCollector()
        let capture = PacketCapture(
            configuration: .init(interface: peer.interface, ports: .sipDefault),
            logger: Logger(label: "test.capture"))
        try capture.start { collector.add($0) }
        defer { capture.stop() }
        let responder = try startResponder()
        defer { close(responder.fd) }

        let result = try captureShell(["ip", "netns", "exec", peer.namespace, "timeout", "10", "/usr/bin/python3", "-c", Self.peerScript])
        #expect(result.status == 0, "peer script: \(result.output)")

        // One datagram out of our side (source port 5060): the outgoing direction.
        let out = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(out) }
        var source = sockaddr_in()
        source.sin_family = sa_family_t(AF_INET)
        source.sin_port = UInt16(5060).bigEndian
        source.sin_addr.s_addr = inet_addr(Self.local)
        _ = withUnsafePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(out, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var destination = source
        destination.sin_addr.s_addr = inet_addr(Self.peerAddress)
        destination.sin_port = UInt16(40001).bigEndian
        let trying = Array("SIP/2.0 100 Trying\r\nCall-ID: live-out\r\n\r\n".utf8)
        _ = trying.withUnsafeBytes { raw in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(out, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }

        let deadline = ContinuousClock.now + .seconds(5)
        func udp(_ tag: String) -> [WirePayload] {
            collector.payloads.filter { $0.flow.transport == .udp && String(decoding: $0.bytes, as: UTF8.self).contains("Call-ID: \(tag)\r\n") }
        }
        func tcpText(_ destinationPort: UInt16) -> String {
            String(
                decoding: collector.payloads.filter { $0.flow.transport == .tcp && $0.flow.destinationPort == destinationPort }.flatMap(\.bytes),
                as: UTF8.self)
        }
        while ContinuousClock.now < deadline,
            udp("live-out").isEmpty || !tcpText(5060).hasSuffix("\r\n\r\n") || !tcpText(capturePeerPort(collector)).contains("401")
        {
            usleep(10_000)
        }
        responder.thread.cancel()

        let peerV4 = IPAddress(Self.peerAddress)!
        let localV4 = IPAddress(Self.local)!
        for i in 0..<3 {
            let seen = udp("live-udp-\(i)")
            #expect(seen.count == 1, "live-udp-\(i)")
            #expect(seen.first?.flow == FlowKey(source: peerV4, sourcePort: 40001, destination: localV4, destinationPort: 5060, transport: .udp))
            #expect(seen.first?.origin == .interface(peer.interface))
        }
        let big = udp("live-big")
        #expect(big.count == 1)
        #expect((big.first?.bytes.count ?? 0) > 3000, "the fragmented datagram was reassembled")
        let v6 = udp("live-udp6")
        #expect(v6.count == 1)
        #expect(v6.first?.flow.source == IPAddress(Self.peer6))
        #expect(v6.first?.flow.destination == IPAddress(Self.local6))
        let outgoing = udp("live-out")
        #expect(outgoing.first?.flow == FlowKey(source: localV4, sourcePort: 5060, destination: peerV4, destinationPort: 40001, transport: .udp))

        #expect(tcpText(5060) == "REGISTER sip:198.19.251.1 SIP/2.0\r\nCall-ID: live-tcp\r\nContent-Length: 0\r\n\r\n")
        let response = collector.payloads.filter { $0.flow.transport == .tcp && $0.flow.sourcePort == 5060 }
        #expect(String(decoding: response.flatMap(\.bytes), as: UTF8.self).hasPrefix("SIP/2.0 401 Unauthorized\r\n"))
        #expect(response.first?.flow.source == localV4)

        // The kernel filter kept port 5999 and the ICMP unreachables out of user space.
        #expect(!collector.payloads.contains { $0.flow.destinationPort == 5999 || $0.flow.sourcePort == 5999 })
        capture.stop()
        let stats = capture.statistics
        #expect(stats.decoder.filteredByPort == 0)
        #expect(stats.decoder.otherProtocol == 0)
        #expect(stats.received > 0)
        #expect(stats.kernelPackets >= stats.received)
        #expect(stats.kernelDrops == 0)
    }

    /// The client's ephemeral port, once its stream has been seen.
    private func capturePeerPort(_ collector: CaptureCollector) -> UInt16 {
        collector.payloads.first { $0.flow.transport == .tcp && $0.flow.destinationPort == 5060 }?.flow.sourcePort ?? 0
    }

    @Test func captureOnEveryInterfaceAndStopIsPrompt() throws {
        try PacketCaptureGate.check()
        let collector = CaptureCollector()
        let capture = PacketCapture(configuration: .init(interface: nil, ports: PortSet(parsing: "5062")!), logger: Logger(label: "test.capture"))
        try capture.start { collector.add($0) }
        #expect(throws: PacketCaptureError.alreadyStarted) { try capture.start { _ in } }
        // Loopback: each packet appears once even though lo shows it sent and received.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = UInt16(5062).bigEndian
        to.sin_addr.s_addr = inet_addr("127.0.0.1")
        let message = Array("OPTIONS sip:lo SIP/2.0\r\n\r\n".utf8)
        for _ in 0..<3 {
            _ = message.withUnsafeBytes { raw in
                withUnsafePointer(to: &to) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline, collector.payloads.count < 3 { usleep(10_000) }
        usleep(200_000)
        #expect(collector.payloads.count == 3)
        #expect(collector.payloads.allSatisfy { $0.origin == .interface("lo") && $0.flow.destinationPort == 5062 })
        let started = ContinuousClock.now
        capture.stop()
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(capture.statistics.loopbackDuplicates >= 3)
        capture.stop() // idempotent
    }
}
