// SPDX-License-Identifier: GPL-2.0-or-later

private let carriageReturn: UInt8 = 0x0d
private let lineFeed: UInt8 = 0x0a
private let space: UInt8 = 0x20

/// The single-pass parser behind ``SIPMessage/init(parsing:options:)-(UnsafeRawBufferPointer,_)``.
/// Frames the start line and header fields, validates the headers it knows as they are
/// found, then checks the cross-header rules and the body length.
struct MessageParser {
    let s: ByteScanner
    let options: SIPParseOptions

    // Results gathered while scanning headers (internal: the lenient fallbacks in
    // LenientScan.swift fill them too).
    private var seen: UInt64 = 0
    var cseqNumber: UInt32 = 0
    var cseqMethod = SIPRange.empty
    var callID = SIPRange.empty
    var topVia: SIPViaInfo?
    /// Where the value of the Via header that set `topVia` starts.
    var topViaValueStart = -1
    var viaCount = 0
    var from: SIPAddressInfo?
    var to: SIPAddressInfo?
    private var contact: SIPAddressInfo?
    private var contactIsWildcard = false
    private var contentLength: Int?
    private var maxForwards: Int?
    private var expires: UInt32?
    private var userAgent: SIPRange?
    var credentials: SIPCredentialsInfo?
    /// The first grammar violation tolerated in lenient mode.
    private var deviation: SIPParseError?

    init(p: UnsafePointer<UInt8>, n: Int, options: SIPParseOptions) {
        s = ByteScanner(p: p, n: n)
        self.options = options
    }

    private static func bit(_ name: SIPHeaderName) -> UInt64 { 1 << UInt64(name.rawValue) }

    /// In lenient mode, records `error` as the message's first deviation; otherwise throws it.
    private mutating func tolerate(_ error: SIPParseError) throws(SIPParseError) {
        guard options.lenient else { throw error }
        if deviation == nil { deviation = error }
    }

    /// Headers that RFC 3261 §20 defines as single-valued and that the detector relies on.
    private static let singleValued: UInt64 =
        bit(.callID) | bit(.cseq) | bit(.from) | bit(.to) | bit(.maxForwards)
        | bit(.contentLength) | bit(.contentType) | bit(.expires)

