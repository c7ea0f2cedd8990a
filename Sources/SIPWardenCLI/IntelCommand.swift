// SPDX-License-Identifier: GPL-2.0-or-later

import ArgumentParser
import SIPWarden

/// `sipwarden intel lookup|import|update`: the offline intelligence store (docs/INTEL.md).
struct IntelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intel",
        abstract: "Who is behind an address: AS, country, announced prefix, cloud provider (offline data in STATE/intel).",
        subcommands: [Lookup.self, Import.self, Update.self]
    )

    struct Lookup: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "AS number and name, country, prefix, provider, service and region of addresses.")
        @OptionGroup var common: ConfigOptions
        @Flag(name: .long, help: "One JSON object per address and line.") var json = false
        @Argument(help: ArgumentHelp("IPv4 or IPv6 addresses.", valueName: "ADDRESS")) var addresses: [String]

        func validate() throws {
            if addresses.isEmpty { throw ValidationError("give at least one ADDRESS") }
        }

        func run() throws {
            print(try IntelTool.lookup(addresses, stateDirectory: try common.load().stateDirectory, json: json), terminator: "")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse published range files (format detected) and store them under STATE/intel for the daemon and lookup."
        )
        @OptionGroup var common: ConfigOptions
        @Option(
            name: .long, help: ArgumentHelp("Dataset name (one FILE only): the provider or list name for geofeeds and CIDR lists.", valueName: "NAME")
        )
        var name: String?
        @Option(name: .long, help: ArgumentHelp("ip2asn, aws, gcp, azure, oracle, geofeed or list (default: detected).", valueName: "FORMAT"))
        var format: String?
        @Argument(help: ArgumentHelp("Files to import.", valueName: "FILE")) var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one FILE") }
        }

        func run() throws {
            print(try IntelTool.importFiles(files, name: name, format: format, stateDirectory: try common.load().stateDirectory), terminator: "")
        }
    }

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
