// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// The SIP methods the probe compares users with.
public enum ProbeMethod: String, Sendable, Hashable, Codable, CaseIterable {
    case register = "REGISTER"
    case invite = "INVITE"
    case options = "OPTIONS"
}

/// Which user a probe request is about.
public enum ProbeSubject: String, Sendable, Hashable, Codable {
    /// The user the operator says exists.
    case existing
    /// A random user that almost certainly does not exist.
    case unknown
}

/// The local end of the probe's socket, as written in Via and Contact.
public struct ProbeLocalEndpoint: Sendable, Hashable {
    /// The local address the socket is bound to.
    public let address: IPAddress
    /// The local port.
    public let port: UInt16

    /// Creates an endpoint.
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `host:port` with IPv6 in brackets.
    var hostPort: String {
        switch address {
        case .v4: "\(address):\(port)"
        case .v6: "[\(address)]:\(port)"
        }
    }
}

/// Random tokens for branches, tags, Call-IDs and unknown users.
enum ProbeTokens {
    static let hexDigits: [Character] = Array("0123456789abcdef")

    /// `count` random lowercase hex digits.
    static func hex(_ count: Int, using rng: inout some RandomNumberGenerator) -> String {
        var out = ""
        out.reserveCapacity(count)
        for _ in 0..<max(count, 0) { out.append(hexDigits[Int(rng.next(upperBound: UInt8(16)))]) }
        return out
    }

    /// A random 12-digit user name (first digit non-zero) that differs from `avoid`.
    static func unknownUser(avoiding avoid: String, using rng: inout some RandomNumberGenerator) -> String {
        while true {
            var out = String(Character(Unicode.Scalar(UInt8(0x31) + rng.next(upperBound: UInt8(9)))))
            for _ in 0..<11 { out.append(Character(Unicode.Scalar(UInt8(0x30) + rng.next(upperBound: UInt8(10))))) }
            if out != avoid { return out }
        }
    }

    /// A branch with the RFC 3261 magic cookie.
    static func branch(using rng: inout some RandomNumberGenerator) -> String { "z9hG4bK" + hex(20, using: &rng) }
}

/// Checks on operator-supplied text that ends up inside SIP requests.
enum ProbeSyntax {
    /// RFC 3261 `user`: unreserved / escaped / user-unreserved, 1...64 bytes.
    static func isValidUser(_ user: String) -> Bool {
        let bytes = Array(user.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return false }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x25 {
                guard i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else { return false }
                i += 3
                continue
            }
            guard isAlnum(c) || "-_.!~*'()&=+$,;?/".utf8.contains(c) else { return false }
            i += 1
        }
        return true
    }

    /// A host name (letters, digits, `-`, `.`; labels of 1...63) or a numeric address.
    static func isValidDomain(_ domain: String) -> Bool {
        if IPAddress(domain) != nil { return true }
        let bytes = Array(domain.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        var label = 0
        for c in bytes {
            if c == 0x2e {
                guard label > 0 else { return false }
                label = 0
            } else {
                guard isAlnum(c) || c == 0x2d else { return false }
                label += 1
                guard label <= 63 else { return false }
            }
        }
        return label > 0
    }

    /// A URI taken from a response (Contact, Record-Route) that is safe to copy into a
    /// request line or header: a `sip:`/`sips:` URI of visible ASCII without `<>"`.
    static func isSafeURI(_ uri: String) -> Bool {
        let bytes = Array(uri.utf8)
        guard bytes.count >= 5, bytes.count <= 512 else { return false }
        let lower = String(decoding: bytes.prefix(5).map { $0 | 0x20 }, as: UTF8.self)
        guard lower.hasPrefix("sip:") || lower.hasPrefix("sips:") else { return false }
        return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != 0x3c && $0 != 0x3e && $0 != 0x22 }
    }

    /// A name-addr route value (`<sip:...;lr>` with optional parameters) safe to copy.
    static func isSafeRoute(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count >= 7, bytes.count <= 512, bytes.first == 0x3c,
            let close = bytes.firstIndex(of: 0x3e)
        else { return false }
        let uri = String(decoding: bytes[1..<close], as: UTF8.self)
        guard isSafeURI(uri) else { return false }
        return bytes[(close + 1)...].allSatisfy { $0 >= 0x20 && $0 < 0x7f && $0 != 0x3c && $0 != 0x3e }
    }

    /// A `token` (RFC 3261 §25.1) of 1...128 bytes, e.g. a To tag.
    static func isToken(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 128 else { return false }
        return bytes.allSatisfy { isAlnum($0) || "-.!%*_+`'~".utf8.contains($0) }
    }

    static func isAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) }
    static func isHex(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) }
}

/// One outgoing SIP request, field by field; ``bytes`` serialises it (RFC 3261 §7).
struct OutgoingRequest: Sendable, Hashable {
    var method: String
    var requestURI: String
    /// The whole Via value (`SIP/2.0/UDP host:port;branch=...;rport`).
    var via: String
    /// The whole From value, tag included.
    var from: String
    /// The whole To value (tag included once the dialog has one).
    var to: String
    var callID: String
    var cseq: UInt32
    var contact: String?
    var routes: [String] = []
    /// Extra headers (name, value), in order, between CSeq and User-Agent.
    var extra: [(String, String)] = []
    var userAgent: String

