// SPDX-License-Identifier: GPL-2.0-or-later
import DedicatedThreads
import Glibc
public import Logging
public import NetworkAddress
import Synchronization

/// A source the kernel flood guard caught: the first over-rate packet of that source,
/// logged to the NFLOG group by the guard's `log group G` statement.
public struct FloodReport: Sendable, Hashable {
    /// The source address in the logged packet's IP header.
    public var source: IPAddress
    /// The log prefix of the rule that logged it, nil when it has none.
    public var prefix: String?

    public init(source: IPAddress, prefix: String?) {
        self.source = source
        self.prefix = prefix
    }
}

/// Why a flood log listener could not start.
public enum FloodLogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `socket(2)`, `bind(2)`, `sendto(2)`, `recv(2)` or `poll(2)` on the netlink socket failed.
    case socketFailed(call: String, errno: Int32)
    /// Another netlink socket (another sipwarden, ulogd, a packet logger) receives this
    /// NFLOG group already; a group has exactly one receiver.
    case groupInUse(group: UInt16)
    /// The kernel refused the configuration for lack of `CAP_NET_ADMIN`.
    case permissionDenied(group: UInt16)
    /// The kernel refused a configuration step with this errno.
    case configurationRefused(group: UInt16, step: String, errno: Int32)
    /// The kernel did not acknowledge a configuration step within the deadline.
    case noAcknowledgement(group: UInt16, step: String)
    /// The stop pipe, buffers or thread could not be created.
    case resourceFailure(what: String, errno: Int32)
    /// `start` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case let .socketFailed(call, e):
            "NFLOG netlink \(call) failed: \(errnoText(e))"
        case let .groupInUse(g):
            "NFLOG group \(g) is already bound by another process (another sipwarden, ulogd, ...); choose another group"
        case let .permissionDenied(g):
            "binding NFLOG group \(g) needs CAP_NET_ADMIN"
        case let .configurationRefused(g, step, e):
            "the kernel refused to \(step) NFLOG group \(g): \(errnoText(e))"
        case let .noAcknowledgement(g, step):
            "the kernel did not acknowledge the request to \(step) NFLOG group \(g)"
        case let .resourceFailure(w, e):
            "cannot create \(w): \(errnoText(e))"
        case .alreadyStarted:
            "the flood log listener was already started"
        }
    }
}

/// A snapshot of a flood log listener's counters. Every logged-packet message read is
/// counted once in `received` and exactly once in `reported`, `malformed` or `otherGroup`.
public struct FloodLogStatistics: Sendable, Hashable {
    /// `NFULNL_MSG_PACKET` messages read.
    public var received = 0
    /// Reports handed to the handler.
    public var reported = 0
    /// Logged packets without a well-formed IPv4/IPv6 header (or with broken attributes).
    public var malformed = 0
    /// Logged packets of another group (never expected: the kernel sends a socket only its group).
    public var otherGroup = 0
    /// Datagrams cut short (by the kernel or by the receive buffer); their tail is lost.
    public var truncatedDatagrams = 0
    /// Datagrams from a sender other than the kernel, dropped unread.
    public var foreignSenders = 0
    /// Failed receives, `ENOBUFS` included (never fatal).
    public var receiveErrors = 0
    /// The `ENOBUFS` among them: the socket buffer was full and the kernel dropped logged
    /// packets (those sources are not reported until the guard logs them again).
    public var overflows = 0

    public init() {}
}

