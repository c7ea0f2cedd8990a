// SPDX-License-Identifier: GPL-2.0-or-later

import DedicatedThreads
import Glibc
public import Logging
import Netlink
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
        case .socketFailed(let call, let e):
            "NFLOG netlink \(call) failed: \(errnoText(e))"
        case .groupInUse(let g):
            "NFLOG group \(g) is already bound by another process (another sipwarden, ulogd, ...); choose another group"
        case .permissionDenied(let g):
            "binding NFLOG group \(g) needs CAP_NET_ADMIN"
        case .configurationRefused(let g, let step, let e):
            "the kernel refused to \(step) NFLOG group \(g): \(errnoText(e))"
        case .noAcknowledgement(let g, let step):
            "the kernel did not acknowledge the request to \(step) NFLOG group \(g)"
        case .resourceFailure(let w, let e):
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
            let loop = FloodLogLoop(
                socket: socket, signal: signal, counters: counters, logger: logger,
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
            guard case .running(let thread) = state else { return nil }
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

    init(
        socket: NFLogSocket, signal: StopSignal, counters: FloodLogCounters, logger: Logger,
        early: [NFLogPacket], handler: @escaping @Sendable (FloodReport) -> Void
    ) {
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
                let receipt: NetlinkReceipt
                do throws(NetlinkError) {
                    receipt = try socket.netlink.receive()
                } catch {
                    noteReceiveError(error.errno)
                    // ENOBUFS reports a loss and clears. Any other error (none is expected
                    // on a netlink socket): back to poll after a pause, so that a sticky
                    // error cannot make the thread spin.
                    if error.errno == ENOBUFS { continue }
                    usleep(10_000)
                    break
                }
                switch receipt {
                case .wouldBlock:
                    break
                case .foreignSender:
                    counters.value.withLock { $0.foreignSenders += 1 }
                    continue
                case .datagram(let bytes, let truncated):
                    var datagram = NFLogMessage.parse(bytes)
                    if truncated { datagram.truncated = true }
                    deliver(datagram)
                    continue
                }
                break // nothing queued: back to poll
            }
        }
    }

    private func deliver(_ datagram: NFLogDatagram) {
        var delta = FloodLogStatistics()
        var reports: [FloodReport] = []
        var rejection: NFLogRejection?
        for element in datagram.elements {
            switch element {
            case .packet(let packet):
                delta.received += 1
                if packet.group == socket.group {
                    reports.append(FloodReport(source: packet.source, prefix: packet.prefix))
                } else {
                    delta.otherGroup += 1
                }
            case .malformed(let reason):
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
