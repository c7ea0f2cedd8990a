// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import NetworkAddress
import PacketDecoding
import Sensors
import Synchronization
import Testing
import WardenCore

/// Collects delivered payloads.
final class HEPPayloadCollector: Sendable {
    private let state = Mutex<[WirePayload]>([])
    private let batchCount = Atomic<Int>(0)

    func add(_ batch: [WirePayload]) {
        batchCount.add(1, ordering: .relaxed)
        state.withLock { $0 += batch }
    }

    var payloads: [WirePayload] { state.withLock { $0 } }
    var count: Int { state.withLock { $0.count } }
    var batches: Int { batchCount.load(ordering: .relaxed) }
}

/// Sends UDP datagrams from a socket bound to `source` (loopback only in these tests).
struct HEPTestSender: ~Copyable {
    let fd: Int32
    let family: IPAddress.Family

    init(source: String) {
        let address = IPAddress(source)!
        family = address.family
        fd = socket(family == .v4 ? AF_INET : AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        precondition(fd >= 0)
        var storage = Self.makeAddress(address, port: 0)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, Self.length(family)) }
        }
        precondition(rc == 0, "bind \(source) failed: \(errno)")
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8], to destination: String, port: UInt16) {
        var storage = Self.makeAddress(IPAddress(destination)!, port: port)
        let n = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, Self.length(family))
                }
            }
        }
        precondition(n == bytes.count, "sendto failed: \(errno)")
    }

    static func length(_ family: IPAddress.Family) -> socklen_t {
        socklen_t(family == .v4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }

    static func makeAddress(_ address: IPAddress, port: UInt16) -> sockaddr_storage {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            switch address {
            case .v4(let v):
                var sa = sockaddr_in()
                sa.sin_family = sa_family_t(AF_INET)
                sa.sin_port = port.bigEndian
                sa.sin_addr.s_addr = v.bigEndian
                withUnsafeBytes(of: &sa) { raw.copyMemory(from: $0) }
            case .v6(let hi, let lo):
                var sa = sockaddr_in6()
                sa.sin6_family = sa_family_t(AF_INET6)
                sa.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &sa.sin6_addr) { a in
                    for i in 0..<8 {
                        a[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i)))
                        a[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i)))
                    }
                }
                withUnsafeBytes(of: &sa) { raw.copyMemory(from: $0) }
            }
        }
        return storage
    }
}

private func hepDatagram(
    source: String = "198.18.20.66", time: Timestamp? = nil, key: String? = nil, protocolType: UInt8 = 1, tag: Int = 0
) -> [UInt8] {
    let flow = FlowKey(
        source: IPAddress(source)!, sourcePort: 5070, destination: IPAddress("198.18.20.1")!, destinationPort: 5060, transport: .udp)
    let payload = Array("OPTIONS sip:100@198.18.20.1 SIP/2.0\r\nCall-ID: \(tag)@x\r\nContent-Length: 0\r\n\r\n".utf8)
    let packet = HEPPacket(
        flow: flow, ipProtocol: 17, time: time ?? Timestamp(seconds: Int64(Glibc.time(nil))), protocolType: protocolType,
        captureID: 42, payload: payload)
    return HEPEncoder.encode(packet, authKey: key.map { Array($0.utf8) })!
}

@Suite("HEP listener", .serialized)
struct HEPListenerTests {
    @Test func acceptsFromLoopbackAgent() throws {
        let listener = HEPListener(address: "127.0.0.1:0", authKey: nil, logger: testLogger)
        let collector = HEPPayloadCollector()
        try listener.start(onBatch: collector.add)
        defer { listener.stop() }
        let port = try #require(listener.localPort)
        #expect(port != 0)
        let sender = HEPTestSender(source: "127.0.0.1")
        for i in 0..<3 { sender.send(hepDatagram(tag: i), to: "127.0.0.1", port: port) }
        #expect(waitUntil { collector.count == 3 })
        let payloads = collector.payloads
        #expect(payloads.map(\.flow.source) == Array(repeating: IPAddress("198.18.20.66")!, count: 3))
        #expect(payloads.allSatisfy { $0.origin == .hep(agent: IPAddress("127.0.0.1")!, captureID: 42) })
        #expect(payloads.enumerated().allSatisfy { String(decoding: $1.bytes, as: UTF8.self).contains("Call-ID: \($0)@x") })
        let stats = listener.statistics
        #expect(stats.received == 3 && stats.accepted == 3 && stats.rejectedTotal == 0 && stats.deniedSenders == 0)
        #expect(stats.clockCorrected == 0)
    }

