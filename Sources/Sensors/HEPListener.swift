// SPDX-License-Identifier: GPL-2.0-or-later

import DedicatedThreads
import Glibc
public import Logging
public import NetworkAddress
public import PacketDecoding
import Synchronization
import WardenCore

/// Why a HEP listener could not start.
public enum HEPListenerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not `IPv4:PORT` or `[IPv6]:PORT`.
    case invalidAddress(String)
    /// `socket(2)` or a socket option failed.
    case socketFailed(errno: Int32)
    /// `bind(2)` failed (address in use, not local, permission).
    case bindFailed(address: String, errno: Int32)
    /// The stop pipe, buffers or thread could not be created.
    case resourceFailure(what: String, errno: Int32)
    /// `start` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidAddress(let a): "invalid HEP listen address '\(a)' (expected IPv4:PORT or [IPv6]:PORT)"
        case .socketFailed(let e): "cannot create the HEP socket: \(errnoText(e))"
        case .bindFailed(let a, let e): "cannot bind the HEP socket to \(a): \(errnoText(e))"
        case .resourceFailure(let w, let e): "cannot create \(w): \(errnoText(e))"
        case .alreadyStarted: "the HEP listener was already started"
        }
    }
}

/// A snapshot of a HEP listener's counters. Every datagram read is counted exactly once in
/// `deniedSenders`, `rejectedTotal`, `nonSIP` or `accepted`.
public struct HEPListenerStatistics: Sendable, Hashable {
    /// Datagrams read from the socket.
    public var received = 0
    /// SIP payloads delivered to the callback.
    public var accepted = 0
    /// Valid HEP packets of another protocol type (RTCP, logs, ...), ignored.
    public var nonSIP = 0
    /// Datagrams from senders outside the agent allowlist, dropped undecoded.
    public var deniedSenders = 0
    /// Malformed or unauthenticated HEP, per reason.
    public var rejected: [HEPRejection: Int] = [:]
    /// Accepted payloads whose HEP time was further than `maxClockSkew` from the receive
    /// time and was replaced by it.
    public var clockCorrected = 0
    /// Failed `recvmmsg` calls (other than "no more data").
    public var receiveErrors = 0
    /// Non-empty reads (each up to `batchSize` datagrams).
    public var batches = 0

    public init() {}

    /// All rejected datagrams.
    public var rejectedTotal: Int { rejected.values.reduce(0, +) }
}

/// Receives HEP (Homer) datagrams from capture agents — Kamailio's siptrace, OpenSIPS,
/// FreeSWITCH, Asterisk res_hep — and delivers the SIP messages they carry as `WirePayload`s.
///
/// **Security.** HEP is unauthenticated UDP, and the addresses inside a HEP packet are
/// whatever its sender writes: anyone who can reach the listener could name any address as
/// an attacker and get it banned. Therefore only datagrams whose UDP source is inside
/// `allowedAgents` are decoded (default: loopback only), and an auth key can be required on
/// top (HEP chunk 14; it travels in clear text, so it guards against mistakes and
/// off-path senders, not against someone who can read the traffic). Bind to a loopback or
/// management address, never to a public one.
///
/// A dedicated thread blocks in `poll(2)` and reads datagrams in batches with `recvmmsg(2)`;
/// the callback runs on that thread.
public final class HEPListener: Sendable {
    /// The listen address as given (`127.0.0.1:9060`, `[::1]:9060`).
    public let address: String
    /// UDP senders whose HEP packets are decoded; everything else is counted and dropped.
    public let allowedAgents: IPNetworkSet
    /// The decoder, holding the required auth key if any.
    public let decoder: HEPDecoder
    /// When an accepted payload's HEP time is further than this from the receive time, the
    /// receive time is used instead (a wrong agent clock must not push events out of the
    /// detection windows). nil trusts the agent's clock.
    public let maxClockSkew: Duration?
    /// Datagrams read per `recvmmsg` call.
    public let batchSize: Int
    private let logger: Logger
    private let counters = HEPCounters()
    private let state = Mutex<RunState>(.idle)

    private enum RunState {
        case idle
        case running(SensorThread, UInt16)
        case finished
    }

    /// The agents allowed by default: loopback only (127.0.0.0/8 and ::1).
    public static let loopbackAgents = IPNetworkSet([IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!])

    /// Creates a listener; nothing is bound until `start`.
    /// - Parameters:
    ///   - address: `IPv4:PORT` or `[IPv6]:PORT`; port 0 picks a free port (see `localPort`).
    ///     Binding `[::]` also receives IPv4 (as mapped addresses, reported as IPv4).
    ///   - allowedAgents: UDP senders to accept (default: loopback only).
    ///   - authKey: when non-empty, packets must carry this HEP auth key (chunk 14).
    ///   - maxClockSkew: see `maxClockSkew` (default 5 minutes).
    ///   - batchSize: datagrams per read, 1...256 (default 32).
    /// Scheduling of the receive thread.
    public let priority: SensorPriority

