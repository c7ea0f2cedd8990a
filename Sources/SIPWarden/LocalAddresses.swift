// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

#if canImport(Glibc)
    import Glibc
#endif

/// The addresses of this host's interfaces (in the network namespace the daemon runs in).
///
/// Like fail2ban's `ignoreself`, sipwarden never bans its own addresses: a PBX that fails
/// to register with its upstream trunk, or a local test client, must not cut the host off
/// from itself. The wire sensors also treat them as the server side of every exchange.
public enum LocalAddresses {
    public static func current() -> IPNetworkSet {
        var set = IPNetworkSet()
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return set }
        defer { freeifaddrs(head) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr else { continue }
            switch Int32(sa.pointee.sa_family) {
            case AF_INET:
                let address = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                set.insert(IPNetwork(host: .v4(UInt32(bigEndian: address))))
            case AF_INET6:
                let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
                }
                if let a = IPAddress(bytes: bytes) { set.insert(IPNetwork(host: a)) }
            default:
                continue
            }
        }
        return set
    }
}
