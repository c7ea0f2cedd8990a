// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// What a TCP stream tracker reports for one direction of a connection.
public enum StreamEvent: Sendable, Hashable {
    /// The next in-order bytes of the stream.
    case data([UInt8])
    /// Bytes were never seen (lost before capture, or the out-of-order buffer overflowed):
    /// `skipped` bytes are missing before the next `.data`. A consumer framing messages must
    /// resynchronise (drop any partial message).
    case gap(skipped: Int)
    /// The stream ended (FIN reached in order, RST, or eviction); drop its state.
    case closed(StreamCloseReason)
}

/// Why a stream's state was released.
public enum StreamCloseReason: String, Sendable, Hashable {
    case fin, reset, idle, evicted
}

/// Turns TCP segments into in-order byte streams, one per direction, with bounded memory.
///
/// - A SYN fixes the initial sequence number. A stream first seen mid-way (capture started
///   after the handshake) is picked up at the first segment that carries data.
/// - Retransmitted bytes (already delivered) are dropped; a segment that is partly old is
///   trimmed to its new bytes. Retransmissions that differ from the bytes first seen are not
///   compared: the first copy wins (like the receiving host's stack).
/// - Segments ahead of the expected sequence number are buffered, up to
///   `maxBufferedBytesPerFlow` and `maxBufferedSegmentsPerFlow` per direction and
///   `maxBufferedBytesTotal` overall. When a bound is hit, the tracker gives up on the
///   missing bytes: it reports a `.gap` and continues from the earliest buffered segment.
///   Segments further ahead than `maxWindow` are ignored, unless they keep coming
///   (`resyncAfter` in a row), in which case the stream is resynchronised there.
/// - FIN (once reached in order) and RST release the state; so do idleness (no segment
///   for `idleTimeout`, by packet time) and pressure (more than `maxFlows` directions
///   tracked: the least recently used one goes).
public struct TCPStreamTracker: Sendable {
    public struct Limits: Sendable, Hashable {
        public var maxFlows: Int
        public var maxBufferedBytesPerFlow: Int
        public var maxBufferedSegmentsPerFlow: Int
        public var maxBufferedBytesTotal: Int
        public var maxWindow: UInt32
        public var resyncAfter: Int
        public var idleTimeout: Duration

        public init(
            maxFlows: Int = 16_384, maxBufferedBytesPerFlow: Int = 256 << 10, maxBufferedSegmentsPerFlow: Int = 128,
            maxBufferedBytesTotal: Int = 64 << 20, maxWindow: UInt32 = 1 << 20, resyncAfter: Int = 8,
            idleTimeout: Duration = .seconds(300)
        ) {
            self.maxFlows = max(1, maxFlows)
            self.maxBufferedBytesPerFlow = max(1, maxBufferedBytesPerFlow)
            self.maxBufferedSegmentsPerFlow = max(1, maxBufferedSegmentsPerFlow)
            self.maxBufferedBytesTotal = max(1, maxBufferedBytesTotal)
            self.maxWindow = max(1, min(maxWindow, 1 << 30))
            self.resyncAfter = max(1, resyncAfter)
            self.idleTimeout = idleTimeout
        }
    }

    public struct Statistics: Sendable, Hashable {
        /// In-order bytes delivered.
        public var bytesDelivered = 0
        /// Bytes seen again (retransmissions) and dropped.
        public var duplicateBytes = 0
        /// Bytes never seen, skipped over (`.gap` events).
        public var gapBytes = 0
        /// Segment bytes dropped: too far ahead, or buffered and then abandoned.
        public var droppedBytes = 0
        /// Streams picked up without their SYN.
        public var midStreamPickups = 0
        public var finished = 0
        public var resets = 0
        public var idleEvictions = 0
        public var pressureEvictions = 0

        public init() {}
    }

    struct Segment {
        var sequence: UInt32
        var bytes: [UInt8]
    }

    struct Flow {
        var serial: UInt64
        var lastSeen: Timestamp
        var next: UInt32
        /// The first data sequence number, when the SYN was seen.
        var initial: UInt32?
        var pending: [Segment] = []
        var pendingBytes = 0
        var finSequence: UInt32?
        var outOfWindowRun = 0
    }

    public let limits: Limits
    public private(set) var statistics = Statistics()
    private var flows: [FlowKey: Flow] = [:]
    private var lru = FIFOQueue<(FlowKey, UInt64)>()
    private var nextSerial: UInt64 = 0
    private var bufferedTotal = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Directions currently tracked.
    public var flowCount: Int { flows.count }
    /// Out-of-order bytes currently buffered.
    public var bufferedBytes: Int { bufferedTotal }

