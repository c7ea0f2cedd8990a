// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import AbuseMail
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `sipwarden cases …`: abuse cases (docs/ABUSE.md). Other subcommands join `subcommands`.
struct CasesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cases",
        abstract: "Abuse cases: reports, answers, escalation (docs/ABUSE.md).",
        subcommands: [List.self, Show.self, Approve.self, Close.self, Contacts.self, Evidence.self, Ingest.self]
    )

    /// One answer from standard input into the answers' Maildir (a pipe in /etc/aliases).
    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver one mail from standard input into the answers' Maildir (STATE/mail/Maildir).",
            discussion: """
                For /etc/aliases: abuse-replies: "|/usr/bin/sipwarden cases ingest". Exit status as sendmail \
                pipes expect: 0 delivered, 65 refused (empty or too large: the MTA bounces it), 75 temporary \
                failure (the MTA retries). The daemon need not run: it reads the Maildir when it starts.
                """
        )
        @Option(name: .long, help: ArgumentHelp("State directory (the Maildir is STATE/mail/Maildir).", valueName: "DIR"))
        var state: String = "/var/lib/sipwarden"
        @Option(name: .long, help: ArgumentHelp("Deliver into this Maildir instead.", valueName: "DIR"))
        var maildir: String?
        @Option(name: .long, help: ArgumentHelp("Refuse larger messages (bytes).", valueName: "BYTES"))
        var maxSize: Int = MailIntake.maxMessageBytes

        func validate() throws {
            guard maxSize > 0, maxSize <= MailIntake.maxMessageBytes else {
                throw ValidationError("--max-size: must be between 1 and \(MailIntake.maxMessageBytes), got \(maxSize)")
            }
        }

        func run() throws {
            let target = maildir.map { Maildir(root: $0) } ?? .default(stateDirectory: state)
            switch MailIngest.run(maildir: target, maxBytes: maxSize) {
            case .delivered: return
            case .refused(let reason, let status):
                printError("sipwarden cases ingest: \(reason)")
                Glibc.exit(status) // 65 or 75 for the MTA, not the CLI's 1
            }
        }
    }
}
