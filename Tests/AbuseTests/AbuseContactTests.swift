// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import Abuse

/// Real RDAP answers of all five registries (../shared/corpus/rdap): each registry's quirk.
@Suite("Abuse contact from RDAP answers")
struct AbuseContactTests {
    func contact(_ file: String) throws -> AbuseContact? {
        AbuseContactFinder.contact(in: try Corpus.answer(file), as: .networkAbuseRole)
    }

    @Test func arinListsTheAbuseEntityTwiceAndGetsOneMailbox() throws {
        let c = try #require(try contact("arin-ip6-2606.4700.4700..1111-cloudflare.json"))
        #expect(c.email == "abuse@cloudflare.com")
        #expect(c.alternatives.isEmpty)
        #expect(c.source == .networkAbuseRole)
        #expect(c.registry == .arin)
        #expect(c.networkHandle == "NET6-2606-4700-1")
        #expect(c.networkName == "CLOUDFLARENET")
        #expect(c.network == "2606:4700::/32")
        #expect(c.trail.first?.contains("ABUSE2916-ARIN") == true)
    }

    @Test func arinNestsTheAbuseEntityUnderTheRegistrant() throws {
        let c = try #require(try contact("arin-ip-13.64.0.0-microsoft.json"))
        #expect(c.email == "abuse@microsoft.com")
        #expect(c.network == "13.64.0.0/11, 13.96.0.0/13, 13.104.0.0/14")
    }

    @Test func apnicTheSameMailboxTwiceOneWithPref() throws {
        let c = try #require(try contact("apnic-ip-1.1.1.1-apnic-labs-cloudflare.json"))
        #expect(c.email == "helpdesk@apnic.net")
        #expect(c.alternatives.isEmpty)
        #expect(c.registry == .apnic)
        #expect(c.network == "1.1.1.0/24")
        // research@apnic.net is the technical contact, never the abuse one.
        #expect(!c.alternatives.contains("research@apnic.net"))
    }

    @Test func ripeTypesItsAbuseMailbox() throws {
        let c = try #require(try contact("ripe-ip-130.59.0.0-switch.json"))
        #expect(c.email == "abuse@switch.ch")
        #expect(c.alternatives.isEmpty)
        #expect(c.registry == .ripe)
        // RIPE's handle is the range; the name is what an operator recognises.
        #expect(c.networkHandle == "130.59.0.0 - 130.59.255.255")
        #expect(c.networkName == "SWITCH-LAN")
    }

    @Test func ripeAbuseRoleWithSeveralMailboxesKeepsTheirOrder() throws {
        let c = try #require(try contact("ripe-ip-62.239.237.1-bt-ipwhois2015.json"))
        #expect(c.email == "zzdnsr@bt.com")
        #expect(c.alternatives == ["steve.a.marshall@bt.com", "lee.bailey-hague@bt.com"])
    }

    @Test func lacnicOneEntityWithEveryRoleAndTheOriginAS() throws {
        let c = try #require(try contact("lacnic-ip-200.3.12.0-lacnic.json"))
        #expect(c.email == "ipadmin@lacnic.net")
        #expect(c.registry == .lacnic)
        let answer = try Corpus.answer("lacnic-ip-200.3.12.0-lacnic.json")
        #expect(answer.parentLink?.absoluteString == "https://rdap.lacnic.net/rdap/ip/200.0.0.0/8")
        #expect(answer.originAS == [28001])
        #expect(c.asn == 28001)
    }

    @Test func lacnicUpperCaseDomainIsNormalised() throws {
        let c = try #require(try contact("lacnic-ip-200.57.141.161-ipwhois2015.json"))
        #expect(c.email == "operacion.redes@triara.com")
    }

    @Test func afrinicWithoutRolesHasNoContactInTheNetwork() throws {
        #expect(try contact("afrinic-ip-196.11.240.215-mtn-ipwhois2015.json") == nil)
        #expect(try contact("afrinic-ip6-2001.43f8.7b0..-ipwhois2015.json") == nil)
        let answer = try Corpus.answer("afrinic-ip-196.11.240.215-mtn-ipwhois2015.json")
        #expect(answer.registry == .afrinic)
        #expect(answer.parentHandle == "196.0.0.0 - 196.255.255.255")
    }

    @Test func afrinicOrganisationWithAnAbuseMailboxIsAGuessAndSaysSo() throws {
        let c = try #require(AbuseContactFinder.contact(in: try Corpus.answer("afrinic-entity-WOL-AFRINIC.json"), as: .autnumAbuseRole))
        #expect(c.email == "abuse@workonline.africa")
        #expect(c.source == .abuseMailbox)
        #expect(c.trail.first?.contains("no entity has the abuse role") == true)
    }

    @Test func ripeErrorAnswerIsAnError() throws {
        #expect(throws: RDAPError.errorAnswer(code: 501, title: "501 Not Implemented")) {
            try Corpus.answer("ripe-error-501-nameserver-not-supported.json")
        }
    }

    @Test(
        "mailboxes that are redacted, placeholders or not addresses are never used",
        arguments: [
            "", "REDACTED FOR PRIVACY", "redacted@redacted.invalid", "abuse", "abuse@localhost", "a b@example.net",
            "abuse@example.net\r\nBcc: x@example.org", "<abuse@example.net>", "@example.net", "abuse@.example.net",
        ])
    func unusable(address: String) {
        #expect(AbuseContactFinder.normalised(address) == nil)
    }

    @Test func usableMailboxes() {
        #expect(AbuseContactFinder.normalised(" mailto:Abuse@Example.NET ") == "Abuse@example.net")
        #expect(AbuseContactFinder.normalised("abuse+sip@example.net") == "abuse+sip@example.net")
    }

    @Test func redactedAbuseEntityFallsBackToNothing() throws {
        let text = #"""
            {"objectClassName": "ip network", "handle": "NET-X", "startAddress": "198.51.100.0", "endAddress": "198.51.100.255",
             "redacted": [{"name": {"type": "Registrant Email"}, "method": "emptyValue"}],
             "entities": [{"handle": "AB-1", "roles": ["abuse"], "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["email", {}, "text", ""]]]},
                          {"handle": "T-1", "roles": ["technical"], "vcardArray": ["vcard", [["email", {}, "text", "noc@example.net"]]]}]}
            """#
        let answer = try RDAPAnswer(try JSONValue.parse(Data(text.utf8)))
        #expect(AbuseContactFinder.contact(in: answer, as: .networkAbuseRole) == nil)
        #expect(answer.rangeDescription == "198.51.100.0-198.51.100.255")
    }

    @Test(
        "hostile shapes never trap",
        arguments: [
            #"{"entities": 7}"#, #"{"entities": [{"vcardArray": "x"}]}"#,
            #"{"entities": [{"vcardArray": ["vcard", [["email"], 5, ["email", {}, "text", 9]]]}]}"#,
            #"{"entities": [{"roles": [1, null], "entities": [{"entities": [{"entities": [{"entities": [{"entities": [{"roles": ["abuse"], "vcardArray": ["vcard", [["email", {}, "text", "deep@example.net"]]]}]}]}]}]}]}]}"#,
            #"{"cidr0_cidrs": [{"v4prefix": "1.2.3.0", "length": 99}], "startAddress": "nope"}"#,
        ])
    func hostile(text: String) throws {
        let answer = try RDAPAnswer(try JSONValue.parse(Data(text.utf8)))
        // Nesting deeper than four levels is not followed.
        #expect(AbuseContactFinder.contact(in: answer, as: .networkAbuseRole) == nil)
        #expect(answer.cidrs.isEmpty)
    }
}
