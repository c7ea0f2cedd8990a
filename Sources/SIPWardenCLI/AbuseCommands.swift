// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import ArgumentParser
import Foundation
import NetworkAddress
import SIPWarden

struct AbuseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abuse",
        abstract: "Who to tell about an attacking address (docs/ABUSE.md).",
        subcommands: [Contact.self, AbuseIPDB.self]
    )

    struct Contact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The abuse contact of each address, found through RDAP (IANA bootstrap, the registry's answer, parent network, origin AS).",
            discussion: "Contacts and the bootstrap files are cached in STATE/abuse/. Exit status 1 when an address has no contact."
        )
        @Option(name: .long, help: ArgumentHelp("State directory (cache in STATE/abuse/).", valueName: "DIR"))
        var state: String = "/var/lib/sipwarden"
        @Option(name: .long, help: ArgumentHelp("Where IANA's RDAP bootstrap files (ipv4.json, ipv6.json, asn.json) are.", valueName: "URL"))
        var rdapBootstrap: String = AbuseContactLookup.defaultBootstrap.absoluteString
        @Flag(name: .long, help: "JSON Lines output.") var json = false
        @Argument(help: ArgumentHelp("Addresses.", valueName: "ADDRESS")) var addresses: [String]

        func validate() throws {
            guard !addresses.isEmpty else { throw ValidationError("give at least one address") }
            for a in addresses where IPAddress(a) == nil { throw ValidationError("'\(a)' is not an IP address") }
            guard let url = URL(string: rdapBootstrap), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                throw ValidationError("--rdap-bootstrap: expected an http(s) URL, got '\(rdapBootstrap)'")
            }
        }

        func run() throws {
            let base = URL(string: rdapBootstrap.hasSuffix("/") ? rdapBootstrap : rdapBootstrap + "/")!
            let lookup = AbuseContactLookup(bootstrapBase: base, stateDirectory: URL(fileURLWithPath: state))
            var failed = false
            for text in addresses {
                let address = IPAddress(text)!
                do {
                    let c = try lookup.contactWaiting(for: address)
                    print(json ? Self.json(address, c) : Self.describe(address, c))
                } catch {
                    failed = true
                    if json {
                        print(Self.jsonLine(["address": address.description, "error": error.description]))
                    } else {
                        printError("sipwarden: \(address): \(error)")
                    }
                }
            }
            if failed { throw ExitCode(ExitStatus.runtimeFailure) }
        }

        static func describe(_ address: IPAddress, _ c: AbuseContact) -> String {
            var lines = ["\(address): \(c.email ?? c.webForm?.absoluteString ?? "no mailbox")"]
            if !c.alternatives.isEmpty { lines.append("  also:     \(c.alternatives.joined(separator: ", "))") }
            if let form = c.webForm, c.email != nil { lines.append("  web form: \(form.absoluteString)") }
            lines.append("  source:   \(c.source.rawValue)\(c.registry.map { " (\($0.rawValue.uppercased()))" } ?? "")")
            if let network = c.network {
                lines.append("  network:  \(network)\(c.networkHandle.map { " \($0)" } ?? "")\(c.networkName.map { " (\($0))" } ?? "")")
            }
            if let asn = c.asn { lines.append("  AS:       \(asn)") }
            for step in c.trail { lines.append("  how:      \(step)") }
            return lines.joined(separator: "\n")
        }

        static func json(_ address: IPAddress, _ c: AbuseContact) -> String {
            var object: [String: Any] = [
                "address": address.description, "source": c.source.rawValue, "alternatives": c.alternatives, "trail": c.trail,
            ]
            object["email"] = c.email
            object["web_form"] = c.webForm?.absoluteString
            object["registry"] = c.registry?.rawValue
            object["network"] = c.network
            object["network_handle"] = c.networkHandle
            object["network_name"] = c.networkName
            object["asn"] = c.asn.map { Int($0) }
            return jsonLine(object)
        }

        static func jsonLine(_ object: [String: Any]) -> String {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            return String(decoding: data, as: UTF8.self)
        }
    }
}
