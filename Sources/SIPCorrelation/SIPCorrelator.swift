// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
public import PacketDecoding
import SIPMessage
public import WardenCore

/// Turns SIP seen on the wire into the same ``SecurityEvent``s the log dialects produce,
/// by matching responses to requests (RFC 3261 §17.1.3) and by looking at requests
/// alone (attack-tool signatures, request rate, malformed messages).
///
/// Pure and deterministic: no I/O, no clock (time is the payloads' timestamps), and the
/// same payloads in the same order always give the same events. Every table is bounded
/// (see ``CorrelatorConfiguration``), so traffic from spoofed sources, transactions that
/// never complete and half-open TCP streams cannot grow memory without bound. The address
/// an event blames is always the IP header's source of the client's packets, never Via,
/// Contact or From. See docs/WIRE-DETECTION.md for the rules.
public struct SIPCorrelator {
    /// The settings this correlator was created with.
    public let configuration: CorrelatorConfiguration
    /// Counters since creation.
    public private(set) var statistics = CorrelatorStatistics()

    private var portBitmap: [UInt64]
    private let patterns: [ScannerSignatures.Pattern]
    private let timeoutMicros: Int64
    private let inviteTimeoutMicros: Int64
    private let floodWindowMicros: Int64
    private let outcomeTimeoutMicros: Int64
    private let scannerIntervalMicros: Int64
    private let parseOptions: SIPParseOptions
    private let streamOptions: SIPParseOptions

    private var transactions: TransactionTable
    private var sources: GenerationalMap<IPAddress, SourceState>
    private var inferredServers: GenerationalMap<IPAddress, Bool>
    /// Exchanges in which a credentialed request was accepted (completing any challenge in them).
    private var completedExchanges: GenerationalMap<ExchangeKey, Bool>
    private var flows: GenerationalMap<FlowKey, TCPFlow>
    private var bufferedTCPBytes = 0

    /// Per-source counters for flood (unproductive requests) and scanner-event suppression.
    struct SourceState {
        var windowStart: Int64 = .min
        var count: Int = 0
        var lastScannerEvent: Int64 = .min
    }

    /// Framing state of one direction of a TCP connection.
    struct TCPFlow {
        /// Nil until the first message start is seen (capture may begin mid-stream).
        var framer: SIPStreamFramer?
        /// The stream can no longer be framed (error, or not SIP at all: TLS): ignored.
        var dead = false
        /// Bytes buffered by `framer`, as accounted in `bufferedTCPBytes`.
        var buffered = 0
    }

    /// Creates a correlator with empty tables.
    public init(configuration: CorrelatorConfiguration = CorrelatorConfiguration()) {
        self.configuration = configuration
        var bitmap = [UInt64](repeating: 0, count: 1024)
        for port in configuration.sipPorts { bitmap[Int(port >> 6)] |= 1 << UInt64(port & 63) }
        portBitmap = bitmap
        patterns = ScannerSignatures.compile(configuration.scannerUserAgents)
        timeoutMicros = max(1, configuration.transactionTimeout.microsecondsClamped)
        inviteTimeoutMicros = max(1, configuration.inviteTransactionTimeout.microsecondsClamped)
        floodWindowMicros = max(1, configuration.floodWindow.microsecondsClamped)
        outcomeTimeoutMicros = max(1, configuration.floodOutcomeTimeout.microsecondsClamped)
        scannerIntervalMicros = max(0, configuration.scannerEventInterval.microsecondsClamped)
        let size = min(max(configuration.maxMessageSize, 64), 1 << 20)
        // Lenient: a message the strict grammar rejects but a tolerant server would process
        // is followed like any other, and malformed only if the server answers that it is.
        parseOptions = SIPParseOptions(maxMessageSize: size, lenient: true)
        streamOptions = SIPParseOptions(maxMessageSize: size, requireContentLength: true, lenient: true)
        transactions = TransactionTable(capacity: configuration.maxOpenTransactions)
        sources = GenerationalMap(capacity: max(2, configuration.maxTrackedSources))
        inferredServers = GenerationalMap(capacity: max(2, configuration.maxInferredServers))
        completedExchanges = GenerationalMap(capacity: max(2, configuration.maxOpenTransactions))
        flows = GenerationalMap(capacity: max(2, configuration.maxTCPFlows))
    }