    mutating func parse() throws(SIPParseError) -> SIPMessage {
        let p = s.p
        let n = s.n
        var i = 0
        // RFC 3261 §7.5: CRLFs before the start line are ignored.
        while i < n, p[i] == carriageReturn || p[i] == lineFeed { i &+= 1 }
        guard i < n else { throw .empty }

        // MARK: Start line
        let lineStart = i
        var lf = i
        while lf < n, p[lf] != lineFeed { lf &+= 1 }
        guard lf < n else { throw .badStartLine }
        var lineEnd = lf
        if lineEnd > lineStart, p[lineEnd &- 1] == carriageReturn { lineEnd &-= 1 }
        guard lineEnd &- lineStart <= options.maxHeaderFieldLength else {
            throw .headerTooLong(limit: options.maxHeaderFieldLength)
        }
        var kind: SIPMessage.Kind
        var methodRange = SIPRange.empty
        var uriRange = SIPRange.empty
        var reasonRange = SIPRange.empty
        if lineEnd &- lineStart >= 4, s.equalsIgnoringCase(lineStart, lineStart &+ 4, "SIP/") {
            // Status-Line = SIP-Version space Status-Code space Reason-Phrase CRLF
            var sp1 = lineStart
            while sp1 < lineEnd, p[sp1] != space { sp1 &+= 1 }
            guard sp1 < lineEnd else { throw .badStartLine }
            guard s.equalsIgnoringCase(lineStart, sp1, "SIP/2.0") else { throw .badVersion }
            let cs = sp1 &+ 1
            var ce = cs
            while ce < lineEnd, p[ce] != space { ce &+= 1 }
            var k = cs
            while k < ce {
                guard CharClass.isDigit(p[k]) else { throw .badStatusCode }
                k &+= 1
            }
            let digits = ce &- cs
            guard digits >= 3 else { throw .badStatusCode }
            guard digits == 3 else { throw .bigStatusCode }
            let code = Int(p[cs] &- 0x30) * 100 + Int(p[cs &+ 1] &- 0x30) * 10 + Int(p[cs &+ 2] &- 0x30)
            guard (100...699).contains(code) else { throw .bigStatusCode }
            // The space before an empty reason phrase is required by the grammar; a status
            // line that ends right after the code is accepted (nothing is ambiguous).
            if ce < lineEnd {
                var r = ce &+ 1
                while r < lineEnd {
                    let c = p[r]
                    if c < 0x20 && c != 0x09 || c == 0x7f { throw .badReasonPhrase }
                    r &+= 1
                }
                reasonRange = SIPRange(ce &+ 1, lineEnd)
            }
            kind = .response(statusCode: code)
        } else {
            // Request-Line = Method space Request-URI space SIP-Version CRLF: exactly two SPs.
            var sp1 = lineStart
            while sp1 < lineEnd, p[sp1] != space { sp1 &+= 1 }
            guard sp1 < lineEnd, sp1 > lineStart else { throw .badStartLine }
            var sp2 = sp1 &+ 1
            while sp2 < lineEnd, p[sp2] != space { sp2 &+= 1 }
            guard sp2 < lineEnd, sp2 > sp1 &+ 1, sp2 &+ 1 < lineEnd else { throw .badStartLine }
            var k = sp2 &+ 1
            while k < lineEnd {
                guard p[k] != space else { throw .badStartLine }
                k &+= 1
            }
            guard s.tokenEnd(lineStart, sp1) == sp1 else { throw .badMethod }
            if !s.equalsIgnoringCase(sp2 &+ 1, lineEnd, "SIP/2.0") {
                if lineEnd &- sp2 > 4, s.equalsIgnoringCase(sp2 &+ 1, sp2 &+ 5, "SIP/") { throw .badVersion }
                throw .badStartLine
            }
            do throws(SIPParseError) {
                if try s.validateURI(sp1 &+ 1, sp2, nil) != nil { try tolerate(.headersInRequestURI) }
            } catch {
                try tolerate(error)
            }
            methodRange = SIPRange(lineStart, sp1)
            uriRange = SIPRange(sp1 &+ 1, sp2)
            kind = .request(SIPMethod(bytes: p + lineStart, count: sp1 &- lineStart))
        }
        i = lf &+ 1

        // MARK: Header fields
        var headers: [SIPHeaderField] = []
        headers.reserveCapacity(24)
        var terminated = false
        while i < n {
            let c = p[i]
            if c == lineFeed {
                i &+= 1
                terminated = true
                break
            }
            if c == carriageReturn {
                guard i &+ 1 < n else { break } // a lone carriageReturn at the end: unterminated
                guard p[i &+ 1] == lineFeed else { throw .badHeaderLine }
                i &+= 2
                terminated = true
                break
            }
            // A line starting with white space here continues nothing (RFC 3261 §7.3.1).
            guard !CharClass.isWSP(c) else { throw .badHeaderLine }
            let ns = i
            let ne = s.tokenEnd(i, n)
            guard ne > ns else { throw .badHeaderLine }
            var j = ne
            while j < n, CharClass.isWSP(p[j]) { j &+= 1 }
            guard j < n else { throw .unterminatedHeaderSection }
            guard p[j] == 0x3a else { throw .badHeaderLine }
            j &+= 1
            // Find the end of the field, following folded continuation lines.
            var k = j
            var valueEnd = n
            var fieldEnd = n
            while k < n {
                let b = p[k]
                if b <= carriageReturn {
                    if b == lineFeed {
                        if k &+ 1 < n, CharClass.isWSP(p[k &+ 1]) {
                            k &+= 2
                            continue
                        }
                        valueEnd = k
                        fieldEnd = k &+ 1
                        break
                    }
                    // A carriageReturn is only allowed as part of CRLF.
                    if b == carriageReturn, k &+ 1 < n, p[k &+ 1] != lineFeed { throw .badHeaderLine }
                }
                k &+= 1
            }
            guard fieldEnd &- ns <= options.maxHeaderFieldLength else {
                throw .headerTooLong(limit: options.maxHeaderFieldLength)
            }
            guard headers.count < options.maxHeaderCount else {
                throw .tooManyHeaders(limit: options.maxHeaderCount)
            }
            let vs = s.skipLWS(j, valueEnd)
            let ve = s.trimEnd(vs, valueEnd)
            let name = SIPHeaderName(bytes: p + ns, count: ne &- ns)
            headers.append(SIPHeaderField(name: name, nameRange: SIPRange(ns, ne), valueRange: SIPRange(vs, ve)))
            if name != .other {
                let bit = Self.bit(name)
                if seen & bit != 0, Self.singleValued & bit != 0 {
                    try tolerate(.duplicateHeader(name)) // lenient: the first one counts
                } else {
                    seen |= bit
                    do throws(SIPParseError) {
                        try validate(name, vs, ve)
                    } catch {
                        try tolerate(error)
                        try scanLeniently(name, vs, ve, error)
                    }
                }
            }
            i = fieldEnd
        }
        if !terminated { try tolerate(.unterminatedHeaderSection) }

        // MARK: Cross-header rules
        guard let from else { throw .missingRequiredHeader(.from) }
        guard let to else { throw .missingRequiredHeader(.to) }
        guard seen & Self.bit(.callID) != 0 else { throw .missingRequiredHeader(.callID) }
        guard seen & Self.bit(.cseq) != 0 else { throw .missingRequiredHeader(.cseq) }
        guard let topVia else { throw .missingRequiredHeader(.via) }
        if case .request = kind, !s.equals(methodRange, cseqMethod) { try tolerate(.cseqMethodMismatch) }

        // MARK: Body
        let available = n &- i
        let body: SIPRange
        if let contentLength {
            if contentLength <= available {
                body = SIPRange(i, i &+ contentLength)
            } else {
                try tolerate(.contentLengthMismatch(declared: contentLength, available: available))
                body = SIPRange(i, n)
            }
        } else {
            guard !options.requireContentLength else { throw .missingRequiredHeader(.contentLength) }
            body = SIPRange(i, n)
        }
        return SIPMessage(
            kind: kind, methodRange: methodRange, requestURIRange: uriRange, reasonPhraseRange: reasonRange,
            headers: headers, bodyRange: body, endOffset: body.upperBound, cseqNumber: cseqNumber,
            cseqMethodRange: cseqMethod, callIDRange: callID, topVia: topVia, viaCount: viaCount,
            from: from, to: to, contact: contact, contactIsWildcard: contactIsWildcard,
            contentLength: contentLength, maxForwards: maxForwards, expires: expires,
            userAgentRange: userAgent, credentials: credentials, deviation: deviation
        )
    }

