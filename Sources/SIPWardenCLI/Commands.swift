// SPDX-License-Identifier: GPL-2.0-or-later
import ArgumentParser
import LogFormats
import WardenCore
import NetworkAddress
import Probe
import Logging
import SIPWarden
import Sensors
import Inline

struct SipWardenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sipwarden",
        abstract: "Detects SIP attacks in PBX logs and bans their sources in the kernel.",
        discussion: """
            Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.
            Documentation: README.md, docs/CONFIGURATION.md, docs/LOG-FORMATS.md.
            """,
        version: SIPWardenVersion.string,
        subcommands: [RunCommand.self, EventsCommand.self, ReplayCommand.self, BansCommand.self, RangesCommand.self, StatusCommand.self, ProbeCommand.self]
    )
}

/// Options shared by every command that reads the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("YAML configuration file (see docs/CONFIGURATION.md).", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("State directory holding the ban ledger.", valueName: "DIR"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("Firewall backend: nftables or dry-run.", valueName: "KIND"))
    var firewall: String?

    /// The configuration file (if any) with these flags applied on top.
    func load() throws(ConfigurationError) -> Configuration {
        var c = Configuration()
        if let config { c = try ConfigurationFile.load(path: config, onto: c) }
        if let state { c.stateDirectory = state }
        if let firewall {
            guard let f = FirewallKind(rawValue: firewall) else {
                throw ConfigurationError(location: "--firewall", message: "expected nftables or dry-run, got '\(firewall)'")
            }
            c.firewall = f
        }
        return c
    }
}

/// The recorded input of `events` and `replay`: log files in a dialect, or captures.
struct InputOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("auto, asterisk, freeswitch, kamailio or opensips.", valueName: "DIALECT"))
    var dialect: String = "auto"

    @Flag(name: .long, help: "The files are packet captures (pcap or pcapng): decode the SIP in them.")
    var pcap = false

    @Option(name: .long, help: ArgumentHelp("With --pcap: SIP ports, e.g. 5060-5061,5080.", valueName: "PORTS"))
    var ports: String = "5060-5061"

    @Argument(help: ArgumentHelp("Log files or, with --pcap, capture files ('-' for standard input).", valueName: "FILE"))
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
    }

    func selection() throws(ConfigurationError) -> DialectSelection {
        guard let selection = DialectSelection(name: dialect) else {
            throw ConfigurationError(location: "--dialect", message: "expected auto, asterisk, freeswitch, kamailio or opensips, got '\(dialect)'")
        }
        return selection
    }
}

/// Detection flags, shared by `run` and `replay`.
struct DetectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Failures that trigger a ban.", valueName: "N"))
    var maxRetry: Int?

    @Option(name: .long, help: ArgumentHelp("Window the failures must fall in (90s, 10m, 1h).", valueName: "DURATION"))
    var findTime: String?

    @Option(name: .long, help: ArgumentHelp("Length of a first ban (90s, 10m, 1h); repeat offenders get longer.", valueName: "DURATION"))
    var banTime: String?

    @Option(name: .long, help: ArgumentHelp("Never ban this address or prefix (repeatable).", valueName: "CIDR"))
    var allow: [String] = []

    func apply(to c: inout Configuration) throws(ConfigurationError) {
        if let maxRetry {
            guard (1...1000).contains(maxRetry) else { throw ConfigurationError(location: "--max-retry", message: "must be between 1 and 1000, got \(maxRetry)") }
            c.detection.threshold.maxRetry = maxRetry
        }
        if let findTime {
            guard let d = DurationParser.parse(findTime), d > .zero else { throw ConfigurationError(location: "--find-time", message: "expected a duration such as 90s, 10m or 1h, got '\(findTime)'") }
            c.detection.threshold.findTime = d
        }
        if let banTime {
            guard let d = DurationParser.parse(banTime), d > .zero else { throw ConfigurationError(location: "--ban-time", message: "expected a duration such as 90s, 10m or 1h, got '\(banTime)'") }
            c.detection.banTime = d
            if c.detection.escalation.maxBanTime < d { c.detection.escalation.maxBanTime = d }
        }
        for a in allow {
            guard let n = IPNetwork(a) else { throw ConfigurationError(location: "--allow", message: "expected an address or CIDR prefix, got '\(a)'") }
            c.detection.allowlist.insert(n)
        }
        try c.validate()
    }
}