    /// Entries held right now, for tests and monitoring: open transactions, tracked
    /// sources, TCP flows, and the bytes their framers buffer.
    public var memoryFootprint: (transactions: Int, sources: Int, tcpFlows: Int, tcpBytes: Int) {
        (transactions.count, sources.count, flows.count, bufferedTCPBytes)
    }

    // MARK: Ingest

    /// Looks at one payload and calls `emit` for every event it completes (usually none).
    ///
    /// - Parameters:
    ///   - payload: a UDP datagram, or the next in-order bytes of one direction of a TCP
    ///     connection (framed here, per flow).
    ///   - sensor: names where the payload came from: the capture file for
    ///     `PayloadOrigin.frame` (events then carry `.frame(file: sensor, number:)`), else
    ///     the interface or listener (events carry `.wire(sensor:)`).
    ///   - emit: receives each event, synchronously.
    public mutating func ingest(_ payload: WirePayload, sensor: String, emit: (SecurityEvent) -> Void) {
        statistics.payloads += 1
        let now = payload.time.microseconds
        expireTransactions(now: now, sensor: sensor, emit)
        let flow = payload.flow
        guard isSIPPort(flow.sourcePort) || isSIPPort(flow.destinationPort) else {
            statistics.ignoredPayloads += 1
            return
        }
        let context = Context(payload: payload, sensor: sensor)
        switch flow.transport {
        case .udp:
            payload.bytes.withUnsafeBytes { raw in
                guard let start = Self.messageStart(raw), Self.claimsSIP(raw, at: start) else {
                    statistics.ignoredPayloads += 1
                    return
                }
                handleMessage(UnsafeRawBufferPointer(rebasing: raw[start...]), options: parseOptions, context, emit)
            }
        case .tcp:
            ingestStream(context, emit)
        default:
            // TLS and secure WebSocket are encrypted; plain WebSocket and SCTP framing are
            // not decoded by this correlator.
            statistics.ignoredPayloads += 1
        }
    }

    /// Convenience: returns the events of one payload as an array.
    public mutating func ingest(_ payload: WirePayload, sensor: String) -> [SecurityEvent] {
        var out: [SecurityEvent] = []
        ingest(payload, sensor: sensor) { out.append($0) }
        return out
    }

    /// Handles one output of `PacketDecoder`: payloads are ingested; a stream gap or close
    /// drops the flow's partial message (after a gap the stream is picked up again at the
    /// next message start).
    public mutating func ingest(_ output: DecodedOutput, sensor: String, emit: (SecurityEvent) -> Void) {
        switch output {
        case .payload(let payload):
            ingest(payload, sensor: sensor, emit: emit)
        case .streamGap(let flow, _, _), .streamClosed(let flow, _, _):
            resetStream(flow)
        }
    }

    /// Drops the framing state of one TCP direction (bytes lost, or connection closed).
    public mutating func resetStream(_ flow: FlowKey) {
        if let state = flows.take(flow) { bufferedTCPBytes -= state.buffered }
    }

    /// Judges the requests whose outcome timeout has passed at `now` (a payload clock
    /// value) for the flood rule, which can emit `flood` events, then forgets transactions
    /// older than the transaction timeout. ``ingest(_:sensor:emit:)`` does this by itself
    /// with each payload's time; call this when no traffic arrives for a while, and at the
    /// end of a capture file with its last time plus ``CorrelatorConfiguration/floodOutcomeTimeout``.
    public mutating func expire(now: Timestamp, sensor: String, emit: (SecurityEvent) -> Void) {
        expireTransactions(now: now.microseconds, sensor: sensor, emit)
    }

    private mutating func expireTransactions(now: Int64, sensor: String, _ emit: (SecurityEvent) -> Void) {
        judgeOutcomes(now: now, sensor: sensor, emit)
        let (removed, open) = transactions.expire(now: now)
        if removed > 0 {
            statistics.transactionsExpired += open
            statistics.transactionsOpen = transactions.count
        }
    }

    /// What every handler needs to know about the payload being processed.
    private struct Context {
        let payload: WirePayload
        let sensor: String
        var flow: FlowKey { payload.flow }
        var time: Int64 { payload.time.microseconds }
        var origin: EventOrigin {
            if case .frame(let number) = payload.origin { return .frame(file: sensor, number: number) }
            return .wire(sensor: sensor)
        }
    }

