// SPDX-License-Identifier: GPL-2.0-or-later
import Detection
import LogFormats
import WardenCore
import Firewall
import Inline
import Sensors
import NetworkAddress
import Yams

/// Reads the YAML configuration file (format documented in docs/CONFIGURATION.md).
///
/// Unknown keys are errors, not silently ignored: a typo such as `max-retries` must not
/// leave an operator believing a limit is in force. Every error names the file, the
/// line and the key.
public enum ConfigurationFile {
    /// Applies the file's settings on top of `base` and returns the result.
    public static func load(path: String, onto base: Configuration = Configuration()) throws(ConfigurationError) -> Configuration {
        let text: String
        do {
            text = try readTextFile(path)
        } catch {
            throw ConfigurationError(location: path, message: "cannot read configuration file: \(error)")
        }
        return try parse(text, file: path, onto: base)
    }

    /// Parses YAML text; `file` is used in error messages.
    public static func parse(_ text: String, file: String, onto base: Configuration = Configuration()) throws(ConfigurationError) -> Configuration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            throw ConfigurationError(
                location: "\(file):\(context.mark.line)",
                message: "duplicate key\(duplicates.count == 1 ? "" : "s") \(duplicates.joined(separator: ", ")) in one mapping"
            )
        } catch let error as YamlError {
            throw ConfigurationError(location: file, message: "not valid YAML: \(describe(error))")
        } catch {
            throw ConfigurationError(location: file, message: "not valid YAML: \(error)")
        }
        var config = base
        guard let root else { return config } // an empty file changes nothing
        var reader = Reader(file: file)
        try reader.apply(root, to: &config)
        do {
            try config.validate()
        } catch {
            throw ConfigurationError(location: "\(file): \(error.location)", message: error.message)
        }
        return config
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        default:
            return "\(error)"
        }
    }
}

/// Walks the YAML tree with the current key path, so errors can say where they are.
private struct Reader {
    let file: String

    func fail(_ node: Node?, _ key: String, _ message: String) -> ConfigurationError {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        return ConfigurationError(location: "\(file)\(line): \(key)", message: message)
    }

    func mapping(_ node: Node, _ key: String) throws(ConfigurationError) -> [(String, Node, Node)] {
        guard case let .mapping(m) = node else { throw fail(node, key, "expected a mapping of keys to values") }
        var out: [(String, Node, Node)] = []
        var seen: Set<String> = []
        for (k, v) in m {
            guard let name = k.string else { throw fail(k, key, "keys must be plain strings") }
            guard seen.insert(name).inserted else { throw fail(k, join(key, name), "duplicate key") }
            out.append((name, k, v))
        }
        return out
    }

    func string(_ node: Node, _ key: String) throws(ConfigurationError) -> String {
        guard case let .scalar(s) = node else { throw fail(node, key, "expected a single value") }
        return s.string
    }

    func int(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let s = try string(node, key)
        guard let v = Int(s) else { throw fail(node, key, "expected an integer, got '\(s)'") }
        guard range.contains(v) else { throw fail(node, key, "must be between \(range.lowerBound) and \(range.upperBound), got \(v)") }
        return v
    }

