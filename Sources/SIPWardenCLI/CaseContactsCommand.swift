// SPDX-License-Identifier: GPL-2.0-or-later

import ArgumentParser
import SIPWarden

extension CasesCommand {
    /// `sipwarden cases contacts ID --add MAILBOX… | --set MAILBOX…`: the operator's own
    /// contacts for a case (a provider's better address, a case RDAP found no contact for).
    struct Contacts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a case contacts by hand: --add appends (tried after the current one), --set replaces (before any report is made).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: ArgumentHelp("The case (its id or a unique prefix).", valueName: "ID")) var id: String
        @Option(name: .long, help: ArgumentHelp("A mailbox to try after the current contact (repeatable).", valueName: "MAILBOX"))
        var add: [String] = []
        @Option(name: .long, help: ArgumentHelp("The contacts in order, replacing the found ones (repeatable).", valueName: "MAILBOX"))
        var set: [String] = []

        func validate() throws {
            guard add.isEmpty != set.isEmpty else { throw ValidationError("give either --add or --set") }
        }

        func run() throws {
            let (engine, configuration) = try CaseCLI.engine(options)
            let c = try CaseCLI.find(engine.store, id)
            do {
                let updated = try engine.setContacts(c.id, set.isEmpty ? add : set, replace: !set.isEmpty)
                let list = updated.contacts.enumerated().map { "\($0.offset == updated.currentContact ? "*" : "")\($0.element)" }
                print("case \(updated.id.uuidString.lowercased()): contacts \(list.joined(separator: ", ")) (state \(updated.state.rawValue))")
            } catch {
                throw RuntimeFailure("\(error)")
            }
            CaseCLI.nudgeDaemon(configuration)
        }
    }
}
