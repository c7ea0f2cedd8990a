// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Logging
import PacketDecoding
import WardenCore

/// The capture thread's state: the socket, the decoder and the receive buffer. Owned by
/// that thread alone once started.
final class CaptureLoop {
    private let socket: Int32
    /// The attached eBPF program (-1: classic filter).
    private let program: Int32
    private let stop: StopSignal
    private let published: PublishedCaptureStatistics
    private let logger: Logger
    private let onOutput: @Sendable (DecodedOutput) -> Void
    private let statisticsInterval: Duration
    private let fixedInterface: String?
    private var decoder: PacketDecoder
    private var local = PacketCaptureStatistics()
    private var buffer: [UInt8]
    private var names: [Int32: String] = [:]

    /// Packets read per wake-up before counters are published and the stop flag checked.
    static let batchLimit = 512
    /// ARPHRD_LOOPBACK and PACKET_OUTGOING (linux/if_arp.h, linux/if_packet.h).
    static let loopbackHardwareType: UInt16 = 772
    static let outgoing: UInt8 = 4

    init(
        socket: Int32, program: Int32, configuration: PacketCaptureConfiguration, stop: StopSignal,
        published: PublishedCaptureStatistics, logger: Logger, onOutput: @escaping @Sendable (DecodedOutput) -> Void
    ) {
        self.socket = socket
        self.program = program
        local.bannedSourceFilter = program >= 0
        self.stop = stop
        self.published = published
        self.logger = logger
        self.onOutput = onOutput
        statisticsInterval = configuration.statisticsInterval
        fixedInterface = configuration.interface
        var decoderConfiguration = configuration.decoder
        decoderConfiguration.ports = configuration.ports
        decoder = PacketDecoder(configuration: decoderConfiguration)
        // Larger than any IP packet, including GRO/TSO aggregates of 64 KiB.
        buffer = [UInt8](repeating: 0, count: 256 << 10)
    }

    deinit {
        close(socket)
        if program >= 0 { close(program) }
    }

    func run() {
        var fds = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stop.readEnd, events: Int16(POLLIN), revents: 0),
        ]
        var lastStatistics = ContinuousClock.now
        let timeout = Int32(
            clamping: max(statisticsInterval.components.seconds * 1000 + statisticsInterval.components.attoseconds / 1_000_000_000_000_000, 10))
        while !stop.isSet {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, timeout)
            if ready < 0, errno != EINTR {
                logger.error("capture poll failed: \(captureErrnoText(errno))")
                break
            }
            if stop.isSet || fds[1].revents != 0 { break }
            if fds[0].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0, fds[0].revents & Int16(POLLIN) == 0 {
                logger.error("capture socket failed (revents \(fds[0].revents))")
                break
            }
            if fds[0].revents & Int16(POLLIN) != 0 { drain() }
            let now = ContinuousClock.now
            if now - lastStatistics >= statisticsInterval {
                lastStatistics = now
                readKernelStatistics()
                publish()
            }
        }
        readKernelStatistics()
        publish()
    }

    /// Reads up to `batchLimit` packets without blocking.
    private func drain() {
        var time = Self.wallClock()
        var address = [UInt8](repeating: 0, count: 32)
        for index in 0..<Self.batchLimit {
            if index & 63 == 63 { time = Self.wallClock() }
            var length = socklen_t(address.count)
            let n = buffer.withUnsafeMutableBytes { raw in
                address.withUnsafeMutableBytes { addr in
                    recvfrom(
                        socket, raw.baseAddress, raw.count, Int32(MSG_TRUNC),
                        addr.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
                }
            }
            if n < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    logger.warning("capture recvfrom failed: \(captureErrnoText(errno))")
                }
                break
            }
            local.received += 1
            var captured = n
            if n > buffer.count {
                local.truncated += 1
                captured = buffer.count
            }
            // struct sockaddr_ll: protocol (network order) at 2, ifindex at 4, hatype at 8, pkttype at 10.
            let proto = UInt16(address[2]) << 8 | UInt16(address[3])
            let ifindex = Int32(littleEndian: address.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) })
            let hatype = address.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt16.self) }
            let pkttype = address[10]
            if pkttype == Self.outgoing && hatype == Self.loopbackHardwareType {
                local.loopbackDuplicates += 1
                continue
            }
            let linkType: LinkType
            switch proto {
            case 0x0800: linkType = .ipv4
            case 0x86DD: linkType = .ipv6
            default: linkType = .raw
            }
            let origin = PayloadOrigin.interface(interfaceName(ifindex))
            let deliver = onOutput
            buffer.withUnsafeBytes { raw in
                decoder.decode(
                    linkType: linkType, timestamp: time,
                    frame: UnsafeRawBufferPointer(rebasing: raw[0..<captured]), origin: origin
                ) { deliver($0) }
            }
        }
        publish()
    }

    private func interfaceName(_ index: Int32) -> String {
        if let fixed = fixedInterface { return fixed }
        if let known = names[index] { return known }
        var raw = [CChar](repeating: 0, count: 64)
        let name: String
        if index > 0, if_indextoname(UInt32(index), &raw) != nil {
            name = raw.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        } else {
            name = "if\(index)"
        }
        if names.count >= 1024 { names.removeAll() }
        names[index] = name
        return name
    }

    /// Adds the kernel's counters (they reset on every read) to ours.
    private func readKernelStatistics() {
        var stats: (UInt32, UInt32) = (0, 0)
        var length = socklen_t(8)
        if getsockopt(socket, PacketCapture.solPacket, PacketCapture.packetStatistics, &stats, &length) == 0 {
            local.kernelPackets += Int(stats.0)
            local.kernelDrops += Int(stats.1)
        }
        if let (nanoseconds, runs) = PacketCapture.programStatistics(program) {
            local.filterRunNanoseconds = nanoseconds
            local.filterRuns = runs
        }
    }

    private func publish() {
        local.decoder = decoder.statistics
        let snapshot = local
        published.value.withLock { $0 = snapshot }
    }

    static func wallClock() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(microseconds: Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000)
    }
}
