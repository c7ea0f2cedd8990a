// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import IntelStore
import Logging
import NetworkAddress
import RangePolicy
import Testing
import WardenCore

@testable import SIPWarden

private func net(_ text: String) -> IPNetwork {
    guard let network = IPNetwork(text, strict: false) else { fatalError("bad test network \(text)") }
    return network
}

/// An intelligence store holding two ASes, from an iptoasn table written in its format
/// (`start TAB end TAB asn TAB country TAB description`, inclusive ranges).
func asnRuleTestStore() throws -> IntelStoreHolder {
    let tsv = """
        198.19.244.0\t198.19.244.255\t64500\tZZ\tEXAMPLE-64500
        198.19.247.0\t198.19.247.127\t64500\tZZ\tEXAMPLE-64500
        198.19.242.0\t198.19.242.255\t64501\tZZ\tEXAMPLE-64501
        2001:2:0:244::\t2001:2:0:244:ffff:ffff:ffff:ffff\t64500\tZZ\tEXAMPLE-64500

        """
    let dataset = try IntelParser.parse(bytes: Array(tsv.utf8), format: .ip2asn, name: "ip2asn")
    return IntelStoreHolder(IntelStore(datasets: [dataset], providerASNs: ProviderASNMap.builtIn))
}

/// A detector ban of one host, enriched as the pipeline does it.
private func hostBan(_ address: String, asn: UInt32?, at time: Timestamp, origin: BanOrigin = .detector, rule: BanRule = .failures) -> Ban {
    Ban(
        network: net(address), rule: rule, origin: origin, created: time, duration: .seconds(600), reason: "test",
        enrichment: asn.map { IntelEnrichment(asn: $0) })
}

@Suite("asn-block: the AS rule in the daemon (clock injected, no kernel)")
struct ASNRuleTests {
    let rule = ASNBlockRule(threshold: 3, window: .seconds(600), block: RangeBlockAction(scope: .sip, duration: .seconds(3_600)))

