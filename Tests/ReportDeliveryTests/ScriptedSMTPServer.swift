// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A scripted SMTP server for the client's tests: it speaks enough RFC 5321 (EHLO,
/// STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA with dot-unstuffing, QUIT) and answers
/// each command with what `script` says, so a test can put a 4xx, a 5xx, a multi-line
/// reply, silence or a dropped connection anywhere.
final class ScriptedSMTPServer: Sendable {
    /// What the server does for a command (the upper-cased verb, e.g. "RCPT", "DATA-END").
    enum Action: Sendable {
        case reply([String]) // full reply lines, e.g. ["250-first", "250 last"]
        case silence
        case close
    }

    struct Log: Sendable {
        var commands: [String] = []
        var messages: [[UInt8]] = []
        var tlsActive = false
        var authenticatedOverTLS: Bool?
        var credentials: [String] = []
    }

    let log = Mutex(Log())
    let script: @Sendable (String) -> Action?
    let offerSTARTTLS: Bool
    let authMechanisms: String?
    let tls: NIOSSLContext?
    private let channel: Mutex<(any Channel)?> = Mutex(nil)

    init(
        offerSTARTTLS: Bool = false, authMechanisms: String? = nil, tls: NIOSSLContext? = nil,
        script: @escaping @Sendable (String) -> Action? = { _ in nil }
    ) {
        self.offerSTARTTLS = offerSTARTTLS
        self.authMechanisms = authMechanisms
        self.tls = tls
        self.script = script
    }

    /// Starts listening on 127.0.0.1 (a free port); returns the port.
    func start() async throws -> Int {
        let server = self
        let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SessionHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? 0
    }

    func stop() async {
        let c = channel.withLock { $0 }
        try? await c?.close().get()
    }

    /// CRLF-terminated lines (bare LF accepted), without the ending.
    struct LineDecoder: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer
        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let i = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return .needMoreData }
            var line = buffer.readSlice(length: i - buffer.readerIndex + 1)!
            var bytes = line.readBytes(length: line.readableBytes) ?? []
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            context.fireChannelRead(wrapInboundOut(ByteBuffer(bytes: bytes)))
            return .continue
        }
    }

    final class SessionHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let server: ScriptedSMTPServer
        var inData = false
        var message: [UInt8] = []
        var loginStep = 0

        init(server: ScriptedSMTPServer) { self.server = server }

        func channelActive(context: ChannelHandlerContext) {
            run("GREETING", default: ["220 scripted ESMTP"], context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            if inData {
                if bytes == [UInt8(ascii: ".")] {
                    inData = false
                    let m = message
                    server.log.withLock { $0.messages.append(m) }
                    run("DATA-END", default: ["250 2.0.0 Ok: queued as SCRIPTED"], context: context)
                } else {
                    message += (bytes.first == UInt8(ascii: ".") ? Array(bytes.dropFirst()) : bytes) + [0x0D, 0x0A]
                }
                return
            }
            let line = String(decoding: bytes, as: UTF8.self)
            server.log.withLock { $0.commands.append(line) }
            if loginStep > 0 {
                server.log.withLock { $0.credentials.append(String(decoding: Data(base64Encoded: line) ?? Data(), as: UTF8.self)) }
                loginStep += 1
                if loginStep == 2 { return write(["334 UGFzc3dvcmQ6"], context: context) }
                loginStep = 0
                run("AUTH", default: ["235 2.7.0 Authentication successful"], context: context)
                return
            }
            let verb = String(line.split(separator: " ").first ?? "").uppercased()
            switch verb {
            case "EHLO":
                var lines = ["250-scripted", "250-PIPELINING", "250-SIZE 10240000"]
                if server.offerSTARTTLS && !server.log.withLock({ $0.tlsActive }) { lines.append("250-STARTTLS") }
                if let auth = server.authMechanisms { lines.append("250-AUTH \(auth)") }
                lines.append("250 8BITMIME")
                run("EHLO", default: lines, context: context)
            case "STARTTLS":
                run("STARTTLS", default: ["220 2.0.0 Ready to start TLS"], context: context)
                if let tls = server.tls {
                    server.log.withLock { $0.tlsActive = true }
                    try? context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                }
            case "AUTH":
                let parts = line.split(separator: " ")
                server.log.withLock { $0.authenticatedOverTLS = $0.tlsActive }
                if parts.count >= 2, parts[1].uppercased() == "LOGIN" {
                    loginStep = 1
                    write(["334 VXNlcm5hbWU6"], context: context)
                } else {
                    if parts.count >= 3 {
                        server.log.withLock {
                            $0.credentials.append(String(decoding: Data(base64Encoded: String(parts[2])) ?? Data(), as: UTF8.self))
                        }
                    }
                    run("AUTH", default: ["235 2.7.0 Authentication successful"], context: context)
                }
            case "MAIL": run("MAIL", default: ["250 2.1.0 Ok"], context: context)
            case "RCPT": run("RCPT", default: ["250 2.1.5 Ok"], context: context)
            case "DATA":
                message = []
                inData = run("DATA", default: ["354 End data with <CR><LF>.<CR><LF>"], context: context).last?.hasPrefix("354") ?? false
            case "QUIT":
                write(["221 2.0.0 Bye"], context: context)
                context.close(promise: nil)
            default: write(["502 5.5.2 Error: command not recognized"], context: context)
            }
        }

        /// Answers `step` as scripted (or with `lines`); returns the lines written.
        @discardableResult
        func run(_ step: String, default lines: [String], context: ChannelHandlerContext) -> [String] {
            switch server.script(step) ?? .reply(lines) {
            case .reply(let scripted):
                write(scripted, context: context)
                return scripted
            case .silence: return []
            case .close:
                context.close(promise: nil)
                return []
            }
        }

        func write(_ lines: [String], context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: lines.map { $0 + "\r\n" }.joined())), promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}
