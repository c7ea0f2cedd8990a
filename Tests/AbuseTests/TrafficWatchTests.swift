// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing
import WardenCore

@testable import Abuse

@Suite("TrafficWatch: does the attack stop? (injected clock)")
struct TrafficWatchTests {
    /// Minutes since the epoch as a timestamp.
    static func m(_ minutes: Int64) -> Timestamp { Timestamp(seconds: minutes * 60) }
    static let a = IPAddress("198.18.0.7")!
    static let b = IPAddress("198.18.0.8")!
    static let id = UUID(uuidString: "00000000-0000-4000-8000-0000000000aa")!
    static func host(_ address: IPAddress, _ packets: UInt64, age: Int64? = nil) -> TrafficSample {
        TrafficSample(network: IPNetwork(host: address), packets: packets, bytes: packets * 60, age: age.map { .seconds($0 * 60) })
    }

    /// A watch (silence 30 min) with the case reported at minute 10 and a first reading at
    /// minute 0 in which `a` (banned at minute 0, ban 600 min) had dropped `packets`.
    static func watching(_ sources: [IPAddress] = [a], packets: UInt64 = 5) -> TrafficWatch {
        var watch = TrafficWatch(silence: .seconds(30 * 60))
        _ = watch.record(sources.map { host($0, packets, age: 0) }, at: m(0))
        watch.watch(id, sources: sources, reportedAt: m(10))
        return watch
    }

    @Test func silenceAfterTheReportIsMitigatedOnlyOnceLongEnough() {
        var watch = Self.watching()
        #expect(watch.record([Self.host(Self.a, 5, age: 20)], at: Self.m(20)).isEmpty)
        #expect(watch.record([Self.host(Self.a, 5, age: 39)], at: Self.m(39)).isEmpty, "29 min of silence are not 30")
        let events = watch.record([Self.host(Self.a, 5, age: 40)], at: Self.m(40))
        #expect(events == [.mitigated(case: Self.id, at: Self.m(40), silentSince: Self.m(10))])
        #expect(watch.traffic(of: Self.id, now: Self.m(41))?.state == .mitigated)
        // Packets counted before the first reading are a baseline of unknown time, not traffic.
        #expect(watch.source(Self.a).lastTrafficAt == nil)
        #expect(watch.source(Self.a).banned)
    }

