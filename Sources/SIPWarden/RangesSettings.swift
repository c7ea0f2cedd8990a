// SPDX-License-Identifier: GPL-2.0-or-later

public import Firewall
public import RangePolicy
import Yams

/// The `ranges:` section: named lists, per-selector rules (lower max-retry, blocks), the
/// opt-in AS rule, and the kernel table of range blocks (docs/RANGES.md).
///
/// ```yaml
/// ranges:
///   lists: { lab: /etc/sipwarden/lab.txt }          # named lists: name → file of CIDRs
///   rules:
///     aws:EC2: { max-retry: 1 }
///     list:lab: { block: sip }                        # sip | all; block-time: 1d (else permanent)
///   asn-block: { threshold: 5, window: 1h, block: sip, block-time: 1d }
///   overdue-block: { threshold: 3, block: sip }     # needs abuse:; block-time: 7d (else while overdue)
///   refresh: 1h
///   minimum-prefix-v4: 8
///   minimum-prefix-v6: 16
///   table: sipwarden_ranges
///   sip-ports: [5060-5061]
/// ```
public struct RangesSettings: Sendable, Hashable {
    /// Named lists: name → path of a CIDR file.
    public var lists: [String: String] = [:]
    /// Rules, guards and the AS rule.
    public var policy = RangePolicy()
    /// Where the blocks live in the kernel.
    public var kernel = RangeBlockConfiguration()

    public init() {}

    /// Why the settings cannot be used, or nil.
    public func validationError() -> String? {
        do throws(RangePolicyError) { try policy.validate() } catch { return "ranges.rules: \(error)" }
        do throws(FirewallError) { try kernel.validate() } catch { return "ranges: \(error.message)" }
        for (name, path) in lists where !path.hasPrefix("/") {
            return "ranges.lists.\(name): the path must be absolute, got '\(path)'"
        }
        return nil
    }

    /// Everything a SIGHUP does not change: the section without `asn-block` and
    /// `overdue-block` (live).
    var restartOnlyPart: RangesSettings {
        var part = self
        part.policy.asnRule = nil
        part.policy.overdueRule = nil
        return part
    }

    /// The source for named lists and CIDR files (the intelligence store is chained in
    /// front of it once it exists: `ChainedRangeSource([store, fileSource])`).
    public var fileSource: CIDRFileRangeSource { CIDRFileRangeSource(namedLists: lists) }

    /// Parses the section. `key` is its path for messages (`ranges`), `location` the file.
    static func parse(_ node: Node, key: String, file: String) throws(ConfigurationError) -> RangesSettings {
        let reader = RangesReader(base: YAMLNodeReader(file: file))
        return try reader.section(node, key)
    }
}

/// The `ranges:` section's reader (kept apart from the main reader; the same messages).
private struct RangesReader {
    /// The main reader: its locations (`FILE:LINE: key`) and its mapping walk.
    let base: YAMLNodeReader

    func fail(_ node: Node?, _ key: String, _ message: String) -> ConfigurationError { base.fail(node, key, message) }

    func pairs(_ node: Node, _ key: String) throws(ConfigurationError) -> [(String, Node, Node)] { try base.mapping(node, key) }

    func scalar(_ node: Node, _ key: String) throws(ConfigurationError) -> String {
        guard case .scalar(let s) = node else { throw fail(node, key, "expected a single value") }
        return s.string
    }

