// SPDX-License-Identifier: GPL-2.0-or-later

import Feeds
public import IntelUpdate
import NetworkAddress
import Yams

/// `intel:` in the file: which intelligence sources `sipwarden intel update` and the
/// daemon fetch, from where, and how often (docs/INTEL.md "Updates").
public struct IntelUpdateSettings: Sendable, Hashable {
    /// The sources: the defaults (`IntelSource.defaults`) with the file's changes.
    public var sources: [IntelSource] = IntelSource.defaults
    /// The daemon refreshes them (`auto-update`; on when the file has an `intel:` section).
    public var autoUpdate = false
    /// How often the daemon refreshes them.
    public var refresh: Duration = .seconds(86_400)
    /// A new copy with fewer entries than this share of the old one is refused.
    public var shrinkRatio = 0.5
    /// A larger download is refused (MiB).
    public var maxDownloadMiB = 256

    public init() {}

    /// The update options for the state directory `state`.
    public func options(state: String) -> IntelUpdateOptions {
        IntelUpdateOptions(directory: state + "/intel", shrinkGuard: ShrinkGuard(minimumRatio: shrinkRatio), maxDownloadBytes: maxDownloadMiB << 20)
    }
}

/// Reads the `intel:` and `feeds:` sections (called by `ConfigurationFile`'s reader).
enum IntelFeedsSection {
    struct Context {
        let file: String

        func fail(_ node: Node?, _ key: String, _ message: String) -> ConfigurationError {
            YAMLNodeReader(file: file).fail(node, key, message)
        }

        /// The mapping's entries; a duplicate key is refused (as everywhere in the file).
        func mapping(_ node: Node, _ key: String) throws(ConfigurationError) -> [(String, Node, Node)] {
            try YAMLNodeReader(file: file).mapping(node, key)
        }

        func string(_ node: Node, _ key: String) throws(ConfigurationError) -> String {
            guard case .scalar(let s) = node else { throw fail(node, key, "expected a single value") }
            return s.string
        }

        func int(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            try YAMLNodeReader(file: file).integer(node, key, range)
        }

        func bool(_ node: Node, _ key: String) throws(ConfigurationError) -> Bool {
            try YAMLNodeReader(file: file).value(node, key)
        }

        func duration(_ node: Node, _ key: String) throws(ConfigurationError) -> Duration {
            let s = try string(node, key)
            guard let d = DurationParser.parse(s), d >= .seconds(60) else {
                throw fail(node, key, "expected a duration of at least 60s such as 15m, 6h or 1d, got '\(s)'")
            }
            return d
        }

        func url(_ node: Node, _ key: String) throws(ConfigurationError) -> String {
            let s = try string(node, key)
            guard s.hasPrefix("https://") || s.hasPrefix("http://") || s.hasPrefix("file:///") else {
                throw fail(node, key, "expected an https://, http:// or file:/// URL, got '\(s.prefix(80))'")
            }
            return s
        }
    }

    static func intel(_ node: Node, file: String) throws(ConfigurationError) -> IntelUpdateSettings {
        let c = Context(file: file)
        var settings = IntelUpdateSettings()
        settings.autoUpdate = true
        let known = ["auto-update", "refresh", "shrink-ratio", "max-download-mib", "sources"]
        for (key, keyNode, value) in try c.mapping(node, "intel") {
            let path = "intel.\(key)"
            switch key {
            case "auto-update": settings.autoUpdate = try c.bool(value, path)
            case "refresh": settings.refresh = try c.duration(value, path)
            case "shrink-ratio":
                let s = try c.string(value, path)
                guard let ratio = Double(s), ratio >= 0, ratio <= 1 else {
                    throw c.fail(value, path, "expected a number between 0 and 1, got '\(s)'")
                }
                settings.shrinkRatio = ratio
            case "max-download-mib": settings.maxDownloadMiB = try c.int(value, path, 1...4096)
            case "sources": settings.sources = try sources(value, c)
            default: throw c.fail(keyNode, path, "unknown key (known keys here: \(known.joined(separator: ", ")))")
            }
        }
        return settings
    }

