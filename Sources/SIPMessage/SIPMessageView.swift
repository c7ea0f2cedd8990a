// SPDX-License-Identifier: GPL-2.0-or-later

/// A ``SIPMessage`` paired with the bytes it was parsed from, producing text lazily.
///
/// The view does not own the bytes: it is only valid while they are (typically inside
/// the `withUnsafeBytes` closure that parsed them), which is why it is not `Sendable`.
/// Every accessor allocates only the `String` it returns; none of them can trap, even
/// if the view is (wrongly) built from a different buffer — ranges are clamped.
public struct SIPMessageView {
    /// The parsed layout.
    public let message: SIPMessage
    /// The bytes `message` was parsed from.
    public let bytes: UnsafeRawBufferPointer

    /// Pairs a parsed message with the buffer it was parsed from.
    public init(message: SIPMessage, bytes: UnsafeRawBufferPointer) {
        self.message = message
        self.bytes = bytes
    }

    /// Parses `bytes` and returns the view over them.
    public init(parsing bytes: UnsafeRawBufferPointer, options: SIPParseOptions = .datagram) throws(SIPParseError) {
        message = try SIPMessage(parsing: bytes, options: options)
        self.bytes = bytes
    }

    // MARK: Raw access

    /// The bytes of `range` (clamped to the buffer).
    public func slice(_ range: SIPRange) -> UnsafeRawBufferPointer {
        let lower = min(max(range.lowerBound, 0), bytes.count)
        let upper = min(max(range.upperBound, lower), bytes.count)
        return UnsafeRawBufferPointer(rebasing: bytes[lower..<upper])
    }

