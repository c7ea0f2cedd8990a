// SPDX-License-Identifier: GPL-2.0-or-later

import SIPMessage

/// The parameters of a `WWW-Authenticate` / `Proxy-Authenticate` challenge that can be
/// compared between users (the nonce itself always differs, so only its presence is kept).
public struct ProbeChallenge: Sendable, Hashable, Codable {
    /// Authentication scheme (`Digest`).
    public var scheme: String
    /// The `realm` parameter, if present.
    public var realm: String?
    /// The `algorithm` parameter, if present.
    public var algorithm: String?
    /// The `qop` parameter, if present.
    public var qop: String?
    /// The `stale` parameter, if present.
    public var stale: String?
    /// Whether a `nonce` parameter is present.
    public var hasNonce: Bool
    /// Whether an `opaque` parameter is present.
    public var hasOpaque: Bool

    /// Creates a challenge summary.
    public init(
        scheme: String, realm: String? = nil, algorithm: String? = nil, qop: String? = nil,
        stale: String? = nil, hasNonce: Bool = true, hasOpaque: Bool = false
    ) {
        self.scheme = scheme
        self.realm = realm
        self.algorithm = algorithm
        self.qop = qop
        self.stale = stale
        self.hasNonce = hasNonce
        self.hasOpaque = hasOpaque
    }

    /// A stable one-line form used for comparison and display.
    var summary: String {
        var parts = [scheme]
        if let realm { parts.append("realm=\"\(realm)\"") }
        if let algorithm { parts.append("algorithm=\(algorithm)") }
        if let qop { parts.append("qop=\"\(qop)\"") }
        if let stale { parts.append("stale=\(stale)") }
        if hasNonce { parts.append("nonce=…") }
        if hasOpaque { parts.append("opaque=…") }
        return parts.joined(separator: " ")
    }

    /// Parses `scheme param=value, param="quoted", ...` (bounded, never traps).
    static func parse(_ value: String) -> ProbeChallenge {
        let bytes = Array(value.utf8.prefix(2048))
        var i = 0
        func skip(_ set: (UInt8) -> Bool) { while i < bytes.count, set(bytes[i]) { i += 1 } }
        skip { $0 == 0x20 || $0 == 0x09 }
        let schemeStart = i
        skip { $0 != 0x20 && $0 != 0x09 && $0 != 0x2c }
        var challenge = ProbeChallenge(scheme: clean(bytes[schemeStart..<i]), hasNonce: false)
        var parameters = 0
        while i < bytes.count, parameters < 32 {
            parameters += 1
            skip { $0 == 0x20 || $0 == 0x09 || $0 == 0x2c }
            let nameStart = i
            skip { $0 != 0x3d && $0 != 0x2c && $0 != 0x20 && $0 != 0x09 }
            let name = String(decoding: bytes[nameStart..<i].map { $0 | 0x20 }, as: UTF8.self)
            skip { $0 == 0x20 || $0 == 0x09 }
            var paramValue = ""
            if i < bytes.count, bytes[i] == 0x3d {
                i += 1
                skip { $0 == 0x20 || $0 == 0x09 }
                if i < bytes.count, bytes[i] == 0x22 {
                    i += 1
                    var out: [UInt8] = []
                    while i < bytes.count, bytes[i] != 0x22 {
                        if bytes[i] == 0x5c, i + 1 < bytes.count { i += 1 }
                        out.append(bytes[i])
                        i += 1
                    }
                    i += 1
                    paramValue = clean(out[...])
                } else {
                    let valueStart = i
                    skip { $0 != 0x2c && $0 != 0x20 && $0 != 0x09 }
                    paramValue = clean(bytes[valueStart..<min(i, bytes.count)])
                }
            }
            switch name {
            case "realm": challenge.realm = paramValue
            case "algorithm": challenge.algorithm = paramValue
            case "qop": challenge.qop = paramValue
            case "stale": challenge.stale = paramValue.lowercased()
            case "nonce": challenge.hasNonce = true
            case "opaque": challenge.hasOpaque = true
            default: break
            }
        }
        return challenge
    }

    private static func clean(_ bytes: ArraySlice<UInt8>) -> String {
        ProbeText.clean(String(decoding: bytes, as: UTF8.self))
    }
}

/// The headers of a final answer that commonly differ between existing and unknown users.
public struct ProbeResponseHeaders: Sendable, Hashable, Codable {
    /// The first `WWW-Authenticate` challenge, if any.
    public var wwwAuthenticate: ProbeChallenge?
    /// The first `Proxy-Authenticate` challenge, if any.
    public var proxyAuthenticate: ProbeChallenge?
    /// `Server` value, if present.
    public var server: String?
    /// `User-Agent` value, if present.
    public var userAgent: String?
    /// Every `Warning` value.
    public var warnings: [String]
    /// Number of Contact values (`*` counts as one).
    public var contactCount: Int
    /// `Allow` values joined with `, `, if present.
    public var allow: String?
    /// `Supported` values joined with `, `, if present.
    public var supported: String?
    /// `Content-Type` value, if present.
    public var contentType: String?
    /// `Content-Length` value, if present.
    public var contentLength: Int?
    /// Length of the body actually received.
    public var bodyLength: Int

