// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress

/// The regional Internet registries, told apart by their RDAP or whois host.
public enum Registry: String, Sendable, Hashable, Codable, CaseIterable {
    case afrinic, apnic, arin, lacnic, ripe

    /// The registry a service or whois host belongs to (nil for any other host).
    public init?(host: String) {
        let h = host.lowercased()
        guard let match = Self.allCases.first(where: { h == "\($0.domain)" || h.hasSuffix(".\($0.domain)") }) else { return nil }
        self = match
    }

    var domain: String {
        switch self {
        case .afrinic: "afrinic.net"
        case .apnic: "apnic.net"
        case .arin: "arin.net"
        case .lacnic: "lacnic.net"
        case .ripe: "ripe.net"
        }
    }
}

/// One e-mail address of a vCard (jCard, RFC 7095) with its parameters.
public struct VCardEmail: Sendable, Hashable {
    public var address: String
    /// The `pref` parameter (1 is most preferred; RFC 6350 §5.3).
    public var preference: Int?
    /// The `type` parameter's values, lowercased (RIPE marks its abuse mailbox `abuse`).
    public var types: [String]
}

/// An RDAP entity: a contact with roles, possibly holding further entities.
public struct RDAPEntity: Sendable, Hashable {
    public var handle: String?
    public var roles: [String]
    /// The vCard's `fn` (formatted name), when present.
    public var name: String?
    public var emails: [VCardEmail]
    public var entities: [RDAPEntity]

    init(_ json: JSONValue, depth: Int) {
        handle = json["handle"]?.text
        roles = json["roles"]?.elements.compactMap { $0.text?.lowercased() } ?? []
        var emails: [VCardEmail] = []
        var name: String?
        // ["vcard", [["version", {}, "text", "4.0"], ["email", {"pref": "1"}, "text", "a@b"], …]]
        for property in json["vcardArray"]?.elements.dropFirst().first?.elements ?? [] {
            let parts = property.elements
            guard parts.count >= 4, let key = parts[0].text?.lowercased() else { continue }
            switch key {
            case "email":
                guard let address = parts[3].text else { continue }
                let types: [String] =
                    switch parts[1]["type"] {
                    case .string(let t)?: [t.lowercased()]
                    case .array(let items)?: items.compactMap { $0.text?.lowercased() }
                    default: []
                    }
                emails.append(VCardEmail(address: address, preference: parts[1]["pref"]?.integer, types: types))
            case "fn":
                name = parts[3].text
            default:
                continue
            }
        }
        self.emails = emails
        self.name = name
        // Registries nest contacts under the registrant (ARIN, LACNIC); bounded depth.
        entities = depth < 4 ? (json["entities"]?.elements.map { RDAPEntity($0, depth: depth + 1) } ?? []) : []
    }

    /// This entity and every entity nested in it, depth first.
    public var flattened: [RDAPEntity] { [self] + entities.flatMap(\.flattened) }
}

/// The members of an RDAP answer for an IP network or an autonomous system that finding
/// an abuse contact needs. Everything is optional in practice: registries differ.
public struct RDAPAnswer: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case ipNetwork = "ip network"
        case autnum, entity, other
    }

    public var kind: Kind
    public var handle: String?
    public var name: String?
    public var country: String?
    /// The range as the answer gives it (`startAddress`–`endAddress`).
    public var start: IPAddress?
    public var end: IPAddress?
    /// `cidr0_cidrs` where given.
    public var cidrs: [IPNetwork]
    public var parentHandle: String?
    /// The `up` link (the enclosing network), where given (LACNIC).
    public var parentLink: URL?
    /// Origin AS numbers the registry names (ARIN `arin_originas0_originautnums`, LACNIC
    /// `lacnic_originAutnum`), or the AS itself for an autnum answer.
    public var originAS: [UInt32]
    /// The registry, from the `self` link or the whois host.
    public var registry: Registry?
    public var entities: [RDAPEntity]

    /// Reads an answer; an RDAP error answer (RFC 9083 §6) is thrown as such.
    public init(_ json: JSONValue) throws(RDAPError) {
        guard case .object = json else { throw .malformed("not a JSON object") }
        if let code = json["errorCode"]?.integer {
            throw .errorAnswer(code: code, title: json["title"]?.text ?? json["description"]?.elements.first?.text ?? "")
        }
        switch json["objectClassName"]?.text?.lowercased() {
        case "ip network": kind = .ipNetwork
        case "autnum": kind = .autnum
        case "entity": kind = .entity
        default: kind = json["startAddress"] != nil ? .ipNetwork : .other
        }
        handle = json["handle"]?.text
        name = json["name"]?.text
        country = json["country"]?.text
        // RIPE once wrote "62.239.237.0/32" as a start address: take the address part.
        start = json["startAddress"]?.text.flatMap { IPAddress($0.split(separator: "/").first ?? "") }
        end = json["endAddress"]?.text.flatMap { IPAddress($0.split(separator: "/").first ?? "") }
        cidrs = (json["cidr0_cidrs"]?.elements ?? []).compactMap { item in
            guard let prefix = item["v4prefix"]?.text ?? item["v6prefix"]?.text, let length = item["length"]?.integer,
                let address = IPAddress(prefix)
            else { return nil }
            return IPNetwork(address: address, prefixLength: length)
        }
        parentHandle = json["parentHandle"]?.text
        let links = json["links"]?.elements ?? []
        parentLink = links.first { $0["rel"]?.text == "up" }?["href"]?.text.flatMap(URL.init(string:))
        var origins: [UInt32] = []
        for key in ["arin_originas0_originautnums", "lacnic_originAutnum"] {
            // Numbers (ARIN) or "AS28001" (LACNIC).
            for item in json[key]?.elements ?? [] {
                let digits = item.text.map { $0.uppercased().hasPrefix("AS") ? String($0.dropFirst(2)) : $0 }
                if let asn = digits.flatMap({ UInt32($0) }) ?? item.integer.flatMap({ UInt32(exactly: $0) }) { origins.append(asn) }
            }
        }
        if kind == .autnum, let n = json["startAutnum"]?.integer, let asn = UInt32(exactly: n) { origins.append(asn) }
        originAS = origins
        let selfHost = links.first { $0["rel"]?.text == "self" }?["href"]?.text.flatMap(URL.init(string:))?.host
        registry = selfHost.flatMap(Registry.init(host:)) ?? json["port43"]?.text.flatMap(Registry.init(host:))
        entities = (json["entities"]?.elements ?? []).map { RDAPEntity($0, depth: 0) }
    }

    /// The range in one line: the CIDRs where given, else start–end.
    public var rangeDescription: String? {
        if !cidrs.isEmpty { return cidrs.map(\.description).joined(separator: ", ") }
        guard let start, let end else { return nil }
        return "\(start)-\(end)"
    }
}

/// An RDAP answer that cannot be used.
public enum RDAPError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformed(String)
    /// The server answered with an RDAP error object (e.g. 404, 501).
    case errorAnswer(code: Int, title: String)

    public var description: String {
        switch self {
        case .malformed(let detail): "malformed RDAP answer: \(detail)"
        case .errorAnswer(let code, let title): "RDAP error \(code)\(title.isEmpty ? "" : ": \(title)")"
        }
    }
}
