// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A flag set on one task or event loop and read on another.
final class SessionFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// How to reach the relay.
public struct SMTPConfiguration: Sendable, Hashable {
    /// Transport security: `startTLS` refuses a relay that does not offer it (no silent
    /// downgrade); `none` is for a local MTA on the loopback only.
    public enum Security: String, Sendable, Hashable, Codable {
        case none
        case startTLS = "starttls"
    }

    /// A user name and password for `AUTH PLAIN` or `AUTH LOGIN`.
    public struct Credentials: Sendable, Hashable {
        public var user: String
        public var password: String
        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var credentials: Credentials?
    /// The name sent in `EHLO`.
    public var heloName: String
    /// The name the relay's certificate must carry (default: `host`).
    public var serverName: String?
    /// PEM files of the certificates to trust instead of the system's.
    public var trustRootFiles: [String]
    /// Send credentials without TLS (never, unless the relay is on the loopback and this is set).
    public var allowPlaintextAuth: Bool
    public var connectTimeout: Duration
    /// The longest wait for any one reply (RFC 5321 §4.5.3.2 suggests 5 to 10 minutes).
    public var replyTimeout: Duration

    public init(
        host: String, port: Int = 587, security: Security = .startTLS, credentials: Credentials? = nil, heloName: String,
        serverName: String? = nil, trustRootFiles: [String] = [], allowPlaintextAuth: Bool = false, connectTimeout: Duration = .seconds(30),
        replyTimeout: Duration = .seconds(300)
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.credentials = credentials
        self.heloName = heloName
        self.serverName = serverName
        self.trustRootFiles = trustRootFiles
        self.allowPlaintextAuth = allowPlaintextAuth
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
    }
}

/// SMTP submission to a relay on swift-nio: a small, strict client (RFC 5321, 3207
/// STARTTLS, 4954 AUTH PLAIN/LOGIN). One message per connection; a 4xx reply or a broken
/// connection is temporary, a 5xx reply permanent (but an AUTH refusal is temporary: it is
/// the operator's credentials, not the report, that are wrong). The `final-dot` stage is
/// recorded before the final dot is sent: until then no relay can have accepted the message.
public struct SMTPTransport: ReportTransport {
    public var kind: TransportKind { .smtp }
    public var configuration: SMTPConfiguration
    let group: any EventLoopGroup

    /// A transport on swift-nio's shared event loops.
    public init(configuration: SMTPConfiguration) {
        self.configuration = configuration
        self.group = MultiThreadedEventLoopGroup.singleton
    }

    public func handOver(_ entry: OutboxEntry, progress: @escaping @Sendable (HandoverStage, Int32?) throws -> Void) async -> HandoverOutcome {
        guard EnvelopeAddress.isSafe(entry.sender), EnvelopeAddress.isSafe(entry.recipient) else {
            return .permanentFailure("refused envelope address (sender '\(entry.sender.prefix(80))', recipient '\(entry.recipient.prefix(80))')")
        }
        let dotSent = SessionFlag()
        do {
            return try await session(entry, progress: progress, dotSent: dotSent)
        } catch let failure as SMTPFailure {
            // A reply is an answer, also after the final dot; only silence there is unknown.
            if case .reply = failure { return failure.outcome }
            return dotSent.isSet ? .interrupted("after the final dot: \(failure)") : failure.outcome
        } catch {
            let words = "\(configuration.host):\(configuration.port): \(error)"
            return dotSent.isSet ? .interrupted("after the final dot: \(words)") : .temporaryFailure(words)
        }
    }