    // MARK: - Per-header grammar

    private mutating func validate(_ name: SIPHeaderName, _ vs: Int, _ ve: Int) throws(SIPParseError) {
        switch name {
        case .via:
            try parseVia(vs, ve)
        case .from:
            var i = vs
            let a = try parseAddress(&i, ve, .from)
            guard i == ve else { throw .badHeaderValue(.from) }
            from = a
        case .to:
            var i = vs
            let a = try parseAddress(&i, ve, .to)
            guard i == ve else { throw .badHeaderValue(.to) }
            to = a
        case .contact:
            try parseContact(vs, ve)
        case .callID:
            try parseCallID(vs, ve)
        case .cseq:
            try parseCSeq(vs, ve)
        case .maxForwards:
            maxForwards = Int(try s.decimal(vs, ve, max: 255, syntax: .badHeaderValue(name), range: .valueOutOfRange(name)))
        case .contentLength:
            contentLength = Int(try s.decimal(vs, ve, max: UInt64(Int32.max), syntax: .badContentLength, range: .valueOutOfRange(name)))
        case .expires:
            expires = UInt32(try s.decimal(vs, ve, max: UInt64(UInt32.max), syntax: .badHeaderValue(name), range: .valueOutOfRange(name)))
        case .contentType:
            try parseMediaType(vs, ve)
        case .date:
            try parseDate(vs, ve)
        case .retryAfter:
            var d = vs
            while d < ve, CharClass.isDigit(s.p[d]) { d &+= 1 }
            _ = try s.decimal(vs, d, max: UInt64(UInt32.max), syntax: .badHeaderValue(name), range: .valueOutOfRange(name))
        case .warning:
            try parseWarning(vs, ve)
        case .authorization, .proxyAuthorization:
            let c = try parseCredentials(name, vs, ve)
            if credentials == nil { credentials = c }
        case .userAgent:
            if userAgent == nil { userAgent = SIPRange(vs, ve) }
        default:
            break
        }
    }

