// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Detection
import Firewall
import NetworkAddress
import Sensors
import WardenCore
import Yams

/// The daemon's service names (`DaemonService.name`), as the settings name their owners.
public enum ServiceName {
    public static let ledger = "ledger"
    public static let banConsumers = "ban-consumers"
    public static let enforcer = "enforcer"
    public static let detection = "detection"
    public static let journal = "sensor:journal"
    public static let logs = "sensor:logs"
    public static let capture = "sensor:capture"
    public static let hep = "sensor:hep"
    public static let inline = "sensor:inline"
    public static let floodReports = "sensor:flood-reports"
    public static let controlPlane = "control-plane"
    public static let feeds = "feeds"
    public static let intelUpdate = "intel-update"
    public static let ranges = "ranges"
    public static let intel = "intel"
    public static let cases = "cases"
}

/// Every setting of the configuration, declared once. Adding a setting is one entry here
/// (key, type, default, owners, reload rule, example, reader) plus its use; a new section
/// is one `Setting` with `section(...)` and its keys after it (docs/CONFIGURATION.md,
/// "Adding a setting or a section").
public enum ConfigurationSchema {
    private typealias S = ServiceName

    /// In the order of the reference (docs/CONFIGURATION.md) and of "known keys" in errors.
    public static let settings: [Setting] =
        sources + enforcement + [
            Setting(
                "state", \.stateDirectory, type: "path", default: "/var/lib/sipwarden",
                owners: [S.ledger, S.detection, S.journal, S.controlPlane, S.feeds, S.intelUpdate, S.ranges, S.intel, S.cases], reload: .restartOnly,
                example: "/srv/sipwarden",
                flag: "--state",
                summary: "ledger.sqlite, the pid file, the journal cursor, api.sock and api.token",
                shape: .scalar(String.self, check: { $0.isEmpty ? "state directory must not be empty" : nil }) { $0.stateDirectory = $1 })
        ] + controlPlane + intelAndFeeds + abuse + detection

    static let abuse: [Setting] = [
        Setting(
            "abuse", \.abuse,
            type: "{mode, reporter, rdap-bootstrap, transport, relay, credentials-file, acknowledge-within, mitigate-within, quiet-time, maildir, …}",
            default: "off", owners: [S.cases, S.enforcer], reload: .restartOnly, example: "{ reporter: abuse-reports@example.net }",
            summary:
                "abuse reports and cases: who is told, how reports leave, the deadlines (docs/ABUSE.md); off unless configured; on, the ban sets get per-element counters (the traffic watch)",
            shape: .custom { r, node, key, c throws(ConfigurationError) in c.abuse = try AbuseSettings.parse(node, key: key, file: r.file) })
    ]

    static let intelAndFeeds: [Setting] = [
        Setting(
            "intel", \.intel, type: "{sources, auto-update, refresh, shrink-ratio, max-download-mib}", default: "the public sources, no auto-update",
            owners: [S.intelUpdate], reload: .live, example: "{ refresh: 12h }",
            summary: "where `intel update` and the daemon fetch the intelligence sources, and how often (docs/INTEL.md)",
            shape: .custom { r, node, _, c throws(ConfigurationError) in c.intel = try IntelFeedsSection.intel(node, file: r.file) }),
        Setting(
            "feeds", \.feeds, type: "list of {name, url, format, policy, refresh, …}", default: "[]", owners: [S.feeds], reload: .live,
            example: "[{ name: lab, url: 'http://127.0.0.1:1/list.txt', format: text }]",
            summary: "blocklist feeds: `block` bans what they list, `suspect` bans it at its first failure (docs/FEEDS.md)",
            shape: .custom { r, node, _, c throws(ConfigurationError) in c.feeds = try IntelFeedsSection.feeds(node, file: r.file) }),
        Setting(
            "ranges", type: "{lists, rules, asn-block, overdue-block, refresh, minimum-prefix-v4, minimum-prefix-v6, table, sip-ports}",
            default: "no lists, no rules", owners: [S.ranges, S.intel], reload: .restartOnly, example: "{ refresh: 2h }",
            summary:
                "provider, AS and named-list rules and range blocks in the kernel (docs/RANGES.md); restart-only except `asn-block` and `overdue-block` (needs `abuse`), which are live",
            shape: .custom { r, node, key, c throws(ConfigurationError) in c.ranges = try RangesSettings.parse(node, key: key, file: r.file) },
            // `asn-block` and `overdue-block` (the opt-in AS rules) are live: the ranges
            // service swaps them on SIGHUP.
            differs: { $0.ranges.restartOnlyPart != $1.ranges.restartOnlyPart },
            restore: { next, running in
                let (asnRule, overdueRule) = (next.ranges.policy.asnRule, next.ranges.policy.overdueRule)
                next.ranges = running.ranges
                next.ranges.policy.asnRule = asnRule
                next.ranges.policy.overdueRule = overdueRule
            }),
    ]

