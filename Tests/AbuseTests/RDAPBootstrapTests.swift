// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Testing

@testable import Abuse

@Suite("RDAP bootstrap (RFC 9224) on IANA's own files")
struct RDAPBootstrapTests {
    static func bootstrap() throws -> RDAPBootstrap {
        var b = RDAPBootstrap()
        for file in ["iana-bootstrap-ipv4.json", "iana-bootstrap-ipv6.json", "iana-bootstrap-asn.json"] {
            let (added, _) = try b.add(try Corpus.json("rdap/\(file)"))
            #expect(added > 0, "\(file)")
        }
        return b
    }

    @Test(
        "each address goes to the registry that holds its block",
        arguments: [
            // 130/8 is legacy space the bootstrap gives to ARIN, whose server redirects to RIPE
            // for SWITCH's block: the resolver must follow redirects.
            ("1.1.1.1", "rdap.apnic.net"), ("13.64.0.1", "rdap.arin.net"),
            ("130.59.31.80", "rdap.arin.net"), ("62.239.237.1", "rdap.db.ripe.net"),
            ("200.3.12.1", "rdap.lacnic.net"), ("196.11.240.215", "rdap.afrinic.net"),
            ("2606:4700:4700::1111", "rdap.arin.net"), ("2001:43f8:7b0::1", "rdap.afrinic.net"), ("2001:67c:2e8::1", "rdap.db.ripe.net"),
            ("::ffff:1.1.1.1", "rdap.apnic.net"),
        ])
    func addresses(address: String, host: String) throws {
        let services = try Self.bootstrap().services(for: try #require(IPAddress(address)))
        #expect(services.first?.host == host)
        #expect(services.first?.scheme == "https")
    }

    @Test func asNumbersByRange() throws {
        let b = try Self.bootstrap()
        // 36864-37887 is one of AFRINIC's ranges in the file; 13335 is ARIN's (1-1876 … ranges).
        #expect(b.services(forAS: 36864).first?.host == "rdap.afrinic.net")
        #expect(b.services(forAS: 37887).first?.host == "rdap.afrinic.net")
        #expect(b.services(forAS: 13335).first?.host == "rdap.arin.net")
        #expect(b.services(forAS: 4_294_967_295).isEmpty)
    }

    @Test func addressesOutsideEveryBlockHaveNoService() throws {
        let b = try Self.bootstrap()
        #expect(b.services(for: IPAddress("10.0.0.1")!).isEmpty)
        #expect(b.services(for: IPAddress("fd00::1")!).isEmpty)
    }

    @Test func queryURLs() {
        let base = URL(string: "https://rdap.example.net/rdap/")!
        #expect(RDAPBootstrap.ipQuery(IPAddress("2001:2::1")!, base: base).absoluteString == "https://rdap.example.net/rdap/ip/2001:2::1")
        #expect(RDAPBootstrap.autnumQuery(64_496, base: base).absoluteString == "https://rdap.example.net/rdap/autnum/64496")
    }

    @Test(
        "bad bootstrap documents are refused or skipped, never trusted",
        arguments: [
            #"{"services": 5}"#, #"[]"#, #"{"version": "1.0"}"#,
        ])
    func refused(text: String) throws {
        var b = RDAPBootstrap()
        #expect(throws: AbuseInputError.self) { try b.add(try JSONValue.parse(Data(text.utf8))) }
    }

    @Test func entriesThatAreNotBlocksAreSkipped() throws {
        var b = RDAPBootstrap()
        let text = #"{"services": [[["1.2.3.0/24", "not a block", "5-3"], ["ftp://x/", "https://ok.example/"]], [["9.0.0.0/8"], []], "junk"]}"#
        let (added, skipped) = try b.add(try JSONValue.parse(Data(text.utf8)))
        #expect(added == 1)
        #expect(skipped == 4)
        #expect(b.services(for: IPAddress("1.2.3.4")!).map(\.absoluteString) == ["https://ok.example/"])
    }

    @Test func notJSONIsAClearError() {
        #expect(throws: AbuseInputError.self) { try JSONValue.parse(Data("<html>".utf8)) }
        #expect(throws: AbuseInputError.tooLarge(bytes: 10, limit: 4)) { try JSONValue.parse(Data(count: 10), maxBytes: 4) }
    }
}