/// Logging to standard error, at the chosen level.
func makeLogger(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = level
        return h
    }
    return Logger(label: "sipwarden")
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: watch sources, detect, ban.",
        discussion: """
            Without a source (--config, --log, --journal, --capture, --hep, --inline), looks for the logs or \
            journal entries of Asterisk, FreeSWITCH, Kamailio and OpenSIPS on this host, else captures SIP \
            on every interface, and logs what it chose.
            """
    )

    @OptionGroup var common: ConfigOptions
    @OptionGroup var detection: DetectionOptions

    @Option(name: .long, help: ArgumentHelp("Log to watch, DIALECT:PATH (auto, asterisk, freeswitch, kamailio, opensips); repeatable.", valueName: "DIALECT:PATH"))
    var log: [String] = []

    @Option(name: .long, help: ArgumentHelp("Read the systemd journal: a unit (kamailio.service), a unit or syslog identifier (kamailio), or no value (all) for asterisk, freeswitch, kamailio and opensips; repeatable.", valueName: "NAME"))
    var journal: [String] = []

    @Option(name: .long, help: ArgumentHelp("Read the journal files in this directory instead of the system journal (a copied or remote journal).", valueName: "DIR"))
    var journalDirectory: String?

    @Option(name: .long, help: ArgumentHelp("Capture SIP on an interface (any = all), e.g. eth0:5060-5061; repeatable.", valueName: "IFACE[:PORTS]"))
    var capture: [String] = []

    @Option(name: .long, help: ArgumentHelp("Listen for HEPv3 (Homer) mirrors of SIP, e.g. 127.0.0.1:9060.", valueName: "ADDR:PORT"))
    var hep: String?

    @Option(name: .long, help: ArgumentHelp("HEP agents to believe (default: loopback); repeatable.", valueName: "CIDR"))
    var hepAgent: [String] = []

    @Option(name: .long, help: ArgumentHelp("HEP auth key the agents send.", valueName: "KEY"))
    var hepKey: String?

    @Option(name: .long, help: ArgumentHelp("Judge SIP requests inline through this NFQUEUE number (installs iptables-nft NFQUEUE rules for UDP 5060).", valueName: "QUEUE"))
    var inline: UInt16?

    @Option(name: .long, help: ArgumentHelp("Inline mode when sipwarden is stopped or overloaded: bypass (default), open or closed.", valueName: "MODE"))
    var inlineFailMode: String?

    @Option(name: .long, help: ArgumentHelp("Kernel per-source packet-rate ceiling on UDP SIP ports: off, RATE or RATE/BURST (default 1000/20).", valueName: "off|RATE[/BURST]"))
    var floodGuard: String?

    @Option(name: .long, help: ArgumentHelp("Also serve the control plane's HTTP API on TCP (every request needs the token; loopback unless control-plane.allow-remote), e.g. 127.0.0.1:9480.", valueName: "ADDR:PORT"))
    var http: String?

    @Flag(name: .long, help: "Read watched files from their beginning instead of their end.")
    var fromStart = false

    @Flag(name: .long, help: ArgumentHelp("Do not ban attack tools by their signature on the wire (testing the password path).", visibility: .hidden))
    var noScannerSignatures = false

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "LEVEL"))
    var logLevel: String = "info"

    func run() throws {
        let c = try resolve()
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ConfigurationError(location: "--log-level", message: "unknown level '\(logLevel)'")
        }
        // SIGHUP re-reads the file with the same flags on top.
        let daemon = Daemon(configuration: c, logger: makeLogger(level: level), reload: common.config == nil ? nil : { () throws(ConfigurationError) in try resolve() })
        do {
            try daemon.run()
        } catch {
            throw RuntimeFailure(error.message)
        }
    }

    /// The value a bare `--journal` stands for.
    static let allJournalNames = "all"

    /// ArgumentParser has no option with an optional value: a `--journal` followed by
    /// nothing or by another option becomes `--journal=all`.
    static func expandingBareJournal(_ arguments: [String]) -> [String] {
        var out: [String] = []
        for (index, argument) in arguments.enumerated() {
            if argument == "--" { return out + arguments[index...] }
            let next = index + 1 < arguments.count ? arguments[index + 1] : nil
            if argument == "--journal", next.map({ $0.hasPrefix("-") }) ?? true {
                out.append("--journal=\(allJournalNames)")
            } else {
                out.append(argument)
            }
        }
        return out
    }

    /// The configuration file (if any) with every flag applied on top, validated.
    func resolve() throws(ConfigurationError) -> Configuration {
        var c = try common.load()
        if !log.isEmpty {
            c.logs = []
            for l in log { c.logs.append(try LogSource(argument: l)) }
        }
        if !journal.isEmpty || journalDirectory != nil {
            var settings = c.journal ?? JournalSettings(names: [])
            if !journal.isEmpty {
                let names = journal.filter { $0 != Self.allJournalNames }
                let all = journal.contains(Self.allJournalNames) ? JournalSettings.serverNames : []
                var unique: [String] = []
                for name in all + names where !unique.contains(name) { unique.append(name) }
                settings = JournalSettings(names: unique, dialect: settings.dialect, directory: settings.directory)
            }
            if let journalDirectory { settings.directory = journalDirectory }
            c.journal = settings
        }
        if !capture.isEmpty {
            c.captures = []
            for spec in capture {
                guard let parsed = PacketCaptureConfiguration(spec: spec) else {
                    throw ConfigurationError(location: "--capture", message: "expected IFACE[:PORTS] such as eth0:5060 or any:5060-5061, got '\(spec)'")
                }
                c.captures.append(parsed)
            }
        }
        if let hep {
            guard HEPListener.parseEndpoint(hep) != nil else {
                throw ConfigurationError(location: "--hep", message: "expected IPv4:PORT or [IPv6]:PORT, got '\(hep)'")
            }
            var settings = c.hep ?? HEPSettings(endpoint: hep)
            settings.endpoint = hep
            c.hep = settings
        }
        if !hepAgent.isEmpty || hepKey != nil {
            guard var settings = c.hep else {
                throw ConfigurationError(location: "--hep-agent", message: "--hep-agent and --hep-key need --hep (or hep: in the configuration file)")
            }
            if !hepAgent.isEmpty {
                settings.agents = IPNetworkSet()
                for a in hepAgent {
                    guard let n = IPNetwork(a) else { throw ConfigurationError(location: "--hep-agent", message: "expected an address or CIDR prefix, got '\(a)'") }
                    settings.agents.insert(n)
                }
            }
            if let hepKey { settings.authKey = hepKey }
            c.hep = settings
        }
        if let inline {
            var settings = c.inline ?? InlineSettings(queue: inline)
            settings.queue = inline
            c.inline = settings
        }
        if let inlineFailMode {
            guard var settings = c.inline else {
                throw ConfigurationError(location: "--inline-fail-mode", message: "needs --inline (or inline: in the configuration file)")
            }
            guard let mode = InlineFailMode(rawValue: inlineFailMode) else {
                throw ConfigurationError(location: "--inline-fail-mode", message: "expected bypass, open or closed, got '\(inlineFailMode)'")
            }
            settings.failMode = mode
            c.inline = settings
        }
        if common.config == nil && log.isEmpty && journal.isEmpty && journalDirectory == nil && capture.isEmpty && hep == nil && inline == nil {
            // The daemon looks at the host and chooses (DefaultSources).
            c.logs = []
            c.logsAreDefaults = true
        }
        if let floodGuard {
            guard let parsed = Configuration.parseFloodGuard(floodGuard, base: c.floodGuard) else {
                throw ConfigurationError(location: "--flood-guard", message: "expected off, RATE or RATE/BURST in packets per second, e.g. 1000/100, got '\(floodGuard)'")
            }
            c.floodGuard = parsed
        }
        if let http {
            guard let endpoint = ControlPlaneSettings.parseEndpoint(http) else {
                throw ConfigurationError(location: "--http", message: "expected ADDR:PORT, [IPv6]:PORT or PORT (loopback), got '\(http)'")
            }
            c.controlPlane.http = endpoint
        }
        if fromStart { c.fromStart = true }
        if noScannerSignatures { c.scannerSignatures = false }
        try detection.apply(to: &c)
        return c
    }
}

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Decode log files into security events, one JSON object per line."
    )

    @OptionGroup var input: InputOptions

    @Option(name: .long, help: ArgumentHelp("Zone of log times that carry none, e.g. +01:00.", valueName: "OFFSET"))
    var utcOffset: String = "+00:00"

    @Flag(name: .long, help: "Print the lines that look like security failures but match no known form (FILE:LINE: text).")
    var unmatched = false

    func run() throws {
        if unmatched, !input.pcap {
            try OfflineAnalysis.printUnmatched(files: input.files, selection: try input.selection())
            return
        }
        if input.pcap {
            try WireAnalysis.printEvents(files: input.files, ports: input.ports)
            return
        }
        let selection = try input.selection()
        guard let offset = UTCOffset.parse(utcOffset) else {
            throw ConfigurationError(location: "--utc-offset", message: "expected an offset such as +00:00, got '\(utcOffset)'")
        }
        try OfflineAnalysis.printEvents(files: input.files, selection: selection, reference: systemClock(), utcOffsetSeconds: offset)
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run detection over recorded logs on their own timestamps and print the bans it would have made."
    )

    @Option(name: .long, help: ArgumentHelp("YAML configuration file.", valueName: "FILE"))
    var config: String?

    @OptionGroup var detection: DetectionOptions

    @Flag(name: .long, help: "One JSON object per ban, with its evidence.")
    var json = false

    @OptionGroup var input: InputOptions

    func run() throws {
        var c = Configuration()
        if let config { c = try ConfigurationFile.load(path: config, onto: c) }
        try detection.apply(to: &c)
        let verdicts = input.pcap
            ? try WireAnalysis.replay(files: input.files, ports: input.ports, policy: c.detection)
            : try OfflineAnalysis.replay(
                files: input.files, selection: try input.selection(), policy: c.detection, reference: systemClock(),
                utcOffsetSeconds: c.logUTCOffsetSeconds
            )
        if json {
            var w = JSONLineWriter()
            for v in verdicts { OfflineAnalysis.json(v, into: &w) }
            print(String(decoding: w.bytes, as: UTF8.self), terminator: "")
        } else {
            for v in verdicts { print(OfflineAnalysis.describe(v)) }
            if verdicts.isEmpty { print("no bans") }
        }
    }
}

