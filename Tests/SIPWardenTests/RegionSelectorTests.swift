// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import IntelStore
import Logging
import NetworkAddress
import RangePolicy
import Testing
import WardenCore

@testable import SIPWarden

/// Region selectors (`aws:EC2:eu-west-3`, `gcp:*:africa-south1`, `digitalocean:*:US-NJ`)
/// over the published samples in ../shared/corpus/ranges: what each file says of a
/// region (read here with Foundation's JSON reader and a CSV split, not the store's
/// parsers) is what the selector blocks, in `ranges block` and in max-retry rules.
@Suite("intel store: region selectors over the real publications")
struct RegionSelectorTests {
    static let ranges = IntelToolTests.ranges

    /// A state directory with the cloud samples and the two geofeeds imported.
    func withState(_ body: (String, IntelStoreHolder) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("asrule-region-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try IntelTool.importFiles(
            [
                "\(Self.ranges)/aws-ip-ranges.excerpt.json", "\(Self.ranges)/gcp-cloud.excerpt.json",
                "\(Self.ranges)/azure-ServiceTags_Public.excerpt.json", "\(Self.ranges)/oracle-public_ip_ranges.excerpt.json",
            ], name: nil, format: nil, stateDirectory: dir)
        _ = try IntelTool.importFiles(["\(Self.ranges)/digitalocean-geofeed-google.csv"], name: "digitalocean", format: nil, stateDirectory: dir)
        _ = try IntelTool.importFiles(["\(Self.ranges)/linode-geofeed.excerpt.csv"], name: "linode", format: nil, stateDirectory: dir)
        try body(dir, IntelStoreHolder(IntelDirectory(stateDirectory: dir).loadStore().store))
    }

    func json(_ file: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(Self.ranges)/\(file)"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func networks(_ holder: IntelStoreHolder, _ text: String) throws -> [IPNetwork] {
        let selector = try #require(RangeSelector.parse(text), "\(text)")
        return try NetworkKnowledge.rangeSource(holder: holder, settings: RangesSettings()).networks(for: selector)
    }

    func covered(_ prefix: String, by networks: [IPNetwork]) -> Bool {
        guard let p = IPNetwork(prefix) else { return false }
        return networks.contains { $0.contains(p) }
    }

    func touched(_ prefix: String, by networks: [IPNetwork]) -> Bool {
        guard let p = IPNetwork(prefix) else { return false }
        return networks.contains { $0.contains(p.address) || p.contains($0.address) }
    }

    @Test func awsServiceAndRegion() throws {
        let entries = try #require(try json("aws-ip-ranges.excerpt.json")["prefixes"] as? [[String: String]])
        let ec2 = entries.filter { $0["service"] == "EC2" }
        let region = try #require(ec2.first?["region"])
        let inRegion = ec2.filter { $0["region"] == region }.compactMap { $0["ip_prefix"] }
        // Prefixes of other regions (any service) that no entry of this region overlaps.
        let elsewhere = entries.filter { $0["region"] != region }.compactMap { $0["ip_prefix"] }.filter { other in
            !entries.filter { $0["region"] == region }.compactMap { $0["ip_prefix"] }.contains { mine in
                guard let a = IPNetwork(mine), let b = IPNetwork(other) else { return true }
                return a.contains(b.address) || b.contains(a.address)
            }
        }
        try withState { _, holder in
            let selected = try networks(holder, "aws:EC2:\(region)")
            #expect(!inRegion.isEmpty && inRegion.allSatisfy { covered($0, by: selected) }, "\(selected)")
            #expect(!elsewhere.isEmpty && !elsewhere.contains { touched($0, by: selected) })
            // Case does not matter; the region within the provider holds its services.
            #expect(try networks(holder, "AWS:ec2:\(region.uppercased())") == selected)
            #expect(try networks(holder, "aws:*:\(region)").count >= selected.count)
        }
    }

    @Test func gcpAzureAndOracleRegions() throws {
        let gcp = try #require(try json("gcp-cloud.excerpt.json")["prefixes"] as? [[String: String]])
        let scope = try #require(gcp.first?["scope"])
        let gcpPrefixes = gcp.filter { $0["scope"] == scope }.compactMap { $0["ipv4Prefix"] ?? $0["ipv6Prefix"] }

        let azure = try #require(try json("azure-ServiceTags_Public.excerpt.json")["values"] as? [[String: Any]])
        let tag = try #require(
            azure.first { value in
                let p = value["properties"] as? [String: Any]
                return (p?["region"] as? String).map { !$0.isEmpty } == true && (p?["systemService"] as? String).map { !$0.isEmpty } == true
            })
        let properties = try #require(tag["properties"] as? [String: Any])
        let azureRegion = try #require(properties["region"] as? String)
        let azureService = try #require(properties["systemService"] as? String)
        let azurePrefixes = try #require(properties["addressPrefixes"] as? [String])

