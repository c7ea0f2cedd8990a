// SPDX-License-Identifier: GPL-2.0-or-later

import AddressRanges
import Foundation
import NetworkAddress
import RangePolicy
import Testing
import WardenCore

private func net(_ text: String) -> IPNetwork {
    guard let network = IPNetwork(text, strict: true) else { fatalError("bad test network \(text)") }
    return network
}

private func addr(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
    return address
}

/// A source answering from a dictionary, like the intelligence store will.
private struct FixedSource: RangeSource {
    let answers: [RangeSelector: [IPNetwork]]
    func networks(for selector: RangeSelector) throws(RangeSourceError) -> [IPNetwork] {
        guard let networks = answers[selector] else { throw RangeSourceError(.unsupported, "not here") }
        return networks
    }
}

@Suite("Range selectors")
struct RangeSelectorTests {
    @Test func parsesEveryForm() {
        #expect(RangeSelector.parse("aws:EC2") == .provider("aws", service: "EC2", region: nil))
        #expect(RangeSelector.parse("AWS:EC2:eu-west-1") == .provider("aws", service: "EC2", region: "eu-west-1"))
        #expect(RangeSelector.parse("hetzner") == .provider("hetzner", service: nil, region: nil))
        #expect(RangeSelector.parse("AS14061") == .asn(14061))
        #expect(RangeSelector.parse("as64500") == .asn(64500))
        #expect(RangeSelector.parse("list:office") == .list("office"))
        #expect(RangeSelector.parse("office", namedLists: ["office"]) == .list("office"))
        #expect(RangeSelector.parse("/etc/sipwarden/bad.txt") == .file("/etc/sipwarden/bad.txt"))
        #expect(RangeSelector.parse("file:bad.txt") == .file("bad.txt"))
    }

    @Test func refusesNonsense() {
        for text in ["", "  ", "AS4294967296", "a:b:c:d", "aws:EC 2", "list:", "list:a/b", "file:", "aws;rm", "AS"] {
            let parsed = RangeSelector.parse(text)
            // "AS" alone is a provider name (letters); everything else must fail.
            if text == "AS" { #expect(parsed == .provider("as", service: nil, region: nil)) } else { #expect(parsed == nil, "\(text)") }
        }
    }

    @Test func canonicalTextRoundTrips() throws {
        for text in ["aws:EC2", "aws:EC2:eu-west-1", "AS14061", "list:office", "file:/tmp/x.txt"] {
            let selector = try #require(RangeSelector.parse(text))
            #expect(selector.description == text)
            #expect(RangeSelector.parse(selector.description) == selector)
        }
        let encoded = try JSONEncoder().encode([RangeSelector.asn(1), .list("x")])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["AS1","list:x"]"#)
    }
}

@Suite("CIDR lists and the file source")
struct CIDRListTests {
    @Test func parsesOperatorFiles() {
        let text = "# bad hosts\r\n198.18.0.0/24\r\n\n198.18.1.7  # one host\n2001:2::/48 ; v6\n198.18.2.1/24\nnot-an-address\n198.18.300.0/24\n, ,\n"
        let list = CIDRList(parsing: text)
        #expect(list.networks.map(\.description) == ["198.18.0.0/24", "198.18.1.7", "2001:2::/48", "198.18.2.0/24"])
        #expect(list.rejectedLines == [7, 8])
    }

    @Test func neverTrapsOnHostileInput() {
        let long = String(repeating: "1", count: 10_000)
        let list = CIDRList(parsing: "\(long)\n\u{0}\u{FFFF}\n198.18.0.1/33\n::/129\n/\n1.2.3.4/\n/8\n")
        #expect(list.networks.isEmpty)
        #expect(list.rejectedLines == [1, 2, 3, 4, 5, 6, 7])
    }

    @Test func namedListsAndFilesAreRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rs-cidr-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("lab.txt").path
        try "198.18.5.0/24\n2001:2:0:9::/64\n".write(toFile: path, atomically: true, encoding: .utf8)
        let source = CIDRFileRangeSource(namedLists: ["lab": path])
        #expect(try source.networks(for: .list("lab")).count == 2)
        #expect(try source.networks(for: .file(path)).count == 2)
        #expect(throws: RangeSourceError.self) { try source.networks(for: .list("nope")) }
        #expect(throws: RangeSourceError.self) { try source.networks(for: .file(directory.appendingPathComponent("missing").path)) }
        // Providers need the intelligence store: unsupported here, answered by the next source in a chain.
        let store = FixedSource(answers: [.provider("aws", service: "EC2", region: nil): [net("198.18.64.0/18")]])
        let chain = ChainedRangeSource([source, store])
        #expect(try chain.networks(for: .provider("aws", service: "EC2", region: nil)) == [net("198.18.64.0/18")])
        #expect(try chain.networks(for: .list("lab")).count == 2)
        do throws(RangeSourceError) {
            _ = try chain.networks(for: .asn(1))
            Issue.record("AS1 resolved without a store")
        } catch {
            #expect(error.kind == .unsupported)
        }
    }
}

