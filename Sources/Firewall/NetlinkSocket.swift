// SPDX-License-Identifier: GPL-2.0-or-later
import Glibc

/// Why a netlink exchange failed.
struct NetlinkError: Error, Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        /// A system call on the socket failed (socket, bind, sendto, recv, poll).
        case system
        /// The kernel refused the batch (an `NLMSG_ERROR` with a non-zero errno); the
        /// socket is still usable.
        case kernel
        /// The kernel's reply made no sense (malformed, truncated, overrun).
        case unexpectedReply
        /// The acknowledgements did not all arrive within the deadline.
        case timedOut
    }

    let kind: Kind
    /// The errno, for `.system` and `.kernel`; 0 otherwise.
    let errno: Int32
    /// What failed, in words.
    let message: String

    var description: String { message }

    /// As the firewall reports it: `.commandFailed` with "<strerror> (errno N)" for kernel
    /// refusals, `.unavailable` for the rest.
    var firewallError: FirewallError {
        FirewallError(kind == .kernel ? .commandFailed : .unavailable, message)
    }

    static func system(_ call: String, errno code: Int32) -> NetlinkError {
        NetlinkError(kind: .system, errno: code, message: "netlink \(call): \(describe(errno: code))")
    }

    static func kernel(errno code: Int32) -> NetlinkError {
        NetlinkError(kind: .kernel, errno: code, message: describe(errno: code))
    }

    /// "<strerror> (errno N)". glibc ≥ 2.32 returns constant strings from `strerror` for
    /// known codes (thread-safe); unknown ones use a thread-local buffer.
    static func describe(errno code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}

/// A `NETLINK_NETFILTER` socket that sends nf_tables batches and waits for their
/// acknowledgements.
///
/// Not thread-safe: `NFTablesFirewall` keeps it inside its mutex. The descriptor is
/// closed on deinit.
final class NetlinkSocket {
    /// The socket. -1 never: `init` throws instead.
    private let descriptor: Int32
    /// Our netlink port id (assigned by the kernel at bind).
    let portID: UInt32
    /// Next sequence number to use.
    private var sequence: UInt32
    private var buffer: [UInt8]
    /// Set when an exchange ended early: replies to it may still be queued.
    private var mayHoldStaleReplies = false
    /// Receive buffer size: replies to a batch are a few dozen bytes each.
    private static let receiveCapacity = 64 * 1_024