    static let sources: [Setting] = [
        Setting(
            "logs", type: "list of DIALECT:PATH or {path, dialect}", default: "chosen on this host", owners: [S.logs],
            reload: .restartOnly, example: "[asterisk:/var/log/asterisk/messages]", flag: "--log",
            summary: "log files to watch and their dialect (auto, asterisk, freeswitch, kamailio, opensips)",
            shape: .custom { r, node, key, c throws(ConfigurationError) in
                c.logs = []
                for item in try r.list(node, key) { c.logs.append(try r.logSource(item, key)) }
            },
            // Sources the embedded defaults chose stay chosen (`Daemon.effective`).
            differs: { $0.logs != $1.logs || $0.logsAreDefaults != $1.logsAreDefaults },
            restore: { next, running in
                next.logs = running.logs
                next.logsAreDefaults = running.logsAreDefaults
            }),
        Setting(
            "journal", \.journal, type: "true, NAME, [NAMES] or {units, identifiers, dialect, directory}", default: "off",
            owners: [S.journal], reload: .restartOnly, example: "kamailio", flag: "--journal",
            summary: "read the systemd journal (units, syslog identifiers)",
            shape: .custom { r, node, key, c throws(ConfigurationError) in c.journal = try r.journal(node, key) }),
        Setting(
            "capture", \.captures, type: "list of IFACE[:PORTS]", default: "[]", owners: [S.capture], reload: .restartOnly,
            example: "[eth0:5060-5061]", flag: "--capture", summary: "capture SIP on these interfaces (any = all)",
            shape: .list(PacketCaptureConfiguration.self) { $0.captures = $1 }),
        Setting(
            "hep", \.hep, type: "{listen, agents, auth-key}", default: "off", owners: [S.hep], reload: .restartOnly,
            example: "{ listen: 127.0.0.1:9060 }", flag: "--hep",
            summary: "listen for HEPv3/HEPv2 mirrors; only `agents` are believed (default loopback)",
            shape: .custom { r, node, key, c throws(ConfigurationError) in c.hep = try r.hep(node, key) }),
        Setting(
            "inline", \.inline, type: "{queue, fail-mode, ports, manage-rules}", default: "off", owners: [S.inline],
            reload: .restartOnly, example: "{ queue: 7 }", flag: "--inline",
            summary: "judge SIP requests before the PBX sees them, through this NFQUEUE (docs/INLINE.md)",
            shape: .custom { r, node, key, c throws(ConfigurationError) in c.inline = try r.inline(node, key) }),
        Setting(
            "scanner-signatures", \.scannerSignatures, type: "boolean", default: "true", owners: [S.capture, S.hep],
            reload: .restartOnly, example: "false", summary: "ban known attack tools seen on the wire at first sight",
            shape: .scalar(Bool.self) { $0.scannerSignatures = $1 }),
        Setting(
            "from-start", \.fromStart, type: "boolean", default: "false", owners: [S.journal, S.logs], reload: .restartOnly,
            example: "true", flag: "--from-start", summary: "read files (and a first journal) from the beginning instead of the end",
            shape: .scalar(Bool.self) { $0.fromStart = $1 }),
        Setting(
            "log-utc-offset", \.logUTCOffsetSeconds, type: "+HH:MM", default: "+00:00", owners: [S.detection],
            reload: .restartOnly, example: "\"+01:00\"", summary: "zone of log times that carry none (Asterisk, syslog)",
            shape: .scalar(UTCOffsetValue.self) { $0.logUTCOffsetSeconds = $1.seconds }),
        Setting(
            "ignore-self", \.ignoreSelf, type: "boolean", default: "true", owners: [S.detection], reload: .restartOnly,
            example: "false", summary: "never ban this host's own addresses",
            shape: .scalar(Bool.self) { $0.ignoreSelf = $1 }),
        Setting(
            "realtime", \.realtimeSensors, type: "boolean", default: "true",
            owners: [S.journal, S.logs, S.capture, S.hep, S.floodReports], reload: .restartOnly, example: "false",
            summary: "sensor threads at SCHED_FIFO priority 10", shape: .scalar(Bool.self) { $0.realtimeSensors = $1 }),
    ]