    @Test func dropsSendersOutsideTheAllowlist() throws {
        // Allow only a lab prefix: the loopback sender is not an agent.
        let listener = HEPListener(
            address: "127.0.0.1:0", allowedAgents: IPNetworkSet([IPNetwork("198.18.0.0/15")!]), authKey: nil, logger: testLogger)
        let collector = HEPPayloadCollector()
        try listener.start(onBatch: collector.add)
        defer { listener.stop() }
        let port = try #require(listener.localPort)
        let sender = HEPTestSender(source: "127.0.0.1")
        for _ in 0..<5 { sender.send(hepDatagram(), to: "127.0.0.1", port: port) }
        #expect(waitUntil { listener.statistics.deniedSenders == 5 })
        #expect(collector.count == 0)
        #expect(listener.statistics.accepted == 0 && listener.statistics.received == 5)
    }

    @Test func dualStackListenerTellsAgentsApart() throws {
        // [::] also receives IPv4; only ::1 is allowed, so 127.0.0.1 (seen as a mapped address) is denied.
        let listener = HEPListener(
            address: "[::]:0", allowedAgents: IPNetworkSet([IPNetwork("::1/128")!]), authKey: nil, logger: testLogger)
        let collector = HEPPayloadCollector()
        try listener.start(onBatch: collector.add)
        defer { listener.stop() }
        let port = try #require(listener.localPort)
        let v4 = HEPTestSender(source: "127.0.0.1")
        let v6 = HEPTestSender(source: "::1")
        v4.send(hepDatagram(source: "198.18.20.4"), to: "127.0.0.1", port: port)
        v6.send(hepDatagram(source: "198.18.20.6"), to: "::1", port: port)
        #expect(waitUntil { listener.statistics.received == 2 })
        #expect(waitUntil { collector.count == 1 })
        #expect(collector.payloads.first?.flow.source == IPAddress("198.18.20.6"))
        #expect(collector.payloads.first?.origin == .hep(agent: IPAddress("::1")!, captureID: 42))
        #expect(listener.statistics.deniedSenders == 1)
    }

