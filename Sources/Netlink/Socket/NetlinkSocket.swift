// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc

/// What one `receive` found.
///
/// `datagram` points into the socket's receive buffer: valid until the next receive on
/// the same socket.
public enum NetlinkReceipt {
    /// A datagram from the kernel. `truncated`: it was longer than the receive buffer and
    /// its tail is lost (`MSG_TRUNC`).
    case datagram(UnsafeRawBufferPointer, truncated: Bool)
    /// A datagram from another socket (not the kernel), dropped unread.
    case foreignSender
    /// Nothing queued.
    case wouldBlock
}

/// A raw netlink socket (by default `NETLINK_NETFILTER`) in the caller's network namespace:
/// sends requests and nfnetlink batches, receives datagrams, and waits for the kernel's
/// acknowledgements of given sequence numbers with a deadline.
///
/// The I/O shell around the pure codec (`NetlinkBatch`, `NetlinkMessageReader`). Not
/// thread-safe: one owner at a time (the firewall keeps it inside its mutex, the NFLOG
/// listener on its receive thread). The descriptor is closed on deinit.
public final class NetlinkSocket {
    /// The socket descriptor (never -1: `init` throws instead).
    public let descriptor: Int32
    /// Our netlink port id, assigned by the kernel at bind.
    public let portID: UInt32
    /// Where the next request's or batch's sequence numbers start.
    public private(set) var nextSequence: UInt32
    /// Receive buffer (replies, logged packets); allocated once.
    private let buffer: UnsafeMutableRawBufferPointer
    /// Set when an exchange ended early: replies to it may still be queued.
    private var mayHoldStaleReplies = false

    /// Default receive buffer: a datagram from nfnetlink is at most a page or the socket's
    /// `NLMSG_GOODSIZE`-sized skb; 64 KiB leaves room for any kernel setting.
    public static let defaultBufferCapacity = 64 * 1_024

