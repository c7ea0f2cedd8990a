// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// What a report leaves out about the operator (on by default): their own addresses, host
/// names, and the names of real accounts (an attacker guessing `100` learns nothing from a
/// report, but a report naming the accounts that exist would tell the next reader).
public struct RedactionPolicy: Sendable, Hashable {
    public var ownNetworks: IPNetworkSet
    public var ownHostNames: [String]
    public var accountNames: Set<String>
    /// Redact the operator's addresses (the report then omits the destination; its port
    /// stays).
    public var redactOwnAddresses: Bool
    public var redactHostNames: Bool
    public var redactAccountNames: Bool
    /// Also redact the user names the PBX knew (``AbuseIncident/knownAccounts``: a wrong
    /// password, not "no such user"): real accounts the operator need not list.
    public var redactAccountsTheServerKnows: Bool
    /// Captures cannot be redacted byte by byte: they are left out while addresses are
    /// redacted, unless this is set.
    public var includeCapturesUnredacted: Bool

    public static let placeholder = "[redacted]"

    public init(
        ownNetworks: IPNetworkSet = IPNetworkSet(), ownHostNames: [String] = [], accountNames: Set<String> = [],
        redactOwnAddresses: Bool = true, redactHostNames: Bool = true, redactAccountNames: Bool = true,
        redactAccountsTheServerKnows: Bool = true, includeCapturesUnredacted: Bool = false
    ) {
        self.ownNetworks = ownNetworks
        self.ownHostNames = ownHostNames
        self.accountNames = accountNames
        self.redactOwnAddresses = redactOwnAddresses
        self.redactHostNames = redactHostNames
        self.redactAccountNames = redactAccountNames
        self.redactAccountsTheServerKnows = redactAccountsTheServerKnows
        self.includeCapturesUnredacted = includeCapturesUnredacted
    }

    /// `incident` as it may leave the host.
    public func apply(to incident: AbuseIncident) -> AbuseIncident {
        var policy = self
        if redactAccountNames, redactAccountsTheServerKnows { policy.accountNames.formUnion(incident.knownAccounts) }
        return policy.applyAsIs(to: incident)
    }

    private func applyAsIs(to incident: AbuseIncident) -> AbuseIncident {
        var out = incident
        out.knownAccounts = []
        // The destination is where the attack went: the operator's own server.
        if redactOwnAddresses { out.destination = nil }
        if redactAccountNames { out.usersTried = incident.usersTried.map { accountNames.contains($0) ? Self.placeholder : $0 } }
        out.evidence = incident.evidence.compactMap { item in
            guard item.contentType.hasPrefix("text/") else {
                return redactOwnAddresses && !includeCapturesUnredacted ? nil : item
            }
            var redacted = item
            redacted.bytes = Array(redact(String(decoding: item.bytes, as: UTF8.self), destination: incident.destination).utf8)
            return redacted
        }
        return out
    }

    /// `text` with the operator's addresses, host names and account names replaced.
    public func redact(_ text: String, destination: IPAddress? = nil) -> String {
        var out = text
        if redactOwnAddresses {
            var addresses = ownNetworks.networks.filter(\.isHost).map(\.address)
            if let destination { addresses.append(destination) }
            for address in Set(addresses).sorted(by: { $0.description.count > $1.description.count }) {
                out = Self.replace(address.description, in: out, boundedBy: Self.addressBoundary)
            }
        }
        if redactHostNames {
            for name in ownHostNames.sorted(by: { $0.count > $1.count }) where !name.isEmpty {
                out = Self.replace(name, in: out, boundedBy: Self.nameBoundary, caseInsensitive: true)
            }
        }
        if redactAccountNames {
            for name in accountNames.sorted(by: { $0.count > $1.count }) where !name.isEmpty {
                out = Self.replace(name, in: out, boundedBy: Self.accountBoundary)
            }
        }
        return out
    }

    /// Characters that may touch an address without being part of it.
    static func addressBoundary(_ c: Character?) -> Bool {
        guard let c else { return true }
        return !(c.isHexDigit || c == "." || c == ":")
    }

    static func nameBoundary(_ c: Character?) -> Bool {
        guard let c else { return true }
        return !(c.isLetter || c.isNumber || c == "-" || c == "_")
    }

    /// An account name is replaced where SIP and PBX logs quote it: `"100"`, `'100'`,
    /// `sip:100@`, `<100>`, `user=100;` — not inside other numbers or words.
    static func accountBoundary(_ c: Character?) -> Bool {
        guard let c else { return true }
        return "\"'<>@:;=, \t[]()".contains(c)
    }

    static func replace(_ needle: String, in haystack: String, boundedBy isBoundary: (Character?) -> Bool, caseInsensitive: Bool = false) -> String {
        let h = Array(haystack)
        let n = Array(caseInsensitive ? needle.lowercased() : needle).map(String.init)
        guard !n.isEmpty, h.count >= n.count else { return haystack }
        var result: [Character] = []
        result.reserveCapacity(h.count)
        var i = 0
        while i < h.count {
            if i + n.count <= h.count, isBoundary(i > 0 ? h[i - 1] : nil), isBoundary(i + n.count < h.count ? h[i + n.count] : nil),
                zip(h[i..<(i + n.count)], n).allSatisfy({ (caseInsensitive ? $0.0.lowercased() : String($0.0)) == $0.1 })
            {
                result.append(contentsOf: placeholder)
                i += n.count
            } else {
                result.append(h[i])
                i += 1
            }
        }
        return String(result)
    }
}
