// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import ArgumentParser
import ControlPlane
import Foundation
import Logging
import SIPWarden
import Storage
import WardenCore

/// `sipwarden cases list|show|approve|close|evidence`, `report render`, `providers`: the
/// abuse cases in the ledger (docs/ABUSE.md). They read and change the ledger directly —
/// each change one transaction, so a running daemon's changes and these never overwrite
/// each other — and a running daemon picks the change up at its next pass (10 s, or at
/// once: SIGUSR1).
enum CaseCLI {
    static func store(_ options: ConfigOptions) throws -> (CaseStore, Configuration) {
        do {
            let c = try options.load()
            return (CaseStore(ledger: try Ledger(directory: c.stateDirectory)), c)
        } catch {
            throw RuntimeFailure("\(error)")
        }
    }

    static func engine(_ options: ConfigOptions) throws -> (CaseEngine, Configuration) {
        do {
            let c = try options.load()
            guard let engine = try CaseEngine.commandLine(configuration: c, logger: Logger(label: "sipwarden")) else {
                throw RuntimeFailure("this needs the abuse: section of the configuration (--config FILE)")
            }
            return (engine, c)
        } catch let error as RuntimeFailure {
            throw error
        } catch {
            throw RuntimeFailure("\(error)")
        }
    }

    static func find(_ store: CaseStore, _ text: String) throws -> AbuseCase {
        let lowered = text.lowercased()
        guard lowered.count >= 4 else { throw RuntimeFailure("'\(text)' is not a case: give its id or at least 4 characters of it") }
        do {
            if let id = UUID(uuidString: text), let c = try store.abuseCase(id: id) { return c }
            // A unique prefix of the id is enough.
            let matches = try store.cases(limit: 100_000).filter { $0.id.uuidString.lowercased().hasPrefix(lowered) }
            guard matches.count == 1 else {
                throw RuntimeFailure(matches.isEmpty ? "no case \(text)" : "\(text) names \(matches.count) cases: give more of the id")
            }
            return matches[0]
        } catch let error as LedgerError {
            throw RuntimeFailure("\(error)")
        }
    }

    /// Tells a running daemon to look now (it also looks every `abuse.tick`).
    static func nudgeDaemon(_ c: Configuration) {
        guard let text = try? String(contentsOfFile: c.stateDirectory + "/sipwarden.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
        else { return }
        _ = kill(pid, SIGUSR1)
    }
}

extension CasesCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The cases, most recently changed first.")
        @OptionGroup var options: ConfigOptions
        @Flag(name: .long, help: "One JSON object per line.") var json = false
        @Flag(name: .long, help: "Closed cases too.") var all = false

