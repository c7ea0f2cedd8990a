// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing
import WardenCore

@testable import Abuse

@Suite("Scorecard: the overdue cases per AS (what ranges.overdue-block counts)")
struct OverdueByASTests {
    static let t0 = Timestamp(seconds: 1_764_072_000)
    /// Deadlines in seconds, so a case goes overdue in a minute and is mitigated in ten.
    static let policy = CasePolicy(review: false, acknowledgeWithin: .seconds(60), mitigateWithin: .seconds(300), silenceForMitigated: .seconds(600))

    /// A case of `asn` reported at t0, driven by the lifecycle to `state` (overdue,
    /// escalated, mitigated, closed or sent).
    static func reported(_ asn: UInt32?, _ state: CaseState, approveEscalations: Bool = true) -> AbuseCase {
        var policy = Self.policy
        policy.approveEscalations = approveEscalations
        var c = AbuseCase(
            id: UUID(), sources: [IPAddress("198.51.100.7")!], asn: asn, organisation: "Example Cloud", contacts: ["abuse@net.example"],
            openedAt: t0, lastTrafficAt: t0)
        _ = c.handle(.open, at: t0, policy: policy)
        _ = c.handle(.delivered(contactIndex: 0), at: t0, policy: policy)
        switch state {
        case .sent: break
        case .overdue, .escalated: _ = c.handle(.tick, at: t0 + .seconds(61), policy: policy)
        case .mitigated: _ = c.handle(.tick, at: t0 + .seconds(601), policy: policy)
        case .closed: _ = c.handle(.close(reason: "test"), at: t0 + .seconds(5), policy: policy)
        default: Issue.record("not a state this helper makes: \(state)")
        }
        #expect(c.state == state)
        return c
    }

    @Test func countsOverdueAndEscalatedCasesPerASAndNoOthers() {
        let a1 = Self.reported(64500, .overdue)
        let a2 = Self.reported(64500, .escalated, approveEscalations: false)
        let b1 = Self.reported(64501, .overdue)
        let cases = [
            a1, a2, b1, Self.reported(64500, .sent), Self.reported(64500, .mitigated), Self.reported(64501, .closed),
            // No AS: never counted, however overdue.
            Self.reported(nil, .overdue), Self.reported(nil, .escalated, approveEscalations: false),
        ]
        let byAS = Scorecard.overdueByAS(cases)
        #expect(byAS == [64500: [a1.id, a2.id], 64501: [b1.id]])
        // The same count as the scorecard's `overdueNow`.
        let scores = Scorecard.compute(cases, now: Self.t0 + .seconds(700), policy: Self.policy)
        for score in scores {
            if let asn = score.asn {
                #expect(score.overdueNow == byAS[asn]?.count ?? 0, "AS\(asn)")
            } else {
                #expect(score.overdueNow == 2, "the cases without an AS are overdue, just not counted per AS")
            }
        }
    }

    @Test func aCaseThatIsAnsweredOrMitigatedStopsCounting() {
        var c = Self.reported(64500, .overdue)
        #expect(Scorecard.overdueByAS([c])[64500]?.count == 1)
        _ = c.handle(.tick, at: Self.t0 + .seconds(700), policy: Self.policy)
        #expect(c.state == .mitigated)
        #expect(Scorecard.overdueByAS([c]).isEmpty)
    }
}