    static let enforcement: [Setting] = [
        Setting(
            "firewall", \.firewall, type: "nftables | dry-run", default: "nftables",
            owners: [S.enforcer, S.capture, S.floodReports, S.controlPlane, S.ranges, S.cases], reload: .restartOnly, example: "dry-run",
            flag: "--firewall", summary: "the ban backend; dry-run logs what would be banned and touches nothing",
            shape: .scalar(FirewallKind.self) { $0.firewall = $1 }),
        Setting(
            "nftables", type: "section", default: "", owners: [], reload: nil, example: "{}", summary: "the ban table",
            shape: .section(), differs: { _, _ in false }, restore: { _, _ in }),
        Setting(
            "nftables.table", \.nftTable, type: "name", default: "sipwarden", owners: [S.enforcer, S.controlPlane, S.cases],
            reload: .restartOnly, example: "sw_other", summary: "table inet NAME",
            shape: .scalar(String.self) { $0.nftTable = $1 }),
        Setting(
            "nftables.ports", \.nftPorts, type: "list of PORT or LOW-HIGH", default: "[]", owners: [S.enforcer], reload: .live,
            example: "[5060-5061]", summary: "restrict drops to these destination ports; empty = everything from a banned source",
            shape: .list(PortMatch.self) { $0.nftPorts = $1 }),
        Setting(
            "flood-guard", type: "off or section", default: "on", owners: [S.enforcer, S.floodReports, S.controlPlane], reload: nil, example: "off",
            flag: "--flood-guard",
            summary: "kernel rate ceiling on the UDP SIP ports (`off` disables)",
            shape: .section(
                scalar: { r, node, key, c throws(ConfigurationError) in
                    let s: String = try r.value(node, key)
                    guard s == "off" || s == "false" else {
                        throw r.fail(
                            node, key, "expected off or a mapping (rate, burst, ban-rate, ban-burst, ports, v6-prefix, report-group), got '\(s)'")
                    }
                    c.floodGuard = nil
                },
                begin: { $0.floodGuard = .standard }),
            differs: { ($0.floodGuard == nil) != ($1.floodGuard == nil) }, restore: { _, _ in }),
        guardValue(
            "rate", \.packetsPerSecond, 1...10_000_000, default: "1000", example: "300",
            summary: "packets/s one socket (and one suspect source) may send"),
        guardValue("burst", \.burst, 1...1_000_000, default: "20", example: "30", summary: "packets above that rate it may send at once"),
        Setting(
            "flood-guard.ports", observing: \.floodGuard?.ports, type: "list of PORT or LOW-HIGH", default: "[5060]",
            owners: [S.enforcer, S.floodReports, S.controlPlane], example: "[5060, 5080]", summary: "the UDP ports metered",
            shape: .custom { r, node, key, c throws(ConfigurationError) in
                var ports: [PortMatch] = []
                for item in try r.list(node, key) { ports.append(try r.value(item, key)) }
                guard !ports.isEmpty else { throw r.fail(node, key, "needs at least one port") }
                c.floodGuard?.ports = ports
            }),
        guardValue("v6-prefix", \.prefixLengthV6, 16...128, default: "64", example: "56", summary: "IPv6 sources are metered per this prefix"),
        guardValue(
            "ban-rate", \.banPacketsPerSecond, 1...10_000_000, default: "3000", example: "5000", reportedInReason: true,
            summary: "a suspect sustained above this rate ..."),
        guardValue(
            "ban-burst", \.banBurst, 1...1_000_000, default: "2000", example: "4000", reportedInReason: true,
            summary: "... over this many packets is reported and banned as a flood"),
        Setting(
            "flood-guard.report-group", type: "1–65535 or off", default: "7450", owners: [S.enforcer, S.floodReports, S.controlPlane],
            reload: .restartOnly, example: "99", summary: "NFLOG group of those reports; off = the guard only drops",
            shape: .custom { r, node, key, c throws(ConfigurationError) in
                if case .scalar = node, let s: String = try? r.value(node, key), s == "off" || s == "false" {
                    c.floodGuard?.reportGroup = nil
                } else {
                    c.floodGuard?.reportGroup = UInt16(try r.integer(node, key, 1...65535))
                }
            },
            // The NFLOG listener is bound at start: the kernel rule keeps reporting to it.
            // Turning the guard off is live (the enforcer drops the table).
            differs: { next, running in next.floodGuard != nil && next.floodGuard?.reportGroup != running.floodGuard?.reportGroup },
            restore: { next, running in next.floodGuard?.reportGroup = running.floodGuard?.reportGroup }),
    ]