        func run() throws {
            let (store, _) = try CaseCLI.store(options)
            let cases = try store.cases(limit: 100_000).filter { all || $0.state != .closed }
            for c in cases {
                if json {
                    print(CaseView.encodedLine(CaseView(c)))
                } else {
                    let network = c.asn.map { "AS\($0)" } ?? c.organisation ?? "-"
                    print(
                        "\(c.id.uuidString.lowercased())  \(c.state.rawValue)  \(network)  \(c.sources.map(\.description).joined(separator: ","))  "
                            + "\(c.contacts.indices.contains(c.currentContact) ? c.contacts[c.currentContact] : "no contact")"
                            + (c.ticket.map { "  ticket \($0)" } ?? ""))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One case: its bans, messages, answers, traffic and history.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: ArgumentHelp("The case (its id or a unique prefix).", valueName: "ID")) var id: String
        @Flag(name: .long, help: "JSON output.") var json = false

        func run() throws {
            let (store, _) = try CaseCLI.store(options)
            let c = try CaseCLI.find(store, id)
            let messages = try store.messages(caseID: c.id)
            let outbox = try store.outbox(caseID: c.id, limit: 10_000)
            if json {
                // The same view as GET /v1/cases/{id}.
                print(CaseView.encodedLine(CaseView(c, messages: messages, outbox: outbox)))
                return
            }
            print("case \(c.id.uuidString.lowercased()): \(c.state.rawValue)")
            print("  network: \(c.asn.map { "AS\($0)" } ?? "-") \(c.organisation ?? "")")
            print("  sources: \(c.sources.map(\.description).joined(separator: ", "))")
            print("  contacts: \(c.contacts.enumerated().map { "\($0.offset == c.currentContact ? "*" : "")\($0.element)" }.joined(separator: ", "))")
            if let t = c.ticket { print("  ticket: \(t)") }
            print("  traffic: last \(c.lastTrafficAt?.rfc3339 ?? "none")\(c.mitigatedAt.map { ", mitigated \($0.rfc3339)" } ?? "")")
            if let p = c.pendingEscalation {
                print("  waiting for approval: escalation to \(p.rawValue) (sipwarden cases approve \(c.id.uuidString.lowercased()))")
            }
            print("timeline:")
            for r in c.history { print("  \(r.time.rfc3339)  \(r.state.rawValue)  \(r.note)") }
            print("outbox:")
            for e in outbox {
                print("  \(e.state.rawValue)  \(e.recipient)  \(e.messageID)\(e.sentAt.map { "  sent \($0.rfc3339)" } ?? "")")
            }
            print("messages:")
            for m in messages {
                print(
                    "  \(m.time.rfc3339)  \(m.direction.rawValue)  \(m.peer ?? "-")  \(m.messageID ?? "")"
                        + (m.classification.map { "  \($0.kind.rawValue)\($0.ticket.map { " ticket \($0)" } ?? "")" } ?? ""))
            }
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a case: its held reports leave (review mode), or the escalation step waiting is taken.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: ArgumentHelp("The case (its id or a unique prefix).", valueName: "ID")) var id: String

        func run() throws {
            let (engine, configuration) = try CaseCLI.engine(options)
            let c = try CaseCLI.find(engine.store, id)
            let pending = c.pendingEscalation
            do {
                let released = try engine.approve(c.id)
                print(
                    "case \(c.id.uuidString.lowercased()): \(released) report\(released == 1 ? "" : "s") released"
                        + (pending.map { ", escalation to \($0.rawValue) taken" } ?? ""))
            } catch {
                throw RuntimeFailure("\(error)")
            }
            CaseCLI.nudgeDaemon(configuration)
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a case (nothing more is sent or escalated).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: ArgumentHelp("The case (its id or a unique prefix).", valueName: "ID")) var id: String
        @Option(name: .long, help: ArgumentHelp("Why (kept in its history).", valueName: "TEXT")) var reason = "closed by the operator"

        func run() throws {
            let (store, _) = try CaseCLI.store(options)
            let c = try CaseCLI.find(store, id)
            let policy = CasePolicy()
            do {
                _ = try store.update(id: c.id, at: systemClock()) { c in _ = c.handle(.close(reason: reason), at: systemClock(), policy: policy) }
            } catch {
                throw RuntimeFailure("\(error)")
            }
            print("case \(c.id.uuidString.lowercased()) closed")
        }
    }

    struct Evidence: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the case's evidence pack (timeline, reports, answers, evidence, SHA256SUMS) into a folder.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: ArgumentHelp("The case (its id or a unique prefix).", valueName: "ID")) var id: String
        @Option(name: .long, help: ArgumentHelp("The folder (created).", valueName: "DIR")) var out: String

        func run() throws {
            let (engine, _) = try CaseCLI.engine(options)
            let c = try CaseCLI.find(engine.store, id)
            do {
                let n = try engine.writeEvidencePack(c.id, to: out)
                print("\(n) files in \(out) (check: cd \(out) && sha256sum -c SHA256SUMS)")
            } catch {
                throw RuntimeFailure("\(error)")
            }
        }
    }
}

