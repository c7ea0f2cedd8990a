// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing
import WardenCore

@testable import Abuse

private let t0 = Timestamp(seconds: 1_764_748_800)

private func ban(_ network: String, origin: BanOrigin = .detector, asn: UInt32? = 64_500) -> Ban {
    var enrichment = IntelEnrichment()
    enrichment.asn = asn
    return Ban(
        network: IPNetwork(network)!, rule: .failures, origin: origin, created: t0, duration: .seconds(600), reason: "test",
        enrichment: asn == nil ? nil : enrichment)
}

@Suite struct CaseOpenerTests {
    let policy = CaseOpener.Policy()

    @Test func aDetectorBanOfAnUnknownSourceOpensACaseGroupedByItsAS() {
        #expect(CaseOpener.decide(ban("198.18.1.1"), openCases: [], policy: policy, now: t0) == .open(network: .autonomousSystem(64_500)))
        // Without an AS: its /24 or /48.
        #expect(
            CaseOpener.decide(ban("198.18.1.1", asn: nil), openCases: [], policy: policy, now: t0)
                == .open(network: .prefix(IPNetwork("198.18.1.0/24")!)))
        #expect(
            CaseOpener.decide(ban("2001:2::7", asn: nil), openCases: [], policy: policy, now: t0)
                == .open(network: .prefix(IPNetwork("2001:2::/48")!)))
    }

    @Test func onlyDetectorHostBansOfPublicAddressesAreReported() {
        for origin in [BanOrigin.manual, .feed, .providerPolicy, .fleet] {
            guard case .ignore = CaseOpener.decide(ban("198.18.1.1", origin: origin), openCases: [], policy: policy, now: t0) else {
                Issue.record("\(origin) reported")
                continue
            }
        }
        for address in ["198.18.1.0/24", "10.1.2.3", "192.168.1.9", "100.64.0.1", "127.0.0.1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"] {
            if case .ignore = CaseOpener.decide(ban(address), openCases: [], policy: policy, now: t0) { continue }
            Issue.record("\(address) reported")
        }
        // The operator's own networks can be excluded too.
        var own = policy
        own.excluded.insert(IPNetwork("198.18.0.0/16")!)
        if case .ignore = CaseOpener.decide(ban("198.18.1.1"), openCases: [], policy: own, now: t0) {} else { Issue.record("own address reported") }
    }

    @Test func aSourceOfTheSameNetworkJoinsACaseNotSentYet() {
        let id = UUID()
        let open = CaseOpener.OpenCase(id: id, network: .autonomousSystem(64_500), state: .review, openedAt: t0, sources: [IPAddress("198.18.1.1")!])
        #expect(CaseOpener.decide(ban("198.18.9.9"), openCases: [open], policy: policy, now: t0 + .seconds(60)) == .join(id))
        // Another AS: its own case.
        #expect(
            CaseOpener.decide(ban("198.18.9.9", asn: 64_501), openCases: [open], policy: policy, now: t0) == .open(network: .autonomousSystem(64_501))
        )
        // Too late to join: a case of its own.
        #expect(
            CaseOpener.decide(ban("198.18.9.9"), openCases: [open], policy: policy, now: t0 + .seconds(3600))
                == .open(network: .autonomousSystem(64_500)))
        // Already sent: a new case for the newcomer.
        var sent = open
        sent.state = .sent
        #expect(
            CaseOpener.decide(ban("198.18.9.9"), openCases: [sent], policy: policy, now: t0 + .seconds(60))
                == .open(network: .autonomousSystem(64_500)))
        // Full: a new case.
        var full = open
        full.sources = (1...50).map { IPAddress("198.18.2.\($0)")! }
        #expect(
            CaseOpener.decide(ban("198.18.9.9"), openCases: [full], policy: policy, now: t0 + .seconds(60))
                == .open(network: .autonomousSystem(64_500)))
    }

    @Test func aSourceAlreadyInAnActiveCaseIsTrafficForItNotANewReport() {
        let id = UUID()
        var open = CaseOpener.OpenCase(
            id: id, network: .autonomousSystem(64_500), state: .acknowledged, openedAt: t0, sources: [IPAddress("198.18.1.1")!])
        #expect(CaseOpener.decide(ban("198.18.1.1"), openCases: [open], policy: policy, now: t0 + .seconds(86_400)) == .traffic(id))
        #expect(CaseOpener.decide(ban("::ffff:198.18.1.1"), openCases: [open], policy: policy, now: t0) == .traffic(id))
        // A closed case does not hold it: a new case.
        open.state = .closed
        #expect(CaseOpener.decide(ban("198.18.1.1"), openCases: [open], policy: policy, now: t0) == .open(network: .autonomousSystem(64_500)))
    }
}