    @Test func packetsIntoTheBanKeepTheCaseOpenAndResumeItAfterMitigation() {
        var watch = Self.watching()
        let during = watch.record([Self.host(Self.a, 9, age: 20)], at: Self.m(20))
        #expect(during == [.traffic(case: Self.id, source: Self.a, at: Self.m(20), evidence: .intoBan)])
        #expect(watch.tick(at: Self.m(45)).isEmpty, "silent only since minute 20")
        #expect(watch.record([Self.host(Self.a, 9, age: 50)], at: Self.m(50)) == [.mitigated(case: Self.id, at: Self.m(50), silentSince: Self.m(20))])
        let back = watch.record([Self.host(Self.a, 10, age: 60)], at: Self.m(60))
        #expect(
            back == [
                .traffic(case: Self.id, source: Self.a, at: Self.m(60), evidence: .intoBan),
                .resumed(case: Self.id, source: Self.a, at: Self.m(60), evidence: .intoBan),
            ])
        let state = watch.traffic(of: Self.id, now: Self.m(61))
        #expect(state?.state == .resumed && state?.resumedAt == Self.m(60) && state?.lastTrafficAt == Self.m(60))
        // Silent again for 30 min after the resumption: mitigated again.
        #expect(watch.tick(at: Self.m(89)).isEmpty)
        #expect(watch.tick(at: Self.m(90)) == [.mitigated(case: Self.id, at: Self.m(90), silentSince: Self.m(60))])
    }

    @Test func aSourceSeenBySensorsAfterItsBanExpiredResumesTheCase() {
        var watch = Self.watching()
        _ = watch.record([Self.host(Self.a, 5, age: 30)], at: Self.m(30))
        // The ban expired: the element is gone from the reading.
        #expect(watch.record([], at: Self.m(40)) == [.mitigated(case: Self.id, at: Self.m(40), silentSince: Self.m(10))])
        #expect(!watch.source(Self.a).banned)
        let seen = watch.sighted(Self.a, at: Self.m(70))
        #expect(
            seen == [
                .traffic(case: Self.id, source: Self.a, at: Self.m(70), evidence: .sensor),
                .resumed(case: Self.id, source: Self.a, at: Self.m(70), evidence: .sensor),
            ])
        #expect(watch.source(Self.a).evidence == .sensor)
        // A sighting of another address changes nothing.
        #expect(watch.sighted(Self.b, at: Self.m(71)).isEmpty)
    }

    @Test func counterResetIsNeitherFalseTrafficNorFalseSilence() {
        // Re-added (set recreated) with a count below the old one: what it counts now is new.
        var watch = Self.watching(packets: 100)
        #expect(
            watch.record([Self.host(Self.a, 3, age: 1)], at: Self.m(15)) == [
                .traffic(case: Self.id, source: Self.a, at: Self.m(15), evidence: .intoBan)
            ])

        // Reset to 0: no traffic, and silence goes on counting from the report.
        watch = Self.watching(packets: 100)
        #expect(watch.record([Self.host(Self.a, 0, age: 1)], at: Self.m(15)).isEmpty)
        #expect(watch.tick(at: Self.m(40)) == [.mitigated(case: Self.id, at: Self.m(40), silentSince: Self.m(10))])

        // Re-added or refreshed (its age restarted) with the same non-zero count: a re-add at
        // 0 that then counted exactly 5 again, or a refresh in place without traffic.
        // Neither traffic (no resume) nor silence (the silence restarts at that reading).
        watch = Self.watching(packets: 5)
        #expect(watch.record([Self.host(Self.a, 5, age: 1)], at: Self.m(15)).isEmpty)
        #expect(watch.source(Self.a).uncertainAt == Self.m(15))
        #expect(watch.source(Self.a).lastTrafficAt == nil)
        #expect(watch.tick(at: Self.m(40)).isEmpty, "silence since the report would say mitigated; the reset says not yet")
        #expect(watch.tick(at: Self.m(45)) == [.mitigated(case: Self.id, at: Self.m(45), silentSince: Self.m(15))])

        // The same count with an age that just grew: the same element, silent.
        watch = Self.watching(packets: 5)
        #expect(watch.record([Self.host(Self.a, 5, age: 15)], at: Self.m(15)).isEmpty)
        #expect(watch.source(Self.a).uncertainAt == nil)
    }

    @Test func anElementAddedAfterTheFirstReadingCountsFromZero() {
        var watch = Self.watching()
        _ = watch.record([Self.host(Self.a, 5, age: 20)], at: Self.m(20))
        _ = watch.record([], at: Self.m(25)) // lifted
        // Banned again between readings, and already 4 packets dropped: traffic.
        #expect(
            watch.record([Self.host(Self.a, 4, age: 1)], at: Self.m(30)) == [
                .traffic(case: Self.id, source: Self.a, at: Self.m(30), evidence: .intoBan)
            ])
    }

    @Test func severalSourcesPerCase() {
        var watch = Self.watching([Self.a, Self.b])
        // b keeps sending, a is silent: not mitigated.
        #expect(
            watch.record([Self.host(Self.a, 5, age: 20), Self.host(Self.b, 8, age: 20)], at: Self.m(20)) == [
                .traffic(case: Self.id, source: Self.b, at: Self.m(20), evidence: .intoBan)
            ])
        #expect(watch.tick(at: Self.m(45)).isEmpty)
        #expect(watch.traffic(of: Self.id, now: Self.m(45))?.silentSince == Self.m(20))
        #expect(watch.tick(at: Self.m(50)) == [.mitigated(case: Self.id, at: Self.m(50), silentSince: Self.m(20))])
        // a alone comes back: the case resumes.
        let back = watch.record([Self.host(Self.a, 6, age: 60), Self.host(Self.b, 8, age: 60)], at: Self.m(60))
        #expect(back.contains(.resumed(case: Self.id, source: Self.a, at: Self.m(60), evidence: .intoBan)))
        #expect(!back.contains { if case .traffic(_, let s, _, _) = $0 { s == Self.b } else { false } })
    }

    @Test func aPrefixCounterIsTrafficOfEveryWatchedSourceInside() {
        var watch = TrafficWatch(silence: .seconds(1_800))
        let prefix = IPNetwork("198.18.0.0/24")!
        _ = watch.record([TrafficSample(network: prefix, packets: 0, age: .zero)], at: Self.m(0))
        watch.watch(Self.id, sources: [Self.b], reportedAt: Self.m(1))
        let events = watch.record([TrafficSample(network: prefix, packets: 2, age: .seconds(300))], at: Self.m(5))
        #expect(events == [.traffic(case: Self.id, source: Self.b, at: Self.m(5), evidence: .intoBan)])
        #expect(watch.source(Self.b).banned)
        #expect(!watch.source(IPAddress("198.18.1.1")!).banned)
    }

    @Test func trafficBeforeTheReportIsNotTheCasesAndSightingsOutOfOrderDoNotResume() {
        var watch = TrafficWatch(silence: .seconds(1_800))
        _ = watch.record([Self.host(Self.a, 0, age: 0)], at: Self.m(0))
        watch.watch(Self.id, sources: [Self.a], reportedAt: Self.m(10))
        #expect(watch.sighted(Self.a, at: Self.m(5)).isEmpty, "a failure logged before the report")
        #expect(watch.tick(at: Self.m(40)) == [.mitigated(case: Self.id, at: Self.m(40), silentSince: Self.m(10))])
        // A sensor's event stamped before the mitigation, delivered late: traffic, no resumption.
        #expect(watch.sighted(Self.a, at: Self.m(39)) == [.traffic(case: Self.id, source: Self.a, at: Self.m(39), evidence: .sensor)])
        #expect(watch.traffic(of: Self.id, now: Self.m(41))?.state == .mitigated)
    }

    @Test func forgetDropsOnlyWhatNoWatchedCaseNeeds() {
        var watch = TrafficWatch(silence: .seconds(1_800))
        _ = watch.record([Self.host(Self.a, 1, age: 0), Self.host(Self.b, 1, age: 0)], at: Self.m(0))
        watch.watch(Self.id, sources: [Self.a], reportedAt: Self.m(1))
        _ = watch.record([], at: Self.m(10))
        watch.forget(before: Self.m(20))
        #expect(watch.element(IPNetwork(host: Self.a)) != nil)
        #expect(watch.element(IPNetwork(host: Self.b)) == nil)
    }
}