    @Test func countsRejectionsPerReason() throws {
        let listener = HEPListener(address: "[::1]:0", authKey: "s3cret", logger: testLogger)
        let collector = HEPPayloadCollector()
        try listener.start(onBatch: collector.add)
        defer { listener.stop() }
        let port = try #require(listener.localPort)
        let sender = HEPTestSender(source: "::1")
        let good = hepDatagram(key: "s3cret")
        sender.send(good, to: "::1", port: port)
        sender.send(hepDatagram(), to: "::1", port: port) // no key
        sender.send(hepDatagram(key: "wrong"), to: "::1", port: port)
        sender.send(Array(good.dropLast(3)), to: "::1", port: port) // length mismatch
        sender.send(Array("not hep at all".utf8), to: "::1", port: port)
        sender.send([], to: "::1", port: port) // empty datagram
        sender.send(hepDatagram(key: "s3cret", protocolType: 5), to: "::1", port: port) // RTCP
        #expect(waitUntil { listener.statistics.received == 7 })
        let stats = listener.statistics
        #expect(stats.accepted == 1)
        #expect(stats.nonSIP == 1)
        #expect(
            stats.rejected == [
                .authenticationMissing: 1, .authenticationFailed: 1, .lengthMismatch: 1, .unknownVersion: 1, .truncated: 1,
            ])
        #expect(stats.rejectedTotal + stats.accepted + stats.nonSIP + stats.deniedSenders == stats.received)
        #expect(collector.count == 1)
    }

    @Test func replacesTimesFromAWrongClock() throws {
        let listener = HEPListener(address: "127.0.0.1:0", authKey: nil, maxClockSkew: .seconds(60), logger: testLogger)
        let collector = HEPPayloadCollector()
        try listener.start(onBatch: collector.add)
        defer { listener.stop() }
        let port = try #require(listener.localPort)
        let sender = HEPTestSender(source: "127.0.0.1")
        let now = Int64(Glibc.time(nil))
        sender.send(hepDatagram(time: Timestamp(seconds: now - 3600)), to: "127.0.0.1", port: port)
        sender.send(hepDatagram(time: Timestamp(seconds: now - 5, microseconds: 77)), to: "127.0.0.1", port: port)
        #expect(waitUntil { collector.count == 2 })
        let times = collector.payloads.map(\.time)
        #expect(abs(times[0].seconds - now) <= 5, "an hour-old time is replaced by the receive time")
        #expect(times[1] == Timestamp(seconds: now - 5, microseconds: 77), "a close time is kept exactly")
        #expect(listener.statistics.clockCorrected == 1)
    }

    @Test func readsInBatches() throws {
        let listener = HEPListener(address: "127.0.0.1:0", authKey: nil, batchSize: 32, logger: testLogger)
        let collector = HEPPayloadCollector()
        let release = Atomic<Bool>(false)
        try listener.start(onBatch: { batch in
            // Hold the first batch until every datagram is queued in the socket.
            if collector.batches == 0 { _ = waitUntil(timeout: .seconds(5)) { release.load(ordering: .acquiring) } }
            collector.add(batch)
        })
        defer { listener.stop() }
        let port = try #require(listener.localPort)
        let sender = HEPTestSender(source: "127.0.0.1")
        for i in 0..<300 { sender.send(hepDatagram(tag: i), to: "127.0.0.1", port: port) }
        release.store(true, ordering: .releasing)
        #expect(waitUntil { collector.count == 300 })
        let stats = listener.statistics
        #expect(stats.accepted == 300)
        #expect(stats.batches < 300 / 4, "recvmmsg should read many datagrams per call (\(stats.batches) batches)")
        // Arrival order is kept.
        let tags = collector.payloads.map { String(decoding: $0.bytes, as: UTF8.self) }
        #expect(tags.enumerated().allSatisfy { $1.contains("Call-ID: \($0)@x") })
    }

    @Test func startErrorsAndLifecycle() throws {
        #expect(throws: HEPListenerError.invalidAddress("localhost:9060")) {
            try HEPListener(address: "localhost:9060", authKey: nil, logger: testLogger).start(onPayload: { _ in })
        }
        let first = HEPListener(address: "127.0.0.1:0", authKey: nil, logger: testLogger)
        try first.start(onPayload: { _ in })
        let port = try #require(first.localPort)
        let second = HEPListener(address: "127.0.0.1:\(port)", authKey: nil, logger: testLogger)
        #expect(throws: HEPListenerError.bindFailed(address: "127.0.0.1:\(port)", errno: EADDRINUSE)) {
            try second.start(onPayload: { _ in })
        }
        #expect(throws: HEPListenerError.alreadyStarted) { try first.start(onPayload: { _ in }) }
        first.stop()
        first.stop()
        #expect(first.localPort == nil)
        #expect(throws: HEPListenerError.alreadyStarted) { try first.start(onPayload: { _ in }) }
        // The port is free again once stopped.
        let third = HEPListener(address: "127.0.0.1:\(port)", authKey: nil, logger: testLogger)
        try third.start(onPayload: { _ in })
        third.stop()
    }

    @Test func stopFromInsideTheCallback() throws {
        let listener = HEPListener(address: "127.0.0.1:0", authKey: nil, logger: testLogger)
        let calls = Atomic<Int>(0)
        try listener.start(onPayload: { [listener] _ in
            calls.add(1, ordering: .relaxed)
            listener.stop()
        })
        let port = try #require(listener.localPort)
        let sender = HEPTestSender(source: "127.0.0.1")
        sender.send(hepDatagram(), to: "127.0.0.1", port: port)
        #expect(waitUntil { calls.load(ordering: .relaxed) == 1 })
        #expect(waitUntil { listener.localPort == nil })
    }

    @Test func parsesEndpoints() {
        #expect(HEPListener.parseEndpoint("127.0.0.1:9060")! == (IPAddress("127.0.0.1")!, 9060))
        #expect(HEPListener.parseEndpoint("[::1]:9060")! == (IPAddress("::1")!, 9060))
        #expect(HEPListener.parseEndpoint("[2001:2::1]:0")! == (IPAddress("2001:2::1")!, 0))
        for bad in [
            "", "9060", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+9", "::1:9060", "[::1]9060",
            "[127.0.0.1]:9060", "[::1]:", "host:9060", "127.0.0.1:9060x", "[::1]:123456",
        ] {
            #expect(HEPListener.parseEndpoint(bad) == nil, "\(bad)")
        }
    }
}