    /// `;` SWS name [SWS "=" SWS (token / host / quoted-string)] starting at the `;`.
    /// Returns the offset after the parameter; stores the value in `captured` when the
    /// name equals `want` (case-insensitively) and the parameter is the first such.
    private func parseParam(
        _ i: Int, _ ve: Int, _ h: SIPHeaderName, want: StaticString, captured: inout SIPRange?
    ) throws(SIPParseError) -> Int {
        let p = s.p
        let ns = s.skipLWS(i &+ 1, ve)
        let ne = s.tokenEnd(ns, ve)
        guard ne > ns else { throw .badHeaderValue(h) }
        var k = s.skipLWS(ne, ve)
        var value = SIPRange(ne, ne)
        if k < ve, p[k] == 0x3d {
            k = s.skipLWS(k &+ 1, ve)
            guard k < ve else { throw .badHeaderValue(h) }
            if p[k] == 0x22 {
                let q = try s.quotedStringEnd(k, ve, h)
                value = SIPRange(k, q)
                k = q
            } else {
                let start = k
                while k < ve, CharClass.contains(CharClass.paramValue, p[k]) { k &+= 1 }
                guard k > start else { throw .badHeaderValue(h) }
                value = SIPRange(start, k)
            }
        } else {
            k = ne
        }
        if captured == nil, s.equalsIgnoringCase(ns, ne, want) { captured = value }
        return k
    }

    /// via-parm *(COMMA via-parm); records the first value of the first Via header.
    private mutating func parseVia(_ vs: Int, _ ve: Int) throws(SIPParseError) {
        let p = s.p
        let bad = SIPParseError.badHeaderValue(.via)
        var i = vs
        while true {
            // sent-protocol = protocol-name SLASH protocol-version SLASH transport
            var e = s.tokenEnd(i, ve)
            guard e > i else { throw bad }
            i = s.skipLWS(e, ve)
            guard i < ve, p[i] == 0x2f else { throw bad }
            i = s.skipLWS(i &+ 1, ve)
            e = s.tokenEnd(i, ve)
            guard e > i else { throw bad }
            i = s.skipLWS(e, ve)
            guard i < ve, p[i] == 0x2f else { throw bad }
            i = s.skipLWS(i &+ 1, ve)
            e = s.tokenEnd(i, ve)
            guard e > i else { throw bad }
            let transport = SIPRange(i, e)
            i = s.skipLWS(e, ve)
            guard i > e, i < ve else { throw bad }
            // sent-by = host [COLON port]
            let hs = i
            if p[i] == 0x5b {
                i &+= 1
                while i < ve, CharClass.isHex(p[i]) || p[i] == 0x3a || p[i] == 0x2e { i &+= 1 }
                guard i < ve, p[i] == 0x5d, i > hs &+ 1 else { throw bad }
                i &+= 1
            } else {
                while i < ve {
                    let c = p[i]
                    guard CharClass.isAlpha(c) || CharClass.isDigit(c) || c == 0x2d || c == 0x2e || c == 0x5f else { break }
                    i &+= 1
                }
                guard i > hs else { throw bad }
            }
            let host = SIPRange(hs, i)
            var sentByEnd = i
            var port: UInt16?
            var k = s.skipLWS(i, ve)
            if k < ve, p[k] == 0x3a {
                k = s.skipLWS(k &+ 1, ve)
                let ps = k
                while k < ve, CharClass.isDigit(p[k]) { k &+= 1 }
                port = UInt16(try s.decimal(ps, k, max: 65535, syntax: bad, range: .valueOutOfRange(.via)))
                sentByEnd = k
            }
            i = s.skipLWS(sentByEnd, ve)
            var branch: SIPRange?
            while i < ve, p[i] == 0x3b {
                i = try parseParam(i, ve, .via, want: "branch", captured: &branch)
                i = s.skipLWS(i, ve)
            }
            viaCount &+= 1
            if topVia == nil {
                topVia = SIPViaInfo(transport: transport, host: host, port: port, sentBy: SIPRange(hs, sentByEnd), branch: branch)
                topViaValueStart = vs
            }
            if i == ve { return }
            guard p[i] == 0x2c else { throw bad }
            i = s.skipLWS(i &+ 1, ve)
            guard i < ve else { throw bad }
        }
    }

