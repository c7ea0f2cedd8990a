// SPDX-License-Identifier: GPL-2.0-or-later
import ArgumentParser
import SIPWarden

/// `sipwarden intel …`: the offline intelligence store's sources (docs/INTEL.md).
struct IntelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intel",
        abstract: "Intelligence sources: update them (docs/INTEL.md).",
        subcommands: [Update.self]
    )

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch every configured source (conditional requests; validated, guarded, swapped atomically).",
            discussion: """
                Each source is fetched from its configured URL (intel.sources; defaults: the providers' public
                addresses) into STATE/intel/. A source that fails keeps its last good copy. Exit status 1 when
                any source failed (the others are still updated).
                """
        )
        @OptionGroup var common: ConfigOptions
        @Option(name: .customLong("source"), help: ArgumentHelp("Only this source (repeatable; default: all).", valueName: "NAME"))
        var sources: [String] = []

        func run() throws {
            let result = try IntelUpdateCommand.run(configuration: try common.load(), only: sources, logger: makeLogger(level: .warning))
            for line in result.lines { print(line) }
            if !result.allSucceeded { throw ExitCode(ExitStatus.runtimeFailure) }
        }
    }
}
