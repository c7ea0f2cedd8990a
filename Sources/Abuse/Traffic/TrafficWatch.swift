// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress
public import WardenCore

/// One ban set element's counter at a sample: what the sampler read from the kernel.
public struct TrafficSample: Sendable, Hashable {
    /// The banned network (a host, or a prefix whose counter counts every address in it).
    public var network: IPNetwork
    /// Packets dropped by the element since it was added.
    public var packets: UInt64
    /// Bytes of those packets.
    public var bytes: UInt64
    /// How long ago the element was added or its timeout last refreshed (timeout − time
    /// left); nil for a permanent element.
    public var age: Duration?

    /// A sample with the given values.
    public init(network: IPNetwork, packets: UInt64, bytes: UInt64 = 0, age: Duration? = nil) {
        self.network = network
        self.packets = packets
        self.bytes = bytes
        self.age = age
    }
}

/// How traffic from a source was seen.
public enum TrafficEvidence: String, Sendable, Hashable, Codable {
    /// Its ban element's counter rose: it keeps sending into its ban.
    case intoBan = "into-ban"
    /// A sensor saw it again (a failure in the logs or on the wire): after its ban expired,
    /// or past a ban that does not cover what it sent.
    case sensor
}

/// What the traffic says about a case's sources.
public enum CaseTrafficState: String, Sendable, Hashable, Codable {
    /// Some source sent within `silence` of now (or the report is younger than that).
    case sending
    /// Every source has been silent for `silence` after the report.
    case mitigated
    /// A source sent again after the case was called mitigated.
    case resumed
}

/// What the tracker tells the case shell.
public enum TrafficEvent: Sendable, Hashable {
    /// A source of a watched case sent (feed the case `CaseInput.traffic` at `at`).
    case traffic(case: UUID, source: IPAddress, at: Timestamp, evidence: TrafficEvidence)
    /// The case's sources have been silent for the configured time since the report (or
    /// since their last traffic): `silentSince` is that start.
    case mitigated(case: UUID, at: Timestamp, silentSince: Timestamp)
    /// A source of a case called mitigated sent again.
    case resumed(case: UUID, source: IPAddress, at: Timestamp, evidence: TrafficEvidence)
}

/// Does the attack stop? A pure tracker (the clock is a parameter of every call) fed with
/// periodic readings of the ban sets' per-element counters and with the sensors' sightings
/// of sources; it answers, per source and per case, when traffic was last seen, since when
/// the sources are silent, and whether a case is `mitigated` (silent for `silence` after its
/// report) or `resumed` (traffic again after that).
///
/// Counter resets are handled explicitly, so that neither a reset nor a refresh looks like
/// traffic or like silence when it is not (the kernel's counter belongs to the element; a
/// re-added element, a recreated set or a table rebuilt at an upgrade start again at 0):
/// - an element absent from the previous reading was added since: its whole count is new
///   traffic (only the very first reading is a baseline of unknown time);
/// - a count lower than the previous one is a reset after the previous reading: the new
///   count is all traffic since;
/// - an element whose age shows it was re-added or refreshed since the previous reading
///   (added later than the previous reading's add time) with a count not lower than before
///   is ambiguous — a refresh in place keeps the count, a re-add starts from 0 — so a rise
///   above the old count is traffic either way, while an unchanged non-zero count is
///   *uncertain*: it is neither called traffic (no `resumed`) nor silence (the silence
///   needed for `mitigated` restarts at that reading).
///
/// A prefix element's counter counts every address inside it: traffic there is traffic of
/// every watched source in the prefix. A permanent element (no age) re-added with a count not
/// lower than before cannot be told from one that stayed; sipwarden's bans have timeouts.
public struct TrafficWatch: Sendable {
    /// Silence needed after the report (or after the last traffic) for `mitigated`
    /// (`CasePolicy.silenceForMitigated`).
    public var silence: Duration
    /// Slack when comparing add times computed from ages (the kernel's expiry has a jiffy's
    /// resolution and readings take time).
    public var tolerance: Duration

    /// What the tracker knows about one ban element.
    public struct ElementState: Sendable, Hashable {
        /// Its count at the last reading that had it.
        public var packets: UInt64
        /// Its bytes at that reading.
        public var bytes: UInt64
        /// When it was added or last refreshed (reading time − age), if it has an age.
        public var addedAt: Timestamp?
        /// In the last reading.
        public var present: Bool
        /// The last reading at which its counter showed traffic.
        public var lastTrafficAt: Timestamp?
        /// The last reading at which a reset made traffic impossible to rule out.
        public var uncertainAt: Timestamp?
    }