    /// (name-addr / addr-spec) *(SEMI param), stopping before a `,` or at the end.
    private func parseAddress(_ i: inout Int, _ ve: Int, _ h: SIPHeaderName) throws(SIPParseError) -> SIPAddressInfo {
        let p = s.p
        let bad = SIPParseError.badHeaderValue(h)
        var k = s.skipLWS(i, ve)
        guard k < ve else { throw bad }
        var display: SIPRange?
        let uri: SIPRange

        func angle(_ k: inout Int) throws(SIPParseError) -> SIPRange {
            // name-addr: no white space is allowed inside < > (RFC 4475 §3.1.2.14).
            let us = k &+ 1
            var e = us
            while e < ve, p[e] != 0x3e { e &+= 1 }
            guard e < ve else { throw bad }
            _ = try s.validateURI(us, e, h)
            k = e &+ 1
            return SIPRange(us, e)
        }

        let c = p[k]
        if c == 0x22 {
            let q = try s.quotedStringEnd(k, ve, h)
            display = SIPRange(k, q)
            k = s.skipLWS(q, ve)
            guard k < ve, p[k] == 0x3c else { throw bad }
            uri = try angle(&k)
        } else if c == 0x3c {
            uri = try angle(&k)
        } else {
            let ts = k
            let te = s.tokenEnd(k, ve)
            guard te > ts else { throw bad }
            if te < ve, p[te] == 0x3a {
                // addr-spec: must not contain ";", "," or "?" (RFC 3261 §20), so those
                // end it or (for "?") make the value malformed (RFC 4475 §3.1.2.13).
                var e = te &+ 1
                while e < ve {
                    let d = p[e]
                    if CharClass.isLWS(d) || d == 0x3b || d == 0x2c { break }
                    if d == 0x3f { throw bad }
                    e &+= 1
                }
                _ = try s.validateURI(ts, e, h)
                uri = SIPRange(ts, e)
                k = e
            } else {
                // display-name = *(token LWS): a run of tokens, then "<".
                var lastEnd = te
                k = te
                while true {
                    k = s.skipLWS(k, ve)
                    guard k < ve else { throw bad }
                    if p[k] == 0x3c { break }
                    let e = s.tokenEnd(k, ve)
                    guard e > k else { throw bad }
                    lastEnd = e
                    k = e
                }
                display = SIPRange(ts, lastEnd)
                uri = try angle(&k)
            }
        }
        var tag: SIPRange?
        k = s.skipLWS(k, ve)
        while k < ve, p[k] == 0x3b {
            k = try parseParam(k, ve, h, want: "tag", captured: &tag)
            k = s.skipLWS(k, ve)
        }
        i = k
        return SIPAddressInfo(displayName: display, uri: uri, tag: tag)
    }

