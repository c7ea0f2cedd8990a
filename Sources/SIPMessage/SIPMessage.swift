// SPDX-License-Identifier: GPL-2.0-or-later

/// One header field of a parsed message: its recognised name and where its name and
/// value lie in the buffer. The value range excludes the leading and trailing linear
/// white space but includes any folded line breaks in between (use
/// ``SIPMessageView/string(_:)`` to get it with the folding collapsed to single spaces).
public struct SIPHeaderField: Sendable, Hashable {
    /// The recognised header, or `.other`.
    public let name: SIPHeaderName
    /// The header name as written (long or compact form, original case).
    public let nameRange: SIPRange
    /// The header value, trimmed.
    public let valueRange: SIPRange
}

/// The parts of a Via value the detector correlates on (top-most Via only).
public struct SIPViaInfo: Sendable, Hashable {
    /// Transport of the sent-protocol (`UDP`, `TCP`, `TLS`, ...).
    public let transport: SIPRange
    /// Host of the sent-by (hostname, IPv4 or bracketed IPv6 reference).
    public let host: SIPRange
    /// Port of the sent-by, if given.
    public let port: UInt16?
    /// Host through port, as written.
    public let sentBy: SIPRange
    /// Value of the `branch` parameter (may be unquoted token only), if present.
    public let branch: SIPRange?
}

/// The parts of a name-addr / addr-spec value (From, To, first Contact).
public struct SIPAddressInfo: Sendable, Hashable {
    /// Display name as written (a quoted string keeps its quotes), if any.
    public let displayName: SIPRange?
    /// The URI, without angle brackets.
    public let uri: SIPRange
    /// Value of the `tag` header parameter (From/To), if present.
    public let tag: SIPRange?
}

/// The credentials of the first Authorization or Proxy-Authorization header.
public struct SIPCredentialsInfo: Sendable, Hashable {
    /// `.authorization` or `.proxyAuthorization`.
    public let header: SIPHeaderName
    /// The authentication scheme (`Digest`, ...).
    public let scheme: SIPRange
    /// The raw value of the `username` parameter (quotes included if quoted), if any.
    public let username: SIPRange?
}

/// A parsed SIP message: the offsets of its parts in the buffer it was parsed from,
/// plus the scalar values the parser had to decode to validate them. It holds no
/// pointer and no copy of the bytes, so it is `Sendable` and cheap to keep; to read
/// text, pair it with the same bytes in a ``SIPMessageView``.
///
/// Parsing validates the grammar of the start line and of the headers that matter for
/// transaction correlation and security decisions (Via, From, To, Contact, Call-ID,
/// CSeq, Max-Forwards, Content-Length, Content-Type, Expires, Date, Retry-After,
/// Warning, Authorization, Proxy-Authorization); other headers are only framed. See
/// docs/RFC4475.md for how every RFC 4475 torture message is classified.
public struct SIPMessage: Sendable, Hashable {
    /// Request or response.
    public enum Kind: Sendable, Hashable {
        case request(SIPMethod)
        case response(statusCode: Int)
    }

    /// Request (with its recognised method) or response (with its status code).
    public let kind: Kind
    /// The method token of a request (empty for responses).
    public let methodRange: SIPRange
    /// The Request-URI of a request (empty for responses).
    public let requestURIRange: SIPRange
    /// The reason phrase of a response (empty for requests, or when empty).
    public let reasonPhraseRange: SIPRange
    /// Every header field in order (at most ``SIPParseOptions/maxHeaderCount``).
    public let headers: [SIPHeaderField]
    /// The body: Content-Length bytes after the empty line, or (datagram without
    /// Content-Length) everything after it.
    public let bodyRange: SIPRange
    /// Offset just past the message (end of body); bytes after it in a datagram are
    /// ignored extra octets (RFC 4475 §3.1.1.8).
    public let endOffset: Int