@Suite("Range policy: max-retry look-up, AS rule, block planning")
struct RangePolicyCoreTests {
    @Test func lowestMaxRetryOfTheCoveringRulesWins() {
        let ec2 = RangeSelector.provider("aws", service: "EC2", region: nil)
        let policy = RangePolicy(rules: [
            RangeRule(selector: ec2, maxRetry: 2),
            RangeRule(selector: .asn(64500), maxRetry: 1),
            RangeRule(selector: .list("blocked"), block: RangeBlockAction(scope: .sip)),
        ])
        let source = FixedSource(answers: [ec2: [net("198.18.0.0/16")], .asn(64500): [net("198.18.7.0/24"), net("2001:2::/48")]])
        let (lookup, failures) = MaxRetryLookup.resolve(policy, source: source)
        #expect(failures.isEmpty) // the list rule has no max-retry: not resolved here
        #expect(lookup.maxRetry(for: addr("198.18.1.1"))?.maxRetry == 2)
        #expect(lookup.maxRetry(for: addr("198.18.7.1"))?.maxRetry == 1)
        #expect(lookup.maxRetry(for: addr("198.18.7.1"))?.selector == .asn(64500))
        #expect(lookup.maxRetry(for: addr("2001:2::5"))?.maxRetry == 1)
        #expect(lookup.maxRetry(for: addr("198.19.0.1")) == nil)
        #expect(MaxRetryLookup().maxRetry(for: addr("198.18.1.1")) == nil)
    }

    @Test func unresolvableRulesAreReportedNotFatal() {
        let policy = RangePolicy(rules: [RangeRule(selector: .asn(1), maxRetry: 1)])
        let (lookup, failures) = MaxRetryLookup.resolve(policy, source: FixedSource(answers: [:]))
        #expect(lookup.isEmpty)
        #expect(failures.count == 1)
    }

    @Test func validationNamesTheRule() {
        #expect(throws: RangePolicyError.self) { try RangePolicy(rules: [RangeRule(selector: .asn(1))]).validate() }
        #expect(throws: RangePolicyError.self) { try RangePolicy(rules: [RangeRule(selector: .asn(1), maxRetry: 0)]).validate() }
        #expect(throws: RangePolicyError.self) {
            try RangePolicy(rules: [RangeRule(selector: .asn(1), maxRetry: 1), RangeRule(selector: .asn(1), maxRetry: 2)]).validate()
        }
        #expect(throws: RangePolicyError.self) { try RangePolicy(asnRule: ASNBlockRule(threshold: 1, window: .seconds(60))).validate() }
        #expect(throws: Never.self) { try RangePolicy(rules: [RangeRule(selector: .asn(1), maxRetry: 1)]).validate() }
    }

    @Test func asRuleTriggersAtKDistinctAddressesWithinTheWindow() {
        var tracker = ASNBlockTracker(rule: ASNBlockRule(threshold: 3, window: .seconds(600)))
        let t0 = Timestamp(seconds: 1_000)
        #expect(tracker.recordBan(of: addr("198.18.0.1"), asn: 64500, at: t0) == nil)
        // The same address again does not count twice.
        #expect(tracker.recordBan(of: addr("198.18.0.1"), asn: 64500, at: t0 + .seconds(10)) == nil)
        // Another AS does not count.
        #expect(tracker.recordBan(of: addr("198.18.9.9"), asn: 64501, at: t0 + .seconds(20)) == nil)
        #expect(tracker.recordBan(of: addr("198.18.0.2"), asn: 64500, at: t0 + .seconds(30)) == nil)
        // Past the window, the first one has left it.
        #expect(tracker.recordBan(of: addr("198.18.0.3"), asn: 64500, at: t0 + .seconds(615)) == nil)
        #expect(tracker.recordBan(of: addr("198.18.0.4"), asn: 64500, at: t0 + .seconds(616)) == .asn(64500))
        // Once per AS until forgotten.
        #expect(tracker.recordBan(of: addr("198.18.0.5"), asn: 64500, at: t0 + .seconds(617)) == nil)
        tracker.forget(asn: 64500)
        #expect(tracker.recordBan(of: addr("198.18.0.6"), asn: 64500, at: t0 + .seconds(618)) == nil)
    }

    @Test func asRuleMemoryIsBounded() {
        var tracker = ASNBlockTracker(rule: ASNBlockRule(threshold: 5, window: .seconds(600)), maximumTrackedASes: 100)
        for index in 0..<1_000 {
            _ = tracker.recordBan(of: .v4(0xC612_0000 + UInt32(index)), asn: UInt32(index), at: Timestamp(seconds: Int64(index)))
        }
        #expect(tracker.trackedCount <= 100)
    }

    @Test func planDropsTooShortPrefixesAndCarvesTheAllowlist() {
        let policy = RangePolicy(minimumPrefixLengthV4: 8, minimumPrefixLengthV6: 16)
        let plan = RangeBlockPlanner.plan(
            [net("198.18.0.0/23"), net("198.18.1.0/24"), net("0.0.0.0/1"), net("2001:2::/48"), net("::/8")],
            policy: policy, allowlist: [net("198.18.1.10/32"), net("2001:2:0:1::/64")])
        #expect(plan.tooShort == [net("0.0.0.0/1"), net("::/8")])
        #expect(plan.carvedOut)
        #expect(!plan.ranges.contains(addr("198.18.1.10")))
        #expect(plan.ranges.contains(addr("198.18.1.11")))
        #expect(plan.ranges.contains(addr("198.18.0.200")))
        #expect(!plan.ranges.contains(addr("2001:2:0:1::1")))
        #expect(plan.ranges.contains(addr("2001:2:0:2::1")))
        #expect(!plan.ranges.contains(addr("128.0.0.1")))
    }
}