    func number(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let text = try scalar(node, key)
        guard let value = Int(text), range.contains(value) else {
            throw fail(node, key, "expected an integer from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    func positiveDuration(_ node: Node, _ key: String) throws(ConfigurationError) -> Duration {
        let text = try scalar(node, key)
        guard let duration = DurationParser.parse(text), duration > .zero else {
            throw fail(node, key, "expected a positive duration such as 10m, 1h or 7d, got '\(text)'")
        }
        return duration
    }

    func scope(_ node: Node, _ key: String) throws(ConfigurationError) -> RangeScope {
        let text = try scalar(node, key)
        guard let scope = RangeScope(rawValue: text.lowercased()) else { throw fail(node, key, "expected sip or all, got '\(text)'") }
        return scope
    }

    func section(_ node: Node, _ key: String) throws(ConfigurationError) -> RangesSettings {
        var settings = RangesSettings()
        var ruleNodes: [(String, Node, Node)] = []
        for (name, keyNode, value) in try pairs(node, key) {
            let path = "\(key).\(name)"
            switch name {
            case "lists":
                for (list, listKey, file) in try pairs(value, path) {
                    guard RangeSelector.parse("list:\(list)") != nil else {
                        throw fail(listKey, "\(path).\(list)", "list names are 1-64 letters, digits, '-', '_' or '.'")
                    }
                    settings.lists[list] = try scalar(file, "\(path).\(list)")
                }
            case "rules": ruleNodes = try pairs(value, path)
            case "asn-block":
                var threshold: Int?
                var window: Duration?
                var action = RangeBlockAction(scope: .sip, duration: .seconds(86_400))
                for (field, fieldKey, v) in try pairs(value, path) {
                    let fieldPath = "\(path).\(field)"
                    switch field {
                    case "threshold": threshold = try number(v, fieldPath, 2...100_000)
                    case "window": window = try positiveDuration(v, fieldPath)
                    case "block": action.scope = try scope(v, fieldPath)
                    case "block-time": action.duration = try blockTime(v, fieldPath)
                    default: throw fail(fieldKey, fieldPath, "unknown key; expected threshold, window, block or block-time")
                    }
                }
                guard let threshold, let window else { throw fail(value, path, "threshold and window are required") }
                settings.policy.asnRule = ASNBlockRule(threshold: threshold, window: window, block: action)
            case "overdue-block": settings.policy.overdueRule = try overdueBlock(value, path)
            case "refresh":
                settings.policy.refreshInterval = try positiveDuration(value, path)
            case "minimum-prefix-v4": settings.policy.minimumPrefixLengthV4 = try number(value, path, 0...32)
            case "minimum-prefix-v6": settings.policy.minimumPrefixLengthV6 = try number(value, path, 0...128)
            case "table": settings.kernel.tableName = try scalar(value, path)
            case "sip-ports":
                var ports: [PortMatch] = []
                let items: [Node]
                if case .sequence(let sequence) = value { items = Array(sequence) } else { items = [value] }
                for item in items {
                    let text = try scalar(item, path)
                    guard let port = PortMatch(text) else { throw fail(item, path, "expected a port or LOW-HIGH, got '\(text)'") }
                    ports.append(port)
                }
                settings.kernel.sipPorts = ports
            default:
                throw fail(
                    keyNode, path,
                    "unknown key; expected lists, rules, asn-block, overdue-block, refresh, minimum-prefix-v4, minimum-prefix-v6, table or sip-ports")
            }
        }
        // Rules last: a bare word naming a configured list is that list.
        let listNames = Set(settings.lists.keys)
        for (text, selectorKey, value) in ruleNodes {
            let path = "\(key).rules.\(text)"
            guard let selector = RangeSelector.parse(text, namedLists: listNames) else {
                throw fail(selectorKey, path, "not a selector (aws:EC2, AS14061, list:NAME, file:/PATH)")
            }
            var rule = RangeRule(selector: selector)
            for (field, fieldKey, v) in try pairs(value, path) {
                let fieldPath = "\(path).\(field)"
                switch field {
                case "max-retry": rule.maxRetry = try number(v, fieldPath, 1...1_000)
                case "block":
                    let scope = try scope(v, fieldPath)
                    rule.block = RangeBlockAction(scope: scope, duration: rule.block?.duration)
                case "block-time":
                    let duration = try blockTime(v, fieldPath)
                    rule.block = RangeBlockAction(scope: rule.block?.scope ?? .sip, duration: duration)
                default: throw fail(fieldKey, fieldPath, "unknown key; expected max-retry, block or block-time")
                }
            }
            if rule.maxRetry == nil && rule.block == nil { throw fail(value, path, "a rule needs max-retry, block or both") }
            settings.policy.rules.append(rule)
        }
        if let message = settings.validationError() { throw fail(node, key, message) }
        return settings
    }

    /// `overdue-block: { threshold: K, block: sip|all, block-time: D|permanent }`; the block
    /// lasts while the AS has K overdue cases unless `block-time` bounds it.
    func overdueBlock(_ value: Node, _ path: String) throws(ConfigurationError) -> OverdueBlockRule {
        var threshold: Int?
        var action = RangeBlockAction(scope: .sip, duration: nil)
        for (field, fieldKey, v) in try pairs(value, path) {
            let fieldPath = "\(path).\(field)"
            switch field {
            case "threshold": threshold = try number(v, fieldPath, 1...100_000)
            case "block": action.scope = try scope(v, fieldPath)
            case "block-time": action.duration = try blockTime(v, fieldPath)
            default: throw fail(fieldKey, fieldPath, "unknown key; expected threshold, block or block-time")
            }
        }
        guard let threshold else { throw fail(value, path, "threshold is required (abuse cases of one AS overdue at once)") }
        return OverdueBlockRule(threshold: threshold, block: action)
    }

    /// `permanent` or a positive duration.
    func blockTime(_ node: Node, _ key: String) throws(ConfigurationError) -> Duration? {
        if (try? scalar(node, key))?.lowercased() == "permanent" { return nil }
        return try positiveDuration(node, key)
    }
}
