// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import NetworkAddress
import Yams

/// `abuse.contacts`: the operator's own abuse contacts, tried before RDAP — per prefix (the
/// longest that holds the source) or per AS number (the origin AS the registry names).
/// The value is a mailbox, or an `https://` web form where a provider prefers one
/// (sipwarden then prepares the text and names the form in the case).
///
/// ```yaml
/// abuse:
///   contacts:
///     AS64500: abuse-desk@provider.example
///     198.51.100.0/24: noc@customer.example
///     AS64501: https://provider.example/report-abuse
/// ```
extension AbuseContactOverrides {
    static func parse(_ node: Node, key: String, reader r: YAMLNodeReader) throws(ConfigurationError) -> AbuseContactOverrides {
        var overrides = AbuseContactOverrides()
        for (name, keyNode, value) in try r.mapping(node, key) {
            let path = "\(key).\(name)"
            guard case .scalar(let scalar) = value, !scalar.string.isEmpty else { throw r.fail(value, path, "expected a mailbox or an https:// URL") }
            let text = scalar.string
            let entry: Entry
            if AbuseSettings.isMailbox(text) {
                entry = Entry(email: text)
            } else if let url = URL(string: text), url.scheme?.lowercased() == "https", url.host != nil {
                entry = Entry(webForm: url)
            } else {
                throw r.fail(value, path, "expected a mailbox (local@domain) or an https:// web form, got '\(text)'")
            }
            if name.uppercased().hasPrefix("AS"), let asn = UInt32(name.dropFirst(2)) {
                overrides.byAS[asn] = entry
            } else if let network = IPNetwork(name) {
                guard IPNetwork(name, strict: true) != nil else {
                    throw r.fail(keyNode, path, "'\(name)' has host bits set; write its network (\(network))")
                }
                overrides.byPrefix[network] = entry
            } else {
                throw r.fail(keyNode, path, "expected an AS number (AS64500), an address or a prefix (198.51.100.0/24), got '\(name)'")
            }
        }
        return overrides
    }
}
