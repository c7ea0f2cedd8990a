// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Logging
import NetworkAddress
import Synchronization
import Testing
import WardenCore

@testable import SIPWarden

/// A service that records what the reload did to it.
private final class RecordingService: DaemonService {
    let name: String
    let restartOnly: [RestartOnlySetting]
    private let refuseCheck: Bool
    private let failApply: Bool
    let applied = Mutex<[Int]>([])

    init(_ name: String, restartOnly: [RestartOnlySetting] = [], refuseCheck: Bool = false, failApply: Bool = false) {
        self.name = name
        self.restartOnly = restartOnly
        self.refuseCheck = refuseCheck
        self.failApply = failApply
    }

    func checkReload(_ next: Configuration) -> ReloadRefusal? {
        refuseCheck ? ReloadRefusal("\(name) refuses", error: "check") : nil
    }

    func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        if failApply { throw ReloadRefusal("\(name) failed", error: "apply") }
        applied.withLock { $0.append(next.detection.threshold.maxRetry) }
    }
}

private func configuration(maxRetry: Int, log: String = "/var/log/a.log", table: String = "sipwarden") -> Configuration {
    var c = Configuration()
    c.detection.threshold.maxRetry = maxRetry
    c.logs = [LogSource(path: log, dialect: .auto)]
    c.nftTable = table
    return c
}

@Suite struct ConfigurationReloadTests {
    @Test func liveSettingsReachEveryServiceAndRestartOnlyOnesKeepTheirRunningValue() {
        let a = RecordingService("a", restartOnly: [RestartOnlySetting("logs", \.logs)])
        let b = RecordingService("b", restartOnly: [RestartOnlySetting("nftables.table", \.nftTable)])
        let running = configuration(maxRetry: 5)
        let outcome = ConfigurationReload(services: [a, b]).reload(
            configuration(maxRetry: 2, log: "/var/log/b.log"), running: running)
        guard case .applied(let next, let needsRestart) = outcome else {
            Issue.record("refused: \(outcome)")
            return
        }
        #expect(needsRestart == ["logs"])
        #expect(next.logs == running.logs, "a restart-only setting keeps its running value")
        #expect(next.detection.threshold.maxRetry == 2)
        #expect(a.applied.withLock { $0 } == [2])
        #expect(b.applied.withLock { $0 } == [2])
    }

    @Test func oneRefusalChangesNothing() {
        let a = RecordingService("a")
        let b = RecordingService("b", refuseCheck: true)
        let outcome = ConfigurationReload(services: [a, b]).reload(configuration(maxRetry: 2), running: configuration(maxRetry: 5))
        guard case .refused(let service, let refusal, _) = outcome else {
            Issue.record("applied: \(outcome)")
            return
        }
        #expect(service == "b")
        #expect(refusal.message == "b refuses")
        #expect(a.applied.withLock { $0 }.isEmpty, "no service applies a refused configuration")
    }

    @Test func aFailedApplyStopsTheServicesAfterIt() {
        let a = RecordingService("a", failApply: true)
        let b = RecordingService("b")
        let outcome = ConfigurationReload(services: [a, b]).reload(configuration(maxRetry: 2), running: configuration(maxRetry: 5))
        guard case .refused(service: "a", _, _) = outcome else {
            Issue.record("unexpected: \(outcome)")
            return
        }
        #expect(b.applied.withLock { $0 }.isEmpty)
    }

    @Test func aSettingSeveralServicesDependOnIsNamedOnce() {
        let a = RecordingService("a", restartOnly: [RestartOnlySetting("realtime", \.realtimeSensors)])
        let b = RecordingService("b", restartOnly: [RestartOnlySetting("realtime", \.realtimeSensors)])
        var next = configuration(maxRetry: 5)
        next.realtimeSensors.toggle()
        let outcome = ConfigurationReload(services: [a, b]).reload(next, running: configuration(maxRetry: 5))
        guard case .applied(let applied, let needsRestart) = outcome else {
            Issue.record("refused: \(outcome)")
            return
        }
        #expect(needsRestart == ["realtime"])
        #expect(applied.realtimeSensors == Configuration().realtimeSensors)
    }
}

/// The daemon's own services, without threads: what a SIGHUP changes in them.
@Suite struct DaemonServiceReloadTests {
    let logger = Logger(label: "test")

    private func failures(_ count: Int, from source: String, at time: Timestamp) -> [SecurityEvent] {
        (0..<count).map { i in
            SecurityEvent(
                time: time, source: IPAddress(source)!, sourcePort: 5060, transport: .udp, kind: .authFailed,
                user: "10\(i)", reason: "wrong password", dialect: .kamailio, origin: .wire(sensor: "test"))
        }
    }

    @Test func maxRetryReachesTheDetectorAndASensorChangeIsRestartOnly() throws {
        let firewall = DryRunFirewall(logger: logger)
        let running = configuration(maxRetry: 5)
        let pipeline = Pipeline(policy: running.detection, firewall: firewall, fanOut: nil, logger: logger, clock: systemClock)
        let restored = RestoredState(activeBans: [], offences: [:])
        let services: [any DaemonService] = [
            DetectionService(pipeline: pipeline, restored: restored, stateDirectory: "/nonexistent", logger: logger),
            SensorService.logs(running.sensorSettings, pipeline: pipeline, logger: logger),
            InlineService(settings: nil, policy: running.admissionPolicy, pipeline: pipeline, logger: logger),
        ]
        pipeline.judge(failures(2, from: "198.18.0.60", at: systemClock()), received: systemClock())
        #expect(try firewall.list().isEmpty, "2 failures under max-retry 5")

        let outcome = ConfigurationReload(services: services).reload(
            configuration(maxRetry: 2, log: "/var/log/other.log"), running: running)
        guard case .applied(let next, let needsRestart) = outcome else {
            Issue.record("refused: \(outcome)")
            return
        }
        #expect(needsRestart == ["logs"])
        #expect(next.logs == running.logs)
        pipeline.judge(failures(2, from: "198.18.0.61", at: systemClock()), received: systemClock())
        #expect(try firewall.list().map(\.network) == [IPNetwork("198.18.0.61")!])
    }

    @Test func anInvalidDetectionPolicyIsRefused() {
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: DryRunFirewall(logger: logger), fanOut: nil, logger: logger, clock: systemClock)
        let service = DetectionService(
            pipeline: pipeline, restored: RestoredState(activeBans: [], offences: [:]), stateDirectory: "/nonexistent", logger: logger)
        var next = configuration(maxRetry: 5)
        next.detection.threshold.maxRetry = 0
        guard case .refused(service: "detection", _, _) = ConfigurationReload(services: [service]).reload(next, running: configuration(maxRetry: 5))
        else {
            Issue.record("a max-retry of 0 was applied")
            return
        }
    }
}
