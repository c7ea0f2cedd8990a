// SPDX-License-Identifier: GPL-2.0-or-later

import CBPF
import DedicatedThreads
import Glibc
public import Logging
public import PacketDecoding
import Synchronization

/// Why live capture could not start.
public enum PacketCaptureError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No interface of that name exists in this network namespace.
    case noSuchInterface(String)
    /// `socket(AF_PACKET)` failed; EPERM means the process lacks CAP_NET_RAW.
    case socketFailed(errno: Int32)
    /// The kernel refused the BPF program.
    case filterRejected(errno: Int32)
    /// Binding to the interface failed.
    case bindFailed(interface: String, errno: Int32)
    /// Promiscuous mode could not be enabled.
    case promiscuousFailed(interface: String, errno: Int32)
    /// The stop pipe or the thread could not be created.
    case resourceFailure(what: String, errno: Int32)
    /// `start` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case .noSuchInterface(let name): "no network interface named '\(name)'"
        case .socketFailed(let code):
            code == EPERM
                ? "cannot open a packet socket: permission denied (needs root or CAP_NET_RAW)"
                : "cannot open a packet socket: \(captureErrnoText(code))"
        case .filterRejected(let code): "the kernel rejected the capture filter: \(captureErrnoText(code))"
        case .bindFailed(let name, let code): "cannot capture on '\(name)': \(captureErrnoText(code))"
        case .promiscuousFailed(let name, let code): "cannot set '\(name)' promiscuous: \(captureErrnoText(code))"
        case .resourceFailure(let what, let code): "cannot create \(what): \(captureErrnoText(code))"
        case .alreadyStarted: "the capture was already started"
        }
    }
}

func captureErrnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// What to capture.
public struct PacketCaptureConfiguration: Sendable, Hashable {
    /// The interface, or nil for every interface of the network namespace.
    public var interface: String?
    /// SIP ports: packets to or from them are captured (both directions).
    public var ports: PortSet
    /// Kernel receive buffer (bytes); set with SO_RCVBUFFORCE when allowed, so a burst is
    /// absorbed while the analyser is busy.
    public var receiveBufferBytes: Int
    /// Also see traffic not addressed to this host (a mirror/SPAN port).
    public var promiscuous: Bool
    /// Reassembly and TCP limits (its `ports` is replaced by `ports`).
    public var decoder: PacketDecoder.Configuration
    /// How often kernel counters are refreshed.
    public var statisticsInterval: Duration
    /// Scheduling of the capture thread (see `SensorPriority`).
    public var priority: SensorPriority = .normal

    public init(
        interface: String? = nil, ports: PortSet = .sipDefault, receiveBufferBytes: Int = 32 << 20,
        promiscuous: Bool = false, decoder: PacketDecoder.Configuration = .init(),
        statisticsInterval: Duration = .seconds(1)
    ) {
        self.interface = interface
        self.ports = ports
        self.receiveBufferBytes = receiveBufferBytes
        self.promiscuous = promiscuous
        self.decoder = decoder
        self.statisticsInterval = statisticsInterval
    }

    /// Parses the command line's `IFACE[:PORTS]`: `eth0`, `eth0:5060`, `any:5060,5080-5090`
    /// (`any` = every interface). Without ports, 5060-5061. Returns nil when malformed.
    public init?(spec: String) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        // IFNAMSIZ is 16 including the NUL; names never contain '/' or whitespace.
        guard !name.isEmpty, name.utf8.count < 16, !name.contains("/"), !name.contains(where: \.isWhitespace) else {
            return nil
        }
        var ports = PortSet.sipDefault
        if parts.count == 2 {
            guard let parsed = PortSet(parsing: parts[1]) else { return nil }
            ports = parsed
        }
        self.init(interface: name == "any" ? nil : name, ports: ports)
    }
}

/// Counters of a live capture.
public struct PacketCaptureStatistics: Sendable, Hashable {
    /// Packets read from the socket (after the kernel filter).
    public var received = 0
    /// Packets the kernel passed the filter (`tp_packets`).
    public var kernelPackets = 0
    /// Packets the kernel dropped because the socket buffer was full (`tp_drops`).
    public var kernelDrops = 0
    /// Packets longer than the receive buffer (cut).
    public var truncated = 0
    /// Loopback duplicates skipped (lo shows each packet as sent and as received).
    public var loopbackDuplicates = 0
    /// Whether the kernel filter drops banned sources (an eBPF program with the
    /// ``BannedSourceFilter`` map is attached).
    public var bannedSourceFilter = false
    /// The kernel filter's own cost so far, when the kernel counts it (sysctl
    /// `kernel.bpf_stats_enabled=1`): total run time and runs of the eBPF program.
    public var filterRunNanoseconds: UInt64 = 0
    public var filterRuns: UInt64 = 0
    public var decoder = PacketDecoder.Statistics()

    public init() {}
}

