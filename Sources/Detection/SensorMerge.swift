// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// Counts one attempt once when several sensors report it: the Asterisk `messages` and
/// `security` logs both log a failed registration, a log and a wire sensor of the same PBX
/// both see it.
///
/// Per attempt key — source address, source port, user — it keeps, per sensor, how many
/// events that sensor reported while the key stayed active (no gap longer than
/// ``window``). An event counts only when its sensor's count then exceeds every other
/// sensor's count for the key: the attempts counted are the *maximum* over the sensors,
/// never the sum. So every event of a sensor that alone sees a burst counts (svcrack's
/// hundreds of guesses per second from one port with one user are not merged), and an
/// attempt seen by two sensors counts once, whichever reports it first.
///
/// Pure (the caller passes the time) and bounded: a fixed table of `capacity` keys in
/// 8-way buckets; a full bucket forgets its least recently active key. Forgetting a key
/// can only make a later duplicate count again (over-count), never hide an attempt.
public struct SensorMerge: Sendable {
    /// Keys are forgotten after this long without an event.
    public let window: Duration
    /// Most keys held.
    public let capacity: Int
    /// Distinct sensors told apart; further sensors share the last slot (their events add up).
    public static let maxSensors = 8
    /// Events that counted, and duplicates merged into an event already counted.
    public private(set) var counted = 0
    public private(set) var merged = 0

    private var entries: [MergeEntry]
    private let bucketCount: Int
    private var sensors: [String: Int] = [:]
    private var lastSensor: (kind: UInt8, name: String, index: Int)?
    private let windowMicroseconds: Int64

    /// - Parameters:
    ///   - window: longest gap between two sensors' reports of one attempt (default 5 s:
    ///     log lines are written when the PBX answers, the wire sees the answer).
    ///   - capacity: keys held (default 65 536, 48 bytes each).
    public init(window: Duration = .seconds(5), capacity: Int = 65_536) {
        self.window = window
        windowMicroseconds = window.microsecondsClamped
        bucketCount = max(1, (capacity + 7) / 8)
        self.capacity = bucketCount * 8
        entries = Array(repeating: MergeEntry(), count: bucketCount * 8)
    }

    /// Bytes held by the key table (structural: entries × stride, fixed at creation).
    public var tableBytes: Int { entries.count * MemoryLayout<MergeEntry>.stride }
    /// Bytes of one key's entry.
    public static var entryBytes: Int { MemoryLayout<MergeEntry>.stride }

    /// Whether `event`, observed at `now`, is a new attempt to count (true) or another
    /// sensor's report of an attempt already counted (false).
    public mutating func admit(_ event: SecurityEvent, now: Timestamp) -> Bool {
        let sensor = sensorIndex(of: event.origin)
        let key = Self.key(event)
        let base = Int(key.multipliedFullWidth(by: UInt64(bucketCount)).high) * 8
        let t = now.microseconds
        var slot = -1
        var victim = base
        for i in base..<(base + 8) {
            let e = entries[i]
            if e.key == key {
                slot = i
                break
            }
            if entries[victim].key != 0, e.key == 0 || e.last < entries[victim].last { victim = i }
        }
        if slot >= 0, t - entries[slot].last > windowMicroseconds {
            entries[slot] = MergeEntry() // idle too long: a new series of attempts
            entries[slot].key = key
        }
        if slot < 0 {
            slot = victim
            entries[slot] = MergeEntry()
            entries[slot].key = key
        }
        var e = entries[slot]
        e.last = max(e.last, t)
        let mine = e.counts[sensor] &+ 1
        e.counts[sensor] = mine
        var others: UInt32 = 0
        for s in 0..<Self.maxSensors where s != sensor { others = max(others, e.counts[s]) }
        entries[slot] = e
        if mine > others {
            counted += 1
            return true
        }
        merged += 1
        return false
    }

    /// The sensor an event came from: a log file (rotated names such as `messages.1` or
    /// `messages-20251124.gz` are the same sensor as `messages`), a capture file, or a live
    /// wire sensor.
    public static func sensorIdentity(_ origin: EventOrigin) -> String {
        switch origin {
        case .logLine(let file, _): "log:" + unrotated(file)
        case .frame(let file, _): "pcap:" + file
        case .wire(let sensor): "wire:" + sensor
        }
    }

    /// `path` without rotation suffixes (`.1`, `.gz`, `-20251124`).
    static func unrotated(_ path: String) -> String {
        var s = Substring(path)
        while true {
            let before = s
            for ext in [".gz", ".bz2", ".xz", ".zst"] where s.hasSuffix(ext) { s = s.dropLast(ext.count) }
            if let dot = s.lastIndex(where: { $0 == "." || $0 == "-" }), dot != s.startIndex {
                let tail = s[s.index(after: dot)...]
                if !tail.isEmpty, tail.allSatisfy(\.isASCIIDigit),
                    s[dot] == "." || tail.count >= 8
                {
                    s = s[..<dot]
                }
            }
            if s == before { return String(s) }
        }
    }

    /// The sensor slot of `origin`. The last origin's name and slot are remembered: a batch
    /// of events comes from one file or sensor, and working out a rotated file's identity
    /// (``unrotated(_:)``) for every event cost more than the rest of `admit`.
    private mutating func sensorIndex(of origin: EventOrigin) -> Int {
        let (kind, name): (UInt8, String)
        switch origin {
        case .logLine(let file, _): (kind, name) = (0, file)
        case .frame(let file, _): (kind, name) = (1, file)
        case .wire(let sensor): (kind, name) = (2, sensor)
        }
        if let last = lastSensor, last.kind == kind, last.name == name { return last.index }
        let index = sensorIndex(Self.sensorIdentity(origin))
        lastSensor = (kind, name, index)
        return index
    }

    private mutating func sensorIndex(_ identity: String) -> Int {
        if let i = sensors[identity] { return i }
        let i = min(sensors.count, Self.maxSensors - 1)
        if sensors.count < Self.maxSensors { sensors[identity] = i }
        return i
    }

    private static func key(_ event: SecurityEvent) -> UInt64 {
        var h = Hasher()
        h.combine(event.source.unmapped)
        h.combine(event.sourcePort ?? 0)
        h.combine(event.user ?? "")
        let v = UInt64(bitPattern: Int64(h.finalize()))
        return v == 0 ? 1 : v
    }
}

/// One attempt key: its hash (0 = free), when it was last reported, per-sensor counts.
struct MergeEntry: Sendable {
    var key: UInt64 = 0
    var last: Int64 = .min
    var counts = SIMD8<UInt32>()
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