    private static func guardValue(
        _ name: String, _ path: any WritableKeyPath<FloodGuard, Int> & Sendable, _ range: ClosedRange<Int>, default defaultValue: String,
        example: String, reportedInReason: Bool = false, summary: String
    ) -> Setting {
        let owners = reportedInReason ? [S.enforcer, S.floodReports, S.controlPlane] : [S.enforcer, S.controlPlane]
        return Setting(
            "flood-guard.\(name)", type: "integer \(range.lowerBound)–\(range.upperBound)", default: defaultValue, owners: owners,
            reload: .live, example: example, summary: summary,
            shape: .integer(range) { c, v in c.floodGuard?[keyPath: path] = v },
            differs: { $0.floodGuard?[keyPath: path] != $1.floodGuard?[keyPath: path] },
            restore: { _, _ in })
    }

    static let controlPlane: [Setting] = [
        Setting(
            "control-plane", \.controlPlane, type: "section", default: "", owners: [S.controlPlane], reload: .restartOnly,
            example: "{ socket: false }", summary: "the HTTP API (docs/CONTROL-PLANE.md); restart-only as a whole", shape: .section()),
        Setting(
            "control-plane.socket", \.controlPlane.socket, type: "boolean", default: "true", owners: [S.controlPlane], reload: nil,
            example: "false", summary: "serve the API on STATE/api.sock (0600, root only)",
            shape: .scalar(Bool.self) { $0.controlPlane.socket = $1 }),
        Setting(
            "control-plane.http", \.controlPlane.http, type: "ADDR:PORT or PORT", default: "not set", owners: [S.controlPlane],
            reload: nil, example: "127.0.0.1:9480", flag: "--http", summary: "also serve it on TCP (every request needs the token)",
            shape: .scalar(TCPEndpoint.self) { $0.controlPlane.http = $1 }),
        Setting(
            "control-plane.allow-remote", \.controlPlane.allowRemote, type: "boolean", default: "false", owners: [S.controlPlane],
            reload: nil, example: "true", summary: "allow a non-loopback `http` address",
            shape: .scalar(Bool.self) { $0.controlPlane.allowRemote = $1 }),
    ]

