// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Logging
import NetworkAddress
import SIPWarden
import Sensors
import Storage
import TestNamespaces
import Testing
import WardenCore

/// The pipeline keeps the capture filter's banned-source map equal to the kernel's host
/// bans: in when a ban is enforced, out when an operator lifts it. (A real BPF map: root,
/// so only in the throwaway namespace run.)
@Suite("Banned-source map follows the bans", .enabled(if: ThrowawayNamespace.enabled, "needs root: run via scripts/test-in-netns.sh"))
struct BannedSourceMirrorTests {
    @Test func bansAndLiftsReachTheMap() throws {
        try ThrowawayNamespace.check(root: true)
        let clock = ManualClock()
        let filter = try BannedSourceFilter(capacity: 64)
        let pipeline = Pipeline(
            policy: DetectionPolicy(), firewall: DryRunFirewall(logger: Logger(label: "test")), fanOut: nil,
            logger: Logger(label: "test"), clock: clock.clock, bannedSources: filter)
        let attacker = IPAddress("198.18.9.66")!
        let restored = IPAddress("198.18.9.67")!
        pipeline.restore(
            activeBans: [
                BanRecord(
                    id: 1, network: IPNetwork(host: restored), reason: "r", rule: .manual,
                    createdAt: clock.clock(), expiresAt: clock.clock() + .seconds(600), origin: .manual)
            ],
            offences: [:])
        #expect(filter.drops(restored) == 0)
        let events = (0..<5).map { _ in
            SecurityEvent(
                time: clock.clock(), source: attacker, sourcePort: 5060, transport: .udp, kind: .authFailed,
                user: "100", reason: "401", dialect: .sip, origin: .wire(sensor: "test"))
        }
        pipeline.judge(Array(events.prefix(4)), received: clock.clock())
        #expect(filter.drops(attacker) == nil, "no ban yet")
        pipeline.judge([events[4]], received: clock.clock())
        #expect(filter.drops(attacker) == 0, "banned: in the map")
        pipeline.applyOperatorChanges([
            BanRecord(
                id: 2, network: IPNetwork(host: attacker), reason: "r", rule: .failures,
                createdAt: clock.clock(), expiresAt: nil, liftedAt: clock.clock(), origin: .detector)
        ])
        #expect(filter.drops(attacker) == nil, "lifted: out of the map")
    }
}
