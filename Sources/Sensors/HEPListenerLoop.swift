// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Logging
import NetworkAddress
import PacketDecoding
import WardenCore

/// `recvmmsg(2)` resolved at run time: Swift's Glibc module does not export it (it is a
/// `_GNU_SOURCE` declaration), and a C shim target would be the only other way. The
/// `@convention(c)` type makes the call follow the C ABI exactly.
private typealias RecvMMsgFunction =
    @convention(c) (
        Int32, UnsafeMutableRawPointer?, UInt32, Int32, UnsafeMutablePointer<timespec>?
    ) -> Int32

private let recvmmsgFunction: RecvMMsgFunction? = {
    guard let symbol = dlsym(nil, "recvmmsg") else { return nil } // nil handle = RTLD_DEFAULT
    return unsafeBitCast(symbol, to: RecvMMsgFunction.self)
}()

/// The receive thread's state: the socket, the batch buffers and the decoding. Used only by
/// that thread once started.
final class HEPReceiveLoop {
    /// Larger than any UDP payload (65 507 bytes over IPv4, 65 527 over IPv6).
    static let slotSize = 65536
    /// `struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; }` laid out as C does.
    static let lengthOffset = MemoryLayout<msghdr>.size
    static let mmsgStride =
        (MemoryLayout<msghdr>.size + 4 + MemoryLayout<msghdr>.alignment - 1)
        & ~(MemoryLayout<msghdr>.alignment - 1)
    /// Reads per wake-up before the stop flag and `poll` are consulted again.
    static let readsPerWakeup = 64

    private let socket: Int32
    private let signal: StopSignal
    private let batchSize: Int
    private let decoder: HEPDecoder
    private let allowedAgents: IPNetworkSet
    private let maxSkew: Int64?
    private let counters: HEPCounters
    private let logger: Logger
    private let onBatch: @Sendable ([WirePayload]) -> Void

    private let data: UnsafeMutableRawPointer
    private let names: UnsafeMutableRawPointer
    private let iovecs: UnsafeMutablePointer<iovec>
    private let headers: UnsafeMutableRawPointer
    private var lastDenialLog: Int64 = 0 // epoch: the first event always logs
    private var lastRejectLog: Int64 = 0

    init(
        socket: Int32, signal: StopSignal, batchSize: Int, decoder: HEPDecoder, allowedAgents: IPNetworkSet,
        maxClockSkew: Duration?, counters: HEPCounters, logger: Logger,
        onBatch: @escaping @Sendable ([WirePayload]) -> Void
    ) {
        self.socket = socket
        self.signal = signal
        self.batchSize = batchSize
        self.decoder = decoder
        self.allowedAgents = allowedAgents
        self.maxSkew = maxClockSkew.map { $0.microsecondsClamped }
        self.counters = counters
        self.logger = logger
        self.onBatch = onBatch
        data = .allocate(byteCount: batchSize * Self.slotSize, alignment: 16)
        names = .allocate(byteCount: batchSize * MemoryLayout<sockaddr_storage>.size, alignment: MemoryLayout<sockaddr_storage>.alignment)
        names.initializeMemory(as: UInt8.self, repeating: 0, count: batchSize * MemoryLayout<sockaddr_storage>.size)
        iovecs = .allocate(capacity: batchSize)
        headers = .allocate(byteCount: batchSize * Self.mmsgStride, alignment: MemoryLayout<msghdr>.alignment)
        headers.initializeMemory(as: UInt8.self, repeating: 0, count: batchSize * Self.mmsgStride)
        for i in 0..<batchSize {
            iovecs.advanced(by: i).initialize(to: iovec(iov_base: data + i * Self.slotSize, iov_len: Self.slotSize))
            let header = (headers + i * Self.mmsgStride).bindMemory(to: msghdr.self, capacity: 1)
            header.pointee.msg_name = names + i * MemoryLayout<sockaddr_storage>.size
            header.pointee.msg_iov = iovecs.advanced(by: i)
            header.pointee.msg_iovlen = 1
        }
    }

    deinit {
        close(socket)
        data.deallocate()
        names.deallocate()
        iovecs.deallocate()
        headers.deallocate()
    }

    private func header(_ i: Int) -> UnsafeMutablePointer<msghdr> {
        (headers + i * Self.mmsgStride).assumingMemoryBound(to: msghdr.self)
    }