    /// What the tracker knows about one source.
    public struct SourceTraffic: Sendable, Hashable {
        /// The last time traffic from it was seen (counter or sensor), if ever.
        public var lastTrafficAt: Timestamp?
        /// How that last traffic was seen.
        public var evidence: TrafficEvidence?
        /// The last reading whose reset left its traffic uncertain.
        public var uncertainAt: Timestamp?
        /// A ban element holding it was in the last reading.
        public var banned: Bool
    }

    private struct WatchedCase: Sendable, Hashable {
        var sources: [IPAddress]
        var reportedAt: Timestamp
        var state: CaseTrafficState = .sending
        var mitigatedAt: Timestamp?
        var resumedAt: Timestamp?
    }

    /// Per-case answer.
    public struct CaseTraffic: Sendable, Hashable {
        /// Sending, mitigated or resumed.
        public var state: CaseTrafficState
        /// The last traffic of any of its sources.
        public var lastTrafficAt: Timestamp?
        /// Silent since: the report, or the last traffic or uncertain reading after it.
        public var silentSince: Timestamp
        /// When it was (last) called mitigated.
        public var mitigatedAt: Timestamp?
        /// When it (last) resumed.
        public var resumedAt: Timestamp?
    }

    private var elements: [IPNetwork: ElementState] = [:]
    /// Prefix elements (not hosts), for look-ups of the addresses inside them.
    private var prefixes: Set<IPNetwork> = []
    private var sightings: [IPAddress: Timestamp] = [:]
    private var cases: [UUID: WatchedCase] = [:]
    private var lastReadingAt: Timestamp?

    /// A tracker calling cases mitigated after `silence` without traffic.
    public init(silence: Duration, tolerance: Duration = .seconds(2)) {
        self.silence = silence
        self.tolerance = tolerance
    }

    // MARK: Cases

    /// Follows the traffic of a reported case's sources from `reportedAt` on.
    public mutating func watch(_ id: UUID, sources: [IPAddress], reportedAt: Timestamp) {
        cases[id] = WatchedCase(sources: sources, reportedAt: reportedAt)
    }

    /// Stops following a case (closed).
    public mutating func unwatch(_ id: UUID) { cases[id] = nil }

    /// The traffic state of a watched case at `now` (nil when not watched).
    public func traffic(of id: UUID, now: Timestamp) -> CaseTraffic? {
        guard let watched = cases[id] else { return nil }
        let (last, silentSince) = silentStretch(of: watched)
        return CaseTraffic(
            state: watched.state, lastTrafficAt: last, silentSince: silentSince, mitigatedAt: watched.mitigatedAt, resumedAt: watched.resumedAt)
    }

    // MARK: Inputs

