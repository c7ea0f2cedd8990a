// SPDX-License-Identifier: GPL-2.0-or-later

import Yams

/// How a running daemon takes a changed setting on SIGHUP.
public enum ReloadRule: String, Sendable, Hashable {
    /// Applied live by the services that own it.
    case live
    /// Keeps its running value and is named in the reload's warning: a restart applies it.
    case restartOnly = "restart"
}

/// One setting of the configuration, declared once (`ConfigurationSchema.settings`): its
/// key path in the file, its type, default and meaning, the services that use it and its
/// reload rule. The file's reader, its `FILE:LINE: key` errors, the list of known keys, the
/// reload's diff and restart-only list, the flags' validation and the reference table in
/// docs/CONFIGURATION.md are all derived from these declarations.
///
/// A setting is either a *value* (read whole by one typed reader) or a *section* (a
/// mapping whose keys are settings declared under it; it may also accept a scalar such as
/// `off`). A section that is restart-only as a whole names its own key on a reload and
/// its keys have no reload rule of their own.
public struct Setting: Sendable {
    /// The dotted key path in the file (`detection.max-retry`).
    public let key: String
    /// What the value is written as, for the reference (`integer 1–1000`, `duration`).
    public let type: String
    /// The default, as written in the file.
    public let defaultValue: String
    /// What it does, one sentence.
    public let summary: String
    /// The services (`DaemonService.name`) whose behaviour depends on it.
    public let owners: [String]
    /// SIGHUP: live or restart-only; nil for the keys of a section that is restart-only as a whole.
    public let reload: ReloadRule?
    /// A value other than the default, as YAML (the reference shows it; the schema tests
    /// load it to prove that the key is read, reaches its owners and follows its rule).
    public let example: String
    /// The command-line flag that overrides it, if any (`--max-retry`).
    public let flag: String?

    let shape: Shape
    /// True when `next` (first) differs from `running` (second) in this setting.
    let differs: @Sendable (Configuration, Configuration) -> Bool
    /// Puts the running value back into the next configuration (restart-only settings).
    let restore: @Sendable (inout Configuration, Configuration) -> Void

    /// Reads a value node at a key path into the configuration.
    typealias Read = @Sendable (YAMLNodeReader, Node, String, inout Configuration) throws(ConfigurationError) -> Void

    enum Shape: Sendable {
        case value(Read)
        /// `scalar`: what a scalar instead of a mapping means (nil = an error);
        /// `begin`: run before the section's keys.
        case section(scalar: Read? = nil, begin: (@Sendable (inout Configuration) -> Void)? = nil)
    }

    /// A setting stored at `path`, compared and restored as a whole.
    init<Value: Equatable & Sendable>(
        _ key: String, _ path: any WritableKeyPath<Configuration, Value> & Sendable, type: String, default defaultValue: String,
        owners: [String], reload: ReloadRule?, example: String, flag: String? = nil, summary: String, shape: Shape
    ) {
        self.init(
            key, type: type, default: defaultValue, owners: owners, reload: reload, example: example, flag: flag, summary: summary,
            shape: shape, differs: { $0[keyPath: path] != $1[keyPath: path] }, restore: { $0[keyPath: path] = $1[keyPath: path] })
    }

    /// A live setting read through an optional (`flood-guard.rate`): compared, never restored.
    init<Value: Equatable & Sendable>(
        _ key: String, observing path: any KeyPath<Configuration, Value> & Sendable, type: String, default defaultValue: String,
        owners: [String], example: String, summary: String, shape: Shape
    ) {
        self.init(
            key, type: type, default: defaultValue, owners: owners, reload: .live, example: example, summary: summary,
            shape: shape, differs: { $0[keyPath: path] != $1[keyPath: path] }, restore: { _, _ in })
    }

    /// A setting with its own comparison and restoration.
    init(
        _ key: String, type: String, default defaultValue: String, owners: [String], reload: ReloadRule?, example: String,
        flag: String? = nil, summary: String, shape: Shape,
        differs: @escaping @Sendable (Configuration, Configuration) -> Bool,
        restore: @escaping @Sendable (inout Configuration, Configuration) -> Void
    ) {
        self.key = key
        self.type = type
        self.defaultValue = defaultValue
        self.summary = summary
        self.owners = owners
        self.reload = reload
        self.example = example
        self.flag = flag
        self.shape = shape
        self.differs = differs
        self.restore = restore
    }

    /// The key of the section it belongs to ("" at the top).
    public var parent: String {
        guard let dot = key.lastIndex(of: ".") else { return "" }
        return String(key[..<dot])
    }

    /// Its own name within its section (`max-retry`).
    public var name: String {
        guard let dot = key.lastIndex(of: ".") else { return key }
        return String(key[key.index(after: dot)...])
    }

    /// True for a section (a mapping of settings).
    public var isSection: Bool {
        if case .section = shape { return true }
        return false
    }

    /// True when `next` differs from `running` in this setting (a reload would change it).
    public func differs(_ next: Configuration, _ running: Configuration) -> Bool { differs(next, running) }

    /// This setting as the daemon's reload handles a restart-only one.
    public var restartOnlySetting: RestartOnlySetting {
        let differs = differs
        let restore = restore
        return RestartOnlySetting(key) { next, running in
            guard differs(next, running) else { return false }
            restore(&next, running)
            return true
        }
    }
}

// MARK: - Readers for value settings

extension Setting.Shape {
    /// A scalar of a `SettingValue` type, checked by `check` (nil = fine, else the problem),
    /// then stored by `store`.
    static func scalar<V: SettingValue>(
        _ type: V.Type, check: (@Sendable (V) -> String?)? = nil, store: @escaping @Sendable (inout Configuration, V) -> Void
    ) -> Self {
        .value { reader, node, key, c throws(ConfigurationError) in
            let v: V = try reader.value(node, key)
            if let problem = check?(v) { throw reader.fail(node, key, problem) }
            store(&c, v)
        }
    }

    /// An integer within `range`.
    static func integer(_ range: ClosedRange<Int>, store: @escaping @Sendable (inout Configuration, Int) -> Void) -> Self {
        .value { reader, node, key, c throws(ConfigurationError) in
            store(&c, try reader.integer(node, key, range))
        }
    }

    /// A list of `SettingValue`s (a YAML sequence).
    static func list<V: SettingValue>(_ type: V.Type, store: @escaping @Sendable (inout Configuration, [V]) -> Void) -> Self {
        .value { reader, node, key, c throws(ConfigurationError) in
            var values: [V] = []
            for item in try reader.list(node, key) { values.append(try reader.value(item, key)) }
            store(&c, values)
        }
    }

    /// A value read by its own function.
    static func custom(_ read: @escaping Setting.Read) -> Self { .value(read) }
}
