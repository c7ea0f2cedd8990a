// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import ArgumentParser
import Foundation
import NetworkAddress
import SIPWarden
import Storage

extension AbuseCommand {
    struct AbuseIPDB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "abuseipdb",
            abstract: "Report banned addresses to AbuseIPDB (categories 8 Fraud VoIP and 18 Brute-Force), from the ledger's evidence.",
            discussion: """
                Each address's most recent ban and its events become one report; the comment leaves out this host's \
                addresses and the account names given with --account. Reports wait in STATE/abuse/abuseipdb.json: at most \
                one per address per 15 minutes, a 429's Retry-After is honoured, at most --daily-limit requests per UTC \
                day. Without addresses, sends what is queued. Exit status 1 when a report was refused or an address has \
                no reportable ban.
                """
        )
        @Option(name: .long, help: ArgumentHelp("State directory (ledger, queue in STATE/abuse/).", valueName: "DIR"))
        var state: String = "/var/lib/sipwarden"
        @Option(name: .long, help: ArgumentHelp("File with the AbuseIPDB API key (mode 600).", valueName: "FILE"))
        var keyFile: String?
        @Option(name: .long, help: ArgumentHelp("The API's location (`report` below it).", valueName: "URL"))
        var api: String = AbuseIPDBChannel.defaultAPI.absoluteString
        @Option(name: .long, help: ArgumentHelp("An account name of this PBX, redacted from the comment (repeatable).", valueName: "NAME"))
        var account: [String] = []
        @Option(name: .long, help: ArgumentHelp("Most requests per UTC day.", valueName: "N"))
        var dailyLimit: Int = 1_000
        @Flag(name: .long, help: "Print what would be sent (the form body) and send nothing.") var dryRun = false
        @Argument(help: ArgumentHelp("Banned addresses to report.", valueName: "ADDRESS")) var addresses: [String] = []

        func validate() throws {
            for a in addresses where IPAddress(a) == nil { throw ValidationError("'\(a)' is not an IP address") }
            guard let url = URL(string: api), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                throw ValidationError("--api: expected an http(s) URL, got '\(api)'")
            }
            guard dryRun || keyFile != nil else { throw ValidationError("--key-file is required (or --dry-run)") }
            guard dailyLimit > 0 else { throw ValidationError("--daily-limit must be at least 1") }
        }

        func run() throws {
            let stateURL = URL(fileURLWithPath: state)
            var failed = false
            var reports: [AbuseIPDBReport] = []
            if !addresses.isEmpty {
                let ledger: Ledger
                do { ledger = try Ledger(directory: state) } catch {
                    printError("sipwarden: \(error)")
                    throw ExitCode(ExitStatus.runtimeFailure)
                }
                let redaction = RedactionPolicy(ownNetworks: LocalAddresses.current(), accountNames: Set(account))
                for result in AbuseIPDBChannel.reports(for: addresses.compactMap { IPAddress($0) }, ledger: ledger, redaction: redaction) {
                    switch result {
                    case .success(let report): reports.append(report)
                    case .failure(let error):
                        failed = true
                        printError("sipwarden: \(error)")
                    }
                }
            }
            if dryRun {
                for report in reports { print(report.formBody) }
                if failed { throw ExitCode(ExitStatus.runtimeFailure) }
                return
            }
            let base = URL(string: api.hasSuffix("/") ? api : api + "/")!
            do {
                let channel = try AbuseIPDBChannel(keyFile: keyFile!, stateDirectory: stateURL, api: base, dailyLimit: dailyLimit)
                for (report, admission) in zip(reports, try channel.enqueue(reports)) where admission == .merged {
                    print("\(report.address): already queued")
                }
                let (outcomes, next) = try channel.drainWaiting()
                for outcome in outcomes {
                    print("\(outcome.report.address): \(Self.describe(outcome.answer))")
                    if case .rejected = outcome.answer { failed = true }
                }
                let waiting = try channel.queued().pending.count
                if waiting > 0 { print("\(waiting) report(s) wait in the queue\(next.map { " (next chance \($0.rfc3339))" } ?? "")") }
            } catch {
                printError("sipwarden: \(error)")
                throw ExitCode(ExitStatus.runtimeFailure)
            }
            if failed { throw ExitCode(ExitStatus.runtimeFailure) }
        }

        static func describe(_ answer: AbuseIPDBAnswer) -> String {
            switch answer {
            case .accepted(let score): "reported\(score.map { " (confidence score now \($0))" } ?? "")"
            case .alreadyReported: "already reported within 15 minutes"
            case .retry(let after, let detail): "not yet (\(detail)); again in \(after.components.seconds) s"
            case .rejected(let status, let detail): "refused (HTTP \(status): \(detail))"
            }
        }
    }
}