    func run() {
        var fds = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signal.readEnd, events: Int16(POLLIN), revents: 0),
        ]
        while !signal.isSet {
            let rc = poll(&fds, 2, -1)
            if rc < 0 {
                if errno == EINTR { continue }
                logger.error("HEP listener poll failed: \(errnoText(errno)); stopping")
                return
            }
            if signal.isSet { return }
            if fds[0].revents & Int16(POLLERR) != 0 {
                // Drain a pending socket error (e.g. ICMP) so poll does not spin.
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(socket, SOL_SOCKET, SO_ERROR, &code, &length)
            }
            for _ in 0..<Self.readsPerWakeup {
                if signal.isSet { return }
                let count = receive()
                if count <= 0 { break }
                process(count)
                if count < batchSize { break }
            }
        }
    }

    /// Reads up to `batchSize` datagrams without blocking; returns how many (0 when none).
    private func receive() -> Int {
        for i in 0..<batchSize {
            let h = header(i)
            h.pointee.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            h.pointee.msg_flags = 0
            h.pointee.msg_control = nil
            h.pointee.msg_controllen = 0
            (headers + i * Self.mmsgStride + Self.lengthOffset).storeBytes(of: UInt32(0), as: UInt32.self)
        }
        while true {
            if let recvmmsgFunction {
                let n = recvmmsgFunction(socket, headers, UInt32(batchSize), Int32(MSG_DONTWAIT), nil)
                if n >= 0 { return Int(n) }
            } else {
                // Fallback: one recvmsg per slot.
                var got = 0
                while got < batchSize {
                    let n = recvmsg(socket, header(got), Int32(MSG_DONTWAIT))
                    if n < 0 { break }
                    (headers + got * Self.mmsgStride + Self.lengthOffset).storeBytes(of: UInt32(truncatingIfNeeded: n), as: UInt32.self)
                    got += 1
                }
                if got > 0 { return got }
            }
            let code = errno
            if code == EINTR { continue }
            if code != EAGAIN && code != EWOULDBLOCK {
                counters.value.withLock { $0.receiveErrors += 1 }
                logger.warning("HEP listener receive failed: \(errnoText(code))")
            }
            return 0
        }
    }

    private func process(_ count: Int) {
        let now = Self.now()
        var delta = HEPListenerStatistics()
        delta.received = count
        delta.batches = 1
        var out: [WirePayload] = []
        out.reserveCapacity(count)
        var deniedSender: IPAddress?
        var rejection: (IPAddress, HEPError)?
        for i in 0..<count {
            let h = header(i)
            let length = Int((headers + i * Self.mmsgStride + Self.lengthOffset).load(as: UInt32.self))
            guard let sender = Self.address(names + i * MemoryLayout<sockaddr_storage>.size, length: Int(h.pointee.msg_namelen)),
                allowedAgents.contains(sender)
            else {
                delta.deniedSenders += 1
                deniedSender = deniedSender ?? Self.address(names + i * MemoryLayout<sockaddr_storage>.size, length: Int(h.pointee.msg_namelen))
                continue
            }
            if h.pointee.msg_flags & Int32(MSG_TRUNC) != 0 {
                delta.rejected[.truncated, default: 0] += 1
                continue
            }
            let datagram = UnsafeRawBufferPointer(start: data + i * Self.slotSize, count: min(length, Self.slotSize))
            do throws(HEPError) {
                switch try decoder.decode(datagram, agent: sender, receivedAt: now) {
                case .sip(var payload):
                    if let maxSkew, abs(payload.time.microseconds - now.microseconds) > maxSkew {
                        payload.time = now
                        delta.clockCorrected += 1
                    }
                    out.append(payload)
                case .nonSIP:
                    delta.nonSIP += 1
                }
            } catch {
                delta.rejected[error.reason, default: 0] += 1
                rejection = (sender, error)
            }
        }
        delta.accepted = out.count
        let totals = counters.value.withLock { total in
            total.received += delta.received
            total.batches += delta.batches
            total.accepted += delta.accepted
            total.nonSIP += delta.nonSIP
            total.deniedSenders += delta.deniedSenders
            total.clockCorrected += delta.clockCorrected
            for (reason, n) in delta.rejected { total.rejected[reason, default: 0] += n }
            return (total.deniedSenders, total.rejectedTotal)
        }
        // At most one warning per kind every 10 s: a flood must not become a log flood.
        if delta.deniedSenders > 0, now.microseconds - lastDenialLog >= 10_000_000 {
            lastDenialLog = now.microseconds
            let who = deniedSender.map(\.description) ?? "an unknown address family"
            logger.warning("HEP from \(who), which is not an allowed agent, dropped (\(totals.0) so far)")
        }
        if let (sender, error) = rejection, now.microseconds - lastRejectLog >= 10_000_000 {
            lastRejectLog = now.microseconds
            logger.warning("malformed HEP from \(sender) dropped: \(error) (\(totals.1) rejected so far)")
        }
        if !out.isEmpty { onBatch(out) }
    }

    /// The sender of a datagram, IPv4-mapped IPv6 reported as IPv4.
    static func address(_ name: UnsafeMutableRawPointer, length: Int) -> IPAddress? {
        guard length >= MemoryLayout<sa_family_t>.size else { return nil }
        let family = Int32(name.load(as: sa_family_t.self))
        if family == AF_INET, length >= MemoryLayout<sockaddr_in>.size {
            let sin = name.load(as: sockaddr_in.self)
            return .v4(UInt32(bigEndian: sin.sin_addr.s_addr))
        }
        if family == AF_INET6, length >= MemoryLayout<sockaddr_in6>.size {
            var sin6 = name.load(as: sockaddr_in6.self)
            return withUnsafeBytes(of: &sin6.sin6_addr) { IPAddress(bytes: $0) }?.unmapped
        }
        return nil
    }

    static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), microseconds: Int64(ts.tv_nsec / 1000))
    }
}