    public init(
        address: String, allowedAgents: IPNetworkSet = HEPListener.loopbackAgents, authKey: String?,
        maxClockSkew: Duration? = .seconds(300), batchSize: Int = 32, priority: SensorPriority = .normal, logger: Logger
    ) {
        self.priority = priority
        self.address = address
        self.allowedAgents = allowedAgents
        self.decoder = HEPDecoder(authKey: authKey)
        self.maxClockSkew = maxClockSkew
        self.batchSize = min(max(batchSize, 1), 256)
        self.logger = logger
    }

    deinit { stop() }

    /// Parses `IPv4:PORT` or `[IPv6]:PORT` (numeric only; no host names). Use it to validate
    /// configuration before starting.
    public static func parseEndpoint(_ text: String) -> (address: IPAddress, port: UInt16)? {
        let address: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            address = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard let parsed = IPAddress(address), parsed.family == .v6 else { return nil }
            guard let port = parsePort(portText) else { return nil }
            return (parsed, port)
        }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        address = text[..<colon]
        portText = text[text.index(after: colon)...]
        guard let parsed = IPAddress(address), parsed.family == .v4, let port = parsePort(portText) else { return nil }
        return (parsed, port)
    }

    private static func parsePort(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt16(text)
    }

    /// Counters so far.
    public var statistics: HEPListenerStatistics { counters.value.withLock { $0 } }

    /// The bound UDP port while running (useful with port 0), else nil.
    public var localPort: UInt16? {
        state.withLock { state in
            if case .running(_, let port) = state { return port }
            return nil
        }
    }

    /// Binds the socket and starts the receive thread; `onPayload` is called on that thread
    /// for each SIP message, in arrival order.
    public func start(onPayload: @escaping @Sendable (WirePayload) -> Void) throws(HEPListenerError) {
        try start(onBatch: { batch in for payload in batch { onPayload(payload) } })
    }

    /// Binds the socket and starts the receive thread; `onBatch` is called on that thread
    /// with the SIP messages of each read (never with an empty batch).
    public func start(onBatch: @escaping @Sendable ([WirePayload]) -> Void) throws(HEPListenerError) {
        try state.withLock { (state: inout RunState) throws(HEPListenerError) in
            guard case .idle = state else { throw .alreadyStarted }
            guard let endpoint = Self.parseEndpoint(address) else { throw .invalidAddress(address) }
            let socket = try Self.openSocket(endpoint.address, endpoint.port, text: address)
            let port = Self.boundPort(socket) ?? endpoint.port
            let signal: StopSignal
            do throws(StopSignal.CreationFailure) {
                signal = try StopSignal()
            } catch {
                close(socket)
                throw .resourceFailure(what: "stop pipe", errno: error.errno)
            }
            // The loop owns the socket from here on and closes it when it ends.
            let loop = HEPReceiveLoop(
                socket: socket, signal: signal, batchSize: batchSize, decoder: decoder, allowedAgents: allowedAgents,
                maxClockSkew: maxClockSkew, counters: counters, logger: logger, onBatch: onBatch)
            let thread: SensorThread
            do throws(PosixThread.StartFailure) {
                thread = try SensorThread("HEP receive thread", priority: priority, signal: signal, logger: logger, loop: loop.run)
            } catch {
                throw .resourceFailure(what: "HEP receive thread", errno: error.code)
            }
            state = .running(thread, port)
            logger.info("HEP listener on \(address) (port \(port)), \(allowedAgents.networks.count) allowed agent prefix(es)")
        }
    }

    /// Stops the receive thread and closes the socket. Idempotent. When called from inside
    /// the callback, it only asks the thread to stop and returns.
    public func stop() {
        let running: SensorThread? = state.withLock { state in
            guard case .running(let thread, _) = state else { return nil }
            state = .finished
            return thread
        }
        running?.stop()
    }

    // MARK: Socket setup

    private static func openSocket(_ address: IPAddress, _ port: UInt16, text: String) throws(HEPListenerError) -> Int32 {
        let family = address.family == .v4 ? AF_INET : AF_INET6
        let fd = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .socketFailed(errno: errno) }
        // A large receive buffer absorbs bursts while the thread delivers (best effort:
        // SO_RCVBUFFORCE needs CAP_NET_ADMIN, SO_RCVBUF is capped by rmem_max).
        var size: Int32 = 8 << 20
        let sizeLength = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeLength) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeLength)
        }
        var rc: Int32
        switch address {
        case .v4(let v):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = v.bigEndian
            rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let hi, let lo):
            if hi == 0 && lo == 0 {
                var off: Int32 = 0 // "[::]" also receives IPv4 agents
                _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, sizeLength)
            }
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin6_addr) { raw in
                for i in 0..<8 {
                    raw[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i)))
                    raw[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i)))
                }
            }
            rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw .bindFailed(address: text, errno: code)
        }
        return fd
    }

    private static func boundPort(_ fd: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        return withUnsafeBytes(of: &storage) { raw in
            // sin_port and sin6_port both sit at offset 2, in network order.
            UInt16(raw[2]) << 8 | UInt16(raw[3])
        }
    }
}

/// The listener's counters, shared with its receive thread.
final class HEPCounters: Sendable {
    let value = Mutex(HEPListenerStatistics())
}