    /// CSeq sequence number (0...2^32-1).
    public let cseqNumber: UInt32
    /// CSeq method token.
    public let cseqMethodRange: SIPRange
    /// The Call-ID value.
    public let callIDRange: SIPRange
    /// The top-most Via (first value of the first Via header).
    public let topVia: SIPViaInfo
    /// Number of Via values (comma-separated and repeated headers combined).
    public let viaCount: Int
    /// The From header.
    public let from: SIPAddressInfo
    /// The To header.
    public let to: SIPAddressInfo
    /// The first Contact value, if any (nil also for the wildcard `*`).
    public let contact: SIPAddressInfo?
    /// Whether a `Contact: *` wildcard is present.
    public let contactIsWildcard: Bool
    /// Content-Length, if the header is present.
    public let contentLength: Int?
    /// Max-Forwards (0...255), if present.
    public let maxForwards: Int?
    /// Expires header (0...2^32-1), if present.
    public let expires: UInt32?
    /// The User-Agent value, if present.
    public let userAgentRange: SIPRange?
    /// The first Authorization or Proxy-Authorization header, if any.
    public let credentials: SIPCredentialsInfo?
    /// With ``SIPParseOptions/lenient``: the first way the message departs from the RFC 3261
    /// grammar (what a strict parse would have thrown); nil when it conforms.
    public let deviation: SIPParseError?

    /// Whether this is a request.
    public var isRequest: Bool {
        if case .request = kind { return true }
        return false
    }
    /// The recognised method of a request; nil for responses.
    public var method: SIPMethod? {
        if case .request(let m) = kind { return m }
        return nil
    }
    /// The status code of a response; nil for requests.
    public var statusCode: Int? {
        if case .response(let code) = kind { return code }
        return nil
    }
    /// Whether an Authorization or Proxy-Authorization header is present.
    public var hasCredentials: Bool { credentials != nil }

    /// Index of the first header with this name, if any.
    public func firstIndex(of name: SIPHeaderName) -> Int? {
        headers.firstIndex { $0.name == name }
    }

    /// Parses one message from `bytes` (a whole UDP datagram, or one message cut out
    /// of a stream by ``SIPStreamFramer``). Never traps, whatever the input.
    public init(parsing bytes: UnsafeRawBufferPointer, options: SIPParseOptions = .datagram) throws(SIPParseError) {
        guard let raw = bytes.baseAddress, bytes.count > 0 else { throw .empty }
        guard bytes.count <= options.maxMessageSize else { throw .messageTooLarge(limit: options.maxMessageSize) }
        let p = raw.assumingMemoryBound(to: UInt8.self)
        var parser = MessageParser(p: p, n: bytes.count, options: options)
        self = try parser.parse()
    }

    /// Parses one message from `bytes`; see ``init(parsing:options:)-(UnsafeRawBufferPointer,_)``.
    public init(parsing bytes: UnsafeBufferPointer<UInt8>, options: SIPParseOptions = .datagram) throws(SIPParseError) {
        try self.init(parsing: UnsafeRawBufferPointer(bytes), options: options)
    }

    init(
        kind: Kind, methodRange: SIPRange, requestURIRange: SIPRange, reasonPhraseRange: SIPRange,
        headers: [SIPHeaderField], bodyRange: SIPRange, endOffset: Int, cseqNumber: UInt32,
        cseqMethodRange: SIPRange, callIDRange: SIPRange, topVia: SIPViaInfo, viaCount: Int,
        from: SIPAddressInfo, to: SIPAddressInfo, contact: SIPAddressInfo?, contactIsWildcard: Bool,
        contentLength: Int?, maxForwards: Int?, expires: UInt32?, userAgentRange: SIPRange?,
        credentials: SIPCredentialsInfo?, deviation: SIPParseError? = nil
    ) {
        self.kind = kind
        self.methodRange = methodRange
        self.requestURIRange = requestURIRange
        self.reasonPhraseRange = reasonPhraseRange
        self.headers = headers
        self.bodyRange = bodyRange
        self.endOffset = endOffset
        self.cseqNumber = cseqNumber
        self.cseqMethodRange = cseqMethodRange
        self.callIDRange = callIDRange
        self.topVia = topVia
        self.viaCount = viaCount
        self.from = from
        self.to = to
        self.contact = contact
        self.contactIsWildcard = contactIsWildcard
        self.contentLength = contentLength
        self.maxForwards = maxForwards
        self.expires = expires
        self.userAgentRange = userAgentRange
        self.credentials = credentials
        self.deviation = deviation
    }
}

extension SIPMessage {
    /// Parses `bytes` (convenience for owned arrays; the returned offsets index `bytes`).
    public init(parsing bytes: [UInt8], options: SIPParseOptions = .datagram) throws(SIPParseError) {
        let result: Result<SIPMessage, SIPParseError> = bytes.withUnsafeBytes { raw in
            do throws(SIPParseError) {
                return .success(try SIPMessage(parsing: raw, options: options))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }
}
