// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import Synchronization
import Testing
import WardenCore

@testable import Abuse

/// The resolver against the recorded answers, served by an in-memory "registry" keyed by
/// URL (the real servers cannot be reached from tests).
@Suite("Abuse contact resolution: bootstrap, network, parent, AS, overrides, cache, rate limit")
struct ResolverTests {
    final class FakeWorld: Sendable {
        let clock = Mutex<Int64>(1_000_000_000)
        let log = Mutex<[(String, Int64)]>([])
        let answers: [String: String]
        init(_ answers: [String: String]) { self.answers = answers }

        func now() -> Timestamp { Timestamp(microseconds: clock.withLock { $0 }) }
        func sleep(_ d: Duration) { clock.withLock { $0 += d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000 } }
        func fetch(_ url: URL) throws -> (status: Int, body: Data) {
            log.withLock { $0.append((url.absoluteString, clock.withLock { $0 })) }
            guard let file = answers[url.absoluteString] else { return (404, Data(#"{"errorCode": 404, "title": "Not Found"}"#.utf8)) }
            return (200, try Corpus.data("rdap/\(file)"))
        }
    }

    static func bootstrap() throws -> RDAPBootstrap { try RDAPBootstrapTests.bootstrap() }

    static func resolver(_ world: FakeWorld, overrides: AbuseContactOverrides = AbuseContactOverrides()) throws -> AbuseContactResolver {
        AbuseContactResolver(
            bootstrap: try bootstrap(), overrides: overrides, now: { world.now() }, sleep: { world.sleep($0) },
            fetch: { try world.fetch($0) })
    }

    @Test func networkAnswerGivesTheContact() async throws {
        let world = FakeWorld(["https://rdap.arin.net/registry/ip/2606:4700:4700::1111": "arin-ip6-2606.4700.4700..1111-cloudflare.json"])
        let r = try Self.resolver(world)
        let c = try await r.contact(for: IPAddress("2606:4700:4700::1111")!)
        #expect(c.email == "abuse@cloudflare.com" && c.source == .networkAbuseRole && c.registry == .arin)
        // Cached: no second query.
        _ = try await r.contact(for: IPAddress("2606:4700:4700::1111")!)
        #expect(world.log.withLock { $0.count } == 1)
    }

    @Test func withoutAnAbuseRoleTheOriginASIsAsked() async throws {
        // An AFRINIC network without roles, with an origin AS whose entity lists abuse@.
        let network =
            #"{"objectClassName": "ip network", "handle": "NET-1", "startAddress": "196.11.239.0", "endAddress": "196.11.246.255", "port43": "whois.afrinic.net", "arin_originas0_originautnums": [37100], "entities": [{"handle": "X", "vcardArray": ["vcard", [["email", {}, "text", "noc@mtn.example"]]]}]}"#
        let dir = FileManager.default.temporaryDirectory.appending(path: "rdap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        final class Local: Sendable {
            let world: FakeWorld, network: String
            init(_ w: FakeWorld, _ n: String) {
                world = w
                network = n
            }
        }
        let world = FakeWorld(["https://rdap.afrinic.net/rdap/autnum/37100": "afrinic-entity-WOL-AFRINIC.json"])
        let local = Local(world, network)
        let r = AbuseContactResolver(
            bootstrap: try Self.bootstrap(), now: { world.now() }, sleep: { world.sleep($0) },
            fetch: { url in
                if url.absoluteString == "https://rdap.afrinic.net/rdap/ip/196.11.240.215" {
                    local.world.log.withLock { $0.append((url.absoluteString, local.world.clock.withLock { $0 })) }
                    return (200, Data(local.network.utf8))
                }
                return try local.world.fetch(url)
            })
        let c = try await r.contact(for: IPAddress("196.11.240.215")!)
        #expect(c.email == "abuse@workonline.africa")
        #expect(c.source == .abuseMailbox)
        #expect(c.asn == 37100)
        #expect(c.networkHandle == "NET-1", "the network is the address's, not the AS's")
        #expect(c.trail.count == 2 && c.trail[0].contains("no abuse contact"))
        // Two queries to the same registry host, spaced by the minimum interval.
        let times = world.log.withLock { $0.map(\.1) }
        #expect(times.count == 2 && times[1] - times[0] >= 500_000)
    }

    @Test func anAddressNoRegistryKnowsAndAMissingAnswer() async throws {
        let world = FakeWorld([:])
        let r = try Self.resolver(world)
        await #expect(throws: AbuseContactResolver.ResolveError.noRegistry(IPAddress("10.1.2.3")!)) {
            try await r.contact(for: IPAddress("10.1.2.3")!)
        }
        await #expect(throws: AbuseContactResolver.ResolveError.self) { try await r.contact(for: IPAddress("1.1.1.1")!) }
    }

    @Test func overridesComeFirst() async throws {
        let world = FakeWorld(["https://rdap.apnic.net/ip/1.1.1.1": "apnic-ip-1.1.1.1-apnic-labs-cloudflare.json"])
        let overrides = AbuseContactOverrides(byPrefix: [IPNetwork("1.1.1.0/24")!: .init(webForm: URL(string: "https://abuse.example/form")!)])
        let r = try Self.resolver(world, overrides: overrides)
        let c = try await r.contact(for: IPAddress("1.1.1.1")!)
        #expect(c.source == .override && c.email == nil && c.webForm?.absoluteString == "https://abuse.example/form")
        #expect(world.log.withLock { $0.isEmpty })
    }

    @Test func theOperatorsOverrideWinsOverAContactCachedBeforeIt() async throws {
        let world = FakeWorld(["https://rdap.apnic.net/ip/1.1.1.1": "apnic-ip-1.1.1.1-apnic-labs-cloudflare.json"])
        let cached = AbuseContact(email: "helpdesk@apnic.net", source: .networkAbuseRole, registry: .apnic, networkName: "APNIC-LABS", asn: 13335)
        let byAS = try Self.resolver(world, overrides: AbuseContactOverrides(byAS: [13335: .init(email: "abuse-desk@cloudflare.example")]))
        await byAS.seed(IPAddress("1.1.1.1")!, cached, expires: world.now() + .seconds(3600))
        let c = try await byAS.contact(for: IPAddress("1.1.1.1")!)
        #expect(c.source == .override && c.email == "abuse-desk@cloudflare.example" && c.asn == 13335 && c.networkName == "APNIC-LABS")
        #expect(c.trail == ["operator override for AS13335"])
        let none = try Self.resolver(world)
        await none.seed(IPAddress("1.1.1.1")!, cached, expires: world.now() + .seconds(3600))
        #expect(try await none.contact(for: IPAddress("1.1.1.1")!) == cached, "without an override the cache answers")
        #expect(world.log.withLock { $0.isEmpty }, "neither asked the registry")
    }

    @Test func cacheExpires() async throws {
        let world = FakeWorld(["https://rdap.apnic.net/ip/1.1.1.1": "apnic-ip-1.1.1.1-apnic-labs-cloudflare.json"])
        let r = try Self.resolver(world)
        _ = try await r.contact(for: IPAddress("1.1.1.1")!)
        world.sleep(.seconds(7 * 86_400 + 1))
        _ = try await r.contact(for: IPAddress("1.1.1.1")!)
        #expect(world.log.withLock { $0.count } == 2)
    }
}