    /// Signed distance a - b in sequence space.
    @inline(__always)
    static func distance(_ a: UInt32, _ b: UInt32) -> Int64 { Int64(Int32(bitPattern: a &- b)) }

    /// Feeds one segment of direction `flow`. `emit` is called with each resulting event,
    /// for that flow or — on eviction — for another one.
    public mutating func add(
        flow key: FlowKey, sequence: UInt32, syn: Bool, fin: Bool, rst: Bool,
        payload: UnsafeRawBufferPointer, time: Timestamp,
        emit: (FlowKey, StreamEvent) -> Void
    ) {
        evictIdle(now: time, emit: emit)
        if rst {
            for k in [key, key.reversed] where flows[k] != nil {
                release(k)
                statistics.resets += 1
                emit(k, .closed(.reset))
            }
            return
        }
        var dataSequence = sequence
        if syn { dataSequence = sequence &+ 1 }

        var flow: Flow
        if let known = flows.removeValue(forKey: key) {
            flow = known
            flow.lastSeen = time
            if syn, let initial = flow.initial, initial != dataSequence {
                // A new SYN on a known direction with another initial sequence number: a new
                // connection reusing the ports. Tell the consumer to resynchronise.
                statistics.droppedBytes += flow.pendingBytes
                bufferedTotal -= flow.pendingBytes
                flow = Flow(serial: 0, lastSeen: time, next: dataSequence, initial: dataSequence)
                emit(key, .gap(skipped: 0))
            }
        } else {
            // A new direction: only a SYN or data starts one (pure ACKs and FINs of unknown
            // streams carry nothing to analyse).
            guard syn || !payload.isEmpty else { return }
            if !syn { statistics.midStreamPickups += 1 }
            makeRoom(emit: emit)
            flow = Flow(serial: 0, lastSeen: time, next: dataSequence, initial: syn ? dataSequence : nil)
        }
        if accept(&flow, key: key, sequence: dataSequence, payload: payload, fin: fin, emit: emit) {
            bufferedTotal -= flow.pendingBytes
            statistics.droppedBytes += flow.pendingBytes
            statistics.finished += 1
            emit(key, .closed(.fin))
        } else {
            store(flow, key: key)
        }
    }

    /// Processes one segment on a flow that is not in the dictionary. Returns true when
    /// the stream reached its FIN.
    private mutating func accept(
        _ flow: inout Flow, key: FlowKey, sequence: UInt32, payload: UnsafeRawBufferPointer,
        fin: Bool, emit: (FlowKey, StreamEvent) -> Void
    ) -> Bool {
        if fin { flow.finSequence = sequence &+ UInt32(truncatingIfNeeded: payload.count) }
        let ahead = Self.distance(sequence, flow.next)
        if ahead <= 0 {
            let old = Int(-ahead)
            if old >= payload.count {
                statistics.duplicateBytes += payload.count
            } else {
                statistics.duplicateBytes += old
                let fresh = UnsafeRawBufferPointer(rebasing: payload[old...])
                deliver(&flow, key: key, Array(fresh), emit: emit)
                drainPending(&flow, key: key, emit: emit)
            }
            flow.outOfWindowRun = 0
        } else if ahead > Int64(limits.maxWindow) {
            flow.outOfWindowRun += 1
            if flow.outOfWindowRun >= limits.resyncAfter && !payload.isEmpty {
                // The stream really moved on (heavy capture loss): start again here.
                statistics.droppedBytes += flow.pendingBytes
                bufferedTotal -= flow.pendingBytes
                flow.pending.removeAll()
                flow.pendingBytes = 0
                flow.outOfWindowRun = 0
                statistics.gapBytes += Int(ahead)
                emit(key, .gap(skipped: Int(ahead)))
                flow.next = sequence
                deliver(&flow, key: key, Array(payload), emit: emit)
            } else {
                statistics.droppedBytes += payload.count
            }
        } else if !payload.isEmpty {
            flow.outOfWindowRun = 0
            buffer(&flow, key: key, Segment(sequence: sequence, bytes: Array(payload)), emit: emit)
        }
        if let finSequence = flow.finSequence, flow.next == finSequence { return true }
        return false
    }

    private mutating func deliver(_ flow: inout Flow, key: FlowKey, _ bytes: [UInt8], emit: (FlowKey, StreamEvent) -> Void) {
        guard !bytes.isEmpty else { return }
        flow.next = flow.next &+ UInt32(truncatingIfNeeded: bytes.count)
        statistics.bytesDelivered += bytes.count
        emit(key, .data(bytes))
    }

