// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Testing

@testable import Firewall

@Suite("Firewall: formatting and planning (no kernel)")
struct PlannerTests {
    @Test func timeoutFormatting() {
        #expect(NFTSyntax.format(timeout: .seconds(60)) == "60s")
        #expect(NFTSyntax.format(timeout: .milliseconds(1500)) == "1s500ms")
        #expect(NFTSyntax.format(timeout: .milliseconds(999)) == "999ms")
        // nft reads each unit's number into 32 bits of milliseconds: a 30-day ban's time
        // left must not become one millisecond count (2591999948ms is refused).
        #expect(NFTSyntax.format(timeout: .seconds(30 * 86_400) - .milliseconds(52)) == "2591999s948ms")
        #expect(NFTSyntax.format(timeout: .seconds(1) - .nanoseconds(1)) == "1s")
        #expect(NFTSyntax.format(timeout: .microseconds(1)) == "1ms") // rounded up, never 0
        #expect(NFTSyntax.format(timeout: .zero) == nil)
        #expect(NFTSyntax.format(timeout: .seconds(-5)) == nil)
        // A zero lifetime must never become "no timeout" (= permanent) in a command.
        let element = NFTSyntax.element(AddressInterval(network("198.18.0.1")), timeout: .zero)
        #expect(element == "198.18.0.1 timeout 1ms")
        #expect(NFTSyntax.element(AddressInterval(network("2001:2::/64")), timeout: nil) == "2001:2::/64")
    }

    @Test func identifiers() {
        #expect(NFTSyntax.isIdentifier("sipwarden"))
        #expect(NFTSyntax.isIdentifier("swt_a1"))
        #expect(!NFTSyntax.isIdentifier(""))
        #expect(!NFTSyntax.isIdentifier("1abc"))
        #expect(!NFTSyntax.isIdentifier("a; flush ruleset"))
        #expect(!NFTSyntax.isIdentifier(String(repeating: "a", count: 33)))
        #expect(throws: FirewallError.self) { try NFTablesFirewall(configuration: .init(tableName: "bad name")) }
    }

    @Test func portMatchParsing() {
        #expect(PortMatch("5060")?.description == "5060")
        #expect(PortMatch("5060-5061")?.description == "5060-5061")
        #expect(PortMatch("5061-5060") == nil)
        #expect(PortMatch("65536") == nil)
        #expect(PortMatch("http") == nil)
        #expect(PortMatch("") == nil)
        #expect(PortMatch("1-2-3") == nil)
    }