    /// Creates a header summary.
    public init(
        wwwAuthenticate: ProbeChallenge? = nil, proxyAuthenticate: ProbeChallenge? = nil, server: String? = nil,
        userAgent: String? = nil, warnings: [String] = [], contactCount: Int = 0, allow: String? = nil,
        supported: String? = nil, contentType: String? = nil, contentLength: Int? = 0, bodyLength: Int = 0
    ) {
        self.wwwAuthenticate = wwwAuthenticate
        self.proxyAuthenticate = proxyAuthenticate
        self.server = server
        self.userAgent = userAgent
        self.warnings = warnings
        self.contactCount = contactCount
        self.allow = allow
        self.supported = supported
        self.contentType = contentType
        self.contentLength = contentLength
        self.bodyLength = bodyLength
    }
}

/// Text taken from the network, made safe to keep and print.
enum ProbeText {
    /// Control characters become `?`; at most 200 characters are kept.
    static func clean(_ text: String) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == 200 {
                out += "…"
                break
            }
            out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7f ? "?" : scalar)
            count += 1
        }
        return out
    }
}

/// A response the probe received, reduced to what it needs (no reference to the bytes).
struct ProbeResponse: Sendable, Hashable {
    var statusCode: Int
    var reasonPhrase: String
    var branch: String?
    var cseqMethod: String
    var callID: String
    var toTag: String?
    var contactURI: String?
    var recordRoutes: [String]
    var headers: ProbeResponseHeaders

    /// Parses a datagram; nil when it is not a well-formed SIP response.
    init?(datagram: [UInt8]) {
        let parsed: ProbeResponse?? = datagram.withUnsafeBytes { raw -> ProbeResponse?? in
            guard let view = try? SIPMessageView(parsing: raw) else { return .some(nil) }
            return .some(ProbeResponse(view: view))
        }
        guard let parsed, let parsed else { return nil }
        self = parsed
    }

    init?(view: SIPMessageView) {
        guard let code = view.statusCode, code >= 100, code <= 699 else { return nil }
        statusCode = code
        reasonPhrase = ProbeText.clean(view.reasonPhrase ?? "")
        branch = view.topViaBranch
        cseqMethod = view.cseq.method
        callID = view.callID
        toTag = view.toTag
        contactURI = view.contactURI
        var routes: [String] = []
        for value in view.values(of: .recordRoute) {
            routes += Self.splitList(value)
            if routes.count > 16 { break }
        }
        recordRoutes = routes
        func first(_ name: SIPHeaderName) -> String? { view.values(of: name).first.map(ProbeText.clean) }
        func joined(_ name: SIPHeaderName) -> String? {
            let values = view.values(of: name)
            return values.isEmpty ? nil : ProbeText.clean(values.joined(separator: ", "))
        }
        var contacts = 0
        for value in view.values(of: .contact) { contacts += Self.splitList(value).count }
        headers = ProbeResponseHeaders(
            wwwAuthenticate: view.values(of: .wwwAuthenticate).first.map(ProbeChallenge.parse),
            proxyAuthenticate: view.values(of: .proxyAuthenticate).first.map(ProbeChallenge.parse),
            server: first(.server),
            userAgent: first(.userAgent),
            warnings: view.values(of: .warning).prefix(8).map(ProbeText.clean),
            contactCount: contacts,
            allow: joined(.allow),
            supported: joined(.supported),
            contentType: first(.contentType),
            contentLength: view.message.contentLength,
            bodyLength: view.message.bodyRange.count
        )
    }

    /// Splits a comma-separated header value, ignoring commas inside `<>` and quotes.
    static func splitList(_ value: String) -> [String] {
        var items: [String] = []
        var current: [UInt8] = []
        var inQuotes = false
        var inAngle = false
        var escaped = false
        for c in value.utf8.prefix(4096) {
            if inQuotes {
                if escaped { escaped = false } else if c == 0x5c { escaped = true } else if c == 0x22 { inQuotes = false }
            } else if c == 0x22 {
                inQuotes = true
            } else if c == 0x3c {
                inAngle = true
            } else if c == 0x3e {
                inAngle = false
            } else if c == 0x2c, !inAngle {
                items.append(trim(current))
                current.removeAll()
                continue
            }
            current.append(c)
        }
        items.append(trim(current))
        return items.filter { !$0.isEmpty }
    }

    private static func trim(_ bytes: [UInt8]) -> String {
        var s = bytes[...]
        while let c = s.first, c == 0x20 || c == 0x09 { s = s.dropFirst() }
        while let c = s.last, c == 0x20 || c == 0x09 { s = s.dropLast() }
        return String(decoding: s, as: UTF8.self)
    }
}