    private mutating func parseContact(_ vs: Int, _ ve: Int) throws(SIPParseError) {
        let p = s.p
        if ve &- vs == 1, p[vs] == 0x2a {
            contactIsWildcard = true
            return
        }
        var i = vs
        while true {
            let a = try parseAddress(&i, ve, .contact)
            if contact == nil { contact = a }
            if i == ve { return }
            guard p[i] == 0x2c else { throw .badHeaderValue(.contact) }
            i &+= 1
        }
    }

    /// callid = word ["@" word] (RFC 3261 §25.1).
    private mutating func parseCallID(_ vs: Int, _ ve: Int) throws(SIPParseError) {
        let p = s.p
        guard vs < ve else { throw .badHeaderValue(.callID) }
        var at = -1
        var i = vs
        while i < ve {
            let c = p[i]
            if c == 0x40 {
                guard at < 0, i > vs, i &+ 1 < ve else { throw .badHeaderValue(.callID) }
                at = i
            } else if !CharClass.contains(CharClass.word, c) {
                throw .badHeaderValue(.callID)
            }
            i &+= 1
        }
        callID = SIPRange(vs, ve)
    }

    /// CSeq = 1*DIGIT LWS Method, the number at most 2^32-1 (RFC 3261 §8.1.1.5).
    private mutating func parseCSeq(_ vs: Int, _ ve: Int) throws(SIPParseError) {
        let p = s.p
        var d = vs
        while d < ve, CharClass.isDigit(p[d]) { d &+= 1 }
        let number = try s.decimal(vs, d, max: UInt64(UInt32.max), syntax: .badHeaderValue(.cseq), range: .valueOutOfRange(.cseq))
        let ms = s.skipLWS(d, ve)
        let me = s.tokenEnd(ms, ve)
        guard ms > d, me > ms, me == ve else { throw .badHeaderValue(.cseq) }
        cseqNumber = UInt32(number)
        cseqMethod = SIPRange(ms, me)
    }

    /// media-type = m-type SLASH m-subtype *(SEMI m-parameter).
    private func parseMediaType(_ vs: Int, _ ve: Int) throws(SIPParseError) {
        let p = s.p
        let bad = SIPParseError.badHeaderValue(.contentType)
        var e = s.tokenEnd(vs, ve)
        guard e > vs else { throw bad }
        var i = s.skipLWS(e, ve)
        guard i < ve, p[i] == 0x2f else { throw bad }
        i = s.skipLWS(i &+ 1, ve)
        e = s.tokenEnd(i, ve)
        guard e > i else { throw bad }
        i = s.skipLWS(e, ve)
        var unused: SIPRange?
        while i < ve, p[i] == 0x3b {
            i = try parseParam(i, ve, .contentType, want: "", captured: &unused)
            i = s.skipLWS(i, ve)
        }
        guard i == ve else { throw bad }
    }

    /// rfc1123-date = wkday "," space 2DIGIT space month space 4DIGIT space 2DIGIT ":" 2DIGIT ":" 2DIGIT space "GMT"
    /// (RFC 3261 §20.17: only GMT is allowed; RFC 4475 §3.1.2.12).
    private func parseDate(_ vs: Int, _ ve: Int) throws(SIPParseError) {
        let bad = SIPParseError.badHeaderValue(.date)
        guard ve &- vs == 29 else { throw bad }
        let p = s.p
        func isAny(_ at: Int, _ list: [StaticString]) -> Bool {
            list.contains { s.equalsIgnoringCase(at, at &+ 3, $0) }
        }
        func digits(_ at: Int, _ count: Int) -> Bool {
            (0..<count).allSatisfy { CharClass.isDigit(p[at &+ $0]) }
        }
        guard isAny(vs, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
            p[vs &+ 3] == 0x2c, p[vs &+ 4] == space, digits(vs &+ 5, 2), p[vs &+ 7] == space,
            isAny(vs &+ 8, ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]),
            p[vs &+ 11] == space, digits(vs &+ 12, 4), p[vs &+ 16] == space,
            digits(vs &+ 17, 2), p[vs &+ 19] == 0x3a, digits(vs &+ 20, 2), p[vs &+ 22] == 0x3a,
            digits(vs &+ 23, 2), p[vs &+ 25] == space, s.equalsIgnoringCase(vs &+ 26, ve, "GMT")
        else { throw bad }
    }