/// Receives the packets the kernel flood guard logs to an NFLOG group (nftables
/// `log group G`, netlink subsystem `NFNL_SUBSYS_ULOG`) and reports their source addresses.
///
/// The guard logs only the first over-rate packet of a source, so each report is one
/// flooder, at most once per source and guard period. Only the logged packet's IP header is
/// read (its source address); nothing in it is trusted beyond that.
///
/// A dedicated thread blocks in `poll(2)` on the netlink socket; the handler runs on that
/// thread. The group is bound with copy mode packet (128 bytes, enough for any IP header),
/// a queue threshold of 1 (no batching delay), and released on `stop`. A group has one
/// receiver: a second listener on the same group fails with `.groupInUse`.
///
/// The per-family `NFULNL_CFG_CMD_PF_BIND`/`PF_UNBIND` commands are deliberately not sent:
/// nftables' `log group` asks for the NFLOG logger by type, so they are not needed, and they
/// would replace the network namespace's *default* packet logger for IPv4/IPv6 (which
/// conntrack's invalid-packet logging and `nf_log` users rely on) with nfnetlink_log.
public final class FloodLogListener: Sendable {
    /// The NFLOG group (the `group` of the guard's `log group` statement).
    public let group: UInt16
    /// Scheduling of the receive thread.
    public let priority: SensorPriority
    private let logger: Logger
    /// Requested `SO_RCVBUF` of the netlink socket (the kernel doubles it).
    let receiveBufferSize: Int32
    private let counters = FloodLogCounters()
    private let state = Mutex<RunState>(.idle)

    /// Bytes of each logged packet copied to us: enough for an IPv4 header with options
    /// (60 bytes) or an IPv6 header (40 bytes).
    static let copyRange: UInt32 = 128
    /// How long `start` waits for each acknowledgement.
    static let acknowledgementTimeout: Duration = .seconds(2)

    private enum RunState {
        case idle
        case running(SensorThread)
        case finished
    }

    /// Creates a listener; nothing is bound until `start`.
    /// - Parameters:
    ///   - group: the NFLOG group, 0...65535, as in the guard's `log group` statement.
    ///   - priority: scheduling of the receive thread.
    ///   - logger: where setup and rate-limited warnings go.
    public convenience init(group: UInt16, priority: SensorPriority = .normal, logger: Logger) {
        self.init(group: group, priority: priority, logger: logger, receiveBufferSize: 4 << 20)
    }

    /// As the public initializer, with the socket receive buffer size (tests shrink it to
    /// provoke `ENOBUFS`).
    init(group: UInt16, priority: SensorPriority = .normal, logger: Logger, receiveBufferSize: Int32) {
        self.group = group
        self.priority = priority
        self.logger = logger
        self.receiveBufferSize = receiveBufferSize
    }

    deinit { stop() }

    /// Counters so far.
    public var statistics: FloodLogStatistics { counters.value.withLock { $0 } }

    /// Binds NFLOG group `group` (copy mode packet, copy range 128 bytes; it receives what
    /// IPv4 and IPv6 rules log alike) and starts the receive thread; `handler` runs on that
    /// thread for each logged packet whose payload is a well-formed IPv4/IPv6 header, in
    /// arrival order. Returns once the kernel acknowledged the configuration.
    public func start(_ handler: @escaping @Sendable (FloodReport) -> Void) throws(FloodLogError) {
        try state.withLock { (state: inout RunState) throws(FloodLogError) in
            guard case .idle = state else { throw .alreadyStarted }
            let socket = try NFLogSocket(group: group, receiveBufferSize: receiveBufferSize)
            let early = try socket.configure(copyRange: Self.copyRange, timeout: Self.acknowledgementTimeout)
            let signal: StopSignal
            do throws(StopSignal.CreationFailure) {
                signal = try StopSignal()
            } catch {
                throw .resourceFailure(what: "stop pipe", errno: error.errno)
            }
            // The loop owns the socket from here on; it unbinds and closes it when it ends.
            let loop = FloodLogLoop(socket: socket, signal: signal, counters: counters, logger: logger,
                                    early: early, handler: handler)
            let thread: SensorThread
            do throws(PosixThread.StartFailure) {
                thread = try SensorThread("NFLOG receive thread", priority: priority, signal: signal, logger: logger, loop: loop.run)
            } catch {
                throw .resourceFailure(what: "NFLOG receive thread", errno: error.code)
            }
            state = .running(thread)
            logger.info("flood log listener bound to NFLOG group \(group)")
        }
    }