    private func make(_ clock: ManualClock, rule: ASNBlockRule?, allowlist: [IPNetwork] = []) throws -> (ASNRule, RangeBlocks, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("asrule-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var settings = RangesSettings()
        settings.policy.asnRule = rule
        let holder = try asnRuleTestStore()
        let blocks = try RangeBlocks(
            settings: settings, stateDirectory: directory, allowlist: allowlist, firewall: nil,
            source: NetworkKnowledge.rangeSource(holder: holder, settings: settings), clock: clock.clock, logger: Logger(label: "test"))
        return (ASNRule(rule: rule, allowlist: allowlist, blocks: blocks, logger: Logger(label: "test")), blocks, directory)
    }

    @Test func kAddressesOfOneASWithinTheWindowBlockItsRanges() throws {
        let clock = ManualClock()
        let (asn, blocks, directory) = try make(clock, rule: rule)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(asn.observe(hostBan("198.19.244.10", asn: 64500, at: clock.clock())) == .counted)
        clock.advance(.seconds(60))
        // The same address again is not a second address.
        #expect(asn.observe(hostBan("198.19.244.10", asn: 64500, at: clock.clock())) == .counted)
        // Another AS counts apart.
        #expect(asn.observe(hostBan("198.19.242.10", asn: 64501, at: clock.clock())) == .counted)
        #expect(asn.observe(hostBan("198.19.244.11", asn: 64500, at: clock.clock())) == .counted)
        #expect(blocks.list().isEmpty, "K-1 addresses blocked the AS")
        clock.advance(.seconds(60))
        #expect(asn.observe(hostBan("198.19.247.3", asn: 64500, at: clock.clock())) == .blocked(.asn(64500)))
        let made = blocks.list()
        #expect(made.count == 1)
        let block = try #require(made.first)
        #expect(block.selector == .asn(64500))
        #expect(block.origin == .asnRule)
        #expect(block.scope == .sip)
        #expect(block.expires == clock.clock() + .seconds(3_600))
        #expect(block.reason == "asn-block: 3 addresses banned within 10m")
        // Both announced IPv4 ranges and the IPv6 one.
        #expect(block.intervals == 3)
    }

    @Test func kAddressesSpreadOverMoreThanTheWindowBlockNothing() throws {
        let clock = ManualClock()
        let (asn, blocks, directory) = try make(clock, rule: rule)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for host in 1...6 {
            #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: clock.clock())) == .counted)
            clock.advance(.seconds(301)) // two bans never share a 600 s window with a third
        }
        #expect(blocks.list().isEmpty)
    }

    @Test func bansWithoutAnASNOfTheAllowlistOrNotTheDetectorsHostBansAreIgnored() throws {
        let clock = ManualClock()
        let (asn, blocks, directory) = try make(clock, rule: rule, allowlist: [net("198.19.244.0/28")])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = clock.clock()
        for host in 1...5 { #expect(asn.observe(hostBan("198.19.242.\(host)", asn: nil, at: now)) == .ignored) }
        for host in 1...5 { #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: now)) == .ignored) }
        for host in 20...25 { #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: now, origin: .manual, rule: .manual)) == .ignored) }
        for host in 20...25 { #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: now, origin: .feed, rule: .feed)) == .ignored) }
        for host in 20...25 {
            #expect(asn.observe(hostBan("198.19.244.\(host * 8)/29", asn: 64500, at: now, rule: .aggregate)) == .ignored)
        }
        #expect(blocks.list().isEmpty)
        // The detector's host bans of the same AS still count from zero.
        for host in 30...31 { #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: now)) == .counted) }
        #expect(asn.observe(hostBan("198.19.244.32", asn: 64500, at: now)) == .blocked(.asn(64500)))
        #expect(blocks.list().count == 1)
    }

    @Test func aSecondTripWhileBlockedDoesNotStackAndAnExpiredBlockCountsAfresh() throws {
        let clock = ManualClock()
        let (asn, blocks, directory) = try make(clock, rule: rule)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for host in 1...3 { _ = asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: clock.clock())) }
        let first = try #require(blocks.list().first)
        clock.advance(.seconds(120))
        for host in 4...9 { #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: clock.clock())) == .alreadyBlocked) }
        #expect(blocks.list() == [first], "a second trip replaced or added a block")
        // Expired and lifted: the AS counts again from zero.
        clock.advance(.seconds(3_600))
        _ = blocks.tick()
        #expect(blocks.list().isEmpty)
        #expect(asn.observe(hostBan("198.19.244.20", asn: 64500, at: clock.clock())) == .counted)
        #expect(asn.observe(hostBan("198.19.244.21", asn: 64500, at: clock.clock())) == .counted)
        #expect(asn.observe(hostBan("198.19.244.22", asn: 64500, at: clock.clock())) == .blocked(.asn(64500)))
        #expect(try #require(blocks.list().first).created == clock.clock())
    }

    @Test func aManualBlockOfTheASIsLeftAsItIs() throws {
        let clock = ManualClock()
        let (asn, blocks, directory) = try make(clock, rule: rule)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manual = try blocks.block(.asn(64500), scope: .all, duration: nil)
        for host in 1...4 { #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: clock.clock())) == .alreadyBlocked) }
        #expect(blocks.list() == [manual])
    }

    @Test func anASWithoutRangesInTheStoreTripsWithoutABlockAndTriesAgain() throws {
        let clock = ManualClock()
        let (asn, blocks, directory) = try make(clock, rule: rule)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for host in 1...2 { #expect(asn.observe(hostBan("198.19.243.\(host)", asn: 64999, at: clock.clock())) == .counted) }
        guard case .failed = asn.observe(hostBan("198.19.243.3", asn: 64999, at: clock.clock())) else {
            Issue.record("an AS the store does not know was blocked")
            return
        }
        #expect(blocks.list().isEmpty)
        #expect(asn.observe(hostBan("198.19.243.4", asn: 64999, at: clock.clock())) == .counted)
    }

    @Test func offUnlessConfiguredAndAReloadTurnsItOnOrOff() throws {
        let clock = ManualClock()
        let (asn, blocks, directory) = try make(clock, rule: nil)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for host in 1...5 { #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: clock.clock())) == .off) }
        asn.replace(rule: rule, allowlist: [])
        for host in 1...2 { #expect(asn.observe(hostBan("198.19.244.\(host)", asn: 64500, at: clock.clock())) == .counted) }
        // The same rule again keeps the counts; a changed one starts afresh.
        asn.replace(rule: rule, allowlist: [])
        var wider = rule
        wider.window = .seconds(1_200)
        asn.replace(rule: wider, allowlist: [])
        #expect(asn.observe(hostBan("198.19.244.3", asn: 64500, at: clock.clock())) == .counted)
        asn.replace(rule: nil, allowlist: [])
        #expect(asn.observe(hostBan("198.19.244.4", asn: 64500, at: clock.clock())) == .off)
        #expect(blocks.list().isEmpty)
    }

    /// SIGHUP: `ranges.asn-block` is live (the running service takes it), the rest of the
    /// section stays restart-only.
    @Test func aReloadAppliesASNBlockLiveAndKeepsTheRestOfTheSection() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("asrule-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var running = Configuration()
        running.firewall = .dryRun
        running.stateDirectory = directory
        let service = try RangeBlocksService(configuration: running, ownAddresses: [], logger: Logger(label: "test"))
        #expect(service.asnRule.rule == nil)
        let loaded = try ConfigurationFile.parse(
            "ranges:\n  asn-block: { threshold: 4, window: 30m, block: sip, block-time: 2h }\n", file: "t.yaml")
        var next = running
        next.ranges = loaded.ranges
        guard case .applied(let applied, let needsRestart) = ConfigurationReload(services: [service]).reload(next, running: running) else {
            Issue.record("reload refused")
            return
        }
        #expect(needsRestart.isEmpty)
        #expect(
            service.asnRule.rule
                == ASNBlockRule(threshold: 4, window: .seconds(1_800), block: RangeBlockAction(scope: .sip, duration: .seconds(7_200))))
        #expect(applied.ranges.policy.asnRule == service.asnRule.rule)
        // A change of another key of the section is named and kept at its running value.
        var later = applied
        later.ranges.policy.refreshInterval = .seconds(7_200)
        later.ranges.policy.asnRule = nil
        guard case .applied(let again, let restart) = ConfigurationReload(services: [service]).reload(later, running: applied) else {
            Issue.record("reload refused")
            return
        }
        #expect(restart == ["ranges"])
        #expect(again.ranges.policy.refreshInterval == applied.ranges.policy.refreshInterval)
        #expect(service.asnRule.rule == nil, "turning the rule off is live too")
    }
}
