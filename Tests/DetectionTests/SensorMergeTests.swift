// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import NetworkAddress
import Testing
import WardenCore

private let messages = EventOrigin.logLine(file: "/var/log/asterisk/messages", line: 0)
private let security = EventOrigin.logLine(file: "/var/log/asterisk/security", line: 0)
private let wire = EventOrigin.wire(sensor: "eth0")

private func attempt(
    _ origin: EventOrigin, at ms: Int64, source: String = "198.18.0.7", port: UInt16? = 5060, user: String? = "100"
) -> (SecurityEvent, Timestamp) {
    let t = Timestamp(microseconds: 1_764_072_000_000_000 + ms * 1000)
    let e = SecurityEvent(
        time: t, source: IPAddress(source)!, sourcePort: port, kind: .authFailed, user: user,
        dialect: .asterisk, origin: origin
    )
    return (e, t)
}

private func count(_ merge: inout SensorMerge, _ events: [(SecurityEvent, Timestamp)]) -> Int {
    events.reduce(0) { n, pair in n + (merge.admit(pair.0, now: pair.1) ? 1 : 0) }
}

@Suite struct SensorMergeTests {
    @Test func messagesAndSecurityLogPairsCountOnceEach() {
        var merge = SensorMerge()
        var events: [(SecurityEvent, Timestamp)] = []
        for i in 0..<10 {
            events.append(attempt(messages, at: Int64(i) * 300))
            events.append(attempt(security, at: Int64(i) * 300 + 1))
        }
        #expect(count(&merge, events) == 10)
        #expect(merge.merged == 10)
    }

    @Test func aSlowerSensorsBatchIsStillMerged() {
        // The security log is read later, in one batch: its five reports still pair up.
        var merge = SensorMerge()
        let first = (0..<5).map { attempt(messages, at: Int64($0) * 10) }
        let later = (0..<5).map { attempt(security, at: 1_000 + Int64($0)) }
        #expect(count(&merge, first + later) == 5)
    }

    @Test func logAndWireCountOnce() {
        var merge = SensorMerge()
        var events: [(SecurityEvent, Timestamp)] = []
        for i in 0..<7 {
            events.append(attempt(wire, at: Int64(i) * 100))
            events.append(attempt(messages, at: Int64(i) * 100 + 40))
        }
        #expect(count(&merge, events) == 7)
    }

    @Test func aBurstFromOneSensorAllCounts() {
        // svcrack: hundreds of guesses per second from one port, one user.
        var merge = SensorMerge()
        let burst = (0..<800).map { attempt(wire, at: Int64($0) * 2) }
        #expect(count(&merge, burst) == 800)
        #expect(merge.merged == 0)
    }

    @Test func twoSensorsWithDifferentCountsCountTheMaximum() {
        // The wire saw 12 attempts; the log only 5 of them (some were not logged).
        var merge = SensorMerge()
        var events: [(SecurityEvent, Timestamp)] = []
        for i in 0..<12 {
            events.append(attempt(wire, at: Int64(i) * 50))
            if i % 2 == 0, i < 10 { events.append(attempt(messages, at: Int64(i) * 50 + 5)) }
        }
        #expect(count(&merge, events) == 12)
        // And the other way round: the log sees more than the wire.
        var merge2 = SensorMerge()
        let swapped = events.map { pair -> (SecurityEvent, Timestamp) in
            var e = pair.0
            e.origin = e.origin == wire ? messages : wire
            return (e, pair.1)
        }
        #expect(count(&merge2, swapped) == 12)
    }

    @Test func differentPortsOrUsersAreDifferentAttempts() {
        var merge = SensorMerge()
        let events = [
            attempt(messages, at: 0), attempt(security, at: 1, port: 5062),
            attempt(security, at: 2, user: "101"), attempt(security, at: 3, source: "198.18.0.8"),
        ]
        #expect(count(&merge, events) == 4)
    }

    @Test func theWindowExpires() {
        var merge = SensorMerge(window: .seconds(5))
        let first = attempt(messages, at: 0)
        let counted = merge.admit(first.0, now: first.1)
        #expect(counted)
        // Ten seconds later the other sensor's report is a new attempt.
        let late = attempt(security, at: 10_000)
        let lateCounted = merge.admit(late.0, now: late.1)
        #expect(lateCounted)
        // ...and within the window again it is a duplicate of that one.
        let echo = attempt(messages, at: 10_500)
        let echoCounted = merge.admit(echo.0, now: echo.1)
        #expect(!echoCounted)
    }

    @Test func boundedUnderManyKeysAndNeverUnderCounts() {
        var merge = SensorMerge(capacity: 1_024)
        let bytes = merge.tableBytes
        #expect(SensorMerge.entryBytes <= 48)
        #expect(bytes == merge.capacity * SensorMerge.entryBytes)
        // 100 000 spoofed sources, one report each: every one counts.
        var counted = 0
        for i in 0..<100_000 {
            let address = IPAddress.v4(0xC612_0000 | UInt32(i & 0x1_FFFF))
            let e = SecurityEvent(
                time: Timestamp(seconds: 1), source: address, sourcePort: UInt16(i & 0xFFFF), kind: .authFailed,
                dialect: .sip, origin: wire
            )
            if merge.admit(e, now: Timestamp(seconds: 1)) { counted += 1 }
        }
        #expect(counted == 100_000)
        #expect(merge.tableBytes == bytes, "the table never grows")
    }

    @Test func rotatedLogsAreOneSensor() {
        let base = SensorMerge.sensorIdentity(.logLine(file: "/var/log/asterisk/messages", line: 1))
        #expect(SensorMerge.sensorIdentity(.logLine(file: "/var/log/asterisk/messages.1", line: 1)) == base)
        #expect(SensorMerge.sensorIdentity(.logLine(file: "/var/log/asterisk/messages.2.gz", line: 1)) == base)
        #expect(SensorMerge.sensorIdentity(.logLine(file: "/var/log/asterisk/messages-20251124", line: 1)) == base)
        #expect(SensorMerge.sensorIdentity(.logLine(file: "/var/log/asterisk/security", line: 1)) != base)
    }

    @Test func aRotationDoesNotHideAttempts() {
        // A replay of messages.1 then messages: one sensor, so a burst across the
        // rotation counts in full.
        var merge = SensorMerge()
        let before = (0..<50).map { attempt(.logLine(file: "/var/log/asterisk/messages.1", line: 0), at: Int64($0) * 10) }
        let after = (50..<100).map { attempt(messages, at: Int64($0) * 10) }
        #expect(count(&merge, before + after) == 100)
    }
}
