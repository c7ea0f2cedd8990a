// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Foundation
import IntelStore
import Testing

@testable import SIPWarden

/// `intel import` and `intel lookup` over a throwaway state directory and the published
/// samples in ../shared/corpus/ranges (read in place).
@Suite("intel import and lookup")
struct IntelToolTests {
    static let ranges = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/corpus/ranges").standardizedFileURL.path

    func withState(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sw-intel-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    @Test("imported files are stored under STATE/intel and answer lookups, in text and JSON")
    func importThenLookup() throws {
        try withState { state in
            let report = try IntelTool.importFiles(
                ["\(Self.ranges)/aws-ip-ranges.excerpt.json", "\(Self.ranges)/ip2asn-v4.sample.tsv"],
                name: nil, format: nil, stateDirectory: state
            )
            #expect(report.contains("aws: aws (provider)"))
            #expect(report.contains("ip2asn-v4.sample: ip2asn (asn)"))
            let stored = try FileManager.default.contentsOfDirectory(atPath: state + "/intel").sorted()
            #expect(stored == ["aws.aws", "ip2asn-v4.sample.ip2asn"])
            // Stored verbatim.
            #expect(FileManager.default.contentsEqual(atPath: state + "/intel/aws.aws", andPath: "\(Self.ranges)/aws-ip-ranges.excerpt.json"))
            let json = try IntelTool.lookup(["3.5.140.9", "1.0.0.1", "1.0.2.3"], stateDirectory: state, json: true)
            let lines = json.split(separator: "\n")
            #expect(lines.count == 3)
            let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
            #expect(first?["provider"] as? String == "aws")
            #expect(first?["service"] as? String == "EC2")
            #expect(first?["region"] as? String == "ap-northeast-2")
            let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
            #expect(second?["asn"] as? Int == 13335)
            #expect(second?["country"] as? String == "US")
            #expect(second?["prefix"] as? String == "1.0.0.0/24")
            let third = try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any]
            #expect(third?["asn"] == nil, "1.0.2.3 lies in a Not routed row")
            let text = try IntelTool.lookup(["1.0.0.1"], stateDirectory: state, json: false)
            #expect(text.contains("AS13335") && text.contains("prefix 1.0.0.0/24"))
        }
    }

    @Test("a bad file stores nothing and names its line; --name takes one file")
    func refusals() throws {
        try withState { state in
            let bad = state + "/bad.tsv"
            try Data("1.0.0.0\t1.0.0.255\t13335\tUS\tX\n1.0.1.0\tnope\t1\tUS\tY\n".utf8).write(to: URL(fileURLWithPath: bad))
            #expect {
                try IntelTool.importFiles(["\(Self.ranges)/gcp-cloud.excerpt.json", bad], name: nil, format: nil, stateDirectory: state)
            } throws: { error in
                "\(error)".hasPrefix("\(bad):2: ")
            }
            #expect(!FileManager.default.fileExists(atPath: state + "/intel/gcp.gcp"))
            #expect(throws: RuntimeFailure.self) {
                try IntelTool.importFiles([bad, bad], name: "x", format: nil, stateDirectory: state)
            }
            // A list under a chosen name, replaced atomically by a second import of the same name.
            let list = state + "/mine.txt"
            try Data("198.18.7.0/24\n".utf8).write(to: URL(fileURLWithPath: list))
            _ = try IntelTool.importFiles([list], name: "scanners", format: nil, stateDirectory: state)
            #expect(try IntelTool.lookup(["198.18.7.9"], stateDirectory: state, json: true).contains("\"lists\":[\"scanners\"]"))
            try Data("198.18.8.0/24\n".utf8).write(to: URL(fileURLWithPath: list))
            _ = try IntelTool.importFiles([list], name: "scanners", format: nil, stateDirectory: state)
            #expect(!(try IntelTool.lookup(["198.18.7.9"], stateDirectory: state, json: true).contains("scanners")))
            #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/intel") == ["scanners.list"])
        }
    }

    @Test("bans list --json carries the store's answer for each banned network; the table and a store-less list do not")
    func bansListEnrichment() throws {
        let table = try IntelParser.parse(bytes: Array("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n".utf8), name: "ip2asn")
        let store = IntelStore(datasets: [table])
        let bans = [
            BanView(
                id: 1, network: "1.0.0.7", kind: "failures", reason: "r", origin: "detector", offence: 1,
                created: "2026-12-03T00:00:00Z", expires: nil, lifted: nil, inKernel: nil),
            BanView(
                id: 2, network: "198.18.0.0/24", kind: "manual", reason: "r", origin: "manual", offence: 1,
                created: "2026-12-03T00:00:00Z", expires: nil, lifted: nil, inKernel: nil),
        ]
        let lines = Administration.render(bans, all: false, limit: 10, json: true, intel: store).split(separator: "\n")
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["asn"] as? Int == 13335)
        #expect(first?["as_name"] as? String == "CLOUDFLARENET")
        #expect(first?["prefix"] as? String == "1.0.0.0/24")
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(second?["asn"] == nil && second?["network"] as? String == "198.18.0.0/24")
        #expect(!Administration.render(bans, all: false, limit: 10, json: true).contains("asn"))
    }
}