    /// Opens and binds a socket of netlink `protocol`.
    /// - Parameters:
    ///   - protocol: the netlink family, `NETLINK_NETFILTER` by default.
    ///   - receiveBufferSize: `SO_RCVBUF` to ask for (forced past `rmem_max` with
    ///     `SO_RCVBUFFORCE` when permitted); nil keeps the system default. Best effort.
    ///   - bufferCapacity: bytes of the user-space buffer one datagram is read into.
    public init(
        protocol: Int32 = NetlinkProtocol.netfilter, receiveBufferSize: Int32? = nil,
        bufferCapacity: Int = NetlinkSocket.defaultBufferCapacity
    ) throws(NetlinkError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), `protocol`)
        guard fd >= 0 else { throw .system("socket", errno: errno) }
        var address = Self.netlinkAddress()
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, Self.addressLength) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .system("bind", errno: code)
        }
        var assigned = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &assigned) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0, length >= Self.addressLength else {
            let code = errno
            close(fd)
            throw .system("getsockname", errno: code)
        }
        // struct sockaddr_nl: u16 family, u16 pad, u32 pid, u32 groups.
        portID = withUnsafeBytes(of: &assigned) { $0.load(fromByteOffset: 4, as: UInt32.self) }
        // Error replies then echo only the failing header, not the whole request. Optional.
        var on: Int32 = 1
        _ = setsockopt(fd, NetlinkProtocol.socketOptionLevel, NetlinkProtocol.capAcknowledgement, &on, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBufferSize {
            let sizeLength = socklen_t(MemoryLayout<Int32>.size)
            if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeLength) != 0 {
                _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeLength)
            }
        }
        descriptor = fd
        nextSequence = UInt32(truncatingIfNeeded: time(nil))
        buffer = .allocate(byteCount: max(bufferCapacity, NetlinkHeader.size), alignment: 8)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

    /// Reserves one sequence number for a single request and returns it.
    public func takeSequence() -> UInt32 {
        let sequence = nextSequence
        nextSequence &+= 1
        return sequence
    }

    // MARK: Sending

    /// Sends `bytes` to the kernel in one datagram.
    public func send(_ bytes: [UInt8]) throws(NetlinkError) {
        var kernel = Self.netlinkAddress()
        for _ in 0..<100 {
            let sent = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &kernel) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, raw.baseAddress, raw.count, 0, $0, Self.addressLength)
                    }
                }
            }
            if sent == bytes.count { return }
            if sent < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .system("sendto", errno: code)
            }
            throw .unexpectedReply("sendto sent \(sent) of \(bytes.count) bytes")
        }
        throw .system("sendto", errno: EINTR)
    }

    /// Sends `batch` (finishing it) and waits until the kernel acknowledged each of its
    /// messages sent with `NLM_F_ACK`, or refused one (`.kernel` with its errno: nf_tables
    /// then aborted the whole batch), or `timeout` passed (`.timedOut`). The socket's
    /// sequence numbers continue after the batch. An empty batch is not sent.
    ///
    /// The kernel handles a batch synchronously inside `sendto`, so the replies are normally
    /// queued by the time it returns; the deadline only bounds the unexpected.
    public func send(_ batch: inout NetlinkBatch, timeout: Duration) throws(NetlinkError) {
        let bytes = batch.finish()
        nextSequence = batch.sequenceAfter
        guard !batch.isEmpty else { return }
        if mayHoldStaleReplies { discardPending() }
        // Cleared only once every acknowledgement of this batch has been read.
        mayHoldStaleReplies = true
        try send(bytes)
        var pending = PendingAcknowledgements(
            batch.acknowledgedSequences, first: batch.beginSequence,
            span: batch.sequenceAfter &- batch.beginSequence)
        try awaitAcknowledgements(&pending, timeout: timeout, passesUnsolicited: false) { _ in }
        mayHoldStaleReplies = false
    }

    /// Sends one request (built with `NLM_F_ACK` and sequence `sequence`) and waits for its
    /// acknowledgement. A refusal throws `.kernel` with its errno. Messages other than the
    /// acknowledgement that arrive meanwhile (NFLOG packets, …) go to `unsolicited`.
    public func request(
        _ bytes: [UInt8], sequence: UInt32, timeout: Duration,
        unsolicited: (NetlinkMessage) -> Void
    ) throws(NetlinkError) {
        try send(bytes)
        var pending = PendingAcknowledgements([sequence], first: sequence, span: 1)
        try awaitAcknowledgements(&pending, timeout: timeout, passesUnsolicited: true, unsolicited)
    }

    // MARK: Receiving

    /// Reads one datagram without blocking (`EINTR` is retried). Other failures, `ENOBUFS`
    /// (the kernel dropped messages for want of socket buffer) included, throw `.system`.
    public func receive() throws(NetlinkError) -> NetlinkReceipt {
        var sender = sockaddr_storage()
        for _ in 0..<100 {
            var senderLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &sender) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC), $0, &senderLength)
                }
            }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
                throw .system("recvfrom", errno: code)
            }
            // struct sockaddr_nl: u16 family, u16 pad, u32 pid (0 = the kernel), u32 groups.
            let fromKernel = withUnsafeBytes(of: &sender) { raw in
                senderLength >= Self.addressLength
                    && raw.load(fromByteOffset: 0, as: sa_family_t.self) == sa_family_t(AF_NETLINK)
                    && raw.load(fromByteOffset: 4, as: UInt32.self) == 0
            }
            guard fromKernel else { return .foreignSender }
            let usable = min(count, buffer.count)
            return .datagram(UnsafeRawBufferPointer(rebasing: buffer[0..<usable]), truncated: count > usable)
        }
        return .wouldBlock
    }

    /// Waits until the socket is readable or `deadline` passed; false on the deadline.
    public func waitReadable(until deadline: ContinuousClock.Instant) throws(NetlinkError) -> Bool {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return false }
        let (seconds, attoseconds) = left.components
        let milliseconds = Int32(clamping: min(seconds, 86_400) * 1_000 + attoseconds / 1_000_000_000_000_000 + 1)
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, milliseconds)
        if ready < 0 {
            let code = errno
            if code != EINTR { throw .system("poll", errno: code) }
        }
        return true
    }

    // MARK: Acknowledgements

    /// Reads datagrams until every sequence of `pending` is acknowledged. An `NLMSG_ERROR`
    /// inside the exchange's window with a non-zero errno throws `.kernel`; one outside it
    /// is a late reply to an earlier exchange and is skipped. Other messages go to
    /// `unsolicited` when `passesUnsolicited`, else throw `.unexpectedReply` when inside the window.
    private func awaitAcknowledgements(
        _ pending: inout PendingAcknowledgements, timeout: Duration, passesUnsolicited: Bool,
        _ unsolicited: (NetlinkMessage) -> Void
    ) throws(NetlinkError) {
        let total = pending.count
        let deadline = ContinuousClock.now + timeout
        // Each round reads a datagram or waits; bounded by the deadline and a count.
        for _ in 0..<10_000 {
            let datagram: UnsafeRawBufferPointer
            do throws(NetlinkError) {
                switch try receive() {
                case .datagram(let bytes, let truncated):
                    guard !truncated else { throw .unexpectedReply("reply longer than the \(buffer.count)-byte buffer") }
                    datagram = bytes
                case .foreignSender:
                    continue
                case .wouldBlock:
                    guard try waitReadable(until: deadline) else {
                        throw NetlinkError(
                            kind: .timedOut, errno: 0,
                            message: "netlink: no acknowledgement within \(timeout) (\(pending.count) of \(total) missing)")
                    }
                    continue
                }
            } catch  where error.errno == ENOBUFS {
                continue // messages were dropped; a lost acknowledgement ends in the deadline
            }
            var reader = NetlinkMessageReader(datagram)
            while true {
                let next: NetlinkMessage?
                do throws(NetlinkDecodeError) {
                    next = try reader.next()
                } catch {
                    throw .unexpectedReply("malformed reply of \(datagram.count) bytes: \(error)")
                }
                guard let message = next else { break }
                try handle(message, &pending, passesUnsolicited: passesUnsolicited, unsolicited)
            }
            if pending.isEmpty { return }
        }
        throw .unexpectedReply("too many replies")
    }

    private func handle(
        _ message: NetlinkMessage, _ pending: inout PendingAcknowledgements, passesUnsolicited: Bool,
        _ unsolicited: (NetlinkMessage) -> Void
    ) throws(NetlinkError) {
        let header = message.header
        let ours = (header.portID == portID || header.portID == 0) && pending.inWindow(header.sequence)
        guard message.isError else {
            if passesUnsolicited {
                unsolicited(message)
            } else if ours {
                throw .unexpectedReply("unexpected reply of type \(header.type)")
            }
            return
        }
        guard ours else { return } // a late reply to an earlier exchange, or another port's
        let acknowledgement: NetlinkAcknowledgement
        do throws(NetlinkDecodeError) {
            acknowledgement = try message.acknowledgement()
        } catch {
            throw .unexpectedReply("malformed acknowledgement: \(error)")
        }
        guard acknowledgement.errno == 0 else { throw .kernel(errno: acknowledgement.errno) }
        pending.remove(header.sequence)
    }

    /// Drops whatever is queued (replies to an earlier batch that failed or timed out).
    private func discardPending() {
        for _ in 0..<64 {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if count < 0, errno != EINTR { return }
        }
    }

    private static let addressLength = socklen_t(12) // sizeof(struct sockaddr_nl)

    /// A `struct sockaddr_nl` (<linux/netlink.h>) for port 0: the kernel, or "assign one" at bind.
    private static func netlinkAddress() -> sockaddr_storage {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_NETLINK), toByteOffset: 0, as: sa_family_t.self)
        }
        return storage
    }
}
