// SPDX-License-Identifier: GPL-2.0-or-later

/// Header fields the parser recognises by name (case-insensitively, in long or
/// compact form). Every other header is `.other`; its name is still available as a
/// byte range.
public enum SIPHeaderName: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case other
    case accept, acceptContact, allow, allowEvents, authorization, callID, contact
    case contentEncoding, contentLength, contentType, cseq, date, event, expires, from
    case identity, identityInfo, maxForwards, proxyAuthenticate, proxyAuthorization
    case proxyRequire, recordRoute, referTo, referredBy, rejectContact, requestDisposition
    case require, retryAfter, route, server, sessionExpires, subject, supported, to
    case userAgent, via, warning, wwwAuthenticate

    /// The canonical (RFC) spelling of the long form; `"(other)"` for `.other`.
    public var canonicalName: String {
        switch self {
        case .other: "(other)"
        case .accept: "Accept"
        case .acceptContact: "Accept-Contact"
        case .allow: "Allow"
        case .allowEvents: "Allow-Events"
        case .authorization: "Authorization"
        case .callID: "Call-ID"
        case .contact: "Contact"
        case .contentEncoding: "Content-Encoding"
        case .contentLength: "Content-Length"
        case .contentType: "Content-Type"
        case .cseq: "CSeq"
        case .date: "Date"
        case .event: "Event"
        case .expires: "Expires"
        case .from: "From"
        case .identity: "Identity"
        case .identityInfo: "Identity-Info"
        case .maxForwards: "Max-Forwards"
        case .proxyAuthenticate: "Proxy-Authenticate"
        case .proxyAuthorization: "Proxy-Authorization"
        case .proxyRequire: "Proxy-Require"
        case .recordRoute: "Record-Route"
        case .referTo: "Refer-To"
        case .referredBy: "Referred-By"
        case .rejectContact: "Reject-Contact"
        case .requestDisposition: "Request-Disposition"
        case .require: "Require"
        case .retryAfter: "Retry-After"
        case .route: "Route"
        case .server: "Server"
        case .sessionExpires: "Session-Expires"
        case .subject: "Subject"
        case .supported: "Supported"
        case .to: "To"
        case .userAgent: "User-Agent"
        case .via: "Via"
        case .warning: "Warning"
        case .wwwAuthenticate: "WWW-Authenticate"
        }
    }

    /// The compact form (RFC 3261 §7.3.3 and the IANA registry), if the header has one.
    public var compactForm: Character? {
        switch self {
        case .acceptContact: "a"
        case .referredBy: "b"
        case .contentType: "c"
        case .requestDisposition: "d"
        case .contentEncoding: "e"
        case .from: "f"
        case .callID: "i"
        case .rejectContact: "j"
        case .supported: "k"
        case .contentLength: "l"
        case .contact: "m"
        case .identityInfo: "n"
        case .event: "o"
        case .referTo: "r"
        case .subject: "s"
        case .to: "t"
        case .allowEvents: "u"
        case .via: "v"
        case .sessionExpires: "x"
        case .identity: "y"
        default: nil
        }
    }

    public var description: String { canonicalName }

    /// Recognises a header name (long or compact form, any letter case) from text.
    public init(_ name: some StringProtocol) {
        var copy = String(name)
        self = copy.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, utf8.allSatisfy(CharClass.isToken) else { return .other }
            return SIPHeaderName(bytes: base, count: utf8.count)
        }
    }

    /// Recognises a header name from its bytes (no allocation).
    init(bytes p: UnsafePointer<UInt8>, count n: Int) {
        @inline(__always) func eq(_ lit: StaticString) -> Bool {
            guard lit.utf8CodeUnitCount == n else { return false }
            let l = lit.utf8Start
            var i = 0
            while i < n {
                // Names are validated as tokens before lookup, and every literal is letters
                // and "-": OR-ing 0x20 folds case without creating false matches.
                if p[i] | 0x20 != l[i] | 0x20 { return false }
                i &+= 1
            }
            return true
        }
        if n == 1 {
            switch p[0] | 0x20 {
            case UInt8(ascii: "a"): self = .acceptContact
            case UInt8(ascii: "b"): self = .referredBy
            case UInt8(ascii: "c"): self = .contentType
            case UInt8(ascii: "d"): self = .requestDisposition
            case UInt8(ascii: "e"): self = .contentEncoding
            case UInt8(ascii: "f"): self = .from
            case UInt8(ascii: "i"): self = .callID
            case UInt8(ascii: "j"): self = .rejectContact
            case UInt8(ascii: "k"): self = .supported
            case UInt8(ascii: "l"): self = .contentLength
            case UInt8(ascii: "m"): self = .contact
            case UInt8(ascii: "n"): self = .identityInfo
            case UInt8(ascii: "o"): self = .event
            case UInt8(ascii: "r"): self = .referTo
            case UInt8(ascii: "s"): self = .subject
            case UInt8(ascii: "t"): self = .to
            case UInt8(ascii: "u"): self = .allowEvents
            case UInt8(ascii: "v"): self = .via
            case UInt8(ascii: "x"): self = .sessionExpires
            case UInt8(ascii: "y"): self = .identity
            default: self = .other
            }
            return
        }
        switch p[0] | 0x20 {
        case UInt8(ascii: "a"):
            if eq("Accept") {
                self = .accept
            } else if eq("Accept-Contact") {
                self = .acceptContact
            } else if eq("Allow") {
                self = .allow
            } else if eq("Allow-Events") {
                self = .allowEvents
            } else if eq("Authorization") {
                self = .authorization
            } else {
                self = .other
            }
        case UInt8(ascii: "c"):
            if eq("Call-ID") {
                self = .callID
            } else if eq("CSeq") {
                self = .cseq
            } else if eq("Contact") {
                self = .contact
            } else if eq("Content-Length") {
                self = .contentLength
            } else if eq("Content-Type") {
                self = .contentType
            } else if eq("Content-Encoding") {
                self = .contentEncoding
            } else {
                self = .other
            }
        case UInt8(ascii: "d"):
            self = eq("Date") ? .date : .other
        case UInt8(ascii: "e"):
            if eq("Expires") { self = .expires } else if eq("Event") { self = .event } else { self = .other }
        case UInt8(ascii: "f"):
            self = eq("From") ? .from : .other
        case UInt8(ascii: "i"):
            if eq("Identity") { self = .identity } else if eq("Identity-Info") { self = .identityInfo } else { self = .other }
        case UInt8(ascii: "m"):
            self = eq("Max-Forwards") ? .maxForwards : .other
        case UInt8(ascii: "p"):
            if eq("Proxy-Authorization") {
                self = .proxyAuthorization
            } else if eq("Proxy-Authenticate") {
                self = .proxyAuthenticate
            } else if eq("Proxy-Require") {
                self = .proxyRequire
            } else {
                self = .other
            }
        case UInt8(ascii: "r"):
            if eq("Route") {
                self = .route
            } else if eq("Record-Route") {
                self = .recordRoute
            } else if eq("Require") {
                self = .require
            } else if eq("Retry-After") {
                self = .retryAfter
            } else if eq("Refer-To") {
                self = .referTo
            } else if eq("Referred-By") {
                self = .referredBy
            } else if eq("Reject-Contact") {
                self = .rejectContact
            } else if eq("Request-Disposition") {
                self = .requestDisposition
            } else {
                self = .other
            }
        case UInt8(ascii: "s"):
            if eq("Server") {
                self = .server
            } else if eq("Subject") {
                self = .subject
            } else if eq("Supported") {
                self = .supported
            } else if eq("Session-Expires") {
                self = .sessionExpires
            } else {
                self = .other
            }
        case UInt8(ascii: "t"):
            self = eq("To") ? .to : .other
        case UInt8(ascii: "u"):
            self = eq("User-Agent") ? .userAgent : .other
        case UInt8(ascii: "v"):
            self = eq("Via") ? .via : .other
        case UInt8(ascii: "w"):
            if eq("WWW-Authenticate") { self = .wwwAuthenticate } else if eq("Warning") { self = .warning } else { self = .other }
        default:
            self = .other
        }
    }
}

