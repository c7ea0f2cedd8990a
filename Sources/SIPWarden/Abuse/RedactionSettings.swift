// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
import Foundation
public import NetworkAddress
import Yams

/// `abuse.redact`: what a report leaves out about the operator (docs/ABUSE.md). Everything
/// is redacted by default; each part can be turned off, and names can be added.
///
/// ```yaml
/// abuse:
///   redact:
///     addresses: true          # this host's, the allowlist's and the attacked address
///     host-names: true         # this host's own name, and the names below
///     names: [pbx.example.net] # further host or domain names
///     accounts: true           # user names the PBX knows (a wrong password, not "no such user")
///     account-names: [alice]   # further account names
/// ```
public struct RedactionSettings: Sendable, Hashable {
    public var addresses = true
    public var hostNames = true
    public var names: [String] = []
    public var accounts = true
    public var accountNames: [String] = []

    /// Everything redacted, no names added.
    public init() {}

    /// The policy the reports are written with: `ownNetworks` are the host's and the
    /// allowlist's; `hostName` the machine's own name (nil: asked of the system; its short
    /// form is added).
    public func policy(ownNetworks: [IPNetwork], hostName: String? = nil) -> RedactionPolicy {
        var hosts = names
        if hostNames {
            let own = (hostName ?? ProcessInfo.processInfo.hostName).trimmingCharacters(in: .whitespaces)
            if !own.isEmpty, own != "localhost" {
                hosts.append(own)
                if let short = own.split(separator: ".").first, short.count < own.count { hosts.append(String(short)) }
            }
        }
        return RedactionPolicy(
            ownNetworks: IPNetworkSet(ownNetworks), ownHostNames: hosts, accountNames: Set(accountNames), redactOwnAddresses: addresses,
            redactHostNames: hostNames, redactAccountNames: accounts, redactAccountsTheServerKnows: accounts)
    }

    static let keys = ["addresses", "host-names", "names", "accounts", "account-names"]

    static func parse(_ node: Node, key: String, reader r: YAMLNodeReader) throws(ConfigurationError) -> RedactionSettings {
        var s = RedactionSettings()
        for (name, keyNode, value) in try r.mapping(node, key) {
            let path = "\(key).\(name)"
            switch name {
            case "addresses": s.addresses = try r.value(value, path)
            case "host-names": s.hostNames = try r.value(value, path)
            case "names": s.names = try names(r.strings(value, path), value, path, r)
            case "accounts": s.accounts = try r.value(value, path)
            case "account-names": s.accountNames = try names(r.strings(value, path), value, path, r)
            default: throw r.fail(keyNode, path, "unknown key; expected \(keys.joined(separator: ", "))")
            }
        }
        return s
    }

    /// Names of 1…253 characters without spaces or control characters.
    private static func names(_ list: [String], _ node: Node, _ path: String, _ r: YAMLNodeReader) throws(ConfigurationError) -> [String] {
        for n in list where n.isEmpty || n.utf8.count > 253 || n.unicodeScalars.contains(where: { $0.value <= 32 || $0.value == 127 }) {
            throw r.fail(node, path, "expected names without spaces or control characters (1 to 253 characters), got '\(n)'")
        }
        return list
    }
}
