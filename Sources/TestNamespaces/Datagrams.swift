// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation

/// UDP helpers for the traffic tests: a receiver socket, and a count of what arrives.
public enum Datagrams {
    /// A UDP socket bound to `address:port` (IPv4); nil when it cannot be bound.
    public static func receiver(_ address: String, port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = inet_addr(address)
        let bound = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Drains `fd` for `wait` and counts the datagrams whose payload starts with `token`.
    public static func count(_ fd: Int32, token: String, wait: Duration) -> Int {
        var count = 0
        let deadline = ContinuousClock.now + wait
        var buffer = [UInt8](repeating: 0, count: 2_048)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0, String(decoding: buffer[0..<n], as: UTF8.self).hasPrefix(token) { count += 1 }
        }
        return count
    }
}