    /// Inserts an out-of-order segment, then enforces the buffer bounds.
    private mutating func buffer(_ flow: inout Flow, key: FlowKey, _ segment: Segment, emit: (FlowKey, StreamEvent) -> Void) {
        let base = flow.next
        var index = flow.pending.count
        for (i, held) in flow.pending.enumerated() {
            let d = Self.distance(held.sequence, base) - Self.distance(segment.sequence, base)
            if d == 0 && held.bytes.count >= segment.bytes.count {
                statistics.duplicateBytes += segment.bytes.count
                return
            }
            if d >= 0 {
                index = i
                break
            }
        }
        flow.pending.insert(segment, at: index)
        flow.pendingBytes += segment.bytes.count
        bufferedTotal += segment.bytes.count
        while flow.pendingBytes > limits.maxBufferedBytesPerFlow || flow.pending.count > limits.maxBufferedSegmentsPerFlow
            || bufferedTotal > limits.maxBufferedBytesTotal
        {
            // Give up on the hole: jump to the earliest buffered segment.
            guard let first = flow.pending.first else { break }
            let skipped = Self.distance(first.sequence, flow.next)
            if skipped > 0 {
                statistics.gapBytes += Int(skipped)
                emit(key, .gap(skipped: Int(skipped)))
                flow.next = first.sequence
            }
            let before = flow.pendingBytes
            drainPending(&flow, key: key, emit: emit)
            if flow.pendingBytes == before {
                // Nothing could be drained (cannot happen after the jump, but stay bounded).
                let dropped = flow.pending.removeFirst()
                flow.pendingBytes -= dropped.bytes.count
                bufferedTotal -= dropped.bytes.count
                statistics.droppedBytes += dropped.bytes.count
            }
        }
    }

    /// Delivers buffered segments that are now in order.
    private mutating func drainPending(_ flow: inout Flow, key: FlowKey, emit: (FlowKey, StreamEvent) -> Void) {
        while let first = flow.pending.first {
            let ahead = Self.distance(first.sequence, flow.next)
            if ahead > 0 { break }
            flow.pending.removeFirst()
            flow.pendingBytes -= first.bytes.count
            bufferedTotal -= first.bytes.count
            let old = Int(-ahead)
            if old >= first.bytes.count {
                statistics.duplicateBytes += first.bytes.count
            } else {
                statistics.duplicateBytes += old
                deliver(&flow, key: key, Array(first.bytes[old...]), emit: emit)
            }
        }
    }

    private mutating func store(_ flow: Flow, key: FlowKey) {
        var flow = flow
        nextSerial &+= 1
        flow.serial = nextSerial
        flows[key] = flow
        lru.push((key, nextSerial))
        if lru.count > 2 * flows.count + 64 {
            let live = flows
            lru.compact { live[$0.0]?.serial == $0.1 }
        }
    }

    private mutating func release(_ key: FlowKey) {
        if let flow = flows.removeValue(forKey: key) {
            bufferedTotal -= flow.pendingBytes
            statistics.droppedBytes += flow.pendingBytes
        }
    }

    /// Makes room for one more flow, evicting the least recently used.
    private mutating func makeRoom(emit: (FlowKey, StreamEvent) -> Void) {
        while flows.count >= limits.maxFlows, let (key, serial) = lru.popFirst() {
            guard flows[key]?.serial == serial else { continue }
            release(key)
            statistics.pressureEvictions += 1
            emit(key, .closed(.evicted))
        }
    }

    /// Releases directions idle for longer than the idle timeout at `now`.
    public mutating func evictIdle(now: Timestamp, emit: (FlowKey, StreamEvent) -> Void) {
        while let (key, serial) = lru.first {
            guard let flow = flows[key], flow.serial == serial else {
                _ = lru.popFirst()
                continue
            }
            guard now - flow.lastSeen > limits.idleTimeout else { break }
            _ = lru.popFirst()
            release(key)
            statistics.idleEvictions += 1
            emit(key, .closed(.idle))
        }
    }

    /// Releases every stream (end of a capture file), reporting each as closed.
    public mutating func closeAll(emit: (FlowKey, StreamEvent) -> Void) {
        // In least-recently-used order, so the output is deterministic.
        while let (key, serial) = lru.popFirst() {
            guard flows[key]?.serial == serial else { continue }
            release(key)
            emit(key, .closed(.evicted))
        }
        flows.removeAll()
        bufferedTotal = 0
    }
}