    static let detection: [Setting] = [
        Setting(
            "allow", \.detection.allowlist, type: "list of CIDR", default: "[] (loopback always)",
            owners: [S.detection, S.enforcer, S.inline, S.controlPlane, S.feeds, S.ranges], reload: .live, example: "[198.18.0.0/24]",
            flag: "--allow",
            summary: "never banned; exempt from the flood guard",
            shape: .list(IPNetwork.self) { c, networks in for n in networks { c.detection.allowlist.insert(n) } }),
        Setting(
            "detection", type: "section", default: "", owners: [], reload: nil, example: "{}", summary: "how failures are counted and banned",
            shape: .section(), differs: { _, _ in false }, restore: { _, _ in }),
        Setting(
            "detection.max-retry", \.detection.threshold.maxRetry, type: "integer 1–1000", default: "5", owners: [S.detection, S.inline],
            reload: .live, example: "3", flag: "--max-retry", summary: "the Nth failure within find-time bans",
            shape: .integer(1...1000) { $0.detection.threshold.maxRetry = $1 }),
        Setting(
            "detection.find-time", \.detection.threshold.findTime, type: "duration", default: "10m",
            owners: [S.detection, S.inline, S.enforcer], reload: .live, example: "2m", flag: "--find-time",
            summary: "the window failures are counted in (and a source stays a flood-guard suspect)",
            shape: .scalar(Duration.self) { $0.detection.threshold.findTime = $1 }),
        Setting(
            "detection.ban-time", \.detection.banTime, type: "duration", default: "10m", owners: [S.detection, S.inline],
            reload: .live, example: "1h", flag: "--ban-time", summary: "a first ban; repeat offenders get longer (escalation)",
            shape: .scalar(Duration.self) { c, d in
                c.detection.banTime = d
            }),
        Setting(
            "detection.kinds", \.detection.overrides, type: "KIND: {max-retry, find-time} or default",
            default: "scanner, flood: 1; malformed: 20 in 1m", owners: [S.detection, S.inline], reload: .live,
            example: "{ auth_failed: { max-retry: 3 }, scanner: default }",
            summary: "kinds judged in a window of their own ('default' puts one back into the shared window)",
            shape: .custom { r, node, key, c throws(ConfigurationError) in try r.kinds(node, key, &c.detection) }),
        Setting(
            "detection.enumeration", type: "false or section", default: "", owners: [S.detection], reload: nil, example: "false",
            summary: "distinct users tried by one source ('false' disables)",
            shape: .section(
                scalar: { r, node, key, c throws(ConfigurationError) in
                    let on: Bool = try r.value(node, key)
                    if !on { c.detection.enumeration = nil }
                },
                begin: { c in
                    c.detection.enumeration = c.detection.enumeration ?? EnumerationRule(distinctUsers: 10, findTime: c.detection.threshold.findTime)
                }),
            differs: { ($0.detection.enumeration == nil) != ($1.detection.enumeration == nil) }, restore: { _, _ in }),
        Setting(
            "detection.enumeration.distinct-users", observing: \.detection.enumeration?.distinctUsers, type: "integer 2–1000", default: "10",
            owners: [S.detection], example: "6", summary: "this many distinct users within its find-time ban",
            shape: .integer(2...1000) { $0.detection.enumeration?.distinctUsers = $1 }),
        Setting(
            "detection.enumeration.find-time", observing: \.detection.enumeration?.findTime, type: "duration", default: "10m",
            owners: [S.detection], example: "5m", summary: "the enumeration window",
            shape: .scalar(Duration.self) { $0.detection.enumeration?.findTime = $1 }),
        Setting(
            "detection.escalation", type: "section", default: "", owners: [], reload: nil, example: "{}", summary: "longer bans for repeat offenders",
            shape: .section(), differs: { _, _ in false }, restore: { _, _ in }),
        Setting(
            "detection.escalation.factor", \.detection.escalation.factor, type: "integer 1–100", default: "2", owners: [S.detection],
            reload: .live, example: "4", summary: "ban-time × factor^(offence−1) ...",
            shape: .integer(1...100) { $0.detection.escalation.factor = $1 }),
        Setting(
            "detection.escalation.max-ban-time", \.detection.escalation.maxBanTime, type: "duration", default: "7d",
            owners: [S.detection], reload: .live, example: "30d", summary: "... capped here",
            shape: .scalar(Duration.self) { $0.detection.escalation.maxBanTime = $1 }),
        Setting(
            "detection.escalation.memory", \.detection.escalation.memory, type: "duration", default: "7d", owners: [S.detection],
            reload: .live, example: "14d", summary: "an offender is forgotten this long after its last ban",
            shape: .scalar(Duration.self) { $0.detection.escalation.memory = $1 }),
        Setting(
            "detection.ipv4-prefix", \.detection.ipv4PrefixLength, type: "integer 8–32", default: "32", owners: [S.detection, S.inline],
            reload: .live, example: "24", summary: "ban granularity for IPv4",
            shape: .integer(8...32) { $0.detection.ipv4PrefixLength = $1 }),
        Setting(
            "detection.ipv6-prefix", \.detection.ipv6PrefixLength, type: "integer 32–128", default: "128", owners: [S.detection, S.inline],
            reload: .live, example: "64", summary: "ban granularity for IPv6 (64 bans the /64 an attacker rotates through)",
            shape: .integer(32...128) { $0.detection.ipv6PrefixLength = $1 }),
        Setting(
            "detection.aggregation", \.detection.aggregation,
            type: "off or {failures, distinct-hosts, find-time, ipv4-prefix, ipv6-prefix, wider, trunks, success-memory, max-tracked-prefixes}",
            default: "10 failures from 3 hosts of a /24 or /48 in find-time", owners: [S.detection], reload: .live,
            example: "{ failures: 20, distinct-hosts: 5 }",
            summary: "prefixes as sources: the failures of one network's hosts count together (docs/CONFIGURATION.md \"Aggregation\")",
            shape: .custom { r, node, key, c throws(ConfigurationError) in
                c.detection.aggregation = try r.aggregation(node, key, base: c.detection.aggregation)
            }),
        Setting(
            "detection.max-tracked-sources", \.detection.maxTrackedSources, type: "integer 100–50000000", default: "200000",
            owners: [S.detection], reload: .live, example: "5000", summary: "memory bound; the least threatening are evicted first",
            shape: .integer(100...50_000_000) { $0.detection.maxTrackedSources = $1 }),
    ]

    private static let byKey: [String: Setting] = Dictionary(uniqueKeysWithValues: settings.map { ($0.key, $0) })

    /// The setting at a dotted key path.
    public static func setting(_ key: String) -> Setting? { byKey[key] }

    /// The settings directly under a section ("" = the top level), in declaration order.
    public static func children(of section: String) -> [Setting] {
        settings.filter { $0.parent == section }
    }

    /// Restart-only settings a service owns, for its `restartOnly` list. A section that is
    /// restart-only as a whole counts once; its keys are not listed.
    public static func restartOnly(owner service: String) -> [RestartOnlySetting] {
        settings.filter { $0.reload == .restartOnly && $0.owners.contains(service) }.map(\.restartOnlySetting)
    }

    /// The settings that differ between two configurations, with their reload rule (a key
    /// under a restart-only section is reported as the section).
    public static func changes(from running: Configuration, to next: Configuration) -> [Setting] {
        settings.filter { $0.reload != nil && !$0.isSection || $0.reload == .restartOnly }.filter { $0.differs(next, running) }
    }
}
