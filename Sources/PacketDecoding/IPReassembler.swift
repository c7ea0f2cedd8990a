// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// Reassembles fragmented IPv4 and IPv6 datagrams with bounded memory.
///
/// Policy (safe against the classic fragment attacks):
/// - A datagram is identified by (source, destination, identification, and for IPv4 the
///   protocol), as RFC 791 and RFC 8200 say.
/// - **Overlap drops the datagram.** A fragment that overlaps another one of the same
///   datagram makes the whole datagram be discarded (RFC 5722 for IPv6; applied to IPv4
///   too, so no "first wins / last wins" ambiguity can hide bytes from the analyser). An
///   exact duplicate — same offset, same length, same bytes — is tolerated and ignored.
/// - A datagram whose data would pass `maxDatagramSize` (64 KiB), that needs more than
///   `maxFragmentsPerDatagram` fragments, or whose fragments disagree about where it ends,
///   is discarded.
/// - Non-final fragments must carry a multiple of 8 bytes.
/// - At most `maxDatagrams` datagrams and `maxBufferedBytes` bytes are held at once; when a
///   new one does not fit, the oldest is evicted. Incomplete datagrams older than `timeout`
///   (by the packets' own timestamps, so replays behave like live capture) are evicted.
public struct IPReassembler: Sendable {
    /// Limits; the defaults suit a SIP sensor.
    public struct Limits: Sendable, Hashable {
        public var maxDatagrams: Int
        public var maxDatagramSize: Int
        public var maxFragmentsPerDatagram: Int
        public var maxBufferedBytes: Int
        public var timeout: Duration

        public init(
            maxDatagrams: Int = 1024, maxDatagramSize: Int = 65_535, maxFragmentsPerDatagram: Int = 64,
            maxBufferedBytes: Int = 8 << 20, timeout: Duration = .seconds(30)
        ) {
            self.maxDatagrams = max(1, maxDatagrams)
            self.maxDatagramSize = min(max(maxDatagramSize, 576), 65_535)
            self.maxFragmentsPerDatagram = max(2, maxFragmentsPerDatagram)
            self.maxBufferedBytes = max(65_535, maxBufferedBytes)
            self.timeout = timeout
        }
    }

    /// What happened to one fragment.
    public enum Outcome: Sendable, Hashable {
        /// Kept; the datagram is not complete yet.
        case pending
        /// The datagram is complete (see the returned bytes).
        case complete
        /// An exact copy of a fragment already held: ignored.
        case duplicate
        /// Overlapping or inconsistent fragments: the whole datagram was discarded.
        case overlapDiscarded
        /// The datagram would exceed `maxDatagramSize` or `maxFragmentsPerDatagram`: discarded.
        case oversizeDiscarded
        /// A non-final fragment whose length is not a multiple of 8: ignored.
        case malformed
    }

    /// Counters since creation.
    public struct Statistics: Sendable, Hashable {
        public var fragments = 0
        public var reassembled = 0
        public var duplicates = 0
        public var overlapDiscards = 0
        public var oversizeDiscards = 0
        public var malformed = 0
        /// Incomplete datagrams dropped for age.
        public var timedOut = 0
        /// Incomplete datagrams dropped to make room.
        public var evicted = 0

        public init() {}
    }

    struct Key: Hashable {
        var source: IPAddress
        var destination: IPAddress
        var identification: UInt32
        var proto: UInt8
    }

    struct Piece {
        var offset: Int
        var bytes: [UInt8]
        var end: Int { offset + bytes.count }
    }

    struct Datagram {
        var serial: UInt64
        var firstSeen: Timestamp
        var pieces: [Piece] = []
        var held = 0
        /// Known once the last fragment arrives.
        var total: Int?
        /// The upper-layer protocol, from the fragment at offset 0 (IPv6 may only name it there).
        var proto: UInt8?
    }

    public let limits: Limits
    public private(set) var statistics = Statistics()
    private var datagrams: [Key: Datagram] = [:]
    private var order = FIFOQueue<(Key, UInt64)>()
    private var nextSerial: UInt64 = 0
    private var bufferedBytes = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Incomplete datagrams currently held.
    public var pendingDatagrams: Int { datagrams.count }
    /// Bytes currently held.
    public var pendingBytes: Int { bufferedBytes }