    @Test func setUpCommandsRestrictPorts() throws {
        let text = NFTSyntax.setUpCommands(.init(tableName: "t", ports: [PortMatch(5060), try #require(PortMatch("5070-5080"))]))
        #expect(text.contains("meta l4proto { tcp, udp } th dport { 5060, 5070-5080 } ip saddr @host4 counter name dropped4 drop"))
        #expect(text.contains("hook prerouting priority -300"))
        #expect(text.contains("add set inet t ban6 { type ipv6_addr; flags interval, timeout; counter; }"))
        #expect(text.contains("add set inet t host4 { type ipv4_addr; flags timeout; counter; }"))
        var plain = NFTablesConfiguration(tableName: "t")
        plain.elementCounters = false
        let without = NFTSyntax.setUpCommands(plain)
        #expect(without.contains("add set inet t host4 { type ipv4_addr; flags timeout; }"))
        #expect(!without.contains("counter; }"))
    }

    @Test func intervalsAndPrefixes() throws {
        let slash24 = AddressInterval(network("198.18.1.0/24"))
        #expect(slash24.network == network("198.18.1.0/24"))
        #expect(slash24.nftKey == "198.18.1.0/24")
        let host = AddressInterval(network("2001:2::1"))
        #expect(host.nftKey == "2001:2::1")
        let everything = AddressInterval(network("::/0"))
        #expect(everything.network == network("::/0"))
        let range = try #require(AddressInterval(family: .v4, low: IPAddress("198.18.10.1")!.integer, high: IPAddress("198.18.10.5")!.integer))
        #expect(range.network == nil)
        #expect(range.nftKey == "198.18.10.1-198.18.10.5")
        #expect(range.networks == [network("198.18.10.1"), network("198.18.10.2/31"), network("198.18.10.4/31")])
        #expect(everything.networks == [network("::/0")])
        #expect(slash24.contains(AddressInterval(network("198.18.1.128/25"))))
        #expect(!slash24.overlaps(AddressInterval(network("198.18.2.0/24"))))
        #expect(!slash24.overlaps(host))
    }

    @Test func normalizeValidatesAndMerges() throws {
        let configuration = NFTablesConfiguration()
        let planned = try BanPlanner.normalize(
            [
                BanElement(network: network("::ffff:198.18.0.9"), timeout: .seconds(10)),
                BanElement(network: network("198.18.0.9"), timeout: .seconds(30)),
                BanElement(network: network("198.18.4.0/24"), timeout: nil),
                BanElement(network: network("198.18.4.0/24"), timeout: .seconds(5)),
            ], configuration: configuration
        ).elements
        #expect(planned.count == 2)
        #expect(planned[0] == PlannedElement(set: .host4, interval: AddressInterval(network("198.18.0.9")), lifetime: .seconds(30)))
        #expect(planned[1] == PlannedElement(set: .ban4, interval: AddressInterval(network("198.18.4.0/24")), lifetime: nil))

        for bad in [
            BanElement(network: network("0.0.0.0/0"), timeout: nil),
            BanElement(network: network("2000::/8"), timeout: nil),
            BanElement(network: network("198.18.0.1"), timeout: .zero),
            BanElement(network: network("198.18.0.1"), timeout: .seconds(400 * 86_400)),
        ] {
            #expect(throws: FirewallError.self) { try BanPlanner.normalize([bad], configuration: configuration) }
            let lenient = try BanPlanner.normalize([bad], configuration: configuration, lenient: true)
            #expect(lenient.elements.isEmpty)
            #expect(lenient.rejected.count == 1)
            #expect(lenient.rejected.first?.1.kind == .invalidArgument)
        }
    }

    private func kernel(_ text: String, _ seconds: Int?) -> KernelElement {
        KernelElement(interval: AddressInterval(network(text)), remaining: seconds.map { .seconds($0) })
    }

    @Test func mergeCoveredRequestIsNoOp() {
        let merged = BanPlanner.mergeIntervals(
            current: [kernel("198.18.1.0/24", 600)],
            requested: [(AddressInterval(network("198.18.1.128/25")), .seconds(60))])
        #expect(merged.deletes.isEmpty)
        #expect(merged.adds.isEmpty)
    }

    @Test func mergeCoveredRequestLivingLongerExtendsCover() {
        let merged = BanPlanner.mergeIntervals(
            current: [kernel("198.18.1.0/24", 60)],
            requested: [(AddressInterval(network("198.18.1.128/25")), .seconds(600))])
        #expect(merged.deletes == [AddressInterval(network("198.18.1.0/24"))])
        #expect(merged.adds.count == 1)
        #expect(merged.adds.first?.0 == AddressInterval(network("198.18.1.0/24")))
        #expect(merged.adds.first?.1 == .seconds(600))
    }

    @Test func mergeBroaderRequestAbsorbsNarrower() {
        let merged = BanPlanner.mergeIntervals(
            current: [kernel("198.18.1.0/24", nil), kernel("198.18.2.0/24", 30), kernel("198.19.0.0/24", 30)],
            requested: [(AddressInterval(network("198.18.0.0/16")), .seconds(60))])
        #expect(Set(merged.deletes) == [AddressInterval(network("198.18.1.0/24")), AddressInterval(network("198.18.2.0/24"))])
        #expect(merged.adds.count == 1)
        #expect(merged.adds.first?.0 == AddressInterval(network("198.18.0.0/16")))
        #expect(merged.adds.first?.1 == nil) // the permanent /24 inside stays banned forever
    }

    @Test func mergeExactIsRefreshAndBatchOverlapsCollapse() {
        let refresh = BanPlanner.mergeIntervals(
            current: [kernel("198.18.1.0/24", 600)],
            requested: [(AddressInterval(network("198.18.1.0/24")), .seconds(5))])
        #expect(refresh.deletes == [AddressInterval(network("198.18.1.0/24"))])
        #expect(refresh.adds.first?.1 == .seconds(5))

        let batch = BanPlanner.mergeIntervals(
            current: [],
            requested: [
                (AddressInterval(network("198.18.70.0/24")), .seconds(100)),
                (AddressInterval(network("198.18.64.0/20")), .seconds(10)),
                (AddressInterval(network("2001:2:0:1::/64")), nil),
            ])
        #expect(batch.deletes.isEmpty)
        #expect(batch.adds.count == 2)
        #expect(batch.adds.contains { $0.0 == AddressInterval(network("198.18.64.0/20")) && $0.1 == .seconds(100) })
        #expect(batch.adds.contains { $0.0 == AddressInterval(network("2001:2:0:1::/64")) && $0.1 == nil })
    }

    @Test func differenceAddsRemovesAndRefreshes() {
        let diff = BanPlanner.difference(
            current: [kernel("198.18.0.1", 100), kernel("198.18.0.2", 100), kernel("198.18.0.3", nil)],
            desired: [
                (AddressInterval(network("198.18.0.2")), .seconds(101)),
                (AddressInterval(network("198.18.0.3")), .seconds(50)),
                (AddressInterval(network("198.18.0.4")), nil),
            ])
        #expect(Set(diff.deletes) == [AddressInterval(network("198.18.0.1")), AddressInterval(network("198.18.0.3"))])
        #expect(diff.adds.count == 2)
        #expect(diff.adds.contains { $0.0 == AddressInterval(network("198.18.0.3")) && $0.1 == .seconds(50) })
        #expect(diff.adds.contains { $0.0 == AddressInterval(network("198.18.0.4")) && $0.1 == nil })
    }

    @Test func listingParser() throws {
        let json = """
            {"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, \
            {"set": {"family": "inet", "name": "ban4", "table": "t", "type": "ipv4_addr", "handle": 4, "flags": ["interval", "timeout"], \
            "elem": [{"elem": {"val": {"prefix": {"addr": "198.18.1.0", "len": 24}}, "timeout": 500, "expires": 438}}, \
            {"prefix": {"addr": "198.18.9.0", "len": 25}}, {"range": ["198.18.10.1", "198.18.10.5"]}, \
            {"elem": {"val": "2001:2::1", "timeout": 5, "expires": 4}}, "not-an-address", {"prefix": {"addr": "198.18.9.1", "len": 24}}]}}, \
            {"set": {"family": "inet", "name": "host6", "table": "t", "type": "ipv6_addr", "handle": 5, "flags": ["timeout"], \
            "elem": [{"elem": {"val": "2001:2::1", "timeout": 5, "expires": 4}}]}}, \
            {"set": {"family": "inet", "name": "other", "table": "t", "type": "ipv4_addr", "handle": 6, "elem": ["198.18.0.1"]}}]}
            """
        let sets = try NFTListing.parseSets(json)
        let ban4 = try #require(sets[.ban4])
        #expect(ban4.elements.count == 3)
        #expect(ban4.skipped == 3) // wrong family, not an address, host bits set
        #expect(ban4.elements[0] == KernelElement(interval: AddressInterval(network("198.18.1.0/24")), remaining: .seconds(438)))
        #expect(ban4.elements[1].remaining == nil)
        #expect(sets[.host6]?.elements == [KernelElement(interval: AddressInterval(network("2001:2::1")), remaining: .seconds(4))])
        #expect(sets.count == 2)
        #expect(throws: FirewallError.self) { try NFTListing.parseSets("Error: garbage") }
        #expect(throws: FirewallError.self) { try NFTListing.parseSets("{\"nftables\": 3}") }
    }

    @Test func dryRunKeepsStateAndExpires() async throws {
        let firewall = DryRunFirewall()
        try firewall.setUp()
        try firewall.ban([
            BanElement(network: network("198.18.0.1"), timeout: .milliseconds(200)),
            BanElement(network: network("2001:2::/64"), timeout: nil),
        ])
        #expect(try firewall.list().count == 2)
        try await Task.sleep(for: .milliseconds(400))
        #expect(try firewall.list().map(\.network) == [network("2001:2::/64")])
        try firewall.reconcile(with: [
            BanElement(network: network("198.18.5.5"), timeout: .seconds(60)),
            BanElement(network: network("198.18.5.6"), timeout: .zero),
        ])
        let listed = try firewall.list()
        #expect(listed.map(\.network) == [network("198.18.5.5")])
        #expect(listed.first?.timeout.map { $0 > .seconds(59) && $0 <= .seconds(60) } == true)
        try firewall.unban([network("198.18.0.0/16")])
        #expect(try firewall.list().isEmpty)
        #expect(throws: FirewallError.self) { try firewall.ban([BanElement(network: network("0.0.0.0/0"), timeout: nil)]) }
    }
}
