// SPDX-License-Identifier: GPL-2.0-or-later

import ArgumentParser
import RangePolicy
import SIPWarden

struct RangesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ranges",
        abstract: "List, add or lift range blocks: a provider's, an AS's, a named list's or a CIDR file's ranges (docs/RANGES.md).",
        subcommands: [List.self, Block.self, Unblock.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the range blocks in force.")
        @OptionGroup var common: ConfigOptions
        @Flag(name: .long, help: "JSON Lines output.") var json = false

        func run() throws {
            let admin = RangesAdministration(configuration: try common.load(), logger: makeLogger(level: .warning))
            print(try admin.list(json: json), terminator: json ? "" : "\n")
        }
    }

    struct Block: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block every range of a selector (aws:EC2, AS14061, list:NAME, file:/PATH).")
        @OptionGroup var common: ConfigOptions
        @Flag(name: .long, help: "Drop everything from the ranges, not only SIP.") var all = false
        @Option(name: .long, help: ArgumentHelp("Block length (10m, 1h, 7d); omit for permanent.", valueName: "DURATION")) var blockTime: String?
        @Argument(help: ArgumentHelp("What to block.", valueName: "SELECTOR")) var selector: String

        func run() throws {
            var duration: Duration?
            if let blockTime {
                guard let d = DurationParser.parse(blockTime), d > .zero else {
                    throw ValidationError("--block-time: expected a duration such as 1d, got '\(blockTime)'")
                }
                duration = d
            }
            let admin = RangesAdministration(configuration: try common.load(), logger: makeLogger(level: .warning))
            print(try admin.block(selector, scope: all ? .all : .sip, duration: duration))
        }
    }

    struct Unblock: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift the block of a selector.")
        @OptionGroup var common: ConfigOptions
        @Argument(help: ArgumentHelp("The blocked selector.", valueName: "SELECTOR")) var selector: String

        func run() throws {
            let admin = RangesAdministration(configuration: try common.load(), logger: makeLogger(level: .warning))
            print(try admin.unblock(selector))
        }
    }
}