    /// Warning = warning-value *(COMMA warning-value);
    /// warning-value = warn-code space warn-agent space warn-text, warn-code = 3DIGIT.
    private func parseWarning(_ vs: Int, _ ve: Int) throws(SIPParseError) {
        let p = s.p
        let bad = SIPParseError.badHeaderValue(.warning)
        var i = vs
        while true {
            let ds = i
            while i < ve, CharClass.isDigit(p[i]) { i &+= 1 }
            if i &- ds > 3 { throw .valueOutOfRange(.warning) }
            guard i &- ds == 3, i < ve, p[i] == space else { throw bad }
            i &+= 1
            let agent = i
            while i < ve, p[i] > space, p[i] != 0x7f { i &+= 1 }
            guard i > agent, i < ve, p[i] == space, i &+ 1 < ve, p[i &+ 1] == 0x22 else { throw bad }
            i = try s.quotedStringEnd(i &+ 1, ve, .warning)
            i = s.skipLWS(i, ve)
            if i == ve { return }
            guard p[i] == 0x2c else { throw bad }
            i = s.skipLWS(i &+ 1, ve)
        }
    }

    /// credentials = auth-scheme LWS auth-param *(COMMA auth-param) (RFC 3261 §25.1), or
    /// auth-scheme LWS token68 (RFC 7235) for schemes such as Basic.
    private func parseCredentials(_ h: SIPHeaderName, _ vs: Int, _ ve: Int) throws(SIPParseError) -> SIPCredentialsInfo {
        let p = s.p
        let bad = SIPParseError.badHeaderValue(h)
        let se = s.tokenEnd(vs, ve)
        guard se > vs else { throw bad }
        let ps = s.skipLWS(se, ve)
        guard ps > se, ps < ve else { throw bad }
        var username: SIPRange?
        var i = ps
        var paramsOK = true
        params: while true {
            let ne = s.tokenEnd(i, ve)
            guard ne > i else {
                paramsOK = false
                break
            }
            let name = SIPRange(i, ne)
            var k = s.skipLWS(ne, ve)
            guard k < ve, p[k] == 0x3d else {
                paramsOK = false
                break
            }
            k = s.skipLWS(k &+ 1, ve)
            guard k < ve else {
                paramsOK = false
                break
            }
            let value: SIPRange
            if p[k] == 0x22 {
                let q = try s.quotedStringEnd(k, ve, h)
                value = SIPRange(k, q)
                k = q
            } else {
                let start = k
                while k < ve, CharClass.contains(CharClass.paramValue, p[k]) { k &+= 1 }
                guard k > start else {
                    paramsOK = false
                    break
                }
                value = SIPRange(start, k)
            }
            if username == nil, s.equalsIgnoringCase(name.lowerBound, name.upperBound, "username") {
                username = value
            }
            k = s.skipLWS(k, ve)
            if k == ve { break params }
            guard p[k] == 0x2c else {
                paramsOK = false
                break
            }
            i = s.skipLWS(k &+ 1, ve)
        }
        if !paramsOK {
            // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
            username = nil
            var k = ps
            while k < ve {
                let c = p[k]
                guard
                    CharClass.isAlpha(c) || CharClass.isDigit(c) || c == 0x2d || c == 0x2e || c == 0x5f
                        || c == 0x7e || c == 0x2b || c == 0x2f
                else { break }
                k &+= 1
            }
            guard k > ps else { throw bad }
            while k < ve, p[k] == 0x3d { k &+= 1 }
            guard k == ve else { throw bad }
        }
        return SIPCredentialsInfo(header: h, scheme: SIPRange(vs, se), username: username)
    }
}
