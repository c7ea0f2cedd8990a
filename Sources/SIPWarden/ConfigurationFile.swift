// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Inline
import LogFormats
import NetworkAddress
import Sensors
import WardenCore
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
        try YAMLNodeReader(file: file).apply(root, section: "", to: &config)
        do {
            try config.validate()
        } catch {
            throw ConfigurationError(location: "\(file): \(error.location)", message: error.message)
        }
        return config
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        default:
            return "\(error)"
        }
    }
}

/// Reads YAML nodes into settings, with the key path at hand so that every error says
/// where it is: `FILE:LINE: key` for the file, the flag for a command-line override.
struct YAMLNodeReader: Sendable {
    let file: String
    /// Set when the node came from a flag: errors are located at the flag.
    var flag: String?

    init(file: String, flag: String? = nil) {
        self.file = file
        self.flag = flag
    }

    func fail(_ node: Node?, _ key: String, _ message: String) -> ConfigurationError {
        if let flag { return ConfigurationError(location: flag, message: message) }
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        return ConfigurationError(location: "\(file)\(line): \(key)", message: message)
    }

    func mapping(_ node: Node, _ key: String) throws(ConfigurationError) -> [(String, Node, Node)] {
        guard case .mapping(let m) = node else { throw fail(node, key, "expected a mapping of keys to values") }
        var out: [(String, Node, Node)] = []
        var seen: Set<String> = []
        for (k, v) in m {
            guard let name = k.string else { throw fail(k, key, "keys must be plain strings") }
            guard seen.insert(name).inserted else { throw fail(k, join(key, name), "duplicate key") }
            out.append((name, k, v))
        }
        return out
    }

    /// A scalar read as a `SettingValue`.
    func value<V: SettingValue>(_ node: Node, _ key: String) throws(ConfigurationError) -> V {
        guard case .scalar(let s) = node else { throw fail(node, key, "expected a single value") }
        do { return try V(settingText: s.string) } catch { throw fail(node, key, error.message) }
    }

    func integer(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let v: Int = try value(node, key)
        guard range.contains(v) else { throw fail(node, key, "must be between \(range.lowerBound) and \(range.upperBound), got \(v)") }
        return v
    }

    func list(_ node: Node, _ key: String) throws(ConfigurationError) -> [Node] {
        switch node {
        case .sequence(let seq): return Array(seq)
        case .scalar: return [node]
        default: throw fail(node, key, "expected a list")
        }
    }

