// SPDX-License-Identifier: GPL-2.0-or-later

public import Detection
public import Feeds
public import Firewall
public import Inline
public import LogFormats
import NetworkAddress
public import Sensors
import WardenCore

/// Which firewall backend enforces verdicts.
public enum FirewallKind: String, Sendable, Hashable, CaseIterable {
    case nftables
    /// Logs what would be banned; touches nothing.
    case dryRun = "dry-run"
}

/// A log file to watch and the dialect its lines are written in.
public struct LogSource: Hashable, Sendable {
    public var path: String
    public var dialect: DialectSelection

    public init(path: String, dialect: DialectSelection) {
        self.path = path
        self.dialect = dialect
    }

    /// Parses `DIALECT:PATH` or a bare `PATH` (dialect `auto`).
    public init(argument: String) throws(ConfigurationError) {
        if let colon = argument.firstIndex(of: ":"), colon != argument.startIndex, argument[..<colon].allSatisfy({ $0.isASCII && $0.isLetter }) {
            let name = argument[..<colon]
            guard let dialect = DialectSelection(name: name) else {
                throw ConfigurationError(
                    location: "--log", message: "unknown dialect '\(name)' (expected auto, asterisk, freeswitch, kamailio or opensips)")
            }
            let path = String(argument[argument.index(after: colon)...])
            guard !path.isEmpty else { throw ConfigurationError(location: "--log", message: "missing path after '\(name):'") }
            self.init(path: path, dialect: dialect)
        } else {
            guard !argument.isEmpty else { throw ConfigurationError(location: "--log", message: "empty path") }
            self.init(path: argument, dialect: .auto)
        }
    }
}

/// A configuration problem, with where it was found (`FILE:LINE: key` or the flag).
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    public var location: String
    public var message: String

    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// Everything the daemon and the offline commands need, fully resolved and validated.
public struct Configuration: Sendable, Hashable {
    public var logs: [LogSource] = []
    /// True when no source was given: the daemon then chooses its sources from what this
    /// host has (`DefaultSources`: the PBXs' logs or journal, else SIP capture) and says why.
    public var logsAreDefaults = false
    /// The systemd journal as a source (`--journal`, `journal:`).
    public var journal: JournalSettings?
    /// Live packet capture on these interfaces (`--capture IFACE[:PORTS]`).
    public var captures: [PacketCaptureConfiguration] = []
    /// HEP listener (`--hep ADDR:PORT`).
    public var hep: HEPSettings?
    /// Inline admission through NFQUEUE (`--inline QUEUE`).
    public var inline: InlineSettings?
    /// Report known attack tools (User-Agent, sipvicious request shapes) seen on the wire
    /// as `scanner` events. Off only for testing the password path with a real sipvicious.
    public var scannerSignatures = true
    /// Never ban this host's own interface addresses (fail2ban's `ignoreself`).
    public var ignoreSelf = true
    public var firewall: FirewallKind = .nftables
    /// nftables table name (family inet).
    public var nftTable = "sipwarden"
    /// Destination ports the ban applies to; empty = every packet from a banned source.
    public var nftPorts: [PortMatch] = []
    /// Kernel per-source rate ceiling on the SIP ports (`flood-guard`, `--flood-guard`);
    /// nil = off. Its exemptions are filled from the allowlist when the table is built.
    public var floodGuard: FloodGuard? = .standard
    /// False for one-shot commands: they leave the guard table as the daemon built it.
    public var managesFloodGuard = true
    /// Whether the ban sets carry per-element packet counters: only when something in the
    /// daemon reads them — the abuse cases' traffic watch, on when `abuse:` is configured —
    /// since they slow every ban's kernel call (`NFTablesConfiguration.elementCounters`).
    public var banSetCounters: Bool { abuse != nil }
    public var stateDirectory = "/var/lib/sipwarden"
    public var detection = DetectionPolicy()
    /// Read watched files from their beginning instead of their end.
    public var fromStart = false
    /// Zone assumed for log lines that carry none (seconds east of UTC).
    public var logUTCOffsetSeconds = 0
    /// Run sensor threads at a low real-time priority so a busy PBX cannot delay a ban.
    public var realtimeSensors = true
    /// The HTTP API (docs/CONTROL-PLANE.md).
    public var controlPlane = ControlPlaneSettings()
    /// Intelligence source updates (`intel:`, docs/INTEL.md "Updates").
    public var intel = IntelUpdateSettings()
    /// Blocklist feeds (`feeds:`, docs/FEEDS.md).
    public var feeds: [FeedSpec] = []
    /// Provider, AS and named-list policy and range blocks (`ranges:`, RangesSettings.swift).
    public var ranges = RangesSettings()
    /// Abuse reports and cases (`abuse:`, docs/ABUSE.md); nil: the case service is off.
    public var abuse: AbuseSettings?