/// Live SIP capture on an `AF_PACKET` socket, on a dedicated thread.
///
/// - `SOCK_DGRAM` with `ETH_P_ALL`: the kernel hands over the network-layer packet and its
///   EtherType whatever the interface type (Ethernet, loopback, tunnels, `any`), VLAN tags
///   already removed; `ETH_P_ALL` taps also see outgoing packets, so responses are seen.
/// - A classic BPF program (`CaptureFilter.program`) attached before binding, so no
///   unfiltered packet is ever queued: only UDP/TCP to or from the SIP ports, and IP
///   fragments, reach user space.
/// - A large receive buffer (`SO_RCVBUFFORCE`), non-blocking `recvfrom` drained in
///   batches after `poll(2)` on the socket and a stop pipe. (This Swift toolchain's Glibc
///   module exposes neither `recvmmsg` nor the `TPACKET_V3` ring structures; one
///   `recvfrom` per packet is fast enough for the measured 300 k packets/s floods.)
/// - With a ``BannedSourceFilter``, the filter is the same program translated to eBPF with
///   a banned-source check before it accepts a packet (``BannedSourceFilterProgram``):
///   packets from sources already banned never reach user space. If the kernel refuses
///   the eBPF program, the classic filter is used and a warning logged.
/// - Kernel counters (`PACKET_STATISTICS`) are read every `statisticsInterval`.
/// - Timestamps are the wall clock when a batch is read.
public final class PacketCapture: Sendable {
    public let configuration: PacketCaptureConfiguration
    private let logger: Logger
    private let state = Mutex<RunState>(.idle)
    private let published = PublishedCaptureStatistics()
    private let bannedSources: BannedSourceFilter?

    private enum RunState {
        case idle
        case running(SensorThread)
        case finished
    }

    /// - Parameter bannedSources: when given, the kernel filter drops packets from the
    ///   sources in it (see ``BannedSourceFilter``).
    public init(configuration: PacketCaptureConfiguration, logger: Logger, bannedSources: BannedSourceFilter? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.bannedSources = bannedSources
    }

    deinit { stop() }

    /// Counters so far (refreshed after every batch and every `statisticsInterval`).
    public var statistics: PacketCaptureStatistics { published.value.withLock { $0 } }

    /// Opens the socket, attaches the filter, binds, and starts the capture thread.
    /// `onOutput` is called on that thread for every payload, TCP gap and TCP close, in
    /// capture order. Setup errors are thrown here.
    public func start(onOutput: @escaping @Sendable (DecodedOutput) -> Void) throws(PacketCaptureError) {
        try state.withLock { (state: inout RunState) throws(PacketCaptureError) in
            guard case .idle = state else { throw .alreadyStarted }
            let (socket, program) = try Self.openSocket(configuration, bannedSources: bannedSources, logger: logger)
            let stopPipe: StopSignal
            do throws(StopSignal.CreationFailure) {
                stopPipe = try StopSignal()
            } catch {
                close(socket)
                if program >= 0 { close(program) }
                throw .resourceFailure(what: "stop pipe", errno: error.errno)
            }
            let loop = CaptureLoop(
                socket: socket, program: program, configuration: configuration, stop: stopPipe,
                published: published, logger: logger, onOutput: onOutput)
            let thread: SensorThread
            do throws(PosixThread.StartFailure) {
                thread = try SensorThread("capture thread", priority: configuration.priority, signal: stopPipe, logger: logger, loop: loop.run)
            } catch {
                // The loop (released with the failed thread's closure) closes the socket.
                throw .resourceFailure(what: "capture thread", errno: error.code)
            }
            state = .running(thread)
        }
    }

    /// Stops the capture thread and waits for it (idempotent). From inside `onOutput` it
    /// only asks the thread to stop.
    public func stop() {
        let running: SensorThread? = state.withLock { state in
            guard case .running(let thread) = state else { return nil }
            state = .finished
            return thread
        }
        running?.stop()
    }

    // MARK: Socket setup

    static let afPacket: Int32 = 17
    static let ethPAll: UInt16 = 0x0003
    static let solPacket: Int32 = 263
    static let packetAddMembership: Int32 = 1
    static let packetMrPromisc: UInt16 = 1
    static let packetStatistics: Int32 = 6
    static let soRcvbufForce: Int32 = 33
    static let soAttachBPF: Int32 = 50

