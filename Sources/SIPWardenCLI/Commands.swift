// SPDX-License-Identifier: GPL-2.0-or-later

import ArgumentParser
import Inline
import IntelStore
import LogFormats
import Logging
import NetworkAddress
import Probe
import SIPWarden
import Sensors
import WardenCore

struct SipWardenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sipwarden",
        abstract: "Detects SIP attacks in PBX logs and bans their sources in the kernel.",
        discussion: """
            Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.
            Documentation: README.md, docs/CONFIGURATION.md, docs/LOG-FORMATS.md.
            """,
        version: SIPWardenVersion.string,
        subcommands: [
            RunCommand.self, EventsCommand.self, ReplayCommand.self, BansCommand.self, RangesCommand.self, StatusCommand.self, ProbeCommand.self,
            IntelCommand.self, AbuseCommand.self, CasesCommand.self, OutboxCommand.self, ReportCommand.self, ProvidersCommand.self,
        ]
    )
}

/// Options shared by every command that reads the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("YAML configuration file (see docs/CONFIGURATION.md).", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("State directory holding the ban ledger.", valueName: "DIR"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("Firewall backend.", valueName: "KIND"))
    var firewall: FirewallKind?

    /// The configuration file (if any) with these flags applied on top.
    func load() throws(ConfigurationError) -> Configuration {
        var c = Configuration()
        if let config { c = try ConfigurationFile.load(path: config, onto: c) }
        if let state { try ConfigurationSchema.override("state", with: state, flag: "--state", in: &c) }
        if let firewall { try ConfigurationSchema.override("firewall", with: firewall.rawValue, flag: "--firewall", in: &c) }
        return c
    }
}

/// The recorded input of `events` and `replay`: log files in a dialect, or captures.
struct InputOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("auto, asterisk, freeswitch, kamailio or opensips.", valueName: "DIALECT"), transform: typed)
    var dialect: DialectSelection = .auto

    @Flag(name: .long, help: "The files are packet captures (pcap or pcapng): decode the SIP in them.")
    var pcap = false

    @Option(name: .long, help: ArgumentHelp("With --pcap: SIP ports, e.g. 5060-5061,5080 (default 5060-5061).", valueName: "PORTS"), transform: typed)
    var ports: CapturePorts = .sipDefault

    @Argument(help: ArgumentHelp("Log files or, with --pcap, capture files ('-' for standard input).", valueName: "FILE"))
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
    }
}

