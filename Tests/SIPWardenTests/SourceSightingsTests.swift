// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Detection
import Firewall
import Foundation
import Logging
import NetworkAddress
import SIPWarden
import Synchronization
import Testing
import WardenCore

/// The detection path's failures of the sources of open cases reach the case service's
/// traffic tracker: a source that comes back after its ban expired is traffic of its case.
@Suite struct SourceSightingsTests {
    private let watchedSource = IPAddress("198.18.44.7")!
    private let otherSource = IPAddress("198.18.44.8")!

    private func failure(_ source: IPAddress, at time: Timestamp, kind: EventKind = .authFailed) -> SecurityEvent {
        SecurityEvent(
            time: time, source: source, sourcePort: 5062, transport: .udp, kind: kind, user: "100", dialect: .kamailio,
            origin: .logLine(file: "/var/log/kamailio.log", line: 1))
    }

    private func pipeline(_ clock: ManualClock) -> Pipeline {
        Pipeline(
            policy: DetectionPolicy(), firewall: DryRunFirewall(logger: Logger(label: "test")), fanOut: nil, logger: Logger(label: "test"),
            clock: clock.clock)
    }

    @Test func onlyTheWatchedSourcesFailuresAreReported() {
        let clock = ManualClock()
        let pipeline = pipeline(clock)
        let seen = Mutex<[(IPAddress, Timestamp)]>([])
        pipeline.sightings.connect { source, time in seen.withLock { $0.append((source, time)) } }
        let t0 = clock.clock()
        pipeline.judge([failure(watchedSource, at: t0)], received: t0)
        #expect(seen.withLock { $0.isEmpty }, "nothing is watched yet")

        pipeline.sightings.watch([watchedSource])
        pipeline.judge([failure(otherSource, at: t0 + .seconds(1)), failure(watchedSource, at: t0 + .seconds(2))], received: t0)
        pipeline.judge([failure(watchedSource, at: t0 + .seconds(3), kind: .authSucceeded)], received: t0)
        // The IPv4-mapped form of a watched address is the address.
        pipeline.judge([failure(IPAddress("::ffff:198.18.44.7")!, at: t0 + .seconds(4), kind: .unknownUser)], received: t0)
        let reported = seen.withLock { $0 }
        #expect(reported.map(\.0) == [watchedSource, watchedSource], "failures only, of the watched source only")
        #expect(reported.map(\.1) == [t0 + .seconds(2), t0 + .seconds(4)], "at the events' own times")

        pipeline.sightings.watch([])
        pipeline.judge([failure(watchedSource, at: t0 + .seconds(5))], received: t0)
        #expect(seen.withLock { $0.count } == 2)
    }

    @Test func aCaseSourceFailingAgainIsTrafficOfItsCase() throws {
        let clock = ManualClock()
        let pipeline = pipeline(clock)
        let events = Mutex<[TrafficEvent]>([])
        // The reader is never asked here (no sample is taken): the sightings alone are traffic.
        let sampler = TrafficSampler(
            reader: try SetCounterReader(configuration: NFTablesConfiguration(tableName: "sightings_unused")),
            watch: TrafficWatch(silence: .seconds(60)), clock: clock.clock, events: { new in events.withLock { $0 += new } })
        sampler.follow(pipeline.sightings)
        #expect(pipeline.sightings.watched.isEmpty)

        let id = UUID()
        let reported = clock.clock()
        sampler.withWatch { $0.watch(id, sources: [watchedSource], reportedAt: reported) }
        #expect(pipeline.sightings.watched == [watchedSource], "watching a case watches its sources")

        // Its ban expired; it fails again (below any threshold): traffic of the case.
        pipeline.judge([failure(otherSource, at: reported + .seconds(30)), failure(watchedSource, at: reported + .seconds(40))], received: reported)
        #expect(events.withLock { $0 } == [.traffic(case: id, source: watchedSource, at: reported + .seconds(40), evidence: .sensor)])

        sampler.withWatch { $0.unwatch(id) }
        #expect(pipeline.sightings.watched.isEmpty, "a closed case's sources are not watched")
    }
}