    /// Adds one fragment. Returns the outcome and, when `.complete`, the reassembled
    /// upper-layer payload with its protocol.
    public mutating func add(
        source: IPAddress, destination: IPAddress, identification: UInt32, proto: UInt8,
        isIPv6: Bool, offset: Int, moreFragments: Bool, data: UnsafeRawBufferPointer,
        time: Timestamp
    ) -> (Outcome, (proto: UInt8, bytes: [UInt8])?) {
        statistics.fragments += 1
        expire(now: time)
        // IPv6 names the upper layer in every fragment header but only the first one's counts.
        let key = Key(source: source, destination: destination, identification: identification, proto: isIPv6 ? 0 : proto)
        if moreFragments && data.count % 8 != 0 || moreFragments && data.isEmpty {
            statistics.malformed += 1
            return (.malformed, nil)
        }
        let end = offset + data.count
        guard end <= limits.maxDatagramSize else {
            discard(key)
            statistics.oversizeDiscards += 1
            return (.oversizeDiscarded, nil)
        }
        if datagrams[key] == nil {
            makeRoom(for: data.count)
            nextSerial &+= 1
            datagrams[key] = Datagram(serial: nextSerial, firstSeen: time)
            order.push((key, nextSerial))
            compactOrderIfNeeded()
        } else {
            makeRoom(for: data.count, sparing: key)
        }
        guard var datagram = datagrams[key] else { return (.pending, nil) }

        // Where it ends must agree with what is known.
        if !moreFragments {
            if let total = datagram.total, total != end {
                return overlap(key)
            }
            if let last = datagram.pieces.last, last.end > end { return overlap(key) }
            datagram.total = end
        } else if let total = datagram.total, end > total {
            return overlap(key)
        }

        // Find the insertion point (pieces sorted by offset) and check neighbours.
        var index = datagram.pieces.count
        for (i, piece) in datagram.pieces.enumerated() where piece.offset >= offset {
            index = i
            break
        }
        if index < datagram.pieces.count {
            let next = datagram.pieces[index]
            if next.offset == offset && next.bytes.count == data.count {
                if next.bytes.elementsEqual(data) {
                    statistics.duplicates += 1
                    datagrams[key] = datagram
                    return (.duplicate, nil)
                }
                return overlap(key)
            }
            if next.offset < end { return overlap(key) }
        }
        if index > 0, datagram.pieces[index - 1].end > offset { return overlap(key) }
        guard datagram.pieces.count < limits.maxFragmentsPerDatagram else {
            discard(key)
            statistics.oversizeDiscards += 1
            return (.oversizeDiscarded, nil)
        }
        datagram.pieces.insert(Piece(offset: offset, bytes: Array(data)), at: index)
        datagram.held += data.count
        bufferedBytes += data.count
        if offset == 0 { datagram.proto = proto }

        if let total = datagram.total, datagram.held == total, let upper = datagram.proto {
            // No overlaps and every piece inside [0, total): full coverage.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(total)
            for piece in datagram.pieces { bytes += piece.bytes }
            discard(key)
            statistics.reassembled += 1
            return (.complete, (upper, bytes))
        }
        datagrams[key] = datagram
        return (.pending, nil)
    }

    /// Drops incomplete datagrams older than the timeout at `now`.
    public mutating func expire(now: Timestamp) {
        while let (key, serial) = order.first {
            guard let datagram = datagrams[key], datagram.serial == serial else {
                _ = order.popFirst()
                continue
            }
            guard now - datagram.firstSeen > limits.timeout else { break }
            _ = order.popFirst()
            discard(key)
            statistics.timedOut += 1
        }
    }

    /// Drops every incomplete datagram (end of a capture file); they count as evicted.
    public mutating func discardPending() {
        statistics.evicted += datagrams.count
        datagrams.removeAll()
        order.removeAll()
        bufferedBytes = 0
    }

    private mutating func overlap(_ key: Key) -> (Outcome, (proto: UInt8, bytes: [UInt8])?) {
        discard(key)
        statistics.overlapDiscards += 1
        return (.overlapDiscarded, nil)
    }

    private mutating func discard(_ key: Key) {
        if let removed = datagrams.removeValue(forKey: key) {
            bufferedBytes -= removed.held
        }
    }

    /// Evicts the oldest datagrams until one more (of `bytes`) fits.
    private mutating func makeRoom(for bytes: Int, sparing spared: Key? = nil) {
        while datagrams.count >= limits.maxDatagrams + (spared == nil ? 0 : 1) || bufferedBytes + bytes > limits.maxBufferedBytes {
            guard let (key, serial) = order.popFirst() else { break }
            guard let datagram = datagrams[key], datagram.serial == serial else { continue }
            if key == spared {
                // Keep the datagram being extended; requeue it at the back.
                order.push((key, serial))
                if datagrams.count <= 1 { break }
                continue
            }
            discard(key)
            statistics.evicted += 1
        }
    }

    private mutating func compactOrderIfNeeded() {
        guard order.count > 2 * datagrams.count + 64 else { return }
        let live = datagrams
        order.compact { entry in live[entry.0]?.serial == entry.1 }
    }
}