    /// Stops the receive thread, releases the group and closes the socket. Idempotent. When
    /// called from inside the handler, it only asks the thread to stop and returns.
    public func stop() {
        let running: SensorThread? = state.withLock { state in
            guard case let .running(thread) = state else { return nil }
            state = .finished
            return thread
        }
        running?.stop()
    }
}

/// The listener's counters, shared with its receive thread.
final class FloodLogCounters: Sendable {
    let value = Mutex(FloodLogStatistics())
}

// MARK: - The netlink socket

/// A `NETLINK_NETFILTER` socket bound to one NFLOG group. Used by `start` (configuration),
/// then only by the receive thread. Closes the descriptor on deinit.
final class NFLogSocket {
    let descriptor: Int32
    let group: UInt16
    private var sequence: UInt32
    /// Receive buffer: nfnetlink_log batches into datagrams of at most its buffer size
    /// (4 KiB by default); 64 KiB leaves room for any kernel setting.
    static let bufferSize = 64 * 1_024
    let buffer: UnsafeMutableRawBufferPointer

    init(group: UInt16, receiveBufferSize: Int32) throws(FloodLogError) {
        self.group = group
        let fd = Glibc.socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NFLogConstant.netlinkNetfilter)
        guard fd >= 0 else { throw .socketFailed(call: "socket", errno: errno) }
        var address = Self.kernelAddress()
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, Self.addressLength) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .socketFailed(call: "bind", errno: code)
        }
        // A large buffer absorbs a burst of new flooders while the handler runs (best effort:
        // SO_RCVBUFFORCE needs CAP_NET_ADMIN, SO_RCVBUF is capped by rmem_max).
        var size = receiveBufferSize
        let sizeLength = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeLength) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeLength)
        }
        descriptor = fd
        sequence = UInt32(truncatingIfNeeded: time(nil))
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 8)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

    /// Binds the group and sets its mode, waiting for each acknowledgement. Returns the
    /// packets that arrived meanwhile (the group is live as soon as it is bound).
    func configure(copyRange: UInt32, timeout: Duration) throws(FloodLogError) -> [NFLogPacket] {
        var early: [NFLogPacket] = []
        sequence &+= 1
        let bindSequence = sequence
        let bindError = try exchange(NFLogMessage.bind(group: group, sequence: bindSequence), sequence: bindSequence,
                                     step: "bind", timeout: timeout, early: &early)
        switch bindError {
        case 0:
            break
        case EBUSY:
            throw .groupInUse(group: group)
        case EPERM:
            // nfnetlink answers EPERM both without CAP_NET_ADMIN and when another socket
            // owns the group; our capabilities tell the two apart.
            throw Self.hasNetAdminCapability() == false ? .permissionDenied(group: group) : .groupInUse(group: group)
        default:
            throw .configurationRefused(group: group, step: "bind", errno: bindError)
        }
        sequence &+= 1
        let modeSequence = sequence
        // Queue threshold 1: each logged packet is sent at once; the 10 ms timeout is moot then.
        let request = NFLogMessage.mode(group: group, sequence: modeSequence, copyRange: copyRange,
                                        queueThreshold: 1, flushTimeout: 1)
        let modeError = try exchange(request, sequence: modeSequence, step: "configure", timeout: timeout, early: &early)
        guard modeError == 0 else { throw .configurationRefused(group: group, step: "configure", errno: modeError) }
        return early
    }

    /// Releases the group (best effort: closing the socket releases it too).
    func unbind() {
        sequence &+= 1
        _ = send(NFLogMessage.unbind(group: group, sequence: sequence))
    }

    /// Sends one request and waits for its acknowledgement; returns its errno (0 = success).
    private func exchange(_ request: [UInt8], sequence: UInt32, step: String, timeout: Duration,
                          early: inout [NFLogPacket]) throws(FloodLogError) -> Int32 {
        if let code = send(request) { throw .socketFailed(call: "sendto", errno: code) }
        let deadline = ContinuousClock.now + timeout
        // Each round reads one datagram or waits; bounded by the deadline and a count.
        for _ in 0..<10_000 {
            let (count, code) = receive()
            if let code {
                if code == EINTR || code == ENOBUFS { continue }
                guard code == EAGAIN || code == EWOULDBLOCK else { throw .socketFailed(call: "recv", errno: code) }
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else { throw .noAcknowledgement(group: group, step: step) }
                let milliseconds = Int32(clamping: left.components.seconds * 1_000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, milliseconds) < 0, errno != EINTR { throw .socketFailed(call: "poll", errno: errno) }
                continue
            }
            guard let count else { continue } // not from the kernel
            let datagram = NFLogMessage.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<min(count, buffer.count)]))
            var result: Int32?
            for element in datagram.elements {
                switch element {
                case let .acknowledgement(sequence: replied, errno: code) where replied == sequence:
                    result = code
                case let .packet(packet) where packet.group == group:
                    early.append(packet)
                default:
                    break
                }
            }
            if let result { return result }
        }
        throw .noAcknowledgement(group: group, step: step)
    }

    /// Sends one request to the kernel; returns nil or the errno.
    private func send(_ request: [UInt8]) -> Int32? {
        var kernel = Self.kernelAddress()
        for _ in 0..<100 {
            let sent = request.withUnsafeBytes { raw in
                withUnsafePointer(to: &kernel) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, raw.baseAddress, raw.count, 0, $0, Self.addressLength)
                    }
                }
            }
            if sent == request.count { return nil }
            if sent < 0, errno == EINTR { continue }
            return sent < 0 ? errno : EMSGSIZE
        }
        return EINTR
    }

    /// Reads one datagram into `buffer` without blocking. Returns its full length (which may
    /// exceed the buffer: `MSG_TRUNC`), or a nil length for a datagram not sent by the
    /// kernel (dropped), or the errno.
    func receive() -> (count: Int?, errno: Int32?) {
        var sender = sockaddr_storage()
        var senderLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = withUnsafeMutablePointer(to: &sender) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC), $0, &senderLength)
            }
        }
        guard count >= 0 else { return (nil, errno) }
        // struct sockaddr_nl: u16 family, u16 pad, u32 pid (0 = the kernel), u32 groups.
        let fromKernel = withUnsafeBytes(of: &sender) { raw in
            senderLength >= Self.addressLength
                && raw.load(fromByteOffset: 0, as: sa_family_t.self) == sa_family_t(AF_NETLINK)
                && raw.load(fromByteOffset: 4, as: UInt32.self) == 0
        }
        return (fromKernel ? count : nil, nil)
    }

    private static let addressLength = socklen_t(12) // sizeof(struct sockaddr_nl)

    /// A `struct sockaddr_nl` (<linux/netlink.h>) for port 0 (the kernel, or "assign one" at bind).
    private static func kernelAddress() -> sockaddr_storage {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_NETLINK), toByteOffset: 0, as: sa_family_t.self)
        }
        return storage
    }

    /// Whether the effective capabilities hold `CAP_NET_ADMIN` (bit 12, <linux/capability.h>),
    /// from the `CapEff:` line of /proc/self/status; nil when it cannot be read.
    static func hasNetAdminCapability() -> Bool? {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8_192)
        var filled = 0
        for _ in 0..<16 where filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            filled += n
        }
        let text = String(decoding: bytes[0..<filled], as: UTF8.self)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            guard let mask = UInt64(hex, radix: 16) else { return nil }
            return mask & (1 << 12) != 0
        }
        return nil
    }
}

