// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation

/// Where an abuse contact was found, from most to least authoritative.
public enum AbuseContactSource: String, Sendable, Hashable, Codable {
    /// The operator's own override (per AS, provider or prefix).
    case override
    /// An entity with the `abuse` role in the network's RDAP answer.
    case networkAbuseRole = "network-abuse-role"
    /// The same in the enclosing (parent) network's answer.
    case parentAbuseRole = "parent-abuse-role"
    /// The same in the origin AS's answer.
    case autnumAbuseRole = "autnum-abuse-role"
    /// No entity has the abuse role, but one lists an `abuse@` mailbox (AFRINIC
    /// organisations without roles): a guess, and said to be one.
    case abuseMailbox = "abuse-mailbox"
}

/// Whom to tell about an address, and how that was found out.
public struct AbuseContact: Sendable, Hashable, Codable {
    /// The address to write to (nil when only a web form is known).
    public var email: String?
    /// Further mailboxes of the same contact, in preference order.
    public var alternatives: [String]
    /// A web form the network prefers to e-mail (an operator override).
    public var webForm: URL?
    public var source: AbuseContactSource
    public var registry: Registry?
    /// The network's handle and range as the registry gives them.
    public var networkHandle: String?
    public var network: String?
    /// The network's name as the registry gives it (`SWITCH-LAN`, `MSFT`): what an operator
    /// recognises, where RIPE's and APNIC's handles are the range itself.
    public var networkName: String?
    public var asn: UInt32?
    /// The steps that led here, for `abuse contact` to show.
    public var trail: [String]

    public init(
        email: String?, alternatives: [String] = [], webForm: URL? = nil, source: AbuseContactSource, registry: Registry? = nil,
        networkHandle: String? = nil, network: String? = nil, networkName: String? = nil, asn: UInt32? = nil, trail: [String] = []
    ) {
        self.email = email
        self.alternatives = alternatives
        self.webForm = webForm
        self.source = source
        self.registry = registry
        self.networkHandle = networkHandle
        self.network = network
        self.networkName = networkName
        self.asn = asn
        self.trail = trail
    }
}

/// Finds the abuse mailbox in one RDAP answer. Pure.
///
/// Registries differ: ARIN lists the abuse entity twice (top level and under the
/// registrant), APNIC lists the same mailbox twice and marks the right one `pref: 1`,
/// RIPE types it `abuse`, LACNIC gives one entity every role, AFRINIC may give entities
/// no roles at all, and answers may redact fields (RFC 9537: removed or emptied values).
/// Mailboxes are taken only from entities with the `abuse` role, in preference order,
/// without duplicates; failing that, an `abuse@` mailbox of any entity is offered as a
/// guess (``AbuseContactSource/abuseMailbox``); failing that, nothing — the caller then
/// asks the parent network, then the origin AS.
public enum AbuseContactFinder {
    /// The contact in `answer`, or nil. `source` is what to call an abuse-role find
    /// (network, parent or autnum).
    public static func contact(in answer: RDAPAnswer, as source: AbuseContactSource) -> AbuseContact? {
        let all = answer.entities.flatMap(\.flattened)
        let abuseEntities = all.filter { $0.roles.contains("abuse") }
        var trail: [String] = []
        var mailboxes = rank(abuseEntities.flatMap { entity in entity.emails.map { (entity, $0) } })
        var found = source
        if !mailboxes.isEmpty {
            let handles = unique(abuseEntities.compactMap(\.handle))
            trail.append("\(describe(answer)): entity \(handles.joined(separator: ", ")) has the abuse role")
        } else {
            let guesses = all.flatMap { entity in entity.emails.filter { localPart($0.address) == "abuse" }.map { (entity, $0) } }
            mailboxes = rank(guesses)
            guard !mailboxes.isEmpty else { return nil }
            found = .abuseMailbox
            let handles = unique(guesses.compactMap(\.0.handle))
            trail.append("\(describe(answer)): no entity has the abuse role; entity \(handles.joined(separator: ", ")) lists an abuse@ mailbox")
        }
        return AbuseContact(
            email: mailboxes[0], alternatives: Array(mailboxes.dropFirst()), source: found, registry: answer.registry,
            networkHandle: answer.handle, network: answer.rangeDescription, networkName: answer.name, asn: answer.originAS.first, trail: trail
        )
    }

    /// Usable mailboxes, most preferred first (explicit `pref`, then RIPE's `abuse` type,
    /// then document order), each once (compared without case).
    static func rank(_ candidates: [(RDAPEntity, VCardEmail)]) -> [String] {
        let ordered = candidates.enumerated().sorted { a, b in
            let pa = a.element.1.preference ?? Int.max
            let pb = b.element.1.preference ?? Int.max
            if pa != pb { return pa < pb }
            let ta = a.element.1.types.contains("abuse")
            let tb = b.element.1.types.contains("abuse")
            if ta != tb { return ta }
            return a.offset < b.offset
        }
        var seen = Set<String>()
        var result: [String] = []
        for (_, (_, email)) in ordered {
            guard let address = normalised(email.address), seen.insert(address.lowercased()).inserted else { continue }
            result.append(address)
        }
        return result
    }

    /// `text` as a mailbox (domain lowercased), or nil when it is not one: empty,
    /// redacted, a placeholder, no domain with a dot, spaces or control characters.
    public static func normalised(_ text: String) -> String? {
        var t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.lowercased().hasPrefix("mailto:") { t = String(t.dropFirst(7)) }
        guard t.count <= 254, !t.lowercased().contains("redacted"),
            let at = t.lastIndex(of: "@"), at != t.startIndex
        else { return nil }
        let local = t[..<at]
        let domain = t[t.index(after: at)...].lowercased()
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."),
            t.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0 != "<" && $0 != ">" && $0 != "," && $0 != ";" }),
            domain.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "." })
        else { return nil }
        return "\(local)@\(domain)"
    }

    static func localPart(_ address: String) -> String? {
        guard let a = normalised(address), let at = a.lastIndex(of: "@") else { return nil }
        return a[..<at].lowercased()
    }

    static func describe(_ answer: RDAPAnswer) -> String {
        let what = answer.kind == .autnum ? "AS\(answer.originAS.first.map(String.init) ?? "?")" : (answer.rangeDescription ?? "network")
        let registry = answer.registry.map { " (\($0.rawValue.uppercased()))" } ?? ""
        return "\(what)\(answer.handle.map { " \($0)" } ?? "")\(registry)"
    }

    static func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }
}
