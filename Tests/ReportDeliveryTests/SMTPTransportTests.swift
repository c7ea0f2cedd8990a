// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation
import NIOSSL
import ReportDelivery
import Testing
import WardenCore

/// A throwaway self-signed certificate for `localhost` (openssl), and its key.
private func selfSignedCertificate() throws -> (certificate: String, key: String, directory: String) {
    let directory = try temporaryState()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
        "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CertificateFailure() }
    return (directory + "/cert.pem", directory + "/key.pem", directory)
}

private struct CertificateFailure: Error {}

private let message = Array("From: r@example.org\r\nSubject: t\r\n\r\n.a line that starts with a dot\r\n..two\r\nlast line without CRLF".utf8)

private func entry() -> OutboxEntry {
    OutboxEntry(
        id: 1, caseID: UUID(), messageID: "<sipwarden.x.1@example.org>", sender: "reports@example.org", recipient: "abuse@example.net",
        message: message, state: .handingOver, nextAttemptAt: Timestamp(seconds: 0), createdAt: Timestamp(seconds: 0))
}

/// Replies get two minutes: the suite runs beside a thousand other tests on two CPUs (a
/// 10 s limit timed out there once); the silent-server test sets its own short limit.
private func plain(_ port: Int, replyTimeout: Duration = .seconds(120)) -> SMTPTransport {
    SMTPTransport(
        configuration: SMTPConfiguration(host: "127.0.0.1", port: port, security: .none, heloName: "test.example", replyTimeout: replyTimeout))
}

@Suite(.serialized) struct SMTPTransportTests {
    @Test func aPlainSubmissionIsDotStuffedAndRecordsTheFinalDotStage() async throws {
        let server = ScriptedSMTPServer()
        let port = try await server.start()
        let stages = StageLog()
        let outcome = await plain(port).handOver(entry()) { stage, pid in stages.add(stage, pid) }
        await server.stop()
        guard case .accepted(let words) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(words.contains("250 2.0.0 Ok: queued as SCRIPTED"))
        let log = server.log.withLock { $0 }
        #expect(log.commands.prefix(5) == ["EHLO test.example", "MAIL FROM:<reports@example.org>", "RCPT TO:<abuse@example.net>", "DATA", "QUIT"])
        // The server unstuffs: what it got is the message, with its last line ended.
        #expect(log.messages == [message + [0x0D, 0x0A]])
        #expect(stages.all.map(\.0) == [.finalDot])
    }

    @Test func dotStuffing() {
        #expect(SMTPData.stuffed(Array(".\n..x\r\nplain\rlast".utf8)) == Array("..\r\n...x\r\nplain\r\nlast\r\n".utf8))
        #expect(SMTPData.stuffed([]) == [])
    }

    @Test(arguments: [
        ("GREETING", ["421-busy", "421 try later"], "temporary"),
        ("MAIL", ["451 4.3.0 local error"], "temporary"),
        ("RCPT", ["550-5.1.1 no such user", "550 5.1.1 really"], "permanent"),
        ("DATA", ["554 5.5.1 no valid recipients"], "permanent"),
        ("DATA-END", ["552 5.3.4 message too big"], "permanent"),
        ("DATA-END", ["452 4.3.1 insufficient storage"], "temporary"),
    ])
    func replies(step: String, lines: [String], kind: String) async throws {
        let server = ScriptedSMTPServer { $0 == step ? .reply(lines) : nil }
        let port = try await server.start()
        let outcome = await plain(port).handOver(entry()) { _, _ in }
        await server.stop()
        switch outcome {
        case .temporaryFailure(let words): #expect(kind == "temporary" && words.contains(String(lines.last!.prefix(3))))
        case .permanentFailure(let words): #expect(kind == "permanent" && words.contains(String(lines.last!.prefix(3))))
        default: Issue.record("\(step): \(outcome)")
        }
        #expect(server.log.withLock { $0.messages.count } == (step == "DATA-END" ? 1 : 0))
    }

    @Test func malformedRepliesAreRefused() async throws {
        let server = ScriptedSMTPServer { $0 == "EHLO" ? .reply(["250-ok", "220 wrong code in the same reply"]) : nil }
        let port = try await server.start()
        let outcome = await plain(port).handOver(entry()) { _, _ in }
        await server.stop()
        guard case .temporaryFailure = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(server.log.withLock { $0.commands }.contains { $0.hasPrefix("MAIL") } == false)
    }

