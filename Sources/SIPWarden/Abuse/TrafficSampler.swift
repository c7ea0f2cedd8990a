// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import Firewall
public import NetworkAddress
import Synchronization
public import WardenCore

/// The thin shell of ``TrafficWatch``: every `interval` (10 s by default) it dumps the ban
/// sets' per-element counters (`SetCounterReader`: its own netlink socket and lock, never
/// the ban path's) and feeds the tracker; sensors' sightings go in through `sighted`. The
/// events (traffic, mitigated, resumed) go to `events`, for the case service to turn into
/// `CaseInput`s.
public final class TrafficSampler: Sendable {
    /// Time between two readings.
    public let interval: Duration
    private let reader: SetCounterReader
    private let clock: TimeSource
    private let events: @Sendable ([TrafficEvent]) -> Void
    private let state: Mutex<State>

    private struct State {
        var watch: TrafficWatch
        var lastReading: Reading?
        var sightings: SourceSightings?
        var failures = 0
    }

    /// What the last reading cost and found.
    public struct Reading: Sendable, Hashable {
        /// When it was taken.
        public var at: Timestamp
        /// Elements with a counter.
        public var elements: Int
        /// Elements without one (an older table not upgraded).
        public var withoutCounter: Int
        /// Wall time of the dump.
        public var duration: Duration
    }

    /// A sampler reading `reader` every `interval` into `watch`.
    public init(
        reader: SetCounterReader, watch: TrafficWatch, interval: Duration = .seconds(10), clock: @escaping TimeSource = systemClock,
        events: @escaping @Sendable ([TrafficEvent]) -> Void
    ) {
        self.reader = reader
        self.interval = interval
        self.clock = clock
        self.events = events
        state = Mutex(State(watch: watch))
    }

    /// Reads the counters once and feeds the tracker. Throws the reader's error (the tracker
    /// is then left as it was: a failed reading is neither traffic nor silence).
    @discardableResult
    public func sample() throws(FirewallError) -> Reading {
        let started = ContinuousClock.now
        let snapshot = try reader.read()
        let duration = ContinuousClock.now - started
        let now = clock()
        let samples = snapshot.elements.map { TrafficSample(network: $0.network, packets: $0.packets, bytes: $0.bytes, age: $0.age) }
        let reading = Reading(at: now, elements: snapshot.elements.count, withoutCounter: snapshot.withoutCounter, duration: duration)
        let produced = state.withLock { state in
            state.lastReading = reading
            return state.watch.record(samples, at: now)
        }
        if !produced.isEmpty { events(produced) }
        return reading
    }

    /// A sensor saw `source` again at `time`.
    public func sighted(_ source: IPAddress, at time: Timestamp) {
        let produced = state.withLock { $0.watch.sighted(source, at: time) }
        if !produced.isEmpty { events(produced) }
    }

    /// Changes the tracker (watch or unwatch a case, read its state) under the sampler's lock.
    /// The detection path's sightings are kept to the watched cases' sources.
    public func withWatch<R: Sendable>(_ body: (inout TrafficWatch) -> R) -> R {
        let (result, sources) = state.withLock { s in
            let result = body(&s.watch)
            return (result, s.watch.watchedSources)
        }
        sightings?.watch(sources)
        return result
    }

    /// Feeds the detection path's failures of watched sources to the tracker (as
    /// ``sighted(_:at:)``) from now on; `withWatch` keeps the watched set current.
    public func follow(_ sightings: SourceSightings) {
        state.withLock { $0.sightings = sightings }
        sightings.connect { [weak self] source, time in self?.sighted(source, at: time) }
        sightings.watch(state.withLock { $0.watch.watchedSources })
    }

    private var sightings: SourceSightings? { state.withLock { $0.sightings } }

    /// The last successful reading and the number of failed ones.
    public var status: (last: Reading?, failures: Int) {
        state.withLock { ($0.lastReading, $0.failures) }
    }

    /// Samples every `interval` until the task is cancelled. A failed reading is counted and
    /// retried at the next interval.
    public func run() async {
        while !Task.isCancelled {
            do throws(FirewallError) {
                try sample()
            } catch {
                state.withLock { $0.failures += 1 }
            }
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }
}
