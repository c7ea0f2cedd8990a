// SPDX-License-Identifier: GPL-2.0-or-later

public import ArgumentParser
public import Inline
public import Logging
import NetworkAddress
public import SIPWarden

// The command line's typed values. Closed sets (firewall kinds, fail modes, log levels) are
// `ExpressibleByArgument` enums, so a wrong value is answered with the list of right ones.
// Open forms (durations, networks, ports, `DIALECT:PATH`, `off|RATE[/BURST]` …) are parsed
// by the same `SettingValue` parsers as the configuration file, through `FlagValue.parse`:
// ArgumentParser's `ExpressibleByArgument.init?(argument:)` cannot say why a value was
// refused, a transform can ("The value 'fast' is invalid for '--flood-guard
// <off|RATE[/BURST]>': expected off, RATE or RATE/BURST …").

extension FirewallKind: ExpressibleByArgument {}
extension InlineFailMode: ExpressibleByArgument {}
// swift-format-ignore: AvoidRetroactiveConformances
// (swift-log's level, parsed by the argument parser: neither package may declare it.)
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A flag's typed value with the text it was written as: the value for the command's own
/// use, the text for `ConfigurationSchema.override`, which applies it to the configuration
/// through the setting's declaration (same range checks and messages as the file).
struct FlagValue<Value: SettingValue>: Sendable {
    let text: String
    let value: Value

    /// The transform of an `@Option`: the value, or why the text is not one.
    @Sendable static func parse(_ text: String) throws -> FlagValue {
        FlagValue(text: text, value: try Value(settingText: text))
    }
}

/// A transform of an `@Option` into a `SettingValue`, with the reason when refused.
@Sendable func typed<Value: SettingValue>(_ text: String) throws -> Value {
    try Value(settingText: text)
}

/// An address or prefix with its host bits clear: what `bans add|remove` accept.
struct StrictNetwork: SettingValue {
    let network: IPNetwork

    init(settingText text: String) throws(SettingValueError) {
        guard let n = IPNetwork(text, strict: true) else {
            throw SettingValueError("'\(text)' is not an address or CIDR prefix with clear host bits")
        }
        network = n
    }
}