    @inline(__always)
    private func isSIPPort(_ port: UInt16) -> Bool {
        portBitmap[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0
    }

    /// Offset of the first byte after leading CR/LF when it could start a SIP message (an
    /// ASCII letter: every method and "SIP/2.0" start with one); nil for keep-alives
    /// (CRLF, NUL bytes), STUN, DTLS and other binary payloads.
    static func messageStart(_ raw: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        while i < raw.count, raw[i] == 0x0d || raw[i] == 0x0a { i += 1 }
        guard i < raw.count, (raw[i] | 0x20) &- 0x61 < 26 else { return nil }
        return i
    }

    /// Whether the line at `start` claims to be a SIP start line: a status line
    /// (`SIP/…`), or a request line whose last word is a `SIP/` version. Anything else on
    /// a SIP port (`hello` and other keep-alives, HTTP, SSDP, junk) is not SIP at all: no
    /// SIP server would answer it, and it is never malformed.
    static func claimsSIP(_ raw: UnsafeRawBufferPointer, at start: Int) -> Bool {
        func isSIPSlash(_ i: Int) -> Bool {
            raw.count - i >= 4 && raw[i] | 0x20 == 0x73 && raw[i + 1] | 0x20 == 0x69 && raw[i + 2] | 0x20 == 0x70 && raw[i + 3] == 0x2f
        }
        if isSIPSlash(start) { return true }
        var end = start
        while end < raw.count, end - start < 8192, raw[end] != 0x0a { end += 1 }
        while end > start, raw[end - 1] == 0x0d || raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
        var word = end
        while word > start, raw[word - 1] != 0x20, raw[word - 1] != 0x09 { word -= 1 }
        return word > start && isSIPSlash(word)
    }

    // MARK: TCP

    private mutating func ingestStream(_ context: Context, _ emit: (SecurityEvent) -> Void) {
        let key = context.flow
        var state = flows.take(key) ?? TCPFlow()
        bufferedTCPBytes -= state.buffered
        defer {
            state.buffered = state.framer?.bufferedByteCount ?? 0
            bufferedTCPBytes += state.buffered
            if let dropped = flows.put(key, state) { forget(dropped) }
            enforceTCPBudget()
        }
        guard !state.dead else {
            statistics.ignoredPayloads += 1
            return
        }
        context.payload.bytes.withUnsafeBytes { raw in
            var offset = 0
            if state.framer == nil {
                guard let start = Self.streamSyncPoint(raw) else {
                    if raw.count >= 3, raw[0] == 0x16, raw[1] == 0x03, raw[2] <= 0x04 {
                        state.dead = true // a TLS handshake on a SIP port
                        statistics.ignoredPayloads += 1
                    } else {
                        statistics.tcpSegmentsSkipped += 1
                    }
                    return
                }
                offset = start
                state.framer = SIPStreamFramer(maxMessageSize: parseOptions.maxMessageSize)
            }
            guard var framer = state.framer else { return }
            state.framer = nil // own the framer uniquely while appending (no copy-on-write)
            var failure: SIPFramingError?
            var rounds = 0
            feed: while offset < raw.count, rounds <= raw.count {
                rounds += 1
                let room = framer.maxBufferedBytes - framer.bufferedByteCount
                let chunk = min(raw.count - offset, room)
                do throws(SIPFramingError) {
                    try framer.append(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + chunk)]))
                    offset += chunk
                    while let message = try framer.nextMessage() {
                        message.withUnsafeBytes { handleMessage($0, options: streamOptions, context, emit) }
                    }
                } catch {
                    failure = error
                    break feed
                }
            }
            if let failure {
                state.dead = true
                streamFailed(failure, context, emit)
            } else {
                state.framer = framer
            }
        }
    }

    /// Where a stream first seen mid-way can be picked up: its start when it begins (after
    /// CR/LF) with a plausible start line, else just after the first CRLF that is
    /// followed by one; nil when neither is in this segment.
    static func streamSyncPoint(_ raw: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        while i < raw.count, raw[i] == 0x0d || raw[i] == 0x0a { i += 1 }
        if i < raw.count, looksLikeStartLine(raw, at: i) { return i }
        var k = i
        while k + 1 < raw.count {
            if raw[k] == 0x0a, looksLikeStartLine(raw, at: k + 1) { return k + 1 }
            k += 1
        }
        return nil
    }

    /// "SIP/2.0 " or 1–20 upper-case letters followed by a space.
    static func looksLikeStartLine(_ raw: UnsafeRawBufferPointer, at i: Int) -> Bool {
        let status: StaticString = "SIP/2.0 "
        if raw.count - i >= status.utf8CodeUnitCount {
            var same = true
            for k in 0..<status.utf8CodeUnitCount where raw[i + k] != status.utf8Start[k] {
                same = false
                break
            }
            if same { return true }
        }
        var k = i
        while k < raw.count, k - i < 21, raw[k] &- 0x41 < 26 { k += 1 }
        return k > i && k - i <= 20 && k < raw.count && raw[k] == 0x20
    }

    private mutating func forget(_ dropped: [FlowKey: TCPFlow]) {
        guard !dropped.isEmpty else { return }
        statistics.tcpFlowsEvicted += dropped.count
        for state in dropped.values { bufferedTCPBytes -= state.buffered }
    }

    private mutating func enforceTCPBudget() {
        var rounds = 0
        while bufferedTCPBytes > configuration.maxBufferedTCPBytes, flows.count > 0, rounds < 2 {
            forget(flows.rotate())
            rounds += 1
        }
    }

    private mutating func streamFailed(_ error: SIPFramingError, _ context: Context, _ emit: (SecurityEvent) -> Void) {
        statistics.malformed += 1
        let flow = context.flow
        // A message larger than this sensor's limit is the sensor's limit, not a broken
        // message (SIP sets no size limit on streams): the stream is given up, unblamed.
        if case .messageTooLarge = error { return }
        guard isSIPPort(flow.destinationPort), !isServer(flow.source, includeInferred: true) else { return }
        countUnproductive(.malformed, request: flow, userAgent: nil, time: context.time, origin: context.origin, emit)
        send(
            SecurityEvent(
                time: context.payload.time, source: flow.source, sourcePort: flow.sourcePort,
                destination: flow.destination, destinationPort: flow.destinationPort,
                transport: flow.transport, kind: .malformed, reason: "TCP stream: \(error.description)",
                dialect: .sip, origin: context.origin
            ), emit
        )
    }

    // MARK: Messages

    private mutating func handleMessage(
        _ raw: UnsafeRawBufferPointer, options: SIPParseOptions, _ context: Context, _ emit: (SecurityEvent) -> Void
    ) {
        let message: SIPMessage
        do {
            message = try SIPMessage(parsing: raw, options: options)
        } catch let error where error.isSizeLimitOfHeaders && Self.isResponse(raw) {
            // A registrar's answer listing every binding of an address of record: read it
            // whole, or the transaction it ends would be counted as never completed.
            do {
                message = try SIPMessage(parsing: raw, options: options.forServerResponses())
            } catch {
                malformed(raw, error, context, emit)
                return
            }
        } catch {
            malformed(raw, error, context, emit)
            return
        }
        statistics.messagesParsed += 1
        if message.deviation != nil { statistics.deviatingMessages += 1 }
        let view = SIPMessageView(message: message, bytes: raw)
        if message.isRequest {
            handleRequest(view, context, emit)
        } else {
            handleResponse(view, context, emit)
        }
    }

    private func isServer(_ address: IPAddress, includeInferred: Bool) -> Bool {
        if let servers = configuration.serverAddresses { return servers.contains(address) }
        return includeInferred && inferredServers.contains(address)
    }

    /// Whether `raw` starts with a status line's `SIP/2.0 ` (a response).
    private static func isResponse(_ raw: UnsafeRawBufferPointer) -> Bool {
        let prefix: StaticString = "SIP/2.0 "
        guard raw.count >= prefix.utf8CodeUnitCount else { return false }
        return prefix.withUTF8Buffer { p in p.indices.allSatisfy { raw[$0] == p[$0] } }
    }

    private mutating func malformed(
        _ raw: UnsafeRawBufferPointer, _ error: SIPParseError, _ context: Context, _ emit: (SecurityEvent) -> Void
    ) {
        statistics.malformed += 1
        let flow = context.flow
        // Over this sensor's size limit: not evidence of anything (see streamFailed).
        if case .messageTooLarge = error { return }
        guard isSIPPort(flow.destinationPort), !isServer(flow.source, includeInferred: true) else { return }
        let scan = RawHeaderScan(raw)
        let userAgent = scan.userAgent.map { Self.text(raw, $0) }
        if scan.isRequest {
            countUnproductive(.malformed, request: flow, userAgent: userAgent, time: context.time, origin: context.origin, emit)
            if !scannerSuppressed(flow.source, now: context.time), let reason = scannerReason(raw, scan) {
                scannerEvent(reason: reason, user: nil, userAgent: userAgent, callID: nil, context, emit)
            }
        }
        send(
            SecurityEvent(
                time: context.payload.time, source: flow.source, sourcePort: flow.sourcePort,
                destination: flow.destination, destinationPort: flow.destinationPort, transport: flow.transport, kind: .malformed,
                userAgent: userAgent, reason: error.description,
                dialect: .sip, origin: context.origin
            ), emit
        )
    }

    private mutating func handleRequest(_ view: SIPMessageView, _ context: Context, _ emit: (SecurityEvent) -> Void) {
        statistics.requests += 1
        let flow = context.flow
        let message = view.message
        // Requests from the configured servers (the PBX calling phones, registering to a
        // trunk) are never blamed, and their transactions are not ours to judge.
        if let servers = configuration.serverAddresses, servers.contains(flow.source) { return }

        if !scannerSuppressed(flow.source, now: context.time), let reason = scannerReason(view) {
            let user = view.toUser
            scannerEvent(reason: reason, user: user, userAgent: view.userAgent, callID: Self.callID(view), context, emit)
        }

        guard let method = message.method, method != .ack else { return }
        let key = Self.transactionKey(view, client: flow.source)
        if transactions[key] != nil {
            statistics.retransmissions += 1
            return
        }
        let hasCredentials = message.hasCredentials
        var record = OpenTransaction(
            server: flow.destination, serverPort: flow.destinationPort, clientPort: flow.sourcePort, transport: flow.transport,
            method: method.rawValue, hasCredentials: hasCredentials
        )
        if case .frame(let number) = context.payload.origin { record.frame = number }
        record.exchange = Self.exchangeHash(view)
        record.deviation = message.deviation
        switch method {
        case .register:
            record.user = hasCredentials ? (view.authorizationUsername.flatMap { $0.isEmpty ? nil : $0 } ?? view.toUser) : view.toUser
            record.userAgent = view.userAgent
        case .invite:
            record.user = view.requestURIParts?.user.map { view.percentDecodedString($0) }
            record.userAgent = view.userAgent
        default:
            if hasCredentials {
                record.user = view.authorizationUsername
                record.userAgent = view.userAgent
            }
        }
        let isInvite = method == .invite
        let expireAt = context.time &+ (isInvite ? inviteTimeoutMicros : timeoutMicros)
        if transactions.insert(key, record, lane: isInvite ? 1 : 0, expireAt: expireAt) {
            statistics.transactionsEvicted += 1
        }
        if configuration.floodThreshold > 0,
            transactions.scheduleJudgement(key, at: context.time &+ outcomeTimeoutMicros)
        {
            statistics.judgementsDropped += 1
        }
        statistics.transactionsOpen = transactions.count
    }

    private mutating func handleResponse(_ view: SIPMessageView, _ context: Context, _ emit: (SecurityEvent) -> Void) {
        statistics.responses += 1
        let flow = context.flow
        let message = view.message
        guard let code = message.statusCode else { return }
        let key = Self.transactionKey(view, client: flow.destination)
        guard var record = transactions[key] else {
            statistics.responsesWithoutRequest += 1
            return
        }
        guard record.server == flow.source else {
            statistics.responsesFromWrongServer += 1
            return
        }
        if configuration.serverAddresses == nil {
            _ = inferredServers.update(flow.source, default: { true }) { _ in () }
        }
        let exchange = ExchangeKey(client: key.client, exchange: record.exchange)
        guard code >= 200 else {
            // Any response means the request was not lost; a provisional one other than the
            // hop-by-hop 100 to a credentialed request means its credentials were accepted.
            record.answered = true
            transactions[key] = record
            if code > 100, record.hasCredentials { completedExchanges.put(exchange, true) }
            return
        }
        if record.completed {
            statistics.retransmissions += 1
            return
        }
        record.completed = true
        record.answered = true
        let method = SIPMethod(rawValue: record.method) ?? .extension
        let stale = (code == 401 || code == 407) && Self.isStaleChallenge(view)
        switch RequestOutcome.of(code: code, method: method, hasCredentials: record.hasCredentials, staleChallenge: stale) {
        case .settled:
            if record.hasCredentials { completedExchanges.put(exchange, true) }
        case .challenge:
            record.challenged = true
        case .refused:
            if !record.counted {
                record.counted = true
                countUnproductive(.refused, key.client, record, time: context.time, origin: context.origin, emit)
            }
        }
        transactions[key] = record
        statistics.transactionsCompleted += 1

        if let deviation = record.deviation, Self.brokenRequestCodes.contains(code) {
            // The server confirms what the grammar says: the request is broken.
            let name = method.token ?? "request"
            send(
                SecurityEvent(
                    time: context.payload.time, source: flow.destination, sourcePort: record.clientPort,
                    destination: flow.source, destinationPort: flow.sourcePort,
                    transport: record.transport, kind: .malformed, user: record.user, userAgent: record.userAgent,
                    reason: "\(code) to \(name): \(deviation.description)", callID: Self.callID(view),
                    dialect: .sip, origin: context.origin
                ), emit
            )
            return
        }
        guard let (kind, reason) = Self.classify(record, code: code, view: view) else { return }
        send(
            SecurityEvent(
                time: context.payload.time, source: flow.destination, sourcePort: record.clientPort,
                destination: flow.source, destinationPort: flow.sourcePort,
                transport: record.transport, kind: kind, user: record.user, userAgent: record.userAgent,
                reason: reason, callID: Self.callID(view), dialect: .sip, origin: context.origin
            ), emit
        )
    }

    /// Final responses by which a server says the request itself is broken (RFC 3261
    /// §21.4–21.5): 400 Bad Request (malformed syntax), 413 Request Entity Too Large, 414
    /// Request-URI Too Long, 416 Unsupported URI Scheme, 505 Version Not Supported, 513
    /// Message Too Large. Not 420 (a well-formed request for an extension the server lacks)
    /// nor 481 (state the server lost).
    static let brokenRequestCodes: Set<Int> = [400, 413, 414, 416, 505, 513]

    /// The event a final response makes of its transaction, if any (see docs/WIRE-DETECTION.md).
    static func classify(_ record: OpenTransaction, code: Int, view: SIPMessageView) -> (EventKind, String)? {
        let method = SIPMethod(rawValue: record.method) ?? .extension
        let name = method.token ?? "request"
        let credentials = record.hasCredentials
        switch code {
        case 401, 407:
            guard credentials, method != .cancel else { return nil }
            // A stale nonce (RFC 7616 §3.3) means the credentials were right.
            if isStaleChallenge(view) { return nil }
            return (.authFailed, "\(code) to \(name) with credentials")
        case 403:
            if credentials, method != .cancel { return (.authFailed, "403 to \(name) with credentials") }
            if method == .register { return (.unknownUser, "403 to REGISTER without credentials") }
            if method == .invite { return (.unauthenticatedCall, "403 to INVITE without credentials") }
            return nil
        case 404:
            if method == .register { return (.unknownUser, "404 to REGISTER") }
            if method == .invite, !credentials { return (.unauthenticatedCall, "404 to INVITE without credentials") }
            return nil
        case 484:
            if method == .invite, !credentials { return (.unauthenticatedCall, "484 to INVITE without credentials") }
            return nil
        default:
            return nil
        }
    }

    /// Whether a WWW-/Proxy-Authenticate challenge of the response says `stale=true`
    /// (case-insensitive; the quoted form `stale="true"` some servers send is accepted).
    static func isStaleChallenge(_ view: SIPMessageView) -> Bool {
        for field in view.message.headers where field.name == .wwwAuthenticate || field.name == .proxyAuthenticate {
            let value = view.slice(field.valueRange)
            let name: StaticString = "stale="
            let m = name.utf8CodeUnitCount
            guard value.count >= m + 4 else { continue }
            var i = 0
            while i + m <= value.count {
                var k = 0
                while k < m, ScannerSignatures.lower(value[i + k]) == name.utf8Start[k] { k += 1 }
                // The parameter name must start the value or follow a delimiter.
                let delimited = i == 0 || value[i - 1] == 0x2c || value[i - 1] == 0x20 || value[i - 1] == 0x09
                if k == m, delimited {
                    var v = i + m
                    if v < value.count, value[v] == 0x22 { v += 1 }
                    let word: StaticString = "true"
                    guard value.count - v >= 4 else { return false }
                    var same = true
                    for j in 0..<4 where ScannerSignatures.lower(value[v + j]) != word.utf8Start[j] {
                        same = false
                        break
                    }
                    let after = v + 4
                    let ends = after == value.count || [0x22, 0x2c, 0x20, 0x09].contains(value[after])
                    return same && ends
                }
                i += 1
            }
        }
        return false
    }

    /// Call-ID and From tag: what a challenged request and its credentialed retry share.
    static func exchangeHash(_ view: SIPMessageView) -> UInt64 {
        var hasher = KeyHasher()
        hasher.add(view.slice(view.message.callIDRange))
        hasher.add(view.message.from.tag.map { view.slice($0) } ?? UnsafeRawBufferPointer(start: nil, count: 0))
        return hasher.h1 ^ (hasher.h2 &* 0x9e37_79b9_7f4a_7c15)
    }

    static func transactionKey(_ view: SIPMessageView, client: IPAddress) -> TransactionKey {
        let message = view.message
        var hasher = KeyHasher()
        if let branch = message.topVia.branch, view.slice(branch).starts(with: "z9hG4bK".utf8) {
            hasher.addByte(1)
            hasher.add(view.slice(branch))
        } else {
            // RFC 2543 client: Call-ID, From tag and CSeq number identify the transaction.
            hasher.addByte(2)
            hasher.add(view.slice(message.callIDRange))
            hasher.add(message.from.tag.map { view.slice($0) } ?? UnsafeRawBufferPointer(start: nil, count: 0))
            hasher.addNumber(message.cseqNumber)
        }
        hasher.add(view.slice(message.cseqMethodRange))
        return TransactionKey(client: client, h1: hasher.h1, h2: hasher.h2)
    }

    // MARK: Per-source checks

    /// Why a request counts towards the flood rule.
    enum Unproductive {
        case refused, unanswered, abandonedChallenge, malformed
    }

    /// Judges every request whose outcome timeout has passed: unanswered, or challenged
    /// without an accepted credentialed retry in its exchange, it counts as unproductive.
    private mutating func judgeOutcomes(now: Int64, sensor: String, _ emit: (SecurityEvent) -> Void) {
        while let (key, due) = transactions.popDueJudgement(now: now) {
            guard var record = transactions[key], !record.counted else { continue }
            let cause: Unproductive
            if !record.answered {
                cause = .unanswered
            } else if record.challenged,
                !completedExchanges.contains(ExchangeKey(client: key.client, exchange: record.exchange))
            {
                cause = .abandonedChallenge
            } else {
                continue
            }
            record.counted = true
            transactions[key] = record
            let origin: EventOrigin = record.frame >= 0 ? .frame(file: sensor, number: record.frame) : .wire(sensor: sensor)
            countUnproductive(cause, key.client, record, time: due, origin: origin, emit)
        }
    }

    /// `countUnproductive` for the request of an open transaction from `client`.
    private mutating func countUnproductive(
        _ cause: Unproductive, _ client: IPAddress, _ record: OpenTransaction, time now: Int64, origin: EventOrigin,
        _ emit: (SecurityEvent) -> Void
    ) {
        let request = FlowKey(
            source: client, sourcePort: record.clientPort, destination: record.server,
            destinationPort: record.serverPort, transport: record.transport
        )
        countUnproductive(cause, request: request, userAgent: record.userAgent, time: now, origin: origin, emit)
    }

    /// Counts one unproductive request (addressed as `request`) towards its source's rate,
    /// emitting `flood` when the threshold is reached (once per source per window).
    private mutating func countUnproductive(
        _ cause: Unproductive, request: FlowKey, userAgent: String?, time now: Int64, origin: EventOrigin,
        _ emit: (SecurityEvent) -> Void
    ) {
        let source = request.source
        switch cause {
        case .refused: statistics.refusedRequests += 1
        case .unanswered: statistics.unansweredRequests += 1
        case .abandonedChallenge: statistics.abandonedChallenges += 1
        case .malformed: break
        }
        let threshold = configuration.floodThreshold
        guard threshold > 0 else { return }
        let window = floodWindowMicros
        let ((flooded, count), evicted) = sources.update(source, default: { SourceState() }) { state in
            if state.windowStart == .min || now &- state.windowStart >= window || now < state.windowStart {
                state.windowStart = now
                state.count = 0
            }
            if state.count < Int.max { state.count += 1 }
            return (state.count == threshold, state.count)
        }
        statistics.sourcesEvicted += evicted
        guard flooded else { return }
        let seconds = Double(window) / 1_000_000
        send(
            SecurityEvent(
                time: Timestamp(microseconds: now), source: source, sourcePort: request.sourcePort,
                destination: request.destination, destinationPort: request.destinationPort, transport: request.transport,
                kind: .flood, userAgent: userAgent,
                reason: "\(count) unproductive requests within \(seconds) s", dialect: .sip, origin: origin
            ), emit
        )
    }

    /// Whether a `scanner` event was emitted for `source` less than `scannerEventInterval` ago.
    private func scannerSuppressed(_ source: IPAddress, now: Int64) -> Bool {
        guard let last = sources.value(source)?.lastScannerEvent, last != .min else { return false }
        return now >= last && now &- last < scannerIntervalMicros
    }

    private mutating func scannerEvent(
        reason: String, user: String?, userAgent: String?, callID: String?, _ context: Context,
        _ emit: (SecurityEvent) -> Void
    ) {
        let now = context.time
        _ = sources.update(context.flow.source, default: { SourceState() }) { $0.lastScannerEvent = now }
        let flow = context.flow
        send(
            SecurityEvent(
                time: context.payload.time, source: flow.source, sourcePort: flow.sourcePort,
                destination: flow.destination, destinationPort: flow.destinationPort,
                transport: flow.transport, kind: .scanner, user: user, userAgent: userAgent, reason: reason,
                callID: callID, dialect: .sip, origin: context.origin
            ), emit
        )
    }

    /// Why a parsed request is an attack tool's, if it is.
    private func scannerReason(_ view: SIPMessageView) -> String? {
        let message = view.message
        if let ua = message.userAgentRange, let pattern = ScannerSignatures.matchUserAgent(view.slice(ua), patterns) {
            return "User-Agent contains \"\(pattern.text)\""
        }
        guard configuration.detectSipviciousShape,
            let branch = message.topVia.branch,
            ScannerSignatures.isSipviciousBranch(view.slice(branch))
        else { return nil }
        if let tag = message.from.tag, ScannerSignatures.isSipviciousTag(view.slice(tag)) {
            return "sipvicious request shape (Via branch and From tag)"
        }
        if ScannerSignatures.isSipviciousDefaultURI(view.slice(message.from.uri))
            || message.contact.map({ ScannerSignatures.isSipviciousDefaultURI(view.slice($0.uri)) }) == true
        {
            return "sipvicious request shape (Via branch and default URI)"
        }
        return nil
    }

    /// The same signatures on a message the parser rejected.
    private func scannerReason(_ raw: UnsafeRawBufferPointer, _ scan: RawHeaderScan) -> String? {
        if let ua = scan.userAgent, let pattern = ScannerSignatures.matchUserAgent(UnsafeRawBufferPointer(rebasing: raw[ua]), patterns) {
            return "User-Agent contains \"\(pattern.text)\""
        }
        guard configuration.detectSipviciousShape, let branch = scan.branch,
            ScannerSignatures.isSipviciousBranch(UnsafeRawBufferPointer(rebasing: raw[branch]))
        else { return nil }
        if let tag = scan.fromTag, ScannerSignatures.isSipviciousTag(UnsafeRawBufferPointer(rebasing: raw[tag])) {
            return "sipvicious request shape (Via branch and From tag)"
        }
        if let from = scan.fromURI, ScannerSignatures.isSipviciousDefaultURI(UnsafeRawBufferPointer(rebasing: raw[from])) {
            return "sipvicious request shape (Via branch and default URI)"
        }
        if let contact = scan.contact, ScannerSignatures.isSipviciousDefaultURI(UnsafeRawBufferPointer(rebasing: raw[contact])) {
            return "sipvicious request shape (Via branch and default URI)"
        }
        return nil
    }

    private mutating func send(_ event: SecurityEvent, _ emit: (SecurityEvent) -> Void) {
        statistics.eventsByKind[event.kind.index] += 1
        emit(event)
    }

    /// The message's Call-ID as evidence (attacker-written): at most
    /// `SecurityEvent.maximumFieldLength` bytes, nil when empty.
    static func callID(_ view: SIPMessageView) -> String? {
        let range = view.message.callIDRange
        let bytes = view.slice(range)
        guard !bytes.isEmpty else { return nil }
        return String(decoding: bytes.prefix(SecurityEvent.maximumFieldLength), as: UTF8.self)
    }

    static func text(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        let lower = min(max(range.lowerBound, 0), raw.count)
        let upper = min(max(range.upperBound, lower), raw.count)
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[lower..<upper]), as: UTF8.self)
    }
}