    /// The text of `range` as written, except that folded line breaks (CRLF followed by
    /// white space) and the white space around them become one SP. Invalid UTF-8 is
    /// repaired with U+FFFD.
    public func string(_ range: SIPRange) -> String {
        let raw = slice(range)
        guard raw.contains(where: { $0 == 0x0d || $0 == 0x0a }) else {
            return String(decoding: raw, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let c = raw[i]
            if c == 0x0d || c == 0x0a {
                while let last = out.last, last == 0x20 || last == 0x09 { out.removeLast() }
                while i < raw.count, CharClass.isLWS(raw[i]) { i += 1 }
                out.append(0x20)
                continue
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of `range` with one level of DQUOTE quoting removed and quoted-pairs
    /// unescaped when it is a quoted string; otherwise the same as ``string(_:)``.
    public func unquotedString(_ range: SIPRange) -> String {
        let raw = slice(range)
        guard raw.count >= 2, raw[0] == 0x22, raw[raw.count - 1] == 0x22 else { return string(range) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 1
        while i < raw.count - 1 {
            var c = raw[i]
            if c == 0x5c, i + 1 < raw.count - 1 {
                i += 1
                c = raw[i]
            } else if c == 0x0d || c == 0x0a {
                i += 1
                continue
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of `range` with `%HH` escapes decoded (RFC 3261 §19.1.4), as text.
    public func percentDecodedString(_ range: SIPRange) -> String {
        let raw = slice(range)
        guard raw.contains(0x25) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let c = raw[i]
            if c == 0x25, i + 2 < raw.count, CharClass.isHex(raw[i + 1]), CharClass.isHex(raw[i + 2]) {
                out.append(CharClass.hexValue(raw[i + 1]) << 4 | CharClass.hexValue(raw[i + 2]))
                i += 3
            } else {
                out.append(c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Start line

    /// The request method token (extension methods included); nil for responses.
    public var method: String? { message.isRequest ? string(message.methodRange) : nil }
    /// The Request-URI; nil for responses.
    public var requestURI: String? { message.isRequest ? string(message.requestURIRange) : nil }
    /// The parts of the Request-URI; nil for responses.
    public var requestURIParts: SIPURIParts? { message.isRequest ? SIPURIParts(message.requestURIRange, in: bytes) : nil }
    /// The status code; nil for requests.
    public var statusCode: Int? { message.statusCode }
    /// The reason phrase (possibly empty); nil for requests.
    public var reasonPhrase: String? { message.isRequest ? nil : string(message.reasonPhraseRange) }

    // MARK: Headers the detector correlates on

    /// The Call-ID.
    public var callID: String { string(message.callIDRange) }
    /// CSeq sequence number and method.
    public var cseq: (number: UInt32, method: String) { (message.cseqNumber, string(message.cseqMethodRange)) }
    /// The `branch` parameter of the top-most Via, if present.
    public var topViaBranch: String? { message.topVia.branch.map { unquotedString($0) } }
    /// The sent-by (host[:port]) of the top-most Via, as written.
    public var topViaSentBy: String { string(message.topVia.sentBy) }
    /// The host of the top-most Via sent-by.
    public var topViaHost: String { string(message.topVia.host) }
    /// The transport of the top-most Via (`UDP`, `TCP`, ...).
    public var topViaTransport: String { string(message.topVia.transport) }
    /// The From URI.
    public var fromURI: String { string(message.from.uri) }
    /// The user part of the From URI, percent-decoded (nil if the URI has none).
    public var fromUser: String? { userPart(message.from.uri) }
    /// The From tag, if present.
    public var fromTag: String? { message.from.tag.map { unquotedString($0) } }
    /// The From display name, unquoted, if present.
    public var fromDisplayName: String? { message.from.displayName.map { unquotedString($0) } }
    /// The To URI.
    public var toURI: String { string(message.to.uri) }
    /// The user part of the To URI, percent-decoded (nil if the URI has none).
    public var toUser: String? { userPart(message.to.uri) }
    /// The To tag, if present.
    public var toTag: String? { message.to.tag.map { unquotedString($0) } }
    /// The URI of the first Contact value (nil when absent or `*`).
    public var contactURI: String? { message.contact.map { string($0.uri) } }
    /// The User-Agent value, if present.
    public var userAgent: String? { message.userAgentRange.map { string($0) } }
    /// The `username` parameter of the first Authorization / Proxy-Authorization header,
    /// unquoted (nil when there is no such header or parameter).
    public var authorizationUsername: String? { message.credentials?.username.map { unquotedString($0) } }
    /// The scheme of the first Authorization / Proxy-Authorization header (`Digest`, ...).
    public var authorizationScheme: String? { message.credentials.map { string($0.scheme) } }
    /// The message body bytes.
    public var body: UnsafeRawBufferPointer { slice(message.bodyRange) }

    /// The values of every header with this recognised name, in order (folding collapsed).
    public func values(of name: SIPHeaderName) -> [String] {
        message.headers.lazy.filter { $0.name == name }.map { string($0.valueRange) }
    }

    /// The values of every header whose name equals `name` case-insensitively (long
    /// or compact forms of recognised headers match each other).
    public func values(named name: String) -> [String] {
        let wanted = SIPHeaderName(name)
        if wanted != .other { return values(of: wanted) }
        let lowered = Array(name.utf8.map(CharClass.lower))
        return message.headers.lazy.filter { field in
            guard field.name == .other else { return false }
            let n = slice(field.nameRange)
            return n.count == lowered.count && zip(n, lowered).allSatisfy { CharClass.lower($0) == $1 }
        }.map { string($0.valueRange) }
    }

    private func userPart(_ uri: SIPRange) -> String? {
        guard let parts = SIPURIParts(uri, in: bytes), let user = parts.user else { return nil }
        return percentDecodedString(user)
    }
}

extension SIPMessage {
    /// Runs `body` with a view pairing this message with `bytes` (the buffer it was
    /// parsed from).
    public func withView<R, E: Error>(
        over bytes: UnsafeRawBufferPointer, _ body: (SIPMessageView) throws(E) -> R
    ) throws(E) -> R {
        try body(SIPMessageView(message: self, bytes: bytes))
    }
}
