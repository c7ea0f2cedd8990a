// SPDX-License-Identifier: GPL-2.0-or-later

public import Firewall
public import Sensors

// Each service's section of the configuration: a value type carved out of
// `Configuration` (same keys and flags; docs/SERVICES.md lists which service owns which),
// validated once by `Configuration.validate()` when the file and flags are loaded.

/// The `ledger` service's section: where the state lives.
public struct LedgerSettings: Sendable, Hashable {
    /// The state directory: ledger, pid file, journal cursor, `unmatched.json`.
    public var stateDirectory: String

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public func validate() throws(ConfigurationError) {
        if stateDirectory.isEmpty {
            throw ConfigurationError(location: "state", message: "state directory must not be empty")
        }
    }
}

/// The `enforcer` service's section: the firewall backend and the nftables layout.
public struct EnforcerSettings: Sendable, Hashable {
    public var firewall: FirewallKind
    /// nftables table name (family inet).
    public var nftTable: String
    /// Destination ports the ban applies to; empty = every packet from a banned source.
    public var nftPorts: [PortMatch]
    /// Kernel per-source rate ceiling on the SIP ports; nil = off.
    public var floodGuard: FloodGuard?
    /// False for one-shot commands: they leave the guard table as the daemon built it.
    public var managesFloodGuard: Bool

    public init(firewall: FirewallKind, nftTable: String, nftPorts: [PortMatch], floodGuard: FloodGuard?, managesFloodGuard: Bool) {
        self.firewall = firewall
        self.nftTable = nftTable
        self.nftPorts = nftPorts
        self.floodGuard = floodGuard
        self.managesFloodGuard = managesFloodGuard
    }
}

/// The sensor services' section: what is watched and how the sensor threads run.
public struct SensorSettings: Sendable, Hashable {
    public var logs: [LogSource]
    /// No source was given: the daemon chooses from what the host has (`DefaultSources`).
    public var logsAreDefaults: Bool
    public var journal: JournalSettings?
    public var captures: [PacketCaptureConfiguration]
    public var hep: HEPSettings?
    public var fromStart: Bool
    public var realtimeSensors: Bool
    public var scannerSignatures: Bool

    public func validate() throws(ConfigurationError) {
        if let problem = journal?.validationError() {
            throw ConfigurationError(location: "journal", message: problem)
        }
    }
}

extension Configuration {
    /// The `ledger` service's section.
    public var ledgerSettings: LedgerSettings {
        get { LedgerSettings(stateDirectory: stateDirectory) }
        set { stateDirectory = newValue.stateDirectory }
    }

    /// The `enforcer` service's section.
    public var enforcerSettings: EnforcerSettings {
        get {
            EnforcerSettings(firewall: firewall, nftTable: nftTable, nftPorts: nftPorts, floodGuard: floodGuard, managesFloodGuard: managesFloodGuard)
        }
        set {
            firewall = newValue.firewall
            nftTable = newValue.nftTable
            nftPorts = newValue.nftPorts
            floodGuard = newValue.floodGuard
            managesFloodGuard = newValue.managesFloodGuard
        }
    }

    /// The sensor services' section.
    public var sensorSettings: SensorSettings {
        get {
            SensorSettings(
                logs: logs, logsAreDefaults: logsAreDefaults, journal: journal, captures: captures, hep: hep,
                fromStart: fromStart, realtimeSensors: realtimeSensors, scannerSignatures: scannerSignatures)
        }
        set {
            logs = newValue.logs
            logsAreDefaults = newValue.logsAreDefaults
            journal = newValue.journal
            captures = newValue.captures
            hep = newValue.hep
            fromStart = newValue.fromStart
            realtimeSensors = newValue.realtimeSensors
            scannerSignatures = newValue.scannerSignatures
        }
    }
}
