// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// The kind of sensor an event came from: a small closed set, the `source` label of the
/// metrics (never a file name, an interface address or a listener address).
public enum EventSourceKind: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case file, journal, capture, hep, inline
    /// The kernel flood guard's NFLOG reports.
    case floodGuard

    /// The metrics label value.
    public var description: String {
        switch self {
        case .file: "file"
        case .journal: "journal"
        case .capture: "capture"
        case .hep: "hep"
        case .inline: "inline"
        case .floodGuard: "flood_guard"
        }
    }

    /// The kind of the sensor that reported `origin`, from the names the daemon gives its
    /// sensors (`journal:UNIT`, `capture:IFACE`, `hep:ENDPOINT`, `flood-guard`, the inline
    /// queue's sensor name); a capture file (`replay`) counts as a capture.
    public init(origin: EventOrigin) {
        switch origin {
        case .logLine(let file, _):
            self = file.hasPrefix("journal:") ? .journal : .file
        case .frame:
            self = .capture
        case .wire(let sensor):
            if sensor.hasPrefix("capture:") {
                self = .capture
            } else if sensor.hasPrefix("hep:") {
                self = .hep
            } else if sensor == "flood-guard" {
                self = .floodGuard
            } else {
                self = .inline
            }
        }
    }
}

/// Events decoded, by source kind and event kind: a fixed table of counts (no allocation
/// after the first), kept in the pipeline's counters and read at scrape time.
public struct EventTally: Sendable, Hashable {
    /// Computed once: `allCases` builds an array at every access.
    private static let kinds = EventKind.allCases.count
    private var counts = [Int](repeating: 0, count: EventSourceKind.allCases.count * EventKind.allCases.count)

    public init() {}

    /// Events of `kind` decoded from `source`.
    public subscript(source: EventSourceKind, kind: EventKind) -> Int {
        counts[source.rawValue * Self.kinds + kind.index]
    }

    /// Adds `count` events of `kind` from `source`.
    public mutating func add(_ count: Int, source: EventSourceKind, kind: EventKind) {
        counts[source.rawValue * Self.kinds + kind.index] += count
    }

    /// Every event counted.
    public var total: Int { counts.reduce(0, +) }
}