    private func session(
        _ entry: OutboxEntry, progress: @escaping @Sendable (HandoverStage, Int32?) throws -> Void, dotSent: SessionFlag
    ) async throws -> HandoverOutcome {
        let config = configuration
        let sslContext: NIOSSLContext? =
            config.security == .startTLS
            ? try {
                var tls = TLSConfiguration.makeClientConfiguration()
                if !config.trustRootFiles.isEmpty {
                    tls.trustRoots = .certificates(try config.trustRootFiles.flatMap { try NIOSSLCertificate.fromPEMFile($0) })
                }
                return try NIOSSLContext(configuration: tls)
            }() : nil
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Self.nanoseconds(config.connectTimeout)))
            .connect(host: config.host, port: config.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let timedOut = SessionFlag()
        return try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            let raw = channel.channel
            func next(_ step: String) async throws -> SMTPReply {
                let timeout = Self.nanoseconds(config.replyTimeout)
                let timer = raw.eventLoop.scheduleTask(in: .nanoseconds(timeout)) {
                    timedOut.set()
                    raw.close(promise: nil)
                }
                defer { timer.cancel() }
                let reply: SMTPReply?
                do {
                    reply = try await replies.next()
                } catch {
                    throw SMTPFailure.connection("\(step): \(error)")
                }
                guard let reply else {
                    throw timedOut.isSet
                        ? SMTPFailure.timeout("no reply to \(step) within \(config.replyTimeout)") : SMTPFailure.connection("closed during \(step)")
                }
                return reply
            }
            func send(_ line: String) async throws {
                do {
                    try await outbound.write(ByteBuffer(string: line + "\r\n"))
                } catch {
                    // The reply timer closes the channel; a write after it is that timeout.
                    throw timedOut.isSet ? SMTPFailure.timeout("the relay went silent (\(config.replyTimeout) per reply)") : error
                }
            }
            func expect(_ step: String, _ codes: Set<Int>) async throws -> SMTPReply {
                let reply = try await next(step)
                guard codes.contains(reply.code) else { throw SMTPFailure.reply(step, reply) }
                return reply
            }

            _ = try await expect("greeting", [220])
            try await send("EHLO \(config.heloName)")
            var extensions = Self.extensions(try await expect("EHLO", [250]))
            if let sslContext {
                guard extensions["STARTTLS"] != nil else { throw SMTPFailure.refusedConfiguration("the relay does not offer STARTTLS") }
                try await send("STARTTLS")
                let ready = try await expect("STARTTLS", [220])
                guard !ready.trailingData else { throw SMTPFailure.protocolViolation("data after the STARTTLS reply (injection)") }
                let name = config.serverName ?? config.host
                try await raw.eventLoop.submit {
                    let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: name)
                    try raw.pipeline.syncOperations.addHandler(handler, position: .first)
                }.get()
                try await send("EHLO \(config.heloName)")
                extensions = Self.extensions(try await expect("EHLO after STARTTLS", [250]))
            }
            if let credentials = config.credentials {
                guard sslContext != nil || config.allowPlaintextAuth else {
                    throw SMTPFailure.refusedConfiguration("credentials would be sent without TLS")
                }
                let mechanisms = Set((extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
                do {
                    if mechanisms.contains("PLAIN") {
                        let token = Data(([0] + Array(credentials.user.utf8) + [0] + Array(credentials.password.utf8))).base64EncodedString()
                        try await send("AUTH PLAIN \(token)")
                        _ = try await expect("AUTH PLAIN", [235])
                    } else if mechanisms.contains("LOGIN") {
                        try await send("AUTH LOGIN")
                        _ = try await expect("AUTH LOGIN", [334])
                        try await send(Data(credentials.user.utf8).base64EncodedString())
                        _ = try await expect("AUTH LOGIN user", [334])
                        try await send(Data(credentials.password.utf8).base64EncodedString())
                        _ = try await expect("AUTH LOGIN password", [235])
                    } else {
                        throw SMTPFailure.refusedConfiguration("the relay offers neither AUTH PLAIN nor AUTH LOGIN")
                    }
                } catch SMTPFailure.reply(let step, let reply) {
                    throw SMTPFailure.authentication("\(step): \(reply)")
                }
            }
            try await send("MAIL FROM:<\(entry.sender)>")
            _ = try await expect("MAIL FROM", [250])
            try await send("RCPT TO:<\(entry.recipient)>")
            _ = try await expect("RCPT TO", [250, 251])
            try await send("DATA")
            _ = try await expect("DATA", [354])
            try await outbound.write(ByteBuffer(bytes: SMTPData.stuffed(entry.message)))
            do {
                try progress(.finalDot, nil)
            } catch {
                // Not recorded: the message must not be completed. Closing aborts it.
                throw SMTPFailure.connection("the final-dot stage could not be recorded: \(error)")
            }
            dotSent.set()
            try await send(".")
            let accepted = try await expect("end of data", [250])
            try? await send("QUIT")
            _ = try? await next("QUIT")
            return .accepted("\(config.host):\(config.port) \(accepted)")
        }
    }

    /// The EHLO keywords (upper case) and their parameters.
    static func extensions(_ reply: SMTPReply) -> [String: String] {
        var result: [String: String] = [:]
        for line in reply.lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            result[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (s, a) = d.components
        return s.multipliedReportingOverflow(by: 1_000_000_000).overflow ? .max : s * 1_000_000_000 + a / 1_000_000_000
    }
}

/// Why an SMTP session ended without the message accepted.
enum SMTPFailure: Error, CustomStringConvertible {
    case reply(String, SMTPReply)
    case authentication(String)
    case refusedConfiguration(String)
    case protocolViolation(String)
    case timeout(String)
    case connection(String)

    var description: String {
        switch self {
        case .reply(let step, let reply): "\(step): \(reply)"
        case .authentication(let words): "authentication refused: \(words)"
        case .refusedConfiguration(let words): words
        case .protocolViolation(let words): "protocol violation: \(words)"
        case .timeout(let words): words
        case .connection(let words): words
        }
    }

    /// 5xx replies are permanent; everything else (4xx, AUTH, TLS, timeouts) is worth a retry.
    var outcome: HandoverOutcome {
        if case .reply(_, let reply) = self, reply.isPermanent { return .permanentFailure(description) }
        return .temporaryFailure(description)
    }
}
