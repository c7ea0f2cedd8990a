// SPDX-License-Identifier: GPL-2.0-or-later

import PacketDecoding
public import Sensors
public import WardenCore

#if canImport(Glibc)
    import Glibc
#endif

/// What `sipwarden run` watches when it is given no source: the logs or journal of the
/// PBXs on this host, else SIP on the wire. The decision is a pure function of what the
/// probe found (`DefaultSources.plan`); `DefaultSources.probe()` is the thin I/O around it.
public enum DefaultSources {
    /// What the probe saw.
    public struct Inputs: Sendable, Hashable {
        /// Candidate log files that are regular files this process can read.
        public var readableFiles: Set<String>
        /// Server names (`asterisk`, …) with entries in the journal (unit or identifier).
        public var journalNames: Set<String>
        /// This host's network interfaces (names), for the capture's reason.
        public var interfaces: [String]

        public init(readableFiles: Set<String> = [], journalNames: Set<String> = [], interfaces: [String] = []) {
            self.readableFiles = readableFiles
            self.journalNames = journalNames
            self.interfaces = interfaces
        }
    }

    /// The chosen sources, with one reason per source.
    public struct Plan: Sendable, Hashable {
        public var logs: [LogSource] = []
        public var journal: JournalSettings?
        public var captures: [PacketCaptureConfiguration] = []
        /// One sentence per chosen source (and per server skipped), for the log.
        public var reasons: [String] = []
    }

    /// Where each server's log is, in order of preference: the Debian packages' locations,
    /// then source installs. One main file per server (`full` repeats `messages`), plus its
    /// companions (``companions``).
    public static let candidates: [(dialect: Dialect, paths: [String])] = [
        (
            .asterisk,
            [
                "/var/log/asterisk/messages", "/var/log/asterisk/full", "/var/log/asterisk/security",
                "/usr/local/var/log/asterisk/messages",
            ]
        ),
        (
            .freeswitch,
            [
                "/var/log/freeswitch/freeswitch.log", "/usr/local/freeswitch/log/freeswitch.log",
                "/opt/freeswitch/log/freeswitch.log",
            ]
        ),
        (.kamailio, ["/var/log/kamailio.log", "/var/log/kamailio/kamailio.log", "/usr/local/var/log/kamailio.log"]),
        (.opensips, ["/var/log/opensips.log", "/var/log/opensips/opensips.log", "/usr/local/var/log/opensips.log"]),
    ]

    /// Logs watched beside a server's main log when readable: Asterisk's security log has
    /// events its `messages` lacks (IAX2, AMI, ACL and transport failures of some
    /// versions), and a failure reported in both counts once (`SensorMerge`).
    public static let companions: [Dialect: [String]] = [
        .asterisk: ["/var/log/asterisk/security", "/usr/local/var/log/asterisk/security"]
    ]

    /// Every candidate path.
    public static var candidatePaths: [String] { candidates.flatMap(\.paths) + companions.values.flatMap { $0 } }

    /// The decision (pure): for each server, its first readable log file, else its journal
    /// entries; when no server is found at all, capture SIP (5060-5061, UDP and TCP) on
    /// every interface.
    public static func plan(_ inputs: Inputs) -> Plan {
        var plan = Plan()
        var journalNames: [String] = []
        for (dialect, paths) in candidates {
            let name = dialect.rawValue
            if let path = paths.first(where: inputs.readableFiles.contains) {
                plan.logs.append(LogSource(path: path, dialect: .only(dialect)))
                plan.reasons.append("\(name): watching its log \(path)\(snippetNote(dialect))")
                for companion in companions[dialect] ?? [] where companion != path && inputs.readableFiles.contains(companion) {
                    plan.logs.append(LogSource(path: companion, dialect: .only(dialect)))
                    plan.reasons.append("\(name): also watching \(companion) (a failure reported in both logs counts once)")
                }
            } else if inputs.journalNames.contains(name) {
                journalNames.append(name)
                plan.reasons.append(
                    "\(name): no readable log file, its entries are in the journal: reading unit \(name).service / identifier \(name) there\(snippetNote(dialect))"
                )
            }
        }
        if !journalNames.isEmpty { plan.journal = JournalSettings(names: journalNames) }
        if plan.logs.isEmpty && plan.journal == nil {
            plan.captures = [PacketCaptureConfiguration(interface: nil, ports: .sipDefault)]
            let interfaces = inputs.interfaces.isEmpty ? "" : " (\(inputs.interfaces.joined(separator: ", ")))"
            plan.reasons.append(
                "no readable log of Asterisk, FreeSWITCH, Kamailio or OpenSIPS and none in the journal: capturing SIP on ports \(PortSet.sipDefault) of every interface\(interfaces)"
            )
        }
        return plan
    }

    /// Kamailio and OpenSIPS write failures sipwarden reads only with the SIPWARDEN line.
    private static func snippetNote(_ dialect: Dialect) -> String {
        switch dialect {
        case .kamailio, .opensips: " (failures are read from the SIPWARDEN line: contrib/\(dialect.rawValue).cfg snippet, docs/LOG-FORMATS.md)"
        default: ""
        }
    }

    /// Looks at this host: which candidate files are readable regular files, which servers
    /// have journal entries, which interfaces exist.
    public static func probe(journalDirectory: String? = nil) -> Inputs {
        var readable: Set<String> = []
        for path in candidatePaths {
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(path, R_OK) == 0 else { continue }
            readable.insert(path)
        }
        let names = JournalProbe.namesWithEntries(JournalSettings.serverNames, directory: journalDirectory)
        return Inputs(readableFiles: readable, journalNames: names, interfaces: interfaceNames())
    }

    static func interfaceNames() -> [String] {
        var names: [String] = []
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return names }
        defer { freeifaddrs(head) }
        var cursor = head
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let raw = entry.pointee.ifa_name else { continue }
            let name = String(cString: raw)
            if !names.contains(name) { names.append(name) }
        }
        return names
    }
}