    func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : "\(a).\(b)" }

    func unknown(_ keyNode: Node, _ path: String, _ allowed: [String]) -> ConfigurationError {
        fail(keyNode, path, "unknown key (known keys here: \(allowed.joined(separator: ", ")))")
    }

    /// Applies a mapping of settings under `section` ("" = the file's top level): each key
    /// is looked up in `ConfigurationSchema`, read by its declaration, in the file's order.
    func apply(_ node: Node, section: String, to c: inout Configuration) throws(ConfigurationError) {
        for (name, keyNode, value) in try mapping(node, section) {
            let key = join(section, name)
            guard let setting = ConfigurationSchema.setting(key) else {
                throw unknown(keyNode, key, ConfigurationSchema.children(of: section).map(\.name))
            }
            try read(setting, value, to: &c)
        }
    }

    /// Reads one setting's node (a value, or a section and its keys).
    func read(_ setting: Setting, _ node: Node, to c: inout Configuration) throws(ConfigurationError) {
        switch setting.shape {
        case .value(let read):
            try read(self, node, setting.key, &c)
        case .section(let scalar, let begin):
            if case .scalar = node, let scalar {
                try scalar(self, node, setting.key, &c)
                return
            }
            _ = try mapping(node, setting.key) // a scalar or list where a mapping belongs
            begin?(&c)
            try apply(node, section: setting.key, to: &c)
        }
    }

    func logSource(_ item: Node, _ key: String) throws(ConfigurationError) -> LogSource {
        if case .scalar = item { return try value(item, key) }
        var path: String?
        var dialect = DialectSelection.auto
        for (k, kn, v) in try mapping(item, key) {
            switch k {
            case "path": path = try value(v, join(key, k)) as String
            case "dialect": dialect = try value(v, join(key, k))
            default: throw unknown(kn, join(key, k), ["path", "dialect"])
            }
        }
        guard let path, !path.isEmpty else { throw fail(item, key, "each log needs a path") }
        return LogSource(path: path, dialect: dialect)
    }

    func strings(_ node: Node, _ key: String) throws(ConfigurationError) -> [String] {
        var out: [String] = []
        for item in try list(node, key) { out.append(try value(item, key)) }
        return out
    }

    /// `journal: true|false`, `journal: NAME` / `[NAMES]`, or a mapping of units,
    /// identifiers, dialect and directory.
    func journal(_ node: Node, _ key: String) throws(ConfigurationError) -> JournalSettings? {
        var settings: JournalSettings
        switch node {
        case .scalar:
            let s: String = try value(node, key)
            switch s.lowercased() {
            case "true", "yes", "on": settings = JournalSettings(names: [])
            case "false", "no", "off": return nil
            default: settings = JournalSettings(names: [s])
            }
        case .sequence:
            settings = JournalSettings(names: try strings(node, key))
        default:
            var units: [String]?
            var identifiers: [String]?
            var dialect = DialectSelection.auto
            var directory: String?
            for (k, kn, v) in try mapping(node, key) {
                let path = join(key, k)
                switch k {
                case "units": units = try strings(v, path)
                case "identifiers": identifiers = try strings(v, path)
                case "dialect": dialect = try value(v, path)
                case "directory": directory = try value(v, path) as String
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

    /// `hep: {listen, agents, auth-key}`; `listen` is required.
    func hep(_ node: Node, _ key: String) throws(ConfigurationError) -> HEPSettings {
        var endpoint: HEPEndpoint?
        var agents: IPNetworkSet?
        var authKey: String?
        for (k, kn, v) in try mapping(node, key) {
            let path = join(key, k)
            switch k {
            case "listen": endpoint = try value(v, path)
            case "agents":
                var set = IPNetworkSet()
                for item in try list(v, path) { set.insert(try value(item, path) as IPNetwork) }
                agents = set
            case "auth-key": authKey = try value(v, path) as String
            default: throw unknown(kn, path, ["listen", "agents", "auth-key"])
            }
        }
        guard let endpoint else { throw fail(node, key, "needs listen: ADDR:PORT") }
        var settings = HEPSettings(endpoint: endpoint.text, authKey: authKey)
        if let agents { settings.agents = agents }
        return settings
    }

    /// `inline: {queue, fail-mode, ports, manage-rules}`; `queue` is required.
    func inline(_ node: Node, _ key: String) throws(ConfigurationError) -> InlineSettings {
        var settings = InlineSettings(queue: 0)
        var queueSet = false
        for (k, kn, v) in try mapping(node, key) {
            let path = join(key, k)
            switch k {
            case "queue":
                settings.queue = UInt16(try integer(v, path, 0...65535))
                queueSet = true
            case "fail-mode": settings.failMode = try value(v, path)
            case "ports":
                settings.ports = []
                for p in try list(v, path) {
                    let port: PortMatch = try value(p, path)
                    settings.ports.append(port.lowerBound...port.upperBound)
                }
            case "manage-rules": settings.manageRules = try value(v, path)
            default: throw unknown(kn, path, ["queue", "fail-mode", "ports", "manage-rules"])
            }
        }
        guard queueSet else { throw fail(node, key, "needs queue: N") }
        return settings
    }

    func threshold(_ node: Node, _ key: String, base: Threshold) throws(ConfigurationError) -> Threshold {
        var t = base
        for (k, kn, v) in try mapping(node, key) {
            switch k {
            case "max-retry": t.maxRetry = try integer(v, join(key, k), 1...1000)
            case "find-time": t.findTime = try value(v, join(key, k))
            default: throw unknown(kn, join(key, k), ["max-retry", "find-time"])
            }
        }
        return t
    }

    /// `detection.kinds`: per event kind a threshold of its own, or `default`.
    func kinds(_ node: Node, _ path: String, _ p: inout DetectionPolicy) throws(ConfigurationError) {
        for (kind, kindKey, t) in try mapping(node, path) {
            guard let ek = EventKind(rawValue: kind) else {
                throw fail(kindKey, join(path, kind), "unknown event kind (known: \(EventKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if case .scalar(let s) = t, s.string == "default" {
                p.overrides[ek] = nil
            } else {
                p.overrides[ek] = try threshold(t, join(path, kind), base: p.overrides[ek] ?? p.threshold)
            }
        }
    }
}

extension ConfigurationSchema {
    /// Applies a command-line flag's value to the setting at `key` through its declaration
    /// (the same parser, range and message as the file), located at `flag` in errors.
    public static func override(_ key: String, with text: String, flag: String, in c: inout Configuration) throws(ConfigurationError) {
        guard let setting = setting(key) else { preconditionFailure("no setting \(key)") }
        let node = Node.scalar(Node.Scalar(text))
        try YAMLNodeReader(file: "", flag: flag).read(setting, node, to: &c)
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
    let h = v / 100
    let m = v % 100
    guard h <= 14, m < 60 else { return nil }
    return (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
}

/// Reads a whole file as UTF-8 (invalid bytes are repaired) without Foundation.
func readTextFile(_ path: String) throws(SystemCallError) -> String {
    let bytes = try readFileBytes(path, limit: 16 << 20)
    return String(decoding: bytes, as: UTF8.self)
}