    /// Opens, filters and binds the socket; returns it and the attached eBPF program's
    /// descriptor (-1 with the classic filter).
    static func openSocket(
        _ configuration: PacketCaptureConfiguration, bannedSources: BannedSourceFilter? = nil, logger: Logger? = nil
    ) throws(PacketCaptureError) -> (socket: Int32, program: Int32) {
        var ifindex: Int32 = 0
        if let name = configuration.interface {
            ifindex = Int32(bitPattern: if_nametoindex(name))
            guard ifindex > 0 else { throw .noSuchInterface(name) }
        }
        // Protocol 0: nothing is queued until bind, which comes after the filter.
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = socket(afPacket, type, 0)
        guard fd >= 0 else { throw .socketFailed(errno: errno) }

        var size = Int32(clamping: configuration.receiveBufferBytes)
        if setsockopt(fd, SOL_SOCKET, soRcvbufForce, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }

        let program = CaptureFilter.program(ports: configuration.ports)
        var programFD: Int32 = -1
        if let bannedSources {
            programFD = attachExtended(fd, program, bannedSources, logger)
        }
        if programFD < 0 { try attachClassic(fd, program) }

        // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
        var address = [UInt8](repeating: 0, count: 20)
        withUnsafeBytes(of: UInt16(afPacket)) { address.replaceSubrange(0..<2, with: $0) }
        withUnsafeBytes(of: ethPAll.bigEndian) { address.replaceSubrange(2..<4, with: $0) }
        withUnsafeBytes(of: ifindex) { address.replaceSubrange(4..<8, with: $0) }
        let bound = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(20))
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            if programFD >= 0 { close(programFD) }
            throw .bindFailed(interface: configuration.interface ?? "any", errno: code)
        }

        if configuration.promiscuous, ifindex > 0 {
            // struct packet_mreq: ifindex, type, alen, address[8].
            var request = [UInt8](repeating: 0, count: 16)
            withUnsafeBytes(of: ifindex) { request.replaceSubrange(0..<4, with: $0) }
            withUnsafeBytes(of: packetMrPromisc) { request.replaceSubrange(4..<6, with: $0) }
            let done = request.withUnsafeBytes { setsockopt(fd, solPacket, packetAddMembership, $0.baseAddress, socklen_t(16)) }
            guard done == 0 else {
                let code = errno
                close(fd)
                if programFD >= 0 { close(programFD) }
                throw .promiscuousFailed(interface: configuration.interface ?? "any", errno: code)
            }
        }
        return (fd, programFD)
    }

    /// Attaches the classic program (`struct sock_filter[]` and `struct sock_fprog`, laid
    /// out by hand: linux/filter.h); closes `fd` and throws when the kernel refuses it.
    static func attachClassic(_ fd: Int32, _ program: [BPFInstruction]) throws(PacketCaptureError) {
        var filter = [UInt8](repeating: 0, count: program.count * 8)
        for (i, instruction) in program.enumerated() {
            withUnsafeBytes(of: instruction.code) { filter.replaceSubrange(i * 8..<i * 8 + 2, with: $0) }
            filter[i * 8 + 2] = instruction.jt
            filter[i * 8 + 3] = instruction.jf
            withUnsafeBytes(of: instruction.k) { filter.replaceSubrange(i * 8 + 4..<i * 8 + 8, with: $0) }
        }
        let attached: Int32 = filter.withUnsafeMutableBytes { instructions in
            var fprog = [UInt8](repeating: 0, count: 16)
            withUnsafeBytes(of: UInt16(program.count)) { fprog.replaceSubrange(0..<2, with: $0) }
            withUnsafeBytes(of: instructions.baseAddress) { fprog.replaceSubrange(8..<16, with: $0) }
            return fprog.withUnsafeBytes { setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, $0.baseAddress, socklen_t(16)) }
        }
        guard attached == 0 else {
            let code = errno
            close(fd)
            throw .filterRejected(errno: code)
        }

    }

    /// Loads and attaches the eBPF translation with the banned-source check; returns the
    /// program's descriptor, or -1 (logged) when the kernel refuses it.
    static func attachExtended(_ fd: Int32, _ classic: [BPFInstruction], _ bannedSources: BannedSourceFilter, _ logger: Logger?) -> Int32 {
        let instructions = BannedSourceFilterProgram.program(classic: classic, mapFD: bannedSources.mapFD)
        let bytes = instructions.flatMap(\.bytes)
        var log = [CChar](repeating: 0, count: 1 << 16)
        let program = bytes.withUnsafeBytes { raw in
            log.withUnsafeMutableBufferPointer {
                sipwarden_bpf_socket_filter_load(raw.baseAddress, UInt32(instructions.count), $0.baseAddress, UInt32($0.count))
            }
        }
        guard program >= 0 else {
            let code = errno
            let text = log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            logger?.warning(
                "the kernel refused the banned-source capture filter; capturing with the classic filter",
                metadata: ["error": "\(captureErrnoText(code))", "verifier": "\(text.suffix(400))"])
            return -1
        }
        var descriptor = program
        guard setsockopt(fd, SOL_SOCKET, soAttachBPF, &descriptor, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            logger?.warning(
                "cannot attach the banned-source capture filter; capturing with the classic filter",
                metadata: ["error": "\(captureErrnoText(errno))"])
            close(program)
            return -1
        }
        return program
    }

    /// The kernel's run statistics of an attached eBPF program.
    static func programStatistics(_ program: Int32) -> (nanoseconds: UInt64, runs: UInt64)? {
        var nanoseconds: UInt64 = 0
        var runs: UInt64 = 0
        guard program >= 0, sipwarden_bpf_program_stats(program, &nanoseconds, &runs) == 0 else { return nil }
        return (nanoseconds, runs)
    }
}

/// The counters the capture thread publishes for other threads.
final class PublishedCaptureStatistics: Sendable {
    let value = Mutex(PacketCaptureStatistics())
}
