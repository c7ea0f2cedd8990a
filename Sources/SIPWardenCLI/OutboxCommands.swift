// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import ArgumentParser
import Dispatch
import Foundation
import NetworkAddress
import ReportDelivery
import SIPWarden
import Storage
import Synchronization
import WardenCore

/// `sipwarden outbox list|approve|deliver`: the abuse reports waiting to leave, and their
/// delivery (docs/ABUSE.md "Delivery").
struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Abuse reports waiting to leave: list, approve (review mode), deliver (docs/ABUSE.md).",
        subcommands: [List.self, Approve.self, Deliver.self, EnqueueSample.self],
        defaultSubcommand: List.self
    )

    struct StateOption: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("State directory (the ledger).", valueName: "DIR"))
        var state: String = Ledger.defaultDirectory

        func store() throws -> CaseStore {
            do {
                return CaseStore(ledger: try Ledger(directory: state))
            } catch {
                throw RuntimeFailure("\(error)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The outbox's messages, oldest first.")
        @OptionGroup var state: StateOption
        @Option(name: .long, help: ArgumentHelp("Only this case's messages.", valueName: "CASE")) var `case`: String?
        @Flag(name: .long, help: "JSON Lines output.") var json = false

        func run() throws {
            let caseID = try `case`.map(OutboxCommand.caseID)
            let entries: [OutboxEntry]
            do {
                entries = try state.store().outbox(caseID: caseID, limit: 100_000)
            } catch let error as LedgerError {
                throw RuntimeFailure("\(error)")
            }
            for e in entries {
                if json {
                    var object: [String: Any] = [
                        "id": e.id ?? 0, "case": e.caseID.uuidString.lowercased(), "message_id": e.messageID, "recipient": e.recipient,
                        "state": e.state.rawValue, "attempts": e.attempts, "next_attempt": e.nextAttemptAt.rfc3339,
                    ]
                    object["sent"] = e.sentAt?.rfc3339
                    object["last_error"] = e.lastError
                    object["confirmation"] = e.confirmation
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    let when = e.sentAt.map { "sent \($0.rfc3339)" } ?? "next \(e.nextAttemptAt.rfc3339)"
                    print(
                        "\(e.id ?? 0)  \(e.state.rawValue)  \(e.recipient)  \(e.messageID)  attempts \(e.attempts)  \(when)"
                            + (e.lastError.map { "  (\($0))" } ?? ""))
                }
            }
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a case's reports held for review; they leave at the next delivery.")
        @OptionGroup var state: StateOption
        @Argument(help: ArgumentHelp("The case.", valueName: "CASE")) var caseID: String

        func run() throws {
            let id = try OutboxCommand.caseID(caseID)
            do {
                let n = try state.store().approve(caseID: id, at: systemClock())
                print("\(n) report\(n == 1 ? "" : "s") of case \(id.uuidString.lowercased()) approved")
            } catch let error as LedgerError {
                throw RuntimeFailure("\(error)")
            }
        }
    }

    struct Deliver: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hand over what is due: first resolve hand-overs a crash interrupted, then deliver until nothing is due.",
            discussion: "Transport: the local MTA's sendmail (default), or --smtp HOST:PORT (STARTTLS unless --no-tls)."
        )
        @OptionGroup var state: StateOption
        @Option(name: .long, help: ArgumentHelp("The sendmail program.", valueName: "PATH")) var sendmail = "/usr/sbin/sendmail"
        @Option(name: .long, help: ArgumentHelp("Submit to this relay instead of sendmail.", valueName: "HOST:PORT")) var smtp: String?
        @Flag(name: .long, help: "SMTP without STARTTLS (a local MTA on the loopback only).") var noTLS = false
        @Option(name: .long, help: ArgumentHelp("SMTP user (AUTH PLAIN/LOGIN).", valueName: "USER")) var smtpUser: String?
        @Option(name: .long, help: ArgumentHelp("File holding the SMTP password.", valueName: "FILE")) var smtpPasswordFile: String?
        @Option(name: .long, help: ArgumentHelp("PEM file of the relay's CA (instead of the system's).", valueName: "FILE"))
        var smtpCA: String?
        @Option(name: .long, help: ArgumentHelp("EHLO name.", valueName: "NAME")) var helo = "localhost"
        @Option(
            name: .long, parsing: .singleValue,
            help: ArgumentHelp("A postfix mail log to check interrupted hand-overs against (repeatable).", valueName: "FILE"))
        var postfixLog: [String] = []
        @Option(name: .long, help: ArgumentHelp("At most this many messages per recipient per hour.", valueName: "N")) var perRecipient = 10
        @Option(name: .long, help: ArgumentHelp("Seconds before the first retry (doubling).", valueName: "S")) var backoff = 60
        @Option(name: .long, help: ArgumentHelp("Attempts before a message fails.", valueName: "N")) var maxAttempts = 12

        func validate() throws {
            if let smtp, Self.hostPort(smtp) == nil { throw ValidationError("--smtp: expected HOST:PORT, got '\(smtp)'") }
            guard perRecipient > 0, backoff > 0, maxAttempts > 0 else { throw ValidationError("limits must be positive") }
        }

        static func hostPort(_ text: String) -> (String, Int)? {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                return nil
            }
            let host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return host.isEmpty ? nil : (host, port)
        }

        func run() throws {
            let store = try state.store()
            let transport: any ReportTransport
            if let smtp, let relay = Self.hostPort(smtp) {
                let (host, port) = relay
                var credentials: SMTPConfiguration.Credentials?
                if let smtpUser {
                    guard let file = smtpPasswordFile, let password = try? String(contentsOfFile: file, encoding: .utf8) else {
                        throw RuntimeFailure("--smtp-user needs a readable --smtp-password-file")
                    }
                    credentials = .init(user: smtpUser, password: password.trimmingCharacters(in: .newlines))
                }
                transport = SMTPTransport(
                    configuration: SMTPConfiguration(
                        host: host, port: port, security: noTLS ? .none : .startTLS, credentials: credentials, heloName: helo,
                        trustRootFiles: smtpCA.map { [$0] } ?? []))
            } else {
                transport = SendmailTransport(path: sendmail)
            }
            let check: (any HandoverCheck)? =
                transport.kind == .sendmail ? PostfixHandoverCheck(logFiles: postfixLog.isEmpty ? ["/var/log/mail.log"] : postfixLog) : nil
            let policy = DeliveryPolicy(
                mode: .auto, initialBackoff: .seconds(backoff), maxAttempts: maxAttempts, perRecipientLimit: perRecipient)
            let deliverer = OutboxDeliverer(store: store, transport: transport, policy: policy, check: check, clock: systemClock)
            let outcome = OutboxCommand.blocking { () async throws(LedgerError) -> String in
                var lines: [String] = []
                for e in try await deliverer.recover() {
                    // At once and unbuffered: this process may be killed before it ends.
                    let line = "recovered \(e.messageID) → \(e.state.rawValue): \(e.confirmation ?? e.lastError ?? "")\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                }
                var total = DeliveryTotals()
                while true {
                    let pass = try await deliverer.deliverDue(limit: 50)
                    if pass.handedOver.isEmpty { break }
                    total.add(pass)
                    for e in pass.handedOver where e.state != .sent {
                        lines.append("\(e.messageID) to \(e.recipient): \(e.state.rawValue): \(e.lastError ?? "")")
                    }
                }
                lines.append("sent \(total.sent), retrying \(total.retrying), failed \(total.failed), postponed \(total.postponed)")
                return lines.joined(separator: "\n")
            }
            switch outcome {
            case .success(let text): print(text)
            case .failure(let error): throw RuntimeFailure("\(error)")
            }
        }
    }

    /// The integration driver (integration/outbox): one case with a sample incident and
    /// its report to RECIPIENT, queued (or held for review with --review).
    struct EnqueueSample: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enqueue-sample", abstract: "Queue a sample report (tests).", shouldDisplay: false)
        @OptionGroup var state: StateOption
        @Option(name: .long) var recipient: String
        @Option(name: .long) var from = "abuse-reports@localhost"
        @Option(name: .long) var source = "198.18.0.7"
        @Option(name: .long) var `case`: String?
        @Flag(name: .long) var review = false

        func run() throws {
            guard let address = IPAddress(source) else { throw ValidationError("--source: not an address") }
            let id = try `case`.map(OutboxCommand.caseID) ?? UUID()
            let now = systemClock()
            let store = try state.store()
            let reporter = Reporter(organisation: "sipwarden integration test", contact: from, domain: "localhost")
            let incident = AbuseIncident(
                caseID: id, source: address, sourcePort: 5060, destination: nil, destinationPort: 5060, transport: .udp,
                firstSeen: now - .seconds(60), lastSeen: now, thresholdExceeded: now, attempts: 5, pattern: .bruteForce,
                usersTried: ["100"],
                evidence: [EvidenceItem(contentType: "text/plain", description: "log lines", bytes: Array("auth failed from \(address)\n".utf8))])
            let policy = DeliveryPolicy(mode: review ? .review : .auto)
            do {
                if try store.abuseCase(id: id) == nil {
                    let abuseCase = AbuseCase(
                        id: id, sources: [address], asn: nil, organisation: nil, contacts: [recipient], openedAt: now, lastTrafficAt: now)
                    try store.save(abuseCase, at: now)
                }
                let entry = try OutboxComposer.entry(
                    incident: incident, recipient: recipient, sequence: 1, reporter: reporter, policy: policy, at: now)
                let stored = try store.enqueue(entry)
                print("\(id.uuidString.lowercased()) \(stored.messageID) \(stored.state.rawValue)")
            } catch let error as LedgerError {
                throw RuntimeFailure("\(error)")
            }
        }
    }

    static func caseID(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw ValidationError("'\(text)' is not a case id (a UUID)") }
        return id
    }

    /// Runs `body` to completion for a synchronous command.
    static func blocking<T: Sendable, E: Error>(_ body: @escaping @Sendable () async throws(E) -> T) -> Result<T, E> {
        let outcome = Mutex<Result<T, E>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do throws(E) {
                let value = try await body()
                outcome.withLock { $0 = .success(value) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        return outcome.withLock { $0! }
    }
}

/// Sums of delivery passes.
struct DeliveryTotals {
    var sent = 0
    var retrying = 0
    var failed = 0
    var postponed = 0

    mutating func add(_ pass: OutboxDeliverer.Pass) {
        sent += pass.sent
        retrying += pass.retrying
        failed += pass.failed
        postponed += pass.postponed.count
    }
}