    func bool(_ node: Node, _ key: String) throws(ConfigurationError) -> Bool {
        switch try string(node, key).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let s: throw fail(node, key, "expected true or false, got '\(s)'")
        }
    }

    func duration(_ node: Node, _ key: String) throws(ConfigurationError) -> Duration {
        let s = try string(node, key)
        guard let d = DurationParser.parse(s), d > .zero else {
            throw fail(node, key, "expected a positive duration such as 90s, 10m, 1h or 7d, got '\(s)'")
        }
        return d
    }

    func list(_ node: Node, _ key: String) throws(ConfigurationError) -> [Node] {
        switch node {
        case let .sequence(seq): return Array(seq)
        case .scalar: return [node]
        default: throw fail(node, key, "expected a list")
        }
    }

    /// `flood-guard: off` or a mapping of rate, burst, ports and v6-prefix.
    func floodGuard(_ node: Node, _ name: String) throws(ConfigurationError) -> FloodGuard? {
        if case .scalar = node {
            let s = try string(node, name)
            guard s == "off" || s == "false" else { throw fail(node, name, "expected off or a mapping (rate, burst, ban-rate, ban-burst, ports, v6-prefix, report-group), got '\(s)'") }
            return nil
        }
        var result = FloodGuard.standard
        for (k, kn, v) in try mapping(node, name) {
            let path = join(name, k)
            switch k {
            case "rate": result.packetsPerSecond = try int(v, path, 1...10_000_000)
            case "burst": result.burst = try int(v, path, 1...1_000_000)
            case "v6-prefix": result.prefixLengthV6 = try int(v, path, 16...128)
            case "ban-rate": result.banPacketsPerSecond = try int(v, path, 1...10_000_000)
            case "ban-burst": result.banBurst = try int(v, path, 1...1_000_000)
            case "report-group":
                if case .scalar = v, let s = try? string(v, path), s == "off" || s == "false" {
                    result.reportGroup = nil
                } else {
                    result.reportGroup = UInt16(try int(v, path, 1...65535))
                }
            case "ports":
                result.ports = []
                for p in try list(v, path) {
                    let s = try string(p, path)
                    guard let port = PortMatch(s) else { throw fail(p, path, "expected a port such as 5060 or a range such as 5060-5061, got '\(s)'") }
                    result.ports.append(port)
                }
                guard !result.ports.isEmpty else { throw fail(v, path, "needs at least one port") }
            default: throw unknown(kn, path, ["rate", "burst", "ban-rate", "ban-burst", "ports", "v6-prefix", "report-group"])
            }
        }
        return result
    }

    func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : "\(a).\(b)" }

    func unknown(_ keyNode: Node, _ path: String, _ allowed: [String]) -> ConfigurationError {
        fail(keyNode, path, "unknown key (known keys here: \(allowed.joined(separator: ", ")))")
    }

    mutating func apply(_ root: Node, to c: inout Configuration) throws(ConfigurationError) {
        let top = ["logs", "journal", "capture", "hep", "inline", "firewall", "nftables", "state", "detection", "allow", "from-start", "log-utc-offset", "realtime", "scanner-signatures", "ignore-self", "flood-guard", "control-plane", "ranges"]
        for (name, keyNode, value) in try mapping(root, "") {
            switch name {
            case "logs":
                c.logs = []
                for item in try list(value, name) {
                    c.logs.append(try logSource(item, name))
                }
            case "journal": c.journal = try journal(value, name)
            case "capture":
                c.captures = []
                for item in try list(value, name) {
                    let s = try string(item, name)
                    guard let capture = PacketCaptureConfiguration(spec: s) else {
                        throw fail(item, name, "expected IFACE[:PORTS] such as eth0:5060 or any:5060-5061, got '\(s)'")
                    }
                    c.captures.append(capture)
                }
            case "hep":
                var endpoint: String?
                var agents: IPNetworkSet?
                var key: String?
                for (k, kn, v) in try mapping(value, name) {
                    let path = join(name, k)
                    switch k {
                    case "listen":
                        let s = try string(v, path)
                        guard HEPListener.parseEndpoint(s) != nil else { throw fail(v, path, "expected IPv4:PORT or [IPv6]:PORT, got '\(s)'") }
                        endpoint = s
                    case "agents":
                        var set = IPNetworkSet()
                        for item in try list(v, path) {
                            let s = try string(item, path)
                            guard let n = IPNetwork(s) else { throw fail(item, path, "expected an address or CIDR prefix, got '\(s)'") }
                            set.insert(n)
                        }
                        agents = set
                    case "auth-key": key = try string(v, path)
                    default: throw unknown(kn, path, ["listen", "agents", "auth-key"])
                    }
                }
                guard let endpoint else { throw fail(value, name, "needs listen: ADDR:PORT") }
                var settings = HEPSettings(endpoint: endpoint, authKey: key)
                if let agents { settings.agents = agents }
                c.hep = settings
            case "inline":
                var settings = InlineSettings(queue: 0)
                var queueSet = false
                for (k, kn, v) in try mapping(value, name) {
                    let path = join(name, k)
                    switch k {
                    case "queue":
                        settings.queue = UInt16(try int(v, path, 0...65535))
                        queueSet = true
                    case "fail-mode":
                        let s = try string(v, path)
                        guard let mode = InlineFailMode(rawValue: s) else { throw fail(v, path, "expected bypass, open or closed, got '\(s)'") }
                        settings.failMode = mode
                    case "ports":
                        settings.ports = []
                        for p in try list(v, path) {
                            let s = try string(p, path)
                            guard let port = PortMatch(s) else { throw fail(p, path, "expected a port or range such as 5060 or 5060-5061, got '\(s)'") }
                            settings.ports.append(port.lowerBound...port.upperBound)
                        }
                    case "manage-rules": settings.manageRules = try bool(v, path)
                    default: throw unknown(kn, path, ["queue", "fail-mode", "ports", "manage-rules"])
                    }
                }
                guard queueSet else { throw fail(value, name, "needs queue: N") }
                c.inline = settings
            case "firewall":
                let s = try string(value, name)
                guard let f = FirewallKind(rawValue: s) else { throw fail(value, name, "expected nftables or dry-run, got '\(s)'") }
                c.firewall = f
            case "nftables":
                for (k, kn, v) in try mapping(value, name) {
                    let path = join(name, k)
                    switch k {
                    case "table": c.nftTable = try string(v, path)
                    case "ports":
                        c.nftPorts = []
                        for p in try list(v, path) {
                            let s = try string(p, path)
                            guard let port = PortMatch(s) else { throw fail(p, path, "expected a port such as 5060 or a range such as 5060-5061, got '\(s)'") }
                            c.nftPorts.append(port)
                        }
                    default: throw unknown(kn, path, ["table", "ports"])
                    }
                }
            case "flood-guard": c.floodGuard = try floodGuard(value, name)
            case "state": c.stateDirectory = try string(value, name)
            case "detection": try detection(value, name, &c.detection)
            case "allow":
                for item in try list(value, name) {
                    let s = try string(item, name)
                    guard let n = IPNetwork(s) else { throw fail(item, name, "expected an address or CIDR prefix, got '\(s)'") }
                    c.detection.allowlist.insert(n)
                }
            case "from-start": c.fromStart = try bool(value, name)
            case "realtime": c.realtimeSensors = try bool(value, name)
            case "scanner-signatures": c.scannerSignatures = try bool(value, name)
            case "ignore-self": c.ignoreSelf = try bool(value, name)
            case "ranges": c.ranges = try RangesSettings.parse(value, key: name, file: file)
            case "control-plane":
                for (k, kn, v) in try mapping(value, name) {
                    let path = join(name, k)
                    switch k {
                    case "socket": c.controlPlane.socket = try bool(v, path)
                    case "http":
                        let s = try string(v, path)
                        guard let endpoint = ControlPlaneSettings.parseEndpoint(s) else {
                            throw fail(v, path, "expected ADDR:PORT, [IPv6]:PORT or PORT (loopback), got '\(s)'")
                        }
                        c.controlPlane.http = endpoint
                    case "allow-remote": c.controlPlane.allowRemote = try bool(v, path)
                    default: throw unknown(kn, path, ["socket", "http", "allow-remote"])
                    }
                }
            case "log-utc-offset":
                let s = try string(value, name)
                guard let off = parseUTCOffset(s) else { throw fail(value, name, "expected an offset such as +00:00 or -05:00, got '\(s)'") }
                c.logUTCOffsetSeconds = off
            default: throw unknown(keyNode, name, top)
            }
        }
    }

    func logSource(_ item: Node, _ key: String) throws(ConfigurationError) -> LogSource {
        if case .scalar = item {
            do { return try LogSource(argument: try string(item, key)) } catch { throw fail(item, key, error.message) }
        }
        var path: String?
        var dialect = DialectSelection.auto
        for (k, kn, v) in try mapping(item, key) {
            switch k {
            case "path": path = try string(v, join(key, k))
            case "dialect":
                let s = try string(v, join(key, k))
                guard let d = DialectSelection(name: s) else { throw fail(v, join(key, k), "expected auto, asterisk, freeswitch, kamailio or opensips, got '\(s)'") }
                dialect = d
            default: throw unknown(kn, join(key, k), ["path", "dialect"])
            }
        }
        guard let path, !path.isEmpty else { throw fail(item, key, "each log needs a path") }
        return LogSource(path: path, dialect: dialect)
    }

    /// `journal: true|false`, `journal: NAME` / `[NAMES]`, or a mapping of units,
    /// identifiers, dialect and directory.
    func journal(_ node: Node, _ key: String) throws(ConfigurationError) -> JournalSettings? {
        var settings: JournalSettings
        switch node {
        case .scalar:
            let s = try string(node, key)
            switch s.lowercased() {
            case "true", "yes", "on": settings = JournalSettings(names: [])
            case "false", "no", "off": return nil
            default: settings = JournalSettings(names: [s])
            }
        case .sequence:
            settings = JournalSettings(names: try list(node, key).map { (n: Node) throws(ConfigurationError) -> String in try string(n, key) })
        default:
            var units: [String]?
            var identifiers: [String]?
            var dialect = DialectSelection.auto
            var directory: String?
            for (k, kn, v) in try mapping(node, key) {
                let path = join(key, k)
                switch k {
                case "units": units = try list(v, path).map { (n: Node) throws(ConfigurationError) -> String in try string(n, path) }
                case "identifiers": identifiers = try list(v, path).map { (n: Node) throws(ConfigurationError) -> String in try string(n, path) }
                case "dialect":
                    let s = try string(v, path)
                    guard let d = DialectSelection(name: s) else { throw fail(v, path, "expected auto, asterisk, freeswitch, kamailio or opensips, got '\(s)'") }
                    dialect = d
                case "directory": directory = try string(v, path)
                default: throw unknown(kn, path, ["units", "identifiers", "dialect", "directory"])
                }
            }
            if units == nil && identifiers == nil {
                settings = JournalSettings(names: [], dialect: dialect, directory: directory)
            } else {
                settings = JournalSettings(units: units ?? [], identifiers: identifiers ?? [], dialect: dialect, directory: directory)
            }
        }
        if let problem = settings.validationError() { throw fail(node, key, problem) }
        return settings
    }

    func threshold(_ node: Node, _ key: String, base: Threshold) throws(ConfigurationError) -> Threshold {
        var t = base
        for (k, kn, v) in try mapping(node, key) {
            switch k {
            case "max-retry": t.maxRetry = try int(v, join(key, k), 1...1000)
            case "find-time": t.findTime = try duration(v, join(key, k))
            default: throw unknown(kn, join(key, k), ["max-retry", "find-time"])
            }
        }
        return t
    }

    func detection(_ node: Node, _ key: String, _ p: inout DetectionPolicy) throws(ConfigurationError) {
        let known = ["max-retry", "find-time", "ban-time", "kinds", "enumeration", "escalation", "ipv4-prefix", "ipv6-prefix", "max-tracked-sources"]
        for (k, kn, v) in try mapping(node, key) {
            let path = join(key, k)
            switch k {
            case "max-retry": p.threshold.maxRetry = try int(v, path, 1...1000)
            case "find-time": p.threshold.findTime = try duration(v, path)
            case "ban-time": p.banTime = try duration(v, path)
            case "kinds":
                for (kind, kindKey, t) in try mapping(v, path) {
                    guard let ek = EventKind(rawValue: kind) else {
                        throw fail(kindKey, join(path, kind), "unknown event kind (known: \(EventKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    if case let .scalar(s) = t, s.string == "default" {
                        p.overrides[ek] = nil
                    } else {
                        p.overrides[ek] = try threshold(t, join(path, kind), base: p.overrides[ek] ?? p.threshold)
                    }
                }
            case "enumeration":
                if case .scalar = v {
                    if try !bool(v, path) { p.enumeration = nil }
                    continue
                }
                var e = p.enumeration ?? EnumerationRule(distinctUsers: 10, findTime: p.threshold.findTime)
                for (ek, ekn, ev) in try mapping(v, path) {
                    switch ek {
                    case "distinct-users": e.distinctUsers = try int(ev, join(path, ek), 2...1000)
                    case "find-time": e.findTime = try duration(ev, join(path, ek))
                    default: throw unknown(ekn, join(path, ek), ["distinct-users", "find-time"])
                    }
                }
                p.enumeration = e
            case "escalation":
                for (ek, ekn, ev) in try mapping(v, path) {
                    switch ek {
                    case "factor": p.escalation.factor = try int(ev, join(path, ek), 1...100)
                    case "max-ban-time": p.escalation.maxBanTime = try duration(ev, join(path, ek))
                    case "memory": p.escalation.memory = try duration(ev, join(path, ek))
                    default: throw unknown(ekn, join(path, ek), ["factor", "max-ban-time", "memory"])
                    }
                }
            case "ipv4-prefix": p.ipv4PrefixLength = try int(v, path, 8...32)
            case "ipv6-prefix": p.ipv6PrefixLength = try int(v, path, 32...128)
            case "max-tracked-sources": p.maxTrackedSources = try int(v, path, 100...50_000_000)
            default: throw unknown(kn, path, known)
            }
        }
    }
}

/// UTC offsets as written in configuration and flags.
public enum UTCOffset {
    /// Parses `+HH:MM`, `-HHMM`, `Z` or `UTC` into seconds east of UTC.
    public static func parse(_ s: String) -> Int? { parseUTCOffset(s) }
}

/// Parses `+HH:MM`, `-HHMM`, `Z` or `UTC` into seconds east of UTC.
func parseUTCOffset(_ s: String) -> Int? {
    if s == "Z" || s == "UTC" || s == "utc" { return 0 }
    guard let sign = s.first, sign == "+" || sign == "-" else { return nil }
    let digits = s.dropFirst().filter { $0 != ":" }
    guard digits.count == 4, let v = Int(digits) else { return nil }
    let h = v / 100, m = v % 100
    guard h <= 14, m < 60 else { return nil }
    return (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
}

/// Reads a whole file as UTF-8 (invalid bytes are repaired) without Foundation.
func readTextFile(_ path: String) throws(SystemCallError) -> String {
    let bytes = try readFileBytes(path, limit: 16 << 20)
    return String(decoding: bytes, as: UTF8.self)
}