    @Test func aSilentServerTimesOut() async throws {
        let server = ScriptedSMTPServer { $0 == "GREETING" ? .silence : nil }
        let port = try await server.start()
        let started = ContinuousClock.now
        let outcome = await plain(port, replyTimeout: .milliseconds(300)).handOver(entry()) { _, _ in }
        await server.stop()
        guard case .temporaryFailure(let words) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(words.contains("no reply to greeting"))
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aConnectionLostAfterTheFinalDotIsInterruptedNotRetried() async throws {
        let server = ScriptedSMTPServer { $0 == "DATA-END" ? .close : nil }
        let port = try await server.start()
        let outcome = await plain(port).handOver(entry()) { _, _ in }
        await server.stop()
        guard case .interrupted = outcome else {
            Issue.record("\(outcome)")
            return
        }
    }

    @Test func aLostConnectionBeforeTheFinalDotIsTemporary() async throws {
        let server = ScriptedSMTPServer { $0 == "RCPT" ? .close : nil }
        let port = try await server.start()
        let outcome = await plain(port).handOver(entry()) { _, _ in }
        await server.stop()
        guard case .temporaryFailure = outcome else {
            Issue.record("\(outcome)")
            return
        }
    }

    @Test(arguments: ["PLAIN LOGIN", "LOGIN"])
    func startTLSThenAuthentication(mechanisms: String) async throws {
        let (certificate, key, directory) = try selfSignedCertificate()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tls = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))))
        let server = ScriptedSMTPServer(offerSTARTTLS: true, authMechanisms: mechanisms, tls: tls)
        let port = try await server.start()
        let transport = SMTPTransport(
            configuration: SMTPConfiguration(
                host: "127.0.0.1", port: port, security: .startTLS, credentials: .init(user: "reporter", password: "s3cret"),
                heloName: "test.example",
                serverName: "localhost", trustRootFiles: [certificate], replyTimeout: .seconds(120)))
        let outcome = await transport.handOver(entry()) { _, _ in }
        await server.stop()
        guard case .accepted = outcome else {
            Issue.record("\(outcome)")
            return
        }
        let log = server.log.withLock { $0 }
        #expect(log.tlsActive && log.authenticatedOverTLS == true)
        #expect(log.commands.filter { $0.hasPrefix("EHLO") }.count == 2, "EHLO again after STARTTLS")
        if mechanisms.hasPrefix("PLAIN") {
            #expect(log.credentials == ["\0reporter\0s3cret"])
        } else {
            #expect(log.credentials == ["reporter", "s3cret"])
        }
        #expect(log.messages == [message + [0x0D, 0x0A]])
    }

    @Test func anUntrustedCertificateSendsNothing() async throws {
        let (certificate, key, directory) = try selfSignedCertificate()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tls = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))))
        let server = ScriptedSMTPServer(offerSTARTTLS: true, authMechanisms: "PLAIN", tls: tls)
        let port = try await server.start()
        let transport = SMTPTransport(
            configuration: SMTPConfiguration(
                host: "127.0.0.1", port: port, security: .startTLS, credentials: .init(user: "reporter", password: "s3cret"),
                heloName: "test.example",
                serverName: "localhost", replyTimeout: .seconds(120)))
        let outcome = await transport.handOver(entry()) { _, _ in }
        await server.stop()
        guard case .temporaryFailure = outcome else {
            Issue.record("\(outcome)")
            return
        }
        let log = server.log.withLock { $0 }
        #expect(log.credentials.isEmpty && log.messages.isEmpty)
    }

    @Test func aRelayWithoutSTARTTLSIsRefusedWhenTLSIsRequired() async throws {
        let server = ScriptedSMTPServer(offerSTARTTLS: false, authMechanisms: "PLAIN")
        let port = try await server.start()
        let transport = SMTPTransport(
            configuration: SMTPConfiguration(
                host: "127.0.0.1", port: port, security: .startTLS, credentials: .init(user: "u", password: "p"), heloName: "test.example"))
        let outcome = await transport.handOver(entry()) { _, _ in }
        await server.stop()
        guard case .temporaryFailure(let words) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(words.contains("STARTTLS"))
        #expect(server.log.withLock { $0.commands } == ["EHLO test.example"], "no credentials, no MAIL FROM")
    }

    @Test func credentialsAreNotSentInPlainText() async throws {
        let server = ScriptedSMTPServer(authMechanisms: "PLAIN")
        let port = try await server.start()
        let transport = SMTPTransport(
            configuration: SMTPConfiguration(
                host: "127.0.0.1", port: port, security: .none, credentials: .init(user: "u", password: "p"), heloName: "test.example"))
        let outcome = await transport.handOver(entry()) { _, _ in }
        await server.stop()
        guard case .temporaryFailure = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(server.log.withLock { $0.credentials }.isEmpty)
    }
}