    static func == (a: OutgoingRequest, b: OutgoingRequest) -> Bool { a.bytes == b.bytes }
    func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// The request as it goes on the wire (no body, Content-Length 0).
    var bytes: [UInt8] {
        var s = "\(method) \(requestURI) SIP/2.0\r\n"
        s += "Via: \(via)\r\n"
        s += "Max-Forwards: 70\r\n"
        for route in routes { s += "Route: \(route)\r\n" }
        s += "From: \(from)\r\n"
        s += "To: \(to)\r\n"
        s += "Call-ID: \(callID)\r\n"
        s += "CSeq: \(cseq) \(method)\r\n"
        if let contact { s += "Contact: \(contact)\r\n" }
        for (name, value) in extra { s += "\(name): \(value)\r\n" }
        s += "User-Agent: \(userAgent)\r\n"
        s += "Content-Length: 0\r\n\r\n"
        return Array(s.utf8)
    }
}

/// Everything a step needs to write its requests: who, where, and the dialog
/// identifiers (fixed for the step; a new branch per transaction).
struct RequestContext: Sendable, Hashable {
    let method: ProbeMethod
    let user: String
    let domain: String
    let target: ProbeTarget
    let local: ProbeLocalEndpoint
    let userAgent: String
    let callID: String
    let fromTag: String
    let branch: String
    let cseq: UInt32

    /// The AOR of `user` in `domain` (From and To).
    var aor: String { "sip:\(user)@\(domain)" }

    /// Where requests are addressed: REGISTER to the domain, others to the user;
    /// the target port is added when the domain is the target's own address.
    var requestURI: String {
        let port = (domain == target.hostText && target.port != ProbeTarget.defaultPort) ? ":\(target.port)" : ""
        switch method {
        case .register: return "sip:\(domain)\(port)"
        case .invite, .options: return "sip:\(user)@\(domain)\(port)"
        }
    }

    func via(branch: String) -> String { "SIP/2.0/\(target.transport.viaToken) \(local.hostPort);branch=\(branch);rport" }

    var from: String { "<\(aor)>;tag=\(fromTag)" }

    /// The initial request: REGISTER (query-free de-registration of our own contact,
    /// Expires 0, so even an unauthenticated success changes nothing), INVITE without a
    /// body, or OPTIONS.
    var initialRequest: OutgoingRequest {
        var extra: [(String, String)] = []
        var contact: String? = nil
        switch method {
        case .register:
            contact = "<sip:\(user)@\(local.hostPort)>"
            extra.append(("Expires", "0"))
        case .invite:
            contact = "<sip:\(user)@\(local.hostPort)>"
        case .options:
            extra.append(("Accept", "application/sdp"))
        }
        return OutgoingRequest(
            method: method.rawValue, requestURI: requestURI, via: via(branch: branch), from: from,
            to: "<\(aor)>", callID: callID, cseq: cseq, contact: contact, extra: extra, userAgent: userAgent
        )
    }

    /// ACK for a non-2xx final answer to the INVITE (RFC 3261 §17.1.1.3): same branch,
    /// Request-URI, Call-ID, From and CSeq number; To from the response.
    func ackForNon2xx(responseTo: String) -> OutgoingRequest {
        OutgoingRequest(
            method: "ACK", requestURI: requestURI, via: via(branch: branch), from: from, to: responseTo,
            callID: callID, cseq: cseq, contact: nil, userAgent: userAgent
        )
    }

    /// CANCEL for the pending INVITE (RFC 3261 §9.1): same branch, Request-URI,
    /// Call-ID, From, To (no tag) and CSeq number.
    var cancel: OutgoingRequest {
        OutgoingRequest(
            method: "CANCEL", requestURI: requestURI, via: via(branch: branch), from: from, to: "<\(aor)>",
            callID: callID, cseq: cseq, contact: nil, userAgent: userAgent
        )
    }

    /// ACK (new transaction) and BYE for a 2xx answer that established a dialog
    /// (RFC 3261 §13.2.2.4 and §15): to the remote target, through the route set.
    func ackAndBye(dialog: EstablishedDialog, ackBranch: String, byeBranch: String) -> (ack: OutgoingRequest, bye: OutgoingRequest) {
        let ack = OutgoingRequest(
            method: "ACK", requestURI: dialog.remoteTarget, via: via(branch: ackBranch), from: from, to: dialog.to,
            callID: callID, cseq: cseq, contact: nil, routes: dialog.routeSet, userAgent: userAgent
        )
        let bye = OutgoingRequest(
            method: "BYE", requestURI: dialog.remoteTarget, via: via(branch: byeBranch), from: from, to: dialog.to,
            callID: callID, cseq: cseq &+ 1, contact: nil, routes: dialog.routeSet, userAgent: userAgent
        )
        return (ack, bye)
    }
}

/// What a 2xx to the INVITE established: the remote target, the To with its tag,
/// and the route set (Record-Route reversed).
struct EstablishedDialog: Sendable, Hashable {
    let remoteTarget: String
    let to: String
    let routeSet: [String]
}
