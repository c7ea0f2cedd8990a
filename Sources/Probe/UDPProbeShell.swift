// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import NetworkAddress

/// Why a probe could not run to completion.
public enum ProbeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configuration was refused.
    case configuration(ProbeConfigurationError)
    /// A socket call failed (`call`, errno).
    case socket(call: String, errno: Int32)
    /// The target answered with ICMP port unreachable: nothing listens there.
    case unreachable(String)

    public var description: String {
        switch self {
        case .configuration(let e): return e.description
        case .socket(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .unreachable(let target): return "nothing answers SIP on \(target) (ICMP port unreachable)"
        }
    }
}

/// Runs an ``EnumerationProbe`` over one connected UDP socket (blocking the calling
/// thread for the duration of the probe, at most ``ProbeConfiguration/maximumDuration``
/// plus a few seconds).
public enum UDPProbeShell {
    /// Probes `target` and returns the report.
    ///
    /// - Parameters:
    ///   - target: a target that passed the safety rules (``ProbeTarget/init(parsing:iOwnThisHost:transport:)``).
    ///   - configuration: what to send.
    ///   - random: source of branches, tags, Call-IDs and unknown users.
    /// - Throws: ``ProbeError``.
    public static func run(
        target: ProbeTarget, configuration: ProbeConfiguration,
        random: any RandomNumberGenerator = SystemRandomNumberGenerator()
    ) throws(ProbeError) -> ProbeReport {
        do throws(ProbeConfigurationError) {
            try configuration.validate()
        } catch {
            throw .configuration(error)
        }
        let socket = try ConnectedUDPSocket(to: target.address, port: target.port)
        defer { socket.close() }
        let local = try socket.localEndpoint()
        var probe: EnumerationProbe
        do throws(ProbeConfigurationError) {
            probe = try EnumerationProbe(target: target, local: local, configuration: configuration, random: random)
        } catch {
            throw .configuration(error)
        }
        let origin = monotonicNow()
        func now() -> Duration { monotonicNow() - origin }
        let hardLimit = configuration.maximumDuration + .seconds(5)
        try send(probe.start(at: now()), on: socket, target: target)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var iterations = 0
        while !probe.isFinished, iterations < 1_000_000 {
            iterations += 1
            let current = now()
            guard current < hardLimit else { break }
            var waitMilliseconds: Int32 = 1000
            if let wake = probe.nextWakeup {
                let remaining = wake - current
                if remaining <= .zero {
                    waitMilliseconds = 0
                } else {
                    waitMilliseconds = Int32(min(1000, max(1, milliseconds(remaining).rounded(.up))))
                }
            }
            if waitMilliseconds > 0, try socket.waitReadable(milliseconds: waitMilliseconds),
                let datagram = try socket.receive(into: &buffer, target: target)
            {
                try send(probe.receive(datagram: datagram, at: now()), on: socket, target: target)
            }
            try send(probe.advance(to: now()), on: socket, target: target)
        }
        return probe.report()
    }

    private static func send(_ datagrams: [[UInt8]], on socket: ConnectedUDPSocket, target: ProbeTarget) throws(ProbeError) {
        for datagram in datagrams { try socket.send(datagram, target: target) }
    }

    static func monotonicNow() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
    }
}

/// A UDP socket connected to one address: it only receives datagrams from that
/// address, and an ICMP port unreachable surfaces as `ECONNREFUSED`.
struct ConnectedUDPSocket {
    let fd: Int32

    init(to address: IPAddress, port: UInt16) throws(ProbeError) {
        let family = address.family == .v4 ? AF_INET : AF_INET6
        let fd = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket(call: "socket", errno: errno) }
        var result: Int32 = 0
        switch address {
        case .v4(let v):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = v.bigEndian
            result = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let hi, let lo):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin6_addr) { raw in
                for k in 0..<8 {
                    raw[k] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(k)))
                    raw[8 + k] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(k)))
                }
            }
            result = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard result == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw .socket(call: "connect", errno: code)
        }
        self.fd = fd
    }

    func close() { _ = Glibc.close(fd) }

    /// The address and port the kernel chose for the socket.
    func localEndpoint() throws(ProbeError) -> ProbeLocalEndpoint {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw .socket(call: "getsockname", errno: errno) }
        let endpoint: ProbeLocalEndpoint? = withUnsafeBytes(of: &storage) { raw -> ProbeLocalEndpoint? in
            let family = raw.load(fromByteOffset: 0, as: sa_family_t.self)
            if family == sa_family_t(AF_INET) {
                let sa = raw.load(as: sockaddr_in.self)
                return ProbeLocalEndpoint(address: .v4(UInt32(bigEndian: sa.sin_addr.s_addr)), port: UInt16(bigEndian: sa.sin_port))
            }
            if family == sa_family_t(AF_INET6) {
                let sa = raw.load(as: sockaddr_in6.self)
                let address = withUnsafeBytes(of: sa.sin6_addr) { IPAddress(bytes: Array($0)) }
                return address.map { ProbeLocalEndpoint(address: $0, port: UInt16(bigEndian: sa.sin6_port)) }
            }
            return nil
        }
        guard let endpoint else { throw .socket(call: "getsockname", errno: EAFNOSUPPORT) }
        return endpoint
    }

    /// Waits until a datagram (or an error) is pending; false on timeout.
    func waitReadable(milliseconds: Int32) throws(ProbeError) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = poll(&pfd, 1, milliseconds)
        if n < 0 {
            if errno == EINTR { return false }
            throw .socket(call: "poll", errno: errno)
        }
        return n > 0
    }

    /// Receives one datagram without blocking; nil when none is pending.
    func receive(into buffer: inout [UInt8], target: ProbeTarget) throws(ProbeError) -> [UInt8]? {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n < 0 {
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return nil }
            if code == ECONNREFUSED { throw .unreachable(target.description) }
            throw .socket(call: "recv", errno: code)
        }
        return Array(buffer[0..<min(n, buffer.count)])
    }

    /// Sends one datagram.
    func send(_ datagram: [UInt8], target: ProbeTarget) throws(ProbeError) {
        let n = datagram.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n < 0 {
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return } // UDP: a lost datagram is retransmitted
            if code == ECONNREFUSED { throw .unreachable(target.description) }
            throw .socket(call: "send", errno: code)
        }
    }
}