// MARK: - The receive thread

/// The receive thread's state. Used only by that thread once started.
final class FloodLogLoop {
    /// Datagrams read per wake-up before the stop flag and `poll` are consulted again.
    static let readsPerWakeup = 256

    private let socket: NFLogSocket
    private let signal: StopSignal
    private let counters: FloodLogCounters
    private let logger: Logger
    private let handler: @Sendable (FloodReport) -> Void
    private var early: [NFLogPacket]
    private var lastMalformedLog: ContinuousClock.Instant?
    private var lastErrorLog: ContinuousClock.Instant?

    init(socket: NFLogSocket, signal: StopSignal, counters: FloodLogCounters, logger: Logger,
         early: [NFLogPacket], handler: @escaping @Sendable (FloodReport) -> Void) {
        self.socket = socket
        self.signal = signal
        self.counters = counters
        self.logger = logger
        self.early = early
        self.handler = handler
    }

    func run() {
        defer { socket.unbind() }
        if !early.isEmpty {
            var datagram = NFLogDatagram()
            datagram.elements = early.map { .packet($0) }
            early = []
            deliver(datagram)
        }
        var fds = [
            pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signal.readEnd, events: Int16(POLLIN), revents: 0),
        ]
        while !signal.isSet {
            let rc = poll(&fds, 2, -1)
            if rc < 0 {
                if errno == EINTR { continue }
                logger.error("flood log listener poll failed: \(errnoText(errno)); stopping")
                return
            }
            for _ in 0..<Self.readsPerWakeup {
                if signal.isSet { return }
                let (count, code) = socket.receive()
                if let code {
                    if code == EINTR { continue }
                    if code == EAGAIN || code == EWOULDBLOCK { break }
                    noteReceiveError(code)
                    // ENOBUFS reports a loss and clears. Any other error (none is expected
                    // on a netlink socket): back to poll after a pause, so that a sticky
                    // error cannot make the thread spin.
                    if code == ENOBUFS { continue }
                    usleep(10_000)
                    break
                }
                guard let count else {
                    counters.value.withLock { $0.foreignSenders += 1 }
                    continue
                }
                let usable = min(count, socket.buffer.count)
                var datagram = NFLogMessage.parse(UnsafeRawBufferPointer(rebasing: socket.buffer[0..<usable]))
                if count > usable { datagram.truncated = true }
                deliver(datagram)
            }
        }
    }

    private func deliver(_ datagram: NFLogDatagram) {
        var delta = FloodLogStatistics()
        var reports: [FloodReport] = []
        var rejection: NFLogRejection?
        for element in datagram.elements {
            switch element {
            case let .packet(packet):
                delta.received += 1
                if packet.group == socket.group {
                    reports.append(FloodReport(source: packet.source, prefix: packet.prefix))
                } else {
                    delta.otherGroup += 1
                }
            case let .malformed(reason):
                delta.received += 1
                delta.malformed += 1
                rejection = reason
            case .acknowledgement, .done, .ignored:
                break
            }
        }
        delta.reported = reports.count
        if datagram.truncated { delta.truncatedDatagrams = 1 }
        let malformedSoFar = counters.value.withLock { total in
            total.received += delta.received
            total.reported += delta.reported
            total.malformed += delta.malformed
            total.otherGroup += delta.otherGroup
            total.truncatedDatagrams += delta.truncatedDatagrams
            return total.malformed
        }
        if let rejection, shouldLog(&lastMalformedLog) {
            logger.warning("malformed NFLOG packet ignored: \(rejection) (\(malformedSoFar) so far)")
        }
        for report in reports {
            // After `stop` (possibly from inside the handler) nothing more is delivered.
            if signal.isSet { return }
            handler(report)
        }
    }

    private func noteReceiveError(_ code: Int32) {
        let totals = counters.value.withLock { total in
            total.receiveErrors += 1
            if code == ENOBUFS { total.overflows += 1 }
            return (total.receiveErrors, total.overflows)
        }
        guard shouldLog(&lastErrorLog) else { return }
        if code == ENOBUFS {
            logger.warning("NFLOG socket buffer overflowed: flood reports were lost (\(totals.1) overflows so far)")
        } else {
            logger.warning("NFLOG receive failed: \(errnoText(code)) (\(totals.0) errors so far)")
        }
    }

    /// At most one warning per kind every 10 s: a flood must not become a log flood.
    private func shouldLog(_ last: inout ContinuousClock.Instant?) -> Bool {
        let now = ContinuousClock.now
        if let previous = last, previous.duration(to: now) < .seconds(10) { return false }
        last = now
        return true
    }
}