    /// A reading of every ban element's counter at `now` (elements missing from it have
    /// left their sets: expired or lifted). Returns the events of the watched cases,
    /// including those the passing time decides (as `tick`).
    public mutating func record(_ samples: [TrafficSample], at now: Timestamp) -> [TrafficEvent] {
        let first = lastReadingAt == nil
        var seen: Set<IPNetwork> = []
        var rose: [IPNetwork] = []
        for sample in samples where seen.insert(sample.network).inserted {
            let addedAt = sample.age.map { now - $0 }
            guard var element = elements[sample.network], element.present else {
                // New (or back after an absence): added after the previous reading, so its
                // whole count is new traffic; on the very first reading, a baseline.
                let previous = elements[sample.network]
                var element = ElementState(
                    packets: sample.packets, bytes: sample.bytes, addedAt: addedAt, present: true,
                    lastTrafficAt: previous?.lastTrafficAt, uncertainAt: previous?.uncertainAt)
                if !first, sample.packets > 0 {
                    element.lastTrafficAt = now
                    rose.append(sample.network)
                }
                elements[sample.network] = element
                if !sample.network.isHost { prefixes.insert(sample.network) }
                continue
            }
            let readded: Bool
            if let before = element.addedAt, let after = addedAt {
                readded = after > before + tolerance
            } else {
                readded = false
            }
            if sample.packets < element.packets {
                // Reset after the previous reading: everything counted now is new.
                if sample.packets > 0 {
                    element.lastTrafficAt = now
                    rose.append(sample.network)
                }
            } else if sample.packets > element.packets {
                element.lastTrafficAt = now
                rose.append(sample.network)
            } else if readded, sample.packets > 0 {
                element.uncertainAt = now
            }
            element.packets = sample.packets
            element.bytes = sample.bytes
            element.addedAt = addedAt
            elements[sample.network] = element
        }
        for (network, element) in elements where element.present && !seen.contains(network) {
            elements[network]?.present = false
        }
        lastReadingAt = now
        var events: [TrafficEvent] = []
        if !rose.isEmpty {
            for (id, watched) in cases.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
                for source in watched.sources where rose.contains(where: { $0.contains(source) }) {
                    events += trafficSeen(id, source: source, at: now, evidence: .intoBan)
                }
            }
        }
        return events + tick(at: now)
    }

    /// Every source of the cases watched now.
    public var watchedSources: Set<IPAddress> { Set(cases.values.flatMap(\.sources)) }

    /// A sensor saw `source` again at `time` (a failure in a log or on the wire). Returns the
    /// events of the watched cases that hold it.
    public mutating func sighted(_ source: IPAddress, at time: Timestamp) -> [TrafficEvent] {
        sightings[source] = max(sightings[source] ?? time, time)
        var events: [TrafficEvent] = []
        for (id, watched) in cases.sorted(by: { $0.key.uuidString < $1.key.uuidString }) where watched.sources.contains(source) {
            events += trafficSeen(id, source: source, at: time, evidence: .sensor)
        }
        return events
    }

    /// Time passed: cases whose sources have been silent for `silence` become mitigated.
    public mutating func tick(at now: Timestamp) -> [TrafficEvent] {
        var events: [TrafficEvent] = []
        for (id, watched) in cases.sorted(by: { $0.key.uuidString < $1.key.uuidString }) where watched.state != .mitigated {
            let (_, silentSince) = silentStretch(of: watched)
            guard now - silentSince >= silence else { continue }
            cases[id]?.state = .mitigated
            cases[id]?.mitigatedAt = now
            events.append(.mitigated(case: id, at: now, silentSince: silentSince))
        }
        return events
    }

    /// Forgets elements absent since before `cutoff` and sightings older than it (bounded
    /// memory; watched cases keep what their sources need through `lastTrafficAt` of theirs).
    public mutating func forget(before cutoff: Timestamp) {
        let watched = Set(cases.values.flatMap(\.sources))
        for (network, element) in elements where !element.present {
            let last = max(element.lastTrafficAt ?? .init(microseconds: 0), element.uncertainAt ?? .init(microseconds: 0))
            if last < cutoff, !watched.contains(where: { network.contains($0) }) {
                elements[network] = nil
                prefixes.remove(network)
            }
        }
        sightings = sightings.filter { $0.value >= cutoff || watched.contains($0.key) }
    }

    // MARK: Per source

    /// What is known about `source` (its host element, prefix elements holding it, sightings).
    public func source(_ source: IPAddress) -> SourceTraffic {
        var result = SourceTraffic(lastTrafficAt: nil, evidence: nil, uncertainAt: nil, banned: false)
        var holders: [ElementState] = []
        if let host = elements[IPNetwork(host: source)] { holders.append(host) }
        for prefix in prefixes where prefix.contains(source) {
            if let element = elements[prefix] { holders.append(element) }
        }
        for element in holders {
            result.banned = result.banned || element.present
            if let t = element.lastTrafficAt, t > (result.lastTrafficAt ?? t - .seconds(1)) {
                result.lastTrafficAt = t
                result.evidence = .intoBan
            }
            if let u = element.uncertainAt { result.uncertainAt = max(result.uncertainAt ?? u, u) }
        }
        if let seen = sightings[source], seen >= (result.lastTrafficAt ?? seen) {
            result.lastTrafficAt = seen
            result.evidence = .sensor
        }
        return result
    }

    /// The element state of `network` (tests, diagnostics).
    public func element(_ network: IPNetwork) -> ElementState? { elements[network] }

    // MARK: Internals

    private mutating func trafficSeen(_ id: UUID, source: IPAddress, at time: Timestamp, evidence: TrafficEvidence) -> [TrafficEvent] {
        guard let watched = cases[id], time >= watched.reportedAt else { return [] }
        var events: [TrafficEvent] = [.traffic(case: id, source: source, at: time, evidence: evidence)]
        if watched.state == .mitigated, let mitigatedAt = watched.mitigatedAt, time > mitigatedAt {
            cases[id]?.state = .resumed
            cases[id]?.resumedAt = time
            events.append(.resumed(case: id, source: source, at: time, evidence: evidence))
        }
        return events
    }

    /// The last traffic of the case's sources, and the start of their silence (never before
    /// the report; an uncertain reading restarts it).
    private func silentStretch(of watched: WatchedCase) -> (last: Timestamp?, silentSince: Timestamp) {
        var last: Timestamp?
        var since = watched.reportedAt
        for address in watched.sources {
            let traffic = source(address)
            if let t = traffic.lastTrafficAt {
                last = max(last ?? t, t)
                since = max(since, t)
            }
            if let u = traffic.uncertainAt { since = max(since, u) }
        }
        if let resumed = watched.resumedAt { since = max(since, resumed) }
        return (last, since)
    }
}