/// Detection flags, shared by `run` and `replay`. Each is applied through its setting's
/// declaration (`ConfigurationSchema`): the file's range checks and messages.
struct DetectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Failures that trigger a ban.", valueName: "N"))
    var maxRetry: Int?

    @Option(name: .long, help: ArgumentHelp("Window the failures must fall in (90s, 10m, 1h).", valueName: "DURATION"), transform: FlagValue.parse)
    var findTime: FlagValue<Duration>?

    @Option(
        name: .long, help: ArgumentHelp("Length of a first ban (90s, 10m, 1h); repeat offenders get longer.", valueName: "DURATION"),
        transform: FlagValue.parse)
    var banTime: FlagValue<Duration>?

    @Option(name: .long, help: ArgumentHelp("Never ban this address or prefix (repeatable).", valueName: "CIDR"), transform: FlagValue.parse)
    var allow: [FlagValue<IPNetwork>] = []

    func apply(to c: inout Configuration) throws(ConfigurationError) {
        if let maxRetry { try ConfigurationSchema.override("detection.max-retry", with: "\(maxRetry)", flag: "--max-retry", in: &c) }
        if let findTime { try ConfigurationSchema.override("detection.find-time", with: findTime.text, flag: "--find-time", in: &c) }
        if let banTime {
            try ConfigurationSchema.override("detection.ban-time", with: banTime.text, flag: "--ban-time", in: &c)
            if c.detection.escalation.maxBanTime < banTime.value { c.detection.escalation.maxBanTime = banTime.value }
        }
        for a in allow { try ConfigurationSchema.override("allow", with: a.text, flag: "--allow", in: &c) }
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

    @Option(
        name: .long,
        help: ArgumentHelp("Log to watch, DIALECT:PATH (auto, asterisk, freeswitch, kamailio, opensips); repeatable.", valueName: "DIALECT:PATH"),
        transform: FlagValue.parse)
    var log: [FlagValue<LogSource>] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read the systemd journal: a unit (kamailio.service), a unit or syslog identifier (kamailio), or no value (all) for asterisk, freeswitch, kamailio and opensips; repeatable.",
            valueName: "NAME"))
    var journal: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("Read the journal files in this directory instead of the system journal (a copied or remote journal).", valueName: "DIR"))
    var journalDirectory: String?

    @Option(
        name: .long, help: ArgumentHelp("Capture SIP on an interface (any = all), e.g. eth0:5060-5061; repeatable.", valueName: "IFACE[:PORTS]"),
        transform: FlagValue.parse)
    var capture: [FlagValue<PacketCaptureConfiguration>] = []

    @Option(
        name: .long, help: ArgumentHelp("Listen for HEPv3 (Homer) mirrors of SIP, e.g. 127.0.0.1:9060.", valueName: "ADDR:PORT"), transform: typed)
    var hep: HEPEndpoint?

    @Option(name: .long, help: ArgumentHelp("HEP agents to believe (default: loopback); repeatable.", valueName: "CIDR"), transform: typed)
    var hepAgent: [IPNetwork] = []

    @Option(name: .long, help: ArgumentHelp("HEP auth key the agents send.", valueName: "KEY"))
    var hepKey: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Judge SIP requests inline through this NFQUEUE number (installs iptables-nft NFQUEUE rules for UDP 5060).", valueName: "QUEUE"))
    var inline: UInt16?

    @Option(name: .long, help: ArgumentHelp("Inline mode when sipwarden is stopped or overloaded (default bypass).", valueName: "MODE"))
    var inlineFailMode: InlineFailMode?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Kernel per-source packet-rate ceiling on UDP SIP ports: off, RATE or RATE/BURST (default 1000/20).", valueName: "off|RATE[/BURST]"),
        transform: typed)
    var floodGuard: FloodGuardOverride?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also serve the control plane's HTTP API on TCP (every request needs the token; loopback unless control-plane.allow-remote), e.g. 127.0.0.1:9480.",
            valueName: "ADDR:PORT"), transform: FlagValue.parse)
    var http: FlagValue<HTTPEndpoint>?

    @Flag(name: .long, help: "Read watched files from their beginning instead of their end.")
    var fromStart = false

    @Flag(name: .long, help: ArgumentHelp("Do not ban attack tools by their signature on the wire (testing the password path).", visibility: .hidden))
    var noScannerSignatures = false

    @Option(name: .long, help: ArgumentHelp("Log level.", valueName: "LEVEL"))
    var logLevel: Logger.Level = .info

    func run() throws {
        let c = try resolve()
        // SIGHUP re-reads the file with the same flags on top.
        let daemon = Daemon(
            configuration: c, logger: makeLogger(level: logLevel),
            reload: common.config == nil ? nil : { () throws(ConfigurationError) in try resolve() })
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
        if !log.isEmpty { c.logs = log.map(\.value) }
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
        if !capture.isEmpty { c.captures = capture.map(\.value) }
        if let hep {
            var settings = c.hep ?? HEPSettings(endpoint: hep.text)
            settings.endpoint = hep.text
            c.hep = settings
        }
        if !hepAgent.isEmpty || hepKey != nil {
            guard var settings = c.hep else {
                throw ConfigurationError(location: "--hep-agent", message: "--hep-agent and --hep-key need --hep (or hep: in the configuration file)")
            }
            if !hepAgent.isEmpty { settings.agents = IPNetworkSet(hepAgent) }
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
            settings.failMode = inlineFailMode
            c.inline = settings
        }
        if common.config == nil && log.isEmpty && journal.isEmpty && journalDirectory == nil && capture.isEmpty && hep == nil && inline == nil {
            // The daemon looks at the host and chooses (DefaultSources).
            c.logs = []
            c.logsAreDefaults = true
        }
        // Over the file's guard: its other settings (ports, report group …) are kept.
        if let floodGuard { c.floodGuard = floodGuard.applied(to: c.floodGuard) }
        if let http { try ConfigurationSchema.override("control-plane.http", with: http.text, flag: "--http", in: &c) }
        if fromStart { try ConfigurationSchema.override("from-start", with: "true", flag: "--from-start", in: &c) }
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

    @Option(
        name: .long, help: ArgumentHelp("Zone of log times that carry none, e.g. +01:00 (default +00:00).", valueName: "OFFSET"), transform: typed)
    var utcOffset: UTCOffsetValue?

    @Flag(name: .long, help: "Print the lines that look like security failures but match no known form (FILE:LINE: text).")
    var unmatched = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "State directory whose intelligence store (STATE/intel, docs/INTEL.md) enriches each event with asn, as_name, country, prefix, provider.",
            valueName: "DIR"))
    var state = "/var/lib/sipwarden"

    func run() throws {
        if unmatched, !input.pcap {
            try OfflineAnalysis.printUnmatched(files: input.files, selection: input.dialect)
            return
        }
        let store = IntelDirectory(stateDirectory: state).loadStore().store
        let intel = store.isEmpty ? nil : store
        if input.pcap {
            try WireAnalysis.printEvents(files: input.files, ports: input.ports, intel: intel)
            return
        }
        try OfflineAnalysis.printEvents(
            files: input.files, selection: input.dialect, reference: systemClock(), utcOffsetSeconds: utcOffset?.seconds ?? 0, intel: intel)
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
        let verdicts =
            input.pcap
            ? try WireAnalysis.replay(files: input.files, ports: input.ports, policy: c.detection)
            : try OfflineAnalysis.replay(
                files: input.files, selection: input.dialect, policy: c.detection, reference: systemClock(),
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
        @Option(name: .long, help: ArgumentHelp("Ban length (90s, 10m, 1h); omit for permanent.", valueName: "DURATION"), transform: typed)
        var banTime: Duration?
        @Option(name: .long, help: "Why (stored in the ledger).") var reason: String = "manual"
        @Argument(help: ArgumentHelp("Address or CIDR prefix.", valueName: "CIDR"), transform: typed) var network: StrictNetwork

        func run() throws {
            let admin = Administration(configuration: try common.load(), logger: makeLogger(level: .warning))
            print(try admin.add(network.network, banTime: banTime, reason: reason))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a ban.")
        @OptionGroup var common: ConfigOptions
        @Argument(help: ArgumentHelp("Address or CIDR prefix.", valueName: "CIDR"), transform: typed) var network: StrictNetwork

        func run() throws {
            let admin = Administration(configuration: try common.load(), logger: makeLogger(level: .warning))
            print(try admin.remove(network.network))
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
