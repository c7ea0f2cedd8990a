// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Probe
import Testing

/// Runs the real UDP probe against a live server. Enabled only when
/// SIPWARDEN_PROBE_TARGET is set (integration/e2e-probe/run.sh sets it and runs this test
/// inside its own network namespace, next to Kamailio on loopback).
///
/// - SIPWARDEN_PROBE_TARGET  HOST:PORT (loopback only: the test never sets iOwnThisHost)
/// - SIPWARDEN_PROBE_USER    the existing user (default 100)
/// - SIPWARDEN_PROBE_EXPECT  leak | no-leak | inconclusive | unreachable | any (default any)
/// - SIPWARDEN_PROBE_JSON    where to write the JSON report (optional)
@Suite("LiveProbeTests", .enabled(if: environment("SIPWARDEN_PROBE_TARGET") != nil, "SIPWARDEN_PROBE_TARGET not set"))
struct LiveProbeTests {
    @Test func probeLiveTarget() throws {
        let targetText = try #require(environment("SIPWARDEN_PROBE_TARGET"))
        let user = environment("SIPWARDEN_PROBE_USER") ?? "100"
        let expect = environment("SIPWARDEN_PROBE_EXPECT") ?? "any"
        let target = try ProbeTarget(parsing: targetText, iOwnThisHost: false)
        let configuration = ProbeConfiguration(existingUser: user, version: "e2e")
        do {
            let report = try UDPProbeShell.run(target: target, configuration: configuration)
            print(report.renderText())
            if let path = environment("SIPWARDEN_PROBE_JSON") {
                try writeFile(path, report.renderJSON() + "\n")
            }
            if expect != "any" {
                #expect(report.verdict.rawValue == expect, "verdict \(report.verdict.rawValue), expected \(expect)")
            }
        } catch ProbeError.unreachable(let where_) {
            print("unreachable: \(where_)")
            #expect(expect == "unreachable" || expect == "any", "target unreachable, expected \(expect)")
        }
    }
}

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

struct WriteError: Error { let path: String }

func writeFile(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else { throw WriteError(path: path) }
    defer { fclose(file) }
    let bytes = Array(text.utf8)
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw WriteError(path: path) }
}
