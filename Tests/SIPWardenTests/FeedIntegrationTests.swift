// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Feeds
import Firewall
import Foundation
import IntelUpdate
import Logging
import NetworkAddress
import Synchronization
import Testing
import WardenCore

@testable import SIPWarden

/// A fetcher answering from a table (the HTTP shell has its own tests against a real
/// server on 127.0.0.1; here the service's wiring is under test).
private final class Answers: Sendable {
    let table: Mutex<[String: FetchResponse]>
    init(_ table: [String: FetchResponse]) { self.table = Mutex(table) }
}

private struct TableFetcher: ConditionalFetcher {
    let answers: Answers
    func fetch(_ request: FetchRequest) async throws(FetchError) -> FetchResponse {
        guard let answer = answers.table.withLock({ $0[request.url] }) else { throw .transport("connection refused") }
        return answer
    }
}

@Suite("intel and feeds in the daemon: configuration, suspect feeds in the pipeline, the feeds service")
struct FeedIntegrationTests {
    private static func kamailio(_ ip: String) -> String {
        "2(123) NOTICE: <script>: SIPWARDEN event=auth_failed ts=1764072000.000001 src=\(ip) sport=5060 proto=udp method=REGISTER user=\"100\" ua=\"x\""
    }

    private static func process(_ pipeline: Pipeline, _ lines: [String]) {
        var text = lines.joined(separator: "\n") + "\n"
        text.withUTF8 { buf in
            pipeline.process(lines: buf, firstLineNumber: 1, source: LogSource(path: "/var/log/kamailio.log", dialect: .only(.kamailio)))
        }
    }

    @Test func theIntelAndFeedsSectionsAreReadWithTheirDefaults() throws {
        let yaml = """
            intel:
              refresh: 12h
              shrink-ratio: 0.8
              sources:
                ip2asn: { url: "http://mirror.example/ip2asn-combined.tsv.gz" }
                linode: { enabled: false }
                azure: { url: "https://mirror.example/ServiceTags_Public_20261130.json", format: azure }
            feeds:
              - name: apiban
                format: apiban
                api-key: KEY
                policy: suspect
              - name: voipbl
                url: "https://iplists.firehol.org/files/voipbl.netset"
                format: netset
                refresh: 6h
                max-entries: 50000
                ban-time: 1d
            """
        let c = try ConfigurationFile.parse(yaml, file: "t.yaml")
        #expect(c.intel.autoUpdate)
        #expect(c.intel.refresh == .seconds(43_200))
        #expect(c.intel.shrinkRatio == 0.8)
        #expect(c.intel.sources.first { $0.name == "ip2asn" }?.url == "http://mirror.example/ip2asn-combined.tsv.gz")
        #expect(c.intel.sources.first { $0.name == "ip2asn" }?.gzip == true)
        #expect(!c.intel.sources.contains { $0.name == "linode" })
        #expect(c.intel.sources.first { $0.name == "azure" }?.format == "azure")
        #expect(c.intel.sources.count == IntelSource.defaults.count)
        #expect(c.feeds.map(\.name) == ["apiban", "voipbl"])
        #expect(c.feeds[0].url == FeedSpec.apibanURL && c.feeds[0].policy == .suspect && c.feeds[0].refresh == .seconds(900))
        #expect(c.feeds[1].refresh == .seconds(21_600) && c.feeds[1].maxEntries == 50_000 && c.feeds[1].banTime == .seconds(86_400))
        // Without the sections: defaults, no daemon refresh, no feeds.
        let empty = try ConfigurationFile.parse("state: /tmp/x\n", file: "e.yaml")
        #expect(!empty.intel.autoUpdate)
        #expect(empty.feeds.isEmpty)
    }