struct BansCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bans",
        abstract: "List, add or remove bans (through the running daemon, else ledger and kernel).",
        subcommands: [List.self, Add.self, Remove.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show active bans (or all with --all).")
        @OptionGroup var common: ConfigOptions
        @Flag(name: .long, help: "Include expired and lifted bans.") var all = false
        @Flag(name: .long, help: "JSON Lines output.") var json = false
        @Option(name: .long, help: "At most this many rows.") var limit: Int = 1000

        func run() throws {
            let admin = Administration(configuration: try common.load(), logger: makeLogger(level: .warning))
            print(try admin.list(all: all, limit: limit, json: json), terminator: json ? "" : "\n")
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ban an address or prefix by hand.")
        @OptionGroup var common: ConfigOptions
        @Option(name: .long, help: ArgumentHelp("Ban length (90s, 10m, 1h); omit for permanent.", valueName: "DURATION")) var banTime: String?
        @Option(name: .long, help: "Why (stored in the ledger).") var reason: String = "manual"
        @Argument(help: ArgumentHelp("Address or CIDR prefix.", valueName: "CIDR")) var network: String

        func run() throws {
            guard let n = IPNetwork(network, strict: true) else {
                throw ValidationError("'\(network)' is not an address or CIDR prefix with clear host bits")
            }
            var duration: Duration?
            if let banTime {
                guard let d = DurationParser.parse(banTime), d > .zero else { throw ValidationError("--ban-time: expected a duration such as 10m, got '\(banTime)'") }
                duration = d
            }
            let admin = Administration(configuration: try common.load(), logger: makeLogger(level: .warning))
            print(try admin.add(n, banTime: duration, reason: reason))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a ban.")
        @OptionGroup var common: ConfigOptions
        @Argument(help: ArgumentHelp("Address or CIDR prefix.", valueName: "CIDR")) var network: String

        func run() throws {
            guard let n = IPNetwork(network, strict: true) else {
                throw ValidationError("'\(network)' is not an address or CIDR prefix with clear host bits")
            }
            let admin = Administration(configuration: try common.load(), logger: makeLogger(level: .warning))
            print(try admin.remove(n))
        }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Daemon, ledger and kernel at a glance.")
    @OptionGroup var common: ConfigOptions

    func run() throws {
        let admin = Administration(configuration: try common.load(), logger: makeLogger(level: .warning))
        print(try admin.status())
    }
}

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Check whether a SIP server lets attackers tell existing users from unknown ones.",
        discussion: """
            Sends a few harmless REGISTER, INVITE and OPTIONS requests (no credentials, Expires: 0) for
            --user and for random nonexistent users, compares the answers and says what to change.
            Only loopback targets are allowed unless you pass --i-own-this-host. See docs/PROBE.md.
            """
    )

    @Argument(help: ArgumentHelp("Target address and port (numeric), e.g. 127.0.0.1:5060 or [::1]:5060.", valueName: "HOST[:PORT]"))
    var target: String

    @Option(name: .long, help: ArgumentHelp("An extension or user that exists on the target.", valueName: "USER"))
    var user: String

    @Option(name: .long, help: ArgumentHelp("SIP domain for the request URIs (default: the target address).", valueName: "DOMAIN"))
    var domain: String?

    @Flag(name: .customLong("i-own-this-host"), help: "Allow a target other than loopback (only probe servers you run).")
    var iOwnThisHost = false

    @Flag(name: .long, help: "JSON output.")
    var json = false

    func run() throws {
        let parsedTarget: ProbeTarget
        var configuration = ProbeConfiguration(existingUser: user, version: SIPWardenVersion.string)
        do {
            parsedTarget = try ProbeTarget(parsing: target, iOwnThisHost: iOwnThisHost)
            configuration.domain = domain
            try configuration.validate()
        } catch {
            throw ConfigurationError(location: "probe", message: "\(error)")
        }
        let report: ProbeReport
        do {
            report = try UDPProbeShell.run(target: parsedTarget, configuration: configuration)
        } catch {
            throw RuntimeFailure("\(error)")
        }
        print(json ? report.renderJSON() : report.renderText(), terminator: json ? "\n" : "")
    }
}
