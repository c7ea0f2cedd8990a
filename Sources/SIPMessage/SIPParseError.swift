// SPDX-License-Identifier: GPL-2.0-or-later

/// Why a buffer is not a well-formed SIP message. Every rejection has a typed reason;
/// header-specific cases carry the header (never attacker text, so building an error
/// never allocates).
public enum SIPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The buffer is empty (or only CR/LF).
    case empty
    /// The message exceeds ``SIPParseOptions/maxMessageSize``.
    case messageTooLarge(limit: Int)
    /// The start line is neither a request line nor a status line (missing elements,
    /// extra or trailing spaces, control characters, missing CRLF).
    case badStartLine
    /// The request method is not a token.
    case badMethod
    /// The Request-URI is not an absolute URI (bad scheme, disallowed characters such as
    /// `<`, `>`, spaces or controls).
    case badRequestURI
    /// The SIP/SIPS Request-URI carries `?headers`, which RFC 3261 §19.1.1 forbids there.
    case headersInRequestURI
    /// A `%` not followed by two hexadecimal digits in a URI (`nil` = the Request-URI).
    case invalidEscape(SIPHeaderName?)
    /// The protocol version is not `SIP/2.0` (answer 505).
    case badVersion
    /// The status code is not three digits.
    case badStatusCode
    /// The status code is numeric but outside 100...699 (for example 4294967301).
    case bigStatusCode
    /// The reason phrase contains control characters.
    case badReasonPhrase
    /// A header line does not have the form `token *WSP ":" value`.
    case badHeaderLine
    /// A header field (including its continuation lines) exceeds
    /// ``SIPParseOptions/maxHeaderFieldLength``.
    case headerTooLong(limit: Int)
    /// More header fields than ``SIPParseOptions/maxHeaderCount``.
    case tooManyHeaders(limit: Int)
    /// The header section is not terminated by an empty line.
    case unterminatedHeaderSection
    /// A header every request/response must carry is absent (RFC 3261 §8.1.1).
    case missingRequiredHeader(SIPHeaderName)
    /// A header that must appear at most once appears more than once (multi01, mcl01).
    case duplicateHeader(SIPHeaderName)
    /// A header value does not match its grammar.
    case badHeaderValue(SIPHeaderName)
    /// A numeric header value exceeds its legal range (CSeq > 2^32-1, Max-Forwards > 255, ...).
    case valueOutOfRange(SIPHeaderName)
    /// A quoted string is not closed before the end of the header value.
    case unterminatedQuote(SIPHeaderName)
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    case cseqMethodMismatch
    /// Content-Length is not a non-negative decimal number (ncl: `-999`).
    case badContentLength
    /// Content-Length claims more body bytes than the datagram holds (clerr).
    case contentLengthMismatch(declared: Int, available: Int)

    public var description: String {
        switch self {
        case .empty: "empty message"
        case .messageTooLarge(let limit): "message larger than \(limit) bytes"
        case .badStartLine: "malformed start line"
        case .badMethod: "request method is not a token"
        case .badRequestURI: "malformed Request-URI"
        case .headersInRequestURI: "SIP Request-URI must not contain ?headers"
        case .invalidEscape(let name): "invalid %-escape in \(name?.canonicalName ?? "Request-URI")"
        case .badVersion: "unsupported SIP version (only SIP/2.0)"
        case .badStatusCode: "status code is not three digits"
        case .bigStatusCode: "status code outside 100...699"
        case .badReasonPhrase: "control character in reason phrase"
        case .badHeaderLine: "malformed header line"
        case .headerTooLong(let limit): "header field longer than \(limit) bytes"
        case .tooManyHeaders(let limit): "more than \(limit) header fields"
        case .unterminatedHeaderSection: "header section not terminated by an empty line"
        case .missingRequiredHeader(let name): "missing required header \(name.canonicalName)"
        case .duplicateHeader(let name): "\(name.canonicalName) appears more than once"
        case .badHeaderValue(let name): "malformed \(name.canonicalName) value"
        case .valueOutOfRange(let name): "\(name.canonicalName) value out of range"
        case .unterminatedQuote(let name): "unterminated quoted string in \(name.canonicalName)"
        case .cseqMethodMismatch: "CSeq method differs from request method"
        case .badContentLength: "Content-Length is not a non-negative number"
        case .contentLengthMismatch(let declared, let available):
            "Content-Length \(declared) exceeds the \(available) body bytes present"
        }
    }
}

extension SIPParseError {
    /// Whether the message broke a limit on its header fields (their number or one's
    /// length), which ``SIPParseOptions/forServerResponses()`` lifts.
    public var isSizeLimitOfHeaders: Bool {
        switch self {
        case .tooManyHeaders, .headerTooLong: true
        default: false
        }
    }
}

/// Limits and transport-dependent behaviour of the parser.
public struct SIPParseOptions: Sendable, Hashable {
    /// Largest accepted message, start line to end of body (default 65,535).
    public var maxMessageSize: Int
    /// Most header fields accepted (default 256).
    public var maxHeaderCount: Int
    /// Longest accepted header field, name through last continuation line (default 16 KiB).
    public var maxHeaderFieldLength: Int
    /// Stream transports (TCP/TLS) require Content-Length (RFC 3261 §18.3); datagrams do
    /// not (the body then runs to the end of the datagram).
    public var requireContentLength: Bool
    /// Accept what a tolerant SIP server would still process, recording the first
    /// violation of the grammar in ``SIPMessage/deviation`` instead of throwing: header
    /// values that do not match their grammar (an unbracketed IPv6 address in Via, a badly
    /// escaped display name, …; the fields the message needs are then found by a plain
    /// scan), a Request-URI with bad escapes or `?headers`, a repeated single-valued header
    /// (the first is used), a CSeq method that differs from the request's, a bad or too
    /// large Content-Length (the body is what is there), a missing final empty line. Still
    /// rejected: anything that makes the message unusable for any server — a start line
    /// that is not one, header lines without a name and colon, a missing Via, From, To,
    /// Call-ID or CSeq (or a CSeq without number and method), the size limits.
    public var lenient: Bool

    public init(
        maxMessageSize: Int = 65_535,
        maxHeaderCount: Int = 256,
        maxHeaderFieldLength: Int = 16_384,
        requireContentLength: Bool = false,
        lenient: Bool = false
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderFieldLength = maxHeaderFieldLength
        self.requireContentLength = requireContentLength
        self.lenient = lenient
    }

    /// Defaults for a UDP datagram.
    public static let datagram = SIPParseOptions()
    /// Defaults for a message framed from a stream (Content-Length required).
    public static let stream = SIPParseOptions(requireContentLength: true)

    /// These options with no limit on the number or length of header fields beyond what
    /// ``maxMessageSize`` allows: for the SIP server's own responses. A registrar's 200 to a
    /// REGISTER lists every binding of the address of record (as many Contact fields, or
    /// one comma-separated Contact field), so hundreds of bindings, tens of kilobytes, are
    /// legitimate there (phones behind one NAT address registering one account from many
    /// ports); and a response that cannot be read cannot end the transaction it answers.
    public func forServerResponses() -> SIPParseOptions {
        var options = self
        options.maxHeaderCount = max(maxHeaderCount, maxMessageSize / 4 + 1)
        options.maxHeaderFieldLength = max(maxHeaderFieldLength, maxMessageSize)
        return options
    }
}