        let oracle = try #require(try json("oracle-public_ip_ranges.excerpt.json")["regions"] as? [[String: Any]])
        let oracleRegion = try #require(oracle.first?["region"] as? String)
        let oracleCIDRs = try #require(oracle.first?["cidrs"] as? [[String: Any]]).compactMap { $0["cidr"] as? String }

        try withState { _, holder in
            let g = try networks(holder, "gcp:*:\(scope)")
            #expect(!gcpPrefixes.isEmpty && gcpPrefixes.allSatisfy { covered($0, by: g) })
            let a = try networks(holder, "azure:\(azureService):\(azureRegion)")
            #expect(!azurePrefixes.isEmpty && azurePrefixes.allSatisfy { covered($0, by: a) })
            let o = try networks(holder, "oracle:*:\(oracleRegion)")
            #expect(!oracleCIDRs.isEmpty && oracleCIDRs.allSatisfy { covered($0, by: o) })
        }
    }

    @Test func geofeedRegionColumn() throws {
        // RFC 8805: prefix, country, region, city, postal code; '#' starts a comment.
        func rows(_ file: String) throws -> [[String]] {
            try String(contentsOfFile: "\(Self.ranges)/\(file)", encoding: .utf8).split(whereSeparator: \.isNewline)
                .filter { !$0.hasPrefix("#") }.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
                .filter { $0.count >= 3 }
        }
        let digitalocean = try rows("digitalocean-geofeed-google.csv")
        let region = try #require(digitalocean.first?[2])
        let mine = digitalocean.filter { $0[2] == region }.map { $0[0] }
        let others = digitalocean.filter { $0[2] != region && !$0[2].isEmpty }.map { $0[0] }
        let linode = try rows("linode-geofeed.excerpt.csv")
        let linodeRegion = try #require(linode.first?[2])
        let linodeMine = linode.filter { $0[2] == linodeRegion }.map { $0[0] }
        try withState { _, holder in
            let selected = try networks(holder, "digitalocean:*:\(region)")
            #expect(mine.allSatisfy { covered($0, by: selected) })
            // Rows of other regions that no row of this region overlaps are left out.
            let disjoint = others.filter { o in !mine.contains { m in IPNetwork(o).map { touched(m, by: [$0]) } ?? true } }
            #expect(!disjoint.isEmpty && !disjoint.contains { touched($0, by: selected) })
            let l = try networks(holder, "linode:*:\(linodeRegion)")
            #expect(!linodeMine.isEmpty && linodeMine.allSatisfy { covered($0, by: l) })
        }
    }

    @Test func anUnknownRegionIsRefusedNamingKnownOnes() throws {
        let entries = try #require(try json("aws-ip-ranges.excerpt.json")["prefixes"] as? [[String: String]])
        let ec2Regions = Set(entries.filter { $0["service"] == "EC2" }.compactMap { $0["region"] })
        try withState { _, holder in
            do throws(RangeSourceError) {
                _ = try NetworkKnowledge.rangeSource(holder: holder, settings: RangesSettings())
                    .networks(for: .provider("aws", service: "EC2", region: "xx-nowhere-9"))
                Issue.record("an unknown region was answered")
            } catch {
                #expect(error.message.contains("no such region"), "\(error)")
                let named = ec2Regions.filter { error.message.contains($0) }
                #expect(!named.isEmpty, "\(error.message)")
            }
        }
    }

    /// Both uses: a max-retry rule and a block of one region.
    @Test func regionsInMaxRetryRulesAndBlocks() throws {
        let entries = try #require(try json("aws-ip-ranges.excerpt.json")["prefixes"] as? [[String: String]])
        let ec2 = entries.filter { $0["service"] == "EC2" && !($0["ip_prefix"] ?? "").isEmpty }
        let region = try #require(ec2.first?["region"])
        let inside = try #require(ec2.first?["ip_prefix"].flatMap { IPNetwork($0) })
        let other = try #require(ec2.first { $0["region"] != region }.flatMap { $0["ip_prefix"] }.flatMap { IPNetwork($0) })
        try withState { dir, holder in
            let config = try ConfigurationFile.parse("ranges:\n  rules:\n    'aws:EC2:\(region)': { max-retry: 1 }\n", file: "t.yaml")
            let knowledge = NetworkKnowledge(holder: holder, settings: config.ranges)
            #expect(knowledge.unresolved.isEmpty)
            #expect(knowledge.thresholds.maxRetry(for: inside.address)?.maxRetry == 1)
            #expect(knowledge.thresholds.maxRetry(for: other.address) == nil)

            let blocks = try RangeBlocks(
                settings: config.ranges, stateDirectory: dir, allowlist: [], firewall: nil,
                source: NetworkKnowledge.rangeSource(holder: holder, settings: config.ranges), clock: systemClock,
                logger: Logger(label: "test"))
            let record = try blocks.block(try #require(RangeSelector.parse("aws:EC2:\(region)")), scope: .sip, duration: nil)
            #expect(record.intervals >= 1)
            #expect(blocks.list().map(\.selector.description) == ["aws:EC2:\(region)"])
        }
    }
}