    /// Opens and binds the socket in the caller's network namespace.
    init() throws(NetlinkError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NetlinkConstant.netlinkNetfilter)
        guard fd >= 0 else { throw .system("socket", errno: errno) }
        var address = Self.netlinkAddress(portID: 0)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, Self.netlinkAddressLength) }
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
        guard named == 0, length >= Self.netlinkAddressLength else {
            let code = errno
            close(fd)
            throw .system("getsockname", errno: code)
        }
        // struct sockaddr_nl: u16 family, u16 pad, u32 pid, u32 groups.
        portID = withUnsafeBytes(of: &assigned) { $0.load(fromByteOffset: 4, as: UInt32.self) }
        // Error replies then echo only the failing header, not the whole request. Optional.
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_NETLINK, NetlinkConstant.netlinkCapAck, &on, socklen_t(MemoryLayout<Int32>.size))
        descriptor = fd
        sequence = UInt32(truncatingIfNeeded: time(nil))
        buffer = [UInt8](repeating: 0, count: Self.receiveCapacity)
    }

    deinit {
        close(descriptor)
    }

    /// Where the next batch's sequence numbers start.
    var nextSequence: UInt32 { sequence }

    /// Sends `batch` (finished) in one datagram and waits until the kernel acknowledged
    /// each of its change messages, or reported an error, or `timeout` passed.
    ///
    /// The kernel handles a batch synchronously inside `sendto`, so the replies are
    /// normally queued by the time it returns; the deadline only bounds the unexpected.
    func send(_ batch: inout NetlinkSetElementBatch, timeout: Duration) throws(NetlinkError) {
        let bytes = batch.finish()
        sequence = batch.sequenceAfter
        guard !batch.isEmpty else { return }
        if mayHoldStaleReplies { discardPending() }
        // Cleared only once every acknowledgement of this batch has been read.
        mayHoldStaleReplies = true
        var kernel = Self.netlinkAddress(portID: 0)
        var sent: Int
        repeat {
            sent = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &kernel) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, raw.baseAddress, raw.count, 0, $0, Self.netlinkAddressLength)
                    }
                }
            }
        } while sent < 0 && errno == EINTR
        guard sent >= 0 else { throw .system("sendto", errno: errno) }
        guard sent == bytes.count else {
            throw NetlinkError(kind: .unexpectedReply, errno: 0, message: "netlink sendto sent \(sent) of \(bytes.count) bytes")
        }

        var pending = Set(batch.changeSequences)
        let first = batch.beginSequence
        let span = batch.sequenceAfter &- first // every sequence of this batch is first ..< first + span
        let deadline = ContinuousClock.now + timeout
        // Each round either reads a datagram or waits; bounded by the deadline and a count.
        for _ in 0..<10_000 {
            guard let datagram = try receive(until: deadline) else {
                throw NetlinkError(kind: .timedOut, errno: 0,
                                   message: "netlink: no acknowledgement within \(timeout) (\(pending.count) of \(batch.changeSequences.count) missing)")
            }
            let (replies, malformed) = NetlinkReply.parse(buffer[0..<datagram])
            for reply in replies {
                // Not ours: a late reply to an earlier batch, or another port's.
                guard reply.portID == portID || reply.portID == 0, reply.sequence &- first < span else { continue }
                switch reply.kind {
                case .acknowledged:
                    pending.remove(reply.sequence)
                case let .failed(errno: code):
                    // The whole batch is aborted; later replies are discarded next time.
                    throw .kernel(errno: code)
                case let .other(type: type):
                    throw NetlinkError(kind: .unexpectedReply, errno: 0, message: "netlink: unexpected reply of type \(type)")
                }
            }
            if malformed {
                throw NetlinkError(kind: .unexpectedReply, errno: 0, message: "netlink: malformed reply of \(datagram) bytes")
            }
            if pending.isEmpty {
                mayHoldStaleReplies = false
                return
            }
        }
        throw NetlinkError(kind: .unexpectedReply, errno: 0, message: "netlink: too many replies")
    }

    /// Reads one datagram into `buffer`; nil when the deadline passed first.
    private func receive(until deadline: ContinuousClock.Instant) throws(NetlinkError) -> Int? {
        for _ in 0..<10_000 {
            let count = buffer.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC))
            }
            if count >= 0 {
                guard count <= buffer.count else {
                    throw NetlinkError(kind: .unexpectedReply, errno: 0, message: "netlink: reply of \(count) bytes truncated")
                }
                return count
            }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw .system("recv", errno: code) }
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return nil }
            let (seconds, attoseconds) = left.components
            let milliseconds = Int32(clamping: min(seconds, 86_400) * 1_000 + attoseconds / 1_000_000_000_000_000 + 1)
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0, errno != EINTR { throw .system("poll", errno: errno) }
        }
        return nil
    }

    /// Drops whatever is queued (replies to an earlier batch that failed or timed out).
    private func discardPending() {
        for _ in 0..<64 {
            let count = buffer.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
            }
            if count < 0, errno != EINTR { return }
        }
    }

    private static let netlinkAddressLength = socklen_t(12) // sizeof(struct sockaddr_nl)

    /// A `struct sockaddr_nl` (<linux/netlink.h>) inside a `sockaddr_storage`.
    private static func netlinkAddress(portID: UInt32) -> sockaddr_storage {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_NETLINK), toByteOffset: 0, as: sa_family_t.self)
            raw.storeBytes(of: portID, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: UInt32(0), toByteOffset: 8, as: UInt32.self)
        }
        return storage
    }
}
