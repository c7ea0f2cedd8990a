// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Netlink

/// A `NETLINK_NETFILTER` socket bound to one NFLOG group: the NFLOG configuration
/// exchange on top of `NetlinkSocket`. Used by `FloodLogListener.start` (configuration),
/// then only by the receive thread. Closes the descriptor on deinit.
final class NFLogSocket {
    /// The socket shell (receive, send, acknowledgements).
    let netlink: NetlinkSocket
    let group: UInt16

    init(group: UInt16, receiveBufferSize: Int32) throws(FloodLogError) {
        self.group = group
        // A large kernel buffer absorbs a burst of new flooders while the handler runs (best
        // effort: SO_RCVBUFFORCE needs CAP_NET_ADMIN, SO_RCVBUF is capped by rmem_max).
        // nfnetlink_log batches into datagrams of at most its buffer size (4 KiB by
        // default); the shell's 64 KiB read buffer leaves room for any kernel setting.
        do throws(NetlinkError) {
            netlink = try NetlinkSocket(receiveBufferSize: receiveBufferSize)
        } catch {
            throw .socketFailed(call: error.call ?? "socket", errno: error.errno)
        }
    }

    /// The socket descriptor, for `poll`.
    var descriptor: Int32 { netlink.descriptor }

    /// Binds the group and sets its mode, waiting for each acknowledgement. Returns the
    /// packets that arrived meanwhile (the group is live as soon as it is bound).
    func configure(copyRange: UInt32, timeout: Duration) throws(FloodLogError) -> [NFLogPacket] {
        var early: [NFLogPacket] = []
        let bindError = try exchange(step: "bind", timeout: timeout, early: &early) { NFLogMessage.bind(group: group, sequence: $0) }
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
        // Queue threshold 1: each logged packet is sent at once; the 10 ms timeout is moot then.
        let modeError = try exchange(step: "configure", timeout: timeout, early: &early) { sequence in
            NFLogMessage.mode(group: group, sequence: sequence, copyRange: copyRange, queueThreshold: 1, flushTimeout: 1)
        }
        guard modeError == 0 else { throw .configurationRefused(group: group, step: "configure", errno: modeError) }
        return early
    }

    /// Releases the group (best effort: closing the socket releases it too).
    func unbind() {
        try? netlink.send(NFLogMessage.unbind(group: group, sequence: netlink.takeSequence()))
    }

    /// Sends one request and waits for its acknowledgement; returns its errno (0 = success).
    /// Packets of our group that arrive meanwhile are kept in `early`.
    private func exchange(
        step: String, timeout: Duration, early: inout [NFLogPacket],
        request: (UInt32) -> [UInt8]
    ) throws(FloodLogError) -> Int32 {
        let sequence = netlink.takeSequence()
        let group = group
        do throws(NetlinkError) {
            try netlink.request(request(sequence), sequence: sequence, timeout: timeout) { message in
                guard message.header.type == NFLogConstant.packetType,
                    case .success(let packet) = NFLogMessage.packet(message), packet.group == group
                else { return }
                early.append(packet)
            }
            return 0
        } catch {
            switch error.kind {
            case .kernel: return error.errno
            case .timedOut: throw .noAcknowledgement(group: group, step: step)
            case .system: throw .socketFailed(call: error.call ?? "netlink", errno: error.errno)
            case .unexpectedReply: throw .configurationRefused(group: group, step: step, errno: EPROTO)
            }
        }
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