    /// `sources:` a mapping of name to `{url, format, gzip, enabled}`; a default source
    /// named there is changed, `enabled: false` removes it, a new name adds one (its
    /// `url` and `format` required). `only: [names]` keeps just those.
    static func sources(_ node: Node, _ c: Context) throws(ConfigurationError) -> [IntelSource] {
        var result = IntelSource.defaults
        var only: Set<String>?
        for (name, keyNode, value) in try c.mapping(node, "intel.sources") {
            let path = "intel.sources.\(name)"
            if name == "only" {
                var names = Set<String>()
                guard case .sequence(let seq) = value else { throw c.fail(value, path, "expected a list of source names") }
                for item in seq { names.insert(try c.string(item, path)) }
                only = names
                continue
            }
            guard IntelSource.isValidName(name) else { throw c.fail(keyNode, path, "a source name is letters, digits, '-', '_' and '.'") }
            var url: String?
            var format: String?
            var gzip: Bool?
            var enabled = true
            for (key, k, v) in try c.mapping(value, path) {
                switch key {
                case "url": url = try c.url(v, "\(path).url")
                case "format":
                    let f = try c.string(v, "\(path).format")
                    guard IntelSource.knownFormats.contains(f) else {
                        throw c.fail(
                            v, "\(path).format", "unknown format '\(f)' (known: \(IntelSource.knownFormats.sorted().joined(separator: ", ")))")
                    }
                    format = f
                case "gzip": gzip = try c.bool(v, "\(path).gzip")
                case "enabled": enabled = try c.bool(v, "\(path).enabled")
                default: throw c.fail(k, "\(path).\(key)", "unknown key (known keys here: url, format, gzip, enabled)")
                }
            }
            if let index = result.firstIndex(where: { $0.name == name }) {
                if !enabled {
                    result.remove(at: index)
                    continue
                }
                let old = result[index]
                result[index] = IntelSource(
                    name: name, url: url ?? old.url, format: format ?? old.format, gzip: gzip ?? (url.map { $0.hasSuffix(".gz") } ?? old.gzip))
            } else if enabled {
                guard let url, let format else { throw c.fail(keyNode, path, "a new source needs url and format") }
                result.append(IntelSource(name: name, url: url, format: format, gzip: gzip))
            }
        }
        if let only {
            for name in only where !result.contains(where: { $0.name == name }) {
                throw c.fail(node, "intel.sources.only", "no source named '\(name)'")
            }
            result = result.filter { only.contains($0.name) }
        }
        return result
    }

    /// `feeds:` a list of feeds.
    static func feeds(_ node: Node, file: String) throws(ConfigurationError) -> [FeedSpec] {
        let c = Context(file: file)
        guard case .sequence(let seq) = node else { throw c.fail(node, "feeds", "expected a list of feeds") }
        var result: [FeedSpec] = []
        var names = Set<String>()
        let known = ["name", "url", "format", "policy", "refresh", "max-entries", "ban-time", "api-key", "set"]
        for (index, item) in seq.enumerated() {
            let path = "feeds[\(index)]"
            var name: String?
            var url: String?
            var format: FeedFormat?
            var policy = FeedPolicy.block
            var refresh: Duration?
            var maxEntries = 100_000
            var banTime: Duration?
            var apiKey: String?
            var set = "sip"
            for (key, k, v) in try c.mapping(item, path) {
                let keyPath = "\(path).\(key)"
                switch key {
                case "name":
                    let n = try c.string(v, keyPath)
                    guard IntelSource.isValidName(n) else { throw c.fail(v, keyPath, "a feed name is letters, digits, '-', '_' and '.'") }
                    guard names.insert(n).inserted else { throw c.fail(v, keyPath, "two feeds named '\(n)'") }
                    name = n
                case "url": url = try c.url(v, keyPath)
                case "format":
                    let f = try c.string(v, keyPath)
                    guard let parsed = FeedFormat(rawValue: f) else {
                        throw c.fail(v, keyPath, "unknown format '\(f)' (known: \(FeedFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    format = parsed
                case "policy":
                    let p = try c.string(v, keyPath)
                    guard let parsed = FeedPolicy(rawValue: p) else { throw c.fail(v, keyPath, "expected block or suspect, got '\(p)'") }
                    policy = parsed
                case "refresh": refresh = try c.duration(v, keyPath)
                case "max-entries": maxEntries = try c.int(v, keyPath, 1...10_000_000)
                case "ban-time": banTime = try c.duration(v, keyPath)
                case "api-key": apiKey = try c.string(v, keyPath)
                case "set": set = try c.string(v, keyPath)
                default: throw c.fail(k, keyPath, "unknown key (known keys here: \(known.joined(separator: ", ")))")
                }
            }
            guard let name else { throw c.fail(item, path, "a feed needs a name") }
            guard let format else {
                throw c.fail(item, path, "feed '\(name)' needs a format (\(FeedFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let defaultURL: String? =
                switch format {
                case .apiban: FeedSpec.apibanURL
                case .voipbl: FeedSpec.voipblURL
                default: nil
                }
            guard let resolved = url ?? defaultURL else { throw c.fail(item, path, "feed '\(name)' needs a url") }
            if format == .apiban, (apiKey ?? "").isEmpty { throw c.fail(item, path, "feed '\(name)' (apiban) needs an api-key") }
            result.append(
                FeedSpec(
                    name: name, url: resolved, format: format, policy: policy,
                    refresh: refresh ?? (format == .apiban ? .seconds(900) : .seconds(3600)),
                    maxEntries: maxEntries, banTime: banTime, apiKey: apiKey, apibanSet: set))
        }
        return result
    }
}
