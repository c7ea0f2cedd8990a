// SPDX-License-Identifier: GPL-2.0-or-later

import CBPF
import Glibc
public import NetworkAddress
import PacketDecoding

/// Why the banned-source filter could not be created.
public struct BannedSourceFilterError: Error, Hashable, Sendable, CustomStringConvertible {
    public let what: String
    public let errno: Int32
    public var description: String { "\(what): \(captureErrnoText(errno))" }
}

/// The banned sources the capture sensors' kernel filters drop before they reach user
/// space (``BannedSourceFilterProgram``): an eBPF LRU hash map shared by every capture
/// socket. Whoever makes a kernel ban adds the host here with the same expiry; a lifted
/// ban must be removed, so that the filter never hides a source the firewall lets in.
///
/// Thread-safe: each call is one `bpf(2)` system call on the map, which the kernel
/// serialises. A full map forgets the entries least recently hit (only cost, never
/// correctness: such a source is merely seen again).
public final class BannedSourceFilter: Sendable {
    /// The map's file descriptor (kept open for the process's lifetime of this object).
    public let mapFD: Int32
    /// Most hosts held.
    public let capacity: Int

    /// Creates the map. Throws when the kernel refuses (no `CAP_BPF`/`CAP_SYS_ADMIN`, no
    /// BPF syscall): capture then runs with the classic filter only.
    public init(capacity: Int = 16_384) throws(BannedSourceFilterError) {
        let fd = sipwarden_bpf_lru_hash_create(
            UInt32(BannedSourceFilterProgram.keySize), UInt32(BannedSourceFilterProgram.valueSize), UInt32(max(capacity, 16))
        )
        guard fd >= 0 else { throw BannedSourceFilterError(what: "cannot create the banned-source map", errno: errno) }
        mapFD = fd
        self.capacity = max(capacity, 16)
    }

    deinit { close(mapFD) }

    /// Drops `address`'s packets in the capture filters for `duration` (nil: until removed).
    @discardableResult
    public func insert(_ address: IPAddress, for duration: Duration?) -> Bool {
        let now = Self.monotonicNanoseconds()
        var expiry = UInt64.max
        if let duration {
            let (seconds, atto) = duration.components
            guard seconds >= 0 else { return false }
            let nanos = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
            expiry = nanos.overflow ? .max : now.addingReportingOverflow(nanos.partialValue &+ UInt64(atto / 1_000_000_000)).partialValue
            if expiry < now { expiry = .max }
        }
        let key = BannedSourceFilterProgram.key(address)
        let value = BannedSourceFilterProgram.value(expiresAtMonotonicNanoseconds: expiry)
        return key.withUnsafeBytes { k in value.withUnsafeBytes { v in sipwarden_bpf_map_update(mapFD, k.baseAddress, v.baseAddress) == 0 } }
    }

    /// Lets `address`'s packets through again (its ban was lifted).
    public func remove(_ address: IPAddress) {
        let key = BannedSourceFilterProgram.key(address)
        _ = key.withUnsafeBytes { sipwarden_bpf_map_delete(mapFD, $0.baseAddress) }
    }

    /// Packets of `address` the filters dropped so far, or nil when it is not in the map.
    public func drops(_ address: IPAddress) -> UInt64? {
        let key = BannedSourceFilterProgram.key(address)
        var value = [UInt8](repeating: 0, count: BannedSourceFilterProgram.valueSize)
        let found = key.withUnsafeBytes { k in value.withUnsafeMutableBytes { sipwarden_bpf_map_lookup(mapFD, k.baseAddress, $0.baseAddress) == 0 } }
        guard found else { return nil }
        return value.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
    }

    /// `CLOCK_MONOTONIC`, the clock of `bpf_ktime_get_ns`.
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}