    public init() {}

    /// The nftables layout these settings describe.
    public var nftablesConfiguration: NFTablesConfiguration {
        var floodGuard = floodGuard
        floodGuard?.exempt = detection.allowlist.networks
        // A source stays a suspect for as long as its failures count.
        floodGuard?.suspectTimeout = min(
            max(detection.threshold.findTime, FloodGuard.suspectTimeoutRange.lowerBound), FloodGuard.suspectTimeoutRange.upperBound)
        var nft = NFTablesConfiguration(tableName: nftTable, ports: nftPorts, floodGuard: floodGuard)
        nft.managesFloodGuard = managesFloodGuard
        nft.elementCounters = banSetCounters
        return nft
    }

    /// The inline admission rules these settings describe: the detector's threshold for
    /// `auth_failed` (what a failure inline is), its ban time, prefix lengths and
    /// allowlist. The one place they are derived, at start-up and on every reload, so the
    /// admission core never judges with a copy the detector no longer has.
    public var admissionPolicy: AdmissionPolicy {
        let d = detection
        let threshold = d.threshold(for: .authFailed)
        return AdmissionPolicy(
            maxRetry: threshold.maxRetry, findTime: threshold.findTime, banTime: d.banTime,
            ipv4PrefixLength: d.ipv4PrefixLength, ipv6PrefixLength: d.ipv6PrefixLength, allowlist: d.allowlist
        )
    }

    /// Parses the `--flood-guard` value: `off`, `RATE` or `RATE/BURST` (packets per
    /// second and packets), keeping the other guard settings.
    public static func parseFloodGuard(_ text: String, base: FloodGuard?) -> FloodGuard?? {
        guard let override = try? FloodGuardOverride(settingText: text) else { return nil }
        return .some(override.applied(to: base))
    }

    /// Checks cross-field rules; throws the first problem found.
    public func validate() throws(ConfigurationError) {
        if let problem = detection.validationErrors().first {
            throw ConfigurationError(location: "detection", message: problem)
        }
        do {
            try nftablesConfiguration.validate()
        } catch {
            throw ConfigurationError(location: "nftables", message: error.message)
        }
        // Each service's section validates itself (Services/ConfigurationSections.swift).
        try sensorSettings.validate()
        try ledgerSettings.validate()
        if let problem = controlPlane.validationError() {
            throw ConfigurationError(location: "control-plane", message: problem)
        }
        if ranges.policy.overdueRule != nil, abuse == nil {
            throw ConfigurationError(location: "ranges.overdue-block", message: "counts abuse cases: it needs the abuse section (docs/ABUSE.md)")
        }
    }
}

/// Parses durations such as `90s`, `10m`, `1h`, `7d`, `250ms`, `1h30m`; a bare number is seconds.
public enum DurationParser {
    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingSpaces()
        guard !s.isEmpty else { return nil }
        if let n = Int64(s) { return n >= 0 ? .seconds(n) : nil }
        var total: Int64 = 0 // milliseconds
        var number: Int64?
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let d = c.wholeNumberValue, c.isASCII {
                let (m, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (v, o2) = m.addingReportingOverflow(Int64(d))
                guard !o1, !o2 else { return nil }
                number = v
                i = s.index(after: i)
                continue
            }
            guard let n = number else { return nil }
            let unit: Int64
            if s[i...].hasPrefix("ms") {
                unit = 1
                i = s.index(i, offsetBy: 2)
            } else {
                switch c {
                case "s": unit = 1000
                case "m": unit = 60_000
                case "h": unit = 3_600_000
                case "d": unit = 86_400_000
                case "w": unit = 604_800_000
                default: return nil
                }
                i = s.index(after: i)
            }
            let (part, o1) = n.multipliedReportingOverflow(by: unit)
            let (sum, o2) = total.addingReportingOverflow(part)
            guard !o1, !o2 else { return nil }
            total = sum
            number = nil
        }
        guard number == nil else { return nil } // trailing digits without a unit
        return .milliseconds(total)
    }

    /// Short human text for a duration: `90s`, `10m`, `1h30m`, `250ms`.
    public static func format(_ d: Duration) -> String {
        var ms = d.microsecondsClamped / 1000
        if ms == 0 { return "0s" }
        if ms % 1000 != 0 && ms < 60_000 { return "\(ms)ms" }
        var out = ""
        for (unit, name) in [(Int64(86_400_000), "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")] where ms >= unit {
            out += "\(ms / unit)\(name)"
            ms %= unit
        }
        return out
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
