// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import IntelUpdate
import NetworkAddress
import Testing
import WardenCore

@testable import Feeds

@Suite("feeds: list formats, APIBAN paging, last good copy, bans with origin feed")
struct FeedsTests {
    @Test func theFireHOLNetsetIsReadAndPrivateEntriesNeverBecomeBans() throws {
        let bytes = try Corpus.bytes("feeds/firehol-voipbl.excerpt.netset")
        let list = try FeedListParser.parse(bytes, format: .netset, maxEntries: 100_000)
        // Independently: every line that is not a comment is one network.
        let entries = String(decoding: bytes, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        let privateOnes = entries.filter { $0.hasPrefix("10.") || $0.hasPrefix("192.168.") || $0.hasPrefix("127.") }
        #expect(!privateOnes.isEmpty)
        #expect(list.rejected == 0)
        #expect(list.unsafe >= privateOnes.count)
        #expect(list.networks.count + list.unsafe == Set(entries).count)
        #expect(!list.networks.contains { $0.description.hasPrefix("10.") })
        // Every kept entry is exactly a line of the file (hosts written without /32, as
        // the netset writes them).
        let published = Set(entries.map(String.init))
        #expect(list.networks.allSatisfy { published.contains($0.description) })
        // The size bound refuses the whole feed.
        #expect(throws: FeedParseError.self) { try FeedListParser.parse(bytes, format: .netset, maxEntries: 10) }
    }

    @Test func plainTextAndJSONListsInTheirCommonShapes() throws {
        let text = Array("# a list\n198.51.100.7 ; comment\n203.0.113.0/24,extra\n\n2001:db8:1::/48\nnot-an-address\n10.1.2.3\n".utf8)
        let list = try FeedListParser.parse(text, format: .text, maxEntries: 10)
        #expect(list.networks.map(\.description) == ["198.51.100.7", "203.0.113.0/24", "2001:db8:1::/48"])
        #expect(list.rejected == 1)
        #expect(list.unsafe == 1)

        let array = try FeedListParser.parse(Array(#"["198.51.100.7","203.0.113.0/24"]"#.utf8), format: .json, maxEntries: 10)
        #expect(array.networks.count == 2)
        let objects = try FeedListParser.parse(
            Array(#"{"bans":[{"network":"198.51.100.7/32","origin":"detector"},{"ip":"203.0.113.9"},{"x":1}]}"#.utf8), format: .json, maxEntries: 10)
        #expect(objects.networks.map(\.description) == ["198.51.100.7", "203.0.113.9"])
        #expect(objects.rejected == 1)
        #expect(throws: FeedParseError.self) { try FeedListParser.parse(Array(#"{"nothing":true}"#.utf8), format: .json, maxEntries: 10) }
        #expect(throws: FeedParseError.self) { try FeedListParser.parse(Array("<html>".utf8), format: .json, maxEntries: 10) }
        // Too wide to ever ban from a feed.
        #expect(!FeedListParser.isSafeToBan(IPNetwork("0.0.0.0/0")!))
        #expect(!FeedListParser.isSafeToBan(IPNetwork("2000::/3")!))
        #expect(!FeedListParser.isSafeToBan(IPNetwork("fe80::1")!))
        #expect(FeedListParser.isSafeToBan(IPNetwork("2001:db8::/32")!))
    }

    @Test func untrustedFeedBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for format in FeedFormat.allCases { _ = try? FeedListParser.parse(bytes, format: format, maxEntries: 50) }
            _ = try? APIBAN.parsePage(status: 200, body: bytes)
        }
    }

    @Test func apibanIsPagedUntilNoneAndResumesFromItsCursor() async throws {
        let standIn = APIBANStandIn(key: "k3y")
        // 600 addresses: three pages of at most 250.
        let first = (0..<600).map { "198.18.\($0 / 250).\($0 % 250 + 1)" }
        standIn.add(first)
        let directory = Corpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await standIn.run { url in
            let spec = FeedSpec(name: "apiban", url: url, format: .apiban, policy: .block, maxEntries: 10_000, apiKey: "k3y")
            let updater = FeedUpdater(store: FeedStore(directory: directory), fetcher: AsyncHTTPFetcher(), clock: { 100 })
            let one = await updater.refresh(spec)
            #expect(one.outcome == .updated)
            #expect(one.networks.map(\.address.description) == first)
            // A first fetch starts from 100; then from each page's ID until "none".
            #expect(standIn.requests.withLock { $0 }.first == "100")
            #expect(standIn.requests.withLock { $0 }.count == 4)
            let cursor = FeedStore(directory: directory).state("apiban")?.cursor
            #expect(cursor == "1700000600")

            // Later: only what is new is asked for, and joins the held list.
            standIn.add(["203.0.113.5"])
            standIn.requests.withLock { $0 = [] }
            let two = await updater.refresh(spec)
            #expect(standIn.requests.withLock { $0 }.first == "1700000600")
            #expect(two.networks.count == 601)
            #expect(two.networks.last == IPNetwork("203.0.113.5"))

            // Rate limited: fails, the 601 stay.
            standIn.rateLimited.withLock { $0 = true }
            let three = await updater.refresh(spec)
            #expect(three.outcome == .failed(APIBAN.Failure.rateLimited.description))
            #expect(three.networks.count == 601)
            standIn.rateLimited.withLock { $0 = false }

            // A wrong key: unauthorized, the copy stays.
            var wrong = spec
            wrong.apiKey = "nope"
            let four = await updater.refresh(wrong)
            #expect(four.outcome == .failed(APIBAN.Failure.unauthorized.description))
            #expect(four.networks.count == 601)
        }
    }

    @Test func aListFeedThatFailsOrOverflowsKeepsItsLastGoodCopy() async throws {
        let server = LocalSourceServer()
        let netset = try Corpus.bytes("feeds/firehol-voipbl.excerpt.netset")
        server.set("/voipbl.netset", ServedFile(body: netset, etag: "\"n1\""))
        let directory = Corpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await server.run { base in
            let spec = FeedSpec(name: "voipbl", url: base + "/voipbl.netset", format: .netset, maxEntries: 1000)
            let updater = FeedUpdater(store: FeedStore(directory: directory), fetcher: AsyncHTTPFetcher(), clock: { 100 })
            let good = await updater.refresh(spec)
            #expect(good.outcome == .updated)
            let expected = try FeedListParser.parse(netset, format: .netset, maxEntries: 1000).networks
            #expect(good.networks == expected)
            #expect(FeedStore(directory: directory).networks("voipbl") == expected)

            // 304: unchanged, same copy.
            let same = await updater.refresh(spec)
            #expect(same.outcome == .unchanged)
            #expect(same.networks == expected)
            #expect(server.requests(to: "/voipbl.netset").last?.ifNoneMatch == "\"n1\"")

            // The server fails: the copy stays.
            server.set("/voipbl.netset", ServedFile(body: [], status: 503))
            let failed = await updater.refresh(spec)
            #expect(failed.outcome == .failed("HTTP status 503"))
            #expect(failed.networks == expected)

            // Over the feed's bound: refused, the copy stays.
            let big = (0..<1500).map { "203.0.\($0 / 250).\($0 % 250)" }.joined(separator: "\n")
            server.set("/voipbl.netset", ServedFile(body: Array(big.utf8), etag: "\"n2\""))
            let overflow = await updater.refresh(spec)
            guard case .failed(let reason) = overflow.outcome else {
                Issue.record("an oversized feed was accepted")
                return
            }
            #expect(reason.contains("1000"))
            #expect(FeedStore(directory: directory).networks("voipbl") == expected)
        }
    }

    @Test func blockFeedsBecomeFeedBansOutsideTheAllowlistAndAreRenewedAtHalfTime() {
        var planner = FeedBanPlanner()
        let spec = FeedSpec(name: "voipbl", url: "http://127.0.0.1/x", format: .text, refresh: .seconds(3600), banTime: .seconds(7200))
        let networks = [IPNetwork("198.51.100.7")!, IPNetwork("203.0.113.0/24")!, IPNetwork("198.18.0.0/24")!]
        let allow = IPNetworkSet([IPNetwork("198.18.0.10")!])
        let t0 = Timestamp(seconds: 1_000_000)
        let bans = planner.plan(spec, networks: networks, allowlist: allow, now: t0)
        #expect(bans.map(\.network) == [networks[0], networks[1]])
        #expect(bans.allSatisfy { $0.origin == .feed && $0.rule == .feed && $0.duration == .seconds(7200) && $0.reason == "listed by feed voipbl" })
        // Before half the ban time: nothing again.
        #expect(planner.plan(spec, networks: networks, allowlist: allow, now: t0 + .seconds(3599)).isEmpty)
        // At half time: renewed.
        #expect(planner.plan(spec, networks: networks, allowlist: allow, now: t0 + .seconds(3600)).count == 2)
        // A ban restored from the ledger is not made twice.
        var restored = FeedBanPlanner()
        restored.noteExisting(feed: "voipbl", network: networks[0], created: t0)
        #expect(restored.plan(spec, networks: networks, allowlist: allow, now: t0 + .seconds(10)).map(\.network) == [networks[1]])
    }

    @Test func suspectFeedsAnswerOnlyForListedSources() {
        let suspects = FeedSuspects()
        #expect(suspects.listing(IPAddress("198.51.100.7")!) == nil)
        suspects.replace(feed: "apiban", networks: [IPNetwork("198.51.100.0/24")!], banTime: .seconds(600))
        #expect(suspects.listing(IPAddress("198.51.100.7")!) == FeedSuspects.Listing(feed: "apiban", banTime: .seconds(600)))
        #expect(suspects.listing(IPAddress("198.51.101.7")!) == nil)
        suspects.keep(only: [])
        #expect(suspects.listing(IPAddress("198.51.100.7")!) == nil)
    }
}