/// Request methods with a dedicated case; any other token is `.extension` (its text is
/// available through ``SIPMessageView/method``). Methods are case-sensitive (RFC 3261 §7.1).
public enum SIPMethod: UInt8, Sendable, Hashable, CaseIterable {
    case ack, bye, cancel, info, invite, message, notify, options, prack, publish, refer
    case register, subscribe, update
    /// Any other (extension) method token.
    case `extension`

    /// The method token as it appears on the wire (`nil` for `.extension`).
    public var token: String? {
        switch self {
        case .ack: "ACK"
        case .bye: "BYE"
        case .cancel: "CANCEL"
        case .info: "INFO"
        case .invite: "INVITE"
        case .message: "MESSAGE"
        case .notify: "NOTIFY"
        case .options: "OPTIONS"
        case .prack: "PRACK"
        case .publish: "PUBLISH"
        case .refer: "REFER"
        case .register: "REGISTER"
        case .subscribe: "SUBSCRIBE"
        case .update: "UPDATE"
        case .extension: nil
        }
    }

    /// Recognises a method from its bytes, exactly (methods are case-sensitive).
    init(bytes p: UnsafePointer<UInt8>, count n: Int) {
        @inline(__always) func eq(_ lit: StaticString) -> Bool {
            guard lit.utf8CodeUnitCount == n else { return false }
            let l = lit.utf8Start
            var i = 0
            while i < n {
                if p[i] != l[i] { return false }
                i &+= 1
            }
            return true
        }
        guard n >= 3 else {
            self = .extension
            return
        }
        switch p[0] {
        case UInt8(ascii: "A"): self = eq("ACK") ? .ack : .extension
        case UInt8(ascii: "B"): self = eq("BYE") ? .bye : .extension
        case UInt8(ascii: "C"): self = eq("CANCEL") ? .cancel : .extension
        case UInt8(ascii: "I"): self = eq("INVITE") ? .invite : (eq("INFO") ? .info : .extension)
        case UInt8(ascii: "M"): self = eq("MESSAGE") ? .message : .extension
        case UInt8(ascii: "N"): self = eq("NOTIFY") ? .notify : .extension
        case UInt8(ascii: "O"): self = eq("OPTIONS") ? .options : .extension
        case UInt8(ascii: "P"): self = eq("PRACK") ? .prack : (eq("PUBLISH") ? .publish : .extension)
        case UInt8(ascii: "R"): self = eq("REGISTER") ? .register : (eq("REFER") ? .refer : .extension)
        case UInt8(ascii: "S"): self = eq("SUBSCRIBE") ? .subscribe : .extension
        case UInt8(ascii: "U"): self = eq("UPDATE") ? .update : .extension
        default: self = .extension
        }
    }
}