    @Test func mistakesNameTheFileLineAndKey() {
        let cases: [(String, String)] = [
            ("feeds:\n  - name: a\n    format: apiban\n", "api-key"),
            ("feeds:\n  - name: a\n    format: nope\n    url: https://x/\n", "feeds[0].format"),
            ("feeds:\n  - name: a\n    format: text\n", "needs a url"),
            ("feeds:\n  - name: a\n    format: text\n    url: ftp://x/\n", "feeds[0].url"),
            ("intel:\n  sources:\n    new: { url: \"https://x/\" }\n", "needs url and format"),
            ("intel:\n  shrink-ratio: 2\n", "intel.shrink-ratio"),
            ("intel:\n  refresh: 5s\n", "intel.refresh"),
            ("intel:\n  colour: red\n", "intel.colour"),
            // A duplicate key is refused, with its line, as everywhere in the file.
            ("intel:\n  refresh: 1h\n  refresh: 2h\n", "bad.yaml:2: duplicate key refresh"),
            ("intel:\n  sources:\n    aws: { url: \"https://x/\" }\n    aws: { url: \"https://y/\" }\n", "bad.yaml:3: duplicate key aws"),
            ("intel:\n  auto-update: maybe\n", "expected true or false, got 'maybe'"),
        ]
        for (yaml, expected) in cases {
            do {
                _ = try ConfigurationFile.parse(yaml, file: "bad.yaml")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.description.contains("bad.yaml:"), "\(error)")
                #expect(error.description.contains(expected), "\(error)")
            }
        }
    }

    @Test func aSourceListedByASuspectFeedIsBannedAtItsFirstFailureOthersAreNot() throws {
        let firewall = DryRunFirewall(logger: Logger(label: "test"))
        var policy = DetectionPolicy()
        policy.allowlist.insert(IPNetwork("198.18.5.9")!)
        let pipeline = Pipeline(policy: policy, firewall: firewall, fanOut: nil, logger: Logger(label: "test"), clock: ManualClock().clock)
        pipeline.feedSuspects.replace(feed: "apiban", networks: [IPNetwork("198.18.5.0/24")!], banTime: .seconds(600))
        Self.process(pipeline, [Self.kamailio("198.18.5.7"), Self.kamailio("198.18.6.7"), Self.kamailio("198.18.5.9")])
        let banned = try firewall.list()
        #expect(banned.map(\.network) == [IPNetwork("198.18.5.7")!], "listed: banned at once; unlisted: counting; allowlisted: never")
        #expect(banned.first?.timeout.map { $0 > .seconds(590) && $0 <= .seconds(600) } == true, "the suspect feed's ban time")
    }

    @Test func theFeedsServiceBansABlockFeedAndKeepsItsCopyWhenTheFeedFails() async throws {
        let directory = NSTemporaryDirectory() + "feedsvc-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = Configuration()
        config.stateDirectory = directory
        config.feeds = [FeedSpec(name: "list", url: "http://127.0.0.1:1/list", format: .text, refresh: .seconds(60))]
        let firewall = DryRunFirewall(logger: Logger(label: "test"))
        let clock = ManualClock()
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: Logger(label: "test"), clock: clock.clock)
        let answers = Answers([
            "http://127.0.0.1:1/list": .response(status: 200, body: Array("198.51.100.7\n203.0.113.0/24\n".utf8), etag: "\"1\"", lastModified: nil)
        ])
        let service = FeedService(
            configuration: config, pipeline: pipeline, restoredBans: [], logger: Logger(label: "test"), clock: clock.clock,
            fetcherFactory: { TableFetcher(answers: answers) })
        #expect(try service.start() == ["feed:list"])
        await service.refresh(config.feeds)
        #expect(Set(try firewall.list().map(\.network)) == [IPNetwork("198.51.100.7")!, IPNetwork("203.0.113.0/24")!])
        #expect(FeedStore(directory: directory + "/feeds").networks("list")?.count == 2)

        // The feed fails: nothing new, the copy stays on disk.
        answers.table.withLock { $0 = [:] }
        await service.refresh(config.feeds)
        #expect(FeedStore(directory: directory + "/feeds").networks("list")?.count == 2)
        #expect(FeedStore(directory: directory + "/feeds").state("list")?.lastError?.contains("refused") == true)

        // A restart (a fresh kernel table here) applies the last good copy at once.
        let later = DryRunFirewall(logger: Logger(label: "test"))
        let pipeline2 = Pipeline(policy: DetectionPolicy(), firewall: later, fanOut: nil, logger: Logger(label: "test"), clock: clock.clock)
        let restarted = FeedService(
            configuration: config, pipeline: pipeline2, restoredBans: [], logger: Logger(label: "test"), clock: clock.clock,
            fetcherFactory: { TableFetcher(answers: answers) })
        _ = try restarted.start()
        #expect(try later.list().count == 2)
        #expect(restarted.summary["feed_bans"] == "2")
    }
}
