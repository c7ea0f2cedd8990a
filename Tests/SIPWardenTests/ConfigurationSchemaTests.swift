// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Logging
import NetworkAddress
import Synchronization
import Testing

@testable import SIPWarden

#if canImport(Glibc)
    import Glibc
#endif

/// The YAML a setting's example stands for: `a.b.c` with `X` is `a:\n  b:\n    c: X`.
private func yaml(for setting: Setting) -> String {
    let parts = setting.key.split(separator: ".")
    var out = ""
    for (depth, part) in parts.enumerated() {
        out += String(repeating: "  ", count: depth) + part + ":"
        out += depth == parts.count - 1 ? " \(setting.example)\n" : "\n"
    }
    return out
}

/// The configuration with only this setting's example applied over the defaults.
private func exampleConfiguration(_ setting: Setting) throws -> Configuration {
    try ConfigurationFile.parse(yaml(for: setting), file: "example.yaml")
}

/// The setting a reload names for this one: itself, or the restart-only section it is in.
private func reloadUnit(_ setting: Setting) -> Setting {
    if setting.reload == nil, !setting.isSection, let parent = ConfigurationSchema.setting(setting.parent) { return parent }
    return setting
}

/// Settings whose example is a real change (sections given as `{}` change nothing).
private let changingSettings = ConfigurationSchema.settings.filter { $0.example != "{}" }

@Suite struct ConfigurationSchemaTests {
    @Test func keysAreUniqueAndEverySectionIsDeclaredBeforeItsKeys() {
        var seen: Set<String> = []
        for setting in ConfigurationSchema.settings {
            #expect(seen.insert(setting.key).inserted, "\(setting.key) declared twice")
            if !setting.parent.isEmpty {
                #expect(seen.contains(setting.parent), "\(setting.key): its section \(setting.parent) is not declared before it")
                #expect(ConfigurationSchema.setting(setting.parent)?.isSection == true, "\(setting.parent) is not a section")
            }
        }
    }