/// `sipwarden report render CASE --format xarf|text|mime`: a case's report as it is (or
/// would be) sent.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Abuse reports (docs/ABUSE.md).", subcommands: [Render.self])

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case xarf, text, mime
    }

    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a case's report: XARF JSON, the text, or the whole MIME message.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: ArgumentHelp("The case (its id or a unique prefix).", valueName: "CASE")) var id: String
        @Option(name: .long, help: ArgumentHelp("xarf, text or mime.", valueName: "FORMAT")) var format: Format = .text
        @Option(name: .long, help: ArgumentHelp("Which source of the case (its address; default the first).", valueName: "ADDRESS"))
        var source: String?

        func run() throws {
            let (engine, _) = try CaseCLI.engine(options)
            let c = try CaseCLI.find(engine.store, id)
            let index =
                try source.map { s -> Int in
                    guard let i = c.sources.firstIndex(where: { $0.description == s }) else {
                        throw RuntimeFailure("\(s) is not a source of the case")
                    }
                    return i
                } ?? 0
            guard c.sources.indices.contains(index) else { throw RuntimeFailure("the case has no source") }
            do {
                switch format {
                case .mime:
                    // What is (or would be) in the outbox for the current contact.
                    let contact = c.contacts.isEmpty ? 0 : c.currentContact
                    let sequence = CaseEngine.sequence(contactIndex: contact, sourceIndex: index)
                    if let stored = try engine.store.outbox(caseID: c.id).first(where: {
                        $0.messageID.hasPrefix("<sipwarden.\(c.id.uuidString.lowercased()).\(sequence)@")
                    }) {
                        print(String(decoding: stored.message, as: UTF8.self))
                        return
                    }
                    guard !c.contacts.isEmpty else { throw RuntimeFailure("the case has no contact to write to") }
                    switch try engine.render(c, sourceIndex: index, contactIndex: contact, mode: .review) {
                    case .success(let e): print(String(decoding: e.message, as: UTF8.self))
                    case .failure(let why): throw RuntimeFailure("\(why)")
                    }
                case .xarf, .text:
                    switch try engine.incident(of: c, source: c.sources[index]) {
                    case nil: throw RuntimeFailure("no ban with events for \(c.sources[index]) in the ledger")
                    case .failure(let why): throw RuntimeFailure("\(why)")
                    case .success(let incident):
                        if format == .text {
                            print(AbuseReportText.subject(incident))
                            print()
                            print(AbuseReportText.body(incident, reporter: engine.settings.reporterIdentity))
                        } else {
                            let doc = try XARFReport.render(incident, reporter: engine.settings.reporterIdentity, timestamp: systemClock())
                            print(String(decoding: doc, as: UTF8.self))
                        }
                    }
                }
            } catch let error as RuntimeFailure {
                throw error
            } catch {
                throw RuntimeFailure("\(error)")
            }
        }
    }
}

/// `sipwarden providers [--json]`: the provider scorecard over every case.
struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers", abstract: "The provider scorecard: how each network handled its abuse reports (docs/ABUSE.md).")
    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run() throws {
        let (store, configuration) = try CaseCLI.store(options)
        let policy = configuration.abuse?.casePolicy ?? CasePolicy()
        // The same rows as GET /v1/providers.
        let scores = try ProviderScoreView.scorecard(store, policy: policy, now: systemClock())
        if !json {
            print("NETWORK  CASES  REPORTED  BOUNCED  ACKED  MEDIAN-ACK  MEDIAN-STOP  RESUMED  NEVER-ACTED  OVERDUE")
        }
        for s in scores {
            if json {
                print(CaseView.encodedLine(s))
            } else {
                let network = s.asn.map { "AS\($0)" } ?? s.organisation ?? "-"
                func secs(_ v: Int64?) -> String { v.map { "\($0)s" } ?? "-" }
                func share(_ v: Double?) -> String { v.map { String(format: "%.0f%%", $0 * 100) } ?? "-" }
                print(
                    "\(network)  \(s.cases)  \(s.reported)  \(s.bounced)  \(s.acknowledged)  \(secs(s.medianSecondsToAcknowledge))  "
                        + "\(secs(s.medianSecondsUntilStopped))  \(share(s.resumedShare))  \(share(s.neverActedShare))  \(s.overdueNow)")
            }
        }
    }
}
