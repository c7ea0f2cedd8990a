// SPDX-License-Identifier: GPL-2.0-or-later

// Bounds-checked, alignment-free reads of network-order (and little-endian) integers from
// raw bytes. Every read returns nil instead of trapping when the bytes are too few.

extension UnsafeRawBufferPointer {
    @inline(__always)
    func u8(_ offset: Int) -> UInt8? {
        guard offset >= 0, offset < count else { return nil }
        return self[offset]
    }

    @inline(__always)
    func be16(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count &- 2 else { return nil }
        return UInt16(self[offset]) << 8 | UInt16(self[offset &+ 1])
    }

    @inline(__always)
    func be32(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count &- 4 else { return nil }
        return UInt32(self[offset]) << 24 | UInt32(self[offset &+ 1]) << 16
            | UInt32(self[offset &+ 2]) << 8 | UInt32(self[offset &+ 3])
    }

    @inline(__always)
    func le16(_ offset: Int) -> UInt16? {
        guard let v = be16(offset) else { return nil }
        return v.byteSwapped
    }

    @inline(__always)
    func le32(_ offset: Int) -> UInt32? {
        guard let v = be32(offset) else { return nil }
        return v.byteSwapped
    }

    /// The bytes in `offset ..< offset + length`, or nil when they are not all there.
    @inline(__always)
    func slice(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, offset <= count, length <= count &- offset else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[offset..<offset &+ length])
    }

    /// The bytes from `offset` to the end, or nil when `offset` is past the end.
    @inline(__always)
    func suffix(from offset: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, offset <= count else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[offset...])
    }

    /// An IPv4 address at `offset`.
    @inline(__always)
    func ipv4Address(_ offset: Int) -> UInt32? { be32(offset) }

    /// An IPv6 address (high and low 64 bits) at `offset`.
    @inline(__always)
    func ipv6Address(_ offset: Int) -> (UInt64, UInt64)? {
        guard offset >= 0, offset <= count &- 16 else { return nil }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(self[offset &+ i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(self[offset &+ i]) }
        return (hi, lo)
    }
}

/// A first-in first-out queue with amortised O(1) push and pop, used for eviction order
/// (with lazy deletion: stale entries are skipped by the owner and dropped on compaction).
struct FIFOQueue<Element> {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head >= storage.count }

    mutating func push(_ element: Element) { storage.append(element) }

    var first: Element? { head < storage.count ? storage[head] : nil }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head >= 1024, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Keeps only the elements for which `keep` is true, preserving order.
    mutating func compact(keeping keep: (Element) -> Bool) {
        var kept: [Element] = []
        kept.reserveCapacity(count)
        for i in head..<storage.count where keep(storage[i]) { kept.append(storage[i]) }
        storage = kept
        head = 0
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}

extension FIFOQueue: Sendable where Element: Sendable {}