    /// The guard the inline bug calls for: every key the reader accepts has a reload rule
    /// (or is under a section that has one), and every owner is a service of the daemon.
    @Test func everySettingTheReaderAcceptsHasAReloadRuleAndRealOwners() {
        let services = Set(ConfigurationSchema.serviceViews.map(\.service))
        for setting in ConfigurationSchema.settings where !setting.isSection || setting.reload != nil {
            #expect(reloadUnit(setting).reload != nil, "\(setting.key) has no reload rule")
        }
        for setting in ConfigurationSchema.settings {
            for owner in setting.owners { #expect(services.contains(owner), "\(setting.key): no service \(owner)") }
        }
        for service in services {
            #expect(ConfigurationSchema.settings.contains { $0.owners.contains(service) }, "\(service) owns no setting")
        }
    }

    @Test(arguments: changingSettings.map(\.key))
    func theExampleIsReadIntoTheSettingItDeclares(key: String) throws {
        let setting = try #require(ConfigurationSchema.setting(key))
        let c = try exampleConfiguration(setting)
        #expect(setting.differs(c, Configuration()), "reading \(yaml(for: setting)) left \(key) at its default")
    }

    /// A setting reaches exactly the services it names: each owner's view of the
    /// configuration changes with it, and no other service's view does.
    @Test(arguments: changingSettings.map(\.key))
    func aSettingChangesTheViewsOfItsOwnersAndOfNoOtherService(key: String) throws {
        let setting = try #require(ConfigurationSchema.setting(key))
        let c = try exampleConfiguration(setting)
        let base = Configuration()
        let changed = Set(ConfigurationSchema.serviceViews.filter { $0.view(base) != $0.view(c) }.map(\.service))
        #expect(changed == Set(setting.owners), "\(key): views changed \(changed.sorted()), owners \(setting.owners.sorted())")
    }

    /// SIGHUP through the services' own restart-only lists: a restart-only setting is named
    /// once and keeps its running value; a live one reaches the next configuration.
    @Test(arguments: changingSettings.filter { !$0.isSection || $0.reload != nil }.map(\.key))
    func aReloadNamesRestartOnlySettingsAndAppliesLiveOnes(key: String) throws {
        let setting = try #require(ConfigurationSchema.setting(key))
        let next = try exampleConfiguration(setting)
        let running = Configuration()
        let logger = Logger(label: "test")
        let pipeline = Pipeline(policy: running.detection, firewall: DryRunFirewall(logger: logger), fanOut: nil, logger: logger, clock: systemClock)
        let sensors = running.sensorSettings
        let services: [any DaemonService] = [
            NamedService(ServiceName.ledger), NamedService(ServiceName.enforcer),
            DetectionService(
                pipeline: pipeline, restored: RestoredState(activeBans: [], offences: [:]), stateDirectory: "/nonexistent", logger: logger),
            SensorService.journal(sensors, stateDirectory: "/nonexistent", pipeline: pipeline, logger: logger),
            SensorService.logs(sensors, pipeline: pipeline, logger: logger),
            SensorService.capture(sensors, ownAddresses: IPNetworkSet(), bannedSources: nil, pipeline: pipeline, logger: logger),
            SensorService.hep(sensors, pipeline: pipeline, logger: logger),
            InlineService(settings: nil, policy: running.admissionPolicy, pipeline: pipeline, logger: logger),
            SensorService.floodReports(running, pipeline: pipeline, logger: logger),
            NamedService(ServiceName.controlPlane), NamedService(ServiceName.cases),
            FeedService(configuration: running, pipeline: pipeline, restoredBans: [], logger: logger, clock: systemClock),
            IntelService(configuration: running, pipeline: pipeline, logger: logger),
            IntelUpdateService(settings: running.intel, stateDirectory: "/nonexistent", logger: logger, clock: systemClock),
            try RangeBlocksService(
                configuration: {
                    var c = running
                    c.firewall = .dryRun
                    return c
                }(), ownAddresses: [], logger: logger),
        ]
        #expect(Set(services.map(\.name)) == Set(ConfigurationSchema.serviceViews.map(\.service)))
        guard case .applied(let applied, let needsRestart) = ConfigurationReload(services: services).reload(next, running: running) else {
            Issue.record("\(key): reload refused")
            return
        }
        let unit = reloadUnit(setting)
        if unit.reload == .restartOnly {
            #expect(needsRestart == [unit.key])
            #expect(!unit.differs(applied, running), "\(key) did not keep its running value")
        } else {
            #expect(needsRestart.isEmpty, "\(key) is live but a reload named \(needsRestart)")
            #expect(setting.differs(applied, running), "\(key) is live but did not reach the reloaded configuration")
            #expect(ConfigurationSchema.changes(from: running, to: applied).map(\.key).contains(key))
        }
    }

    @Test func theDaemonsServicesTakeTheirRestartOnlyListFromTheSchema() {
        let logger = Logger(label: "test")
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: DryRunFirewall(logger: logger), fanOut: nil, logger: logger, clock: systemClock)
        let detection = DetectionService(
            pipeline: pipeline, restored: RestoredState(activeBans: [], offences: [:]), stateDirectory: "/x", logger: logger)
        #expect(detection.restartOnly.map(\.name) == ["log-utc-offset", "ignore-self", "state"])
        let logs = SensorService.logs(Configuration().sensorSettings, pipeline: pipeline, logger: logger)
        #expect(logs.restartOnly.map(\.name) == ["logs", "from-start", "realtime"])
        let inline = InlineService(settings: nil, policy: Configuration().admissionPolicy, pipeline: pipeline, logger: logger)
        #expect(inline.restartOnly.map(\.name) == ["inline"])
        #expect(
            ConfigurationSchema.restartOnly(owner: ServiceName.enforcer).map(\.name) == [
                "firewall", "nftables.table", "flood-guard.report-group", "abuse",
            ])
        #expect(
            ConfigurationSchema.restartOnly(owner: ServiceName.controlPlane).map(\.name) == [
                "firewall", "nftables.table", "flood-guard.report-group", "state", "control-plane",
            ])
    }

    @Test func turningTheGuardOffIsLiveButChangingItsReportGroupIsNot() {
        var next = Configuration()
        next.floodGuard = nil
        #expect(ConfigurationSchema.changes(from: Configuration(), to: next).allSatisfy { $0.reload == .live })
        next.floodGuard = .standard
        next.floodGuard?.reportGroup = 99
        #expect(ConfigurationSchema.changes(from: Configuration(), to: next).map(\.key) == ["flood-guard.report-group"])
    }

    @Test func unknownKeysListTheDeclaredKeysOfTheirSection() {
        do {
            _ = try ConfigurationFile.parse("flood-guard:\n  rates: 5\n", file: "g.yaml")
            Issue.record("accepted an unknown key")
        } catch {
            #expect(error.message == "unknown key (known keys here: rate, burst, ports, v6-prefix, ban-rate, ban-burst, report-group)")
        }
    }

    @Test func aFlagGoesThroughTheSettingsDeclaration() throws {
        var c = Configuration()
        try ConfigurationSchema.override("detection.max-retry", with: "3", flag: "--max-retry", in: &c)
        #expect(c.detection.threshold.maxRetry == 3)
        #expect(throws: ConfigurationError(location: "--max-retry", message: "must be between 1 and 1000, got 0")) {
            try ConfigurationSchema.override("detection.max-retry", with: "0", flag: "--max-retry", in: &c)
        }
        #expect(throws: ConfigurationError(location: "--find-time", message: "expected a positive duration such as 90s, 10m, 1h or 7d, got 'soon'")) {
            try ConfigurationSchema.override("detection.find-time", with: "soon", flag: "--find-time", in: &c)
        }
        try ConfigurationSchema.override("allow", with: "198.18.4.0/24", flag: "--allow", in: &c)
        #expect(c.detection.allowlist.contains(IPAddress("198.18.4.9")!))
    }

    @Test(arguments: [
        ("fast", false), ("off", true), ("400", true), ("400/25", true), ("0", false), ("10/", false), ("1e3", false),
    ])
    func floodGuardOverride(text: String, accepted: Bool) {
        #expect(((try? FloodGuardOverride(settingText: text)) != nil) == accepted)
    }

    /// A live setting a sensor owns reaches its started units on a reload (the flood
    /// reports state the guard's thresholds in force, not those at start).
    @Test func aSensorsStartedUnitsTakeAReload() throws {
        let seen = Mutex<[Int]>([])
        let unit = SensorUnit(start: { nil }, stop: {}, reload: { next in seen.withLock { $0.append(next.floodGuard?.banPacketsPerSecond ?? 0) } })
        let service = SensorService(name: ServiceName.floodReports, units: [unit])
        var next = Configuration()
        next.floodGuard?.banPacketsPerSecond = 5000
        try service.applyReload(next, running: Configuration())
        #expect(seen.withLock { $0 }.isEmpty, "a unit that never started takes nothing")
        _ = try service.start()
        try service.applyReload(next, running: Configuration())
        #expect(seen.withLock { $0 } == [5000])
        #expect(service.restartOnly.map(\.name) == ["realtime", "firewall", "flood-guard.report-group"])
    }

    /// docs/CONFIGURATION.md carries the reference generated from the declarations.
    @Test func theDocumentedReferenceIsTheGeneratedOne() throws {
        let path = String(#filePath.dropLast("Tests/SIPWardenTests/ConfigurationSchemaTests.swift".count)) + "docs/CONFIGURATION.md"
        let text = try readTextFile(path)
        let expected = ConfigurationSchema.referenceBegin + "\n" + ConfigurationSchema.referenceTable() + "\n" + ConfigurationSchema.referenceEnd
        if let out = getenv("SIPWARDEN_WRITE_REFERENCE") { try writeFile(String(cString: out), expected + "\n") }
        #expect(text.contains(expected), "regenerate the table: print(ConfigurationSchema.referenceTable())")
    }
}

/// A service with no start or reload work: its restart-only list is the schema's.
private struct NamedService: DaemonService {
    let name: String
    init(_ name: String) { self.name = name }
    var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }
}
