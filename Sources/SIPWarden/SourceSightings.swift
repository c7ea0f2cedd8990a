// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
import Synchronization
public import WardenCore

/// The detection path's sightings of watched sources — the sources of open abuse cases —
/// handed to the case service, which asks "did the attack stop?" of them too: a source
/// whose ban expired and that fails again, or one a ban does not cover, is traffic of its
/// case (docs/ABUSE.md, "Does the attack stop?").
///
/// `report` is called for every failure the pipeline judges; while nothing is watched it
/// costs one atomic load, otherwise a short lock and a set lookup. The sink is called on
/// the reporting thread and must be quick (the case service's tracker takes its own lock).
public final class SourceSightings: Sendable {
    /// A failure of a watched source at a time (the event's).
    public typealias Sink = @Sendable (IPAddress, Timestamp) -> Void

    private let watching = Atomic<Bool>(false)
    private let state = Mutex<(sources: Set<IPAddress>, sink: Sink?)>(([], nil))

    /// Nothing watched, no sink.
    public init() {}

    /// Where sightings go from now on (the case service, at its start).
    public func connect(_ sink: @escaping Sink) {
        state.withLock { $0.sink = sink }
    }

    /// The sources to watch from now on (every source of the cases being tracked).
    public func watch(_ sources: Set<IPAddress>) {
        state.withLock { s in
            s.sources = Set(sources.map(\.unmapped))
            watching.store(!s.sources.isEmpty, ordering: .releasing)
        }
    }

    /// The sources watched now.
    public var watched: Set<IPAddress> { state.withLock { $0.sources } }

    /// A failure of `source` at `time`: handed to the sink when the source is watched.
    @inline(__always)
    public func report(_ source: IPAddress, at time: Timestamp) {
        guard watching.load(ordering: .acquiring) else { return }
        let address = source.unmapped
        guard let sink = state.withLock({ $0.sources.contains(address) ? $0.sink : nil }) else { return }
        sink(address, time)
    }
}
