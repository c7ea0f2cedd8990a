// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Random (version 4) UUIDs cut from a pool of kernel randomness refilled 4 KiB at a time.
///
/// A ban ID is made on the sensor's thread before the kernel call; Foundation's `UUID()`
/// asks the kernel for 16 bytes each time (a `getrandom(2)` system call, several
/// microseconds on a virtual machine). The pool reads the kernel once per 256 IDs. The bytes
/// are the kernel's CSPRNG output either way; only the call pattern changes.
final class RandomUUIDPool: Sendable {
    static let shared = RandomUUIDPool()

    private static let poolBytes = 4096
    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: RandomUUIDPool.poolBytes)
        var used = RandomUUIDPool.poolBytes
    }

    private let pool = Mutex(Pool())

    /// A fresh random UUID (RFC 9562 version 4, variant 10).
    func next() -> UUID {
        var b: uuid_t = pool.withLock { p in
            if p.used + 16 > p.bytes.count {
                Self.fill(&p.bytes)
                p.used = 0
            }
            defer { p.used += 16 }
            return p.bytes.withUnsafeBytes { raw in
                raw.loadUnaligned(fromByteOffset: p.used, as: uuid_t.self)
            }
        }
        b.6 = (b.6 & 0x0F) | 0x40
        b.8 = (b.8 & 0x3F) | 0x80
        return UUID(uuid: b)
    }

    /// Fills `bytes` from the kernel's CSPRNG (`/dev/urandom`: three system calls per
    /// refill); the system random generator for whatever could not be read.
    private static func fill(_ bytes: inout [UInt8]) {
        var filled = 0
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            bytes.withUnsafeMutableBytes { raw in
                while filled < raw.count {
                    let n = read(fd, raw.baseAddress! + filled, raw.count - filled)
                    if n > 0 {
                        filled += n
                    } else if n < 0, errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
            }
            close(fd)
        }
        guard filled < bytes.count else { return }
        var generator = SystemRandomNumberGenerator()
        for i in filled..<bytes.count { bytes[i] = UInt8.random(in: .min ... .max, using: &generator) }
    }
}
