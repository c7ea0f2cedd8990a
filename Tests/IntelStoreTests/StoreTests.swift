// SPDX-License-Identifier: GPL-2.0-or-later

import IntelStore
import NetworkAddress
import Testing

@Suite("Intel store")
struct StoreTests {
    @Test(
        "formats are recognised from content",
        arguments: [
            ("ip2asn-v4.sample.tsv", IntelFormat.ip2asn), ("ip2asn-v4-u32.sample.tsv", .ip2asn), ("ip2asn-v6.sample.tsv", .ip2asn),
            ("ip2asn-combined.sample.tsv", .ip2asn), ("asn-db-ip2asn-v4.subset.tsv", .ip2asn),
            ("aws-ip-ranges.excerpt.json", .aws), ("gcp-cloud.excerpt.json", .gcp), ("azure-ServiceTags_Public.excerpt.json", .azure),
            ("oracle-public_ip_ranges.excerpt.json", .oracle), ("digitalocean-geofeed-google.csv", .geofeed),
            ("linode-geofeed.excerpt.csv", .geofeed), ("cloudflare-ips-v4.txt", .cidrList), ("cloudflare-ips-v6.txt", .cidrList),
        ])
    func detect(file: String, format: IntelFormat) throws {
        #expect(IntelFormat.detect(bytes: try Corpus.bytes(file)) == format)
    }

    @Test("unknown content is not detected")
    func detectNothing() {
        #expect(IntelFormat.detect(bytes: Array("hello world\n".utf8)) == nil)
        #expect(IntelFormat.detect(bytes: Array("{\"a\": 1}".utf8)) == nil)
        #expect(IntelFormat.detect(bytes: [UInt8]()) == nil)
    }

    @Test("providers known by AS number take the AS's announced ranges")
    func providerByASN() throws {
        let tsv = """
            5.9.0.0\t5.9.255.255\t24940\tDE\tHETZNER-AS
            5.10.0.0\t5.10.0.255\t0\tNone\tNot routed
            5.10.1.0\t5.10.1.127\t24940\tDE\tHETZNER-AS
            5.10.1.128\t5.10.1.255\t3320\tDE\tDTAG
            2a01:4f8::\t2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff\t24940\tDE\tHETZNER-AS

            """
        let table = try IntelParser.parse(bytes: Array(tsv.utf8), name: "ip2asn")
        let store = IntelStore(datasets: [table])
        #expect(store.lookup(IPAddress("5.9.1.2")!).enrichment.provider == "hetzner")
        #expect(store.lookup(IPAddress("2a01:4f8::1")!).enrichment.provider == "hetzner")
        #expect(store.lookup(IPAddress("5.10.1.200")!).enrichment.provider == nil)
        let ranges = store.networks(matching: IntelSelector("hetzner")!).map(\.description)
        #expect(ranges == ["5.9.0.0/16", "5.10.1.0/25", "2a01:4f8::/32"])
        #expect(store.networks(matching: IntelSelector("AS24940")!) == store.networks(matching: .provider("hetzner")))
        // Overridden: Hetzner removed, DTAG added.
        let custom = IntelStore(datasets: [table], providerASNs: ProviderASNMap.builtIn.merging(ProviderASNMap(["hetzner": [], "dtag": [3320]])))
        #expect(custom.lookup(IPAddress("5.9.1.2")!).enrichment.provider == nil)
        #expect(custom.lookup(IPAddress("5.10.1.200")!).enrichment.provider == "dtag")
        // A published list is more specific than the AS-derived range.
        let list = try IntelParser.parse(bytes: Array("5.9.8.0/24\n".utf8), format: .geofeed, name: "hetzner-cloud")
        let both = IntelStore(datasets: [table, list])
        #expect(both.lookup(IPAddress("5.9.8.1")!).enrichment.provider == "hetzner-cloud")
        #expect(both.lookup(IPAddress("5.9.9.1")!).enrichment.provider == "hetzner")
    }

    @Test("ASN selector splits ranges not aligned to CIDR into blocks covering exactly the range")
    func asnSplit() throws {
        let store = IntelStore(datasets: [try Corpus.dataset("asn-db-ip2asn-v4.subset.tsv", name: "t")])
        let rows = TSVRow.rows(try Corpus.text("asn-db-ip2asn-v4.subset.tsv")).filter { $0.asn == 13335 }
        let blocks = store.networks(matching: .asn(13335))
        #expect(!blocks.isEmpty)
        for b in blocks {
            // Each block lies inside a row of AS13335 (rows are disjoint, adjacent ones merged).
            let first = b.address
            let last = lastAddress(b)
            #expect(rows.contains { $0.start <= first && first <= $0.end }, "\(b)")
            #expect(store.lookup(last).enrichment.asn == 13335, "\(b)")
        }
        var total: UInt64 = 0
        for b in blocks { total += UInt64(1) << UInt64(32 - b.prefixLength) }
        var expected: UInt64 = 0
        for r in rows { if case (.v4(let s), .v4(let e)) = (r.start, r.end) { expected += UInt64(e - s) + 1 } }
        #expect(total == expected)
    }

    @Test("random ranges: the CIDR split covers each range exactly, in order, without overlap")
    func splitProperty() {
        var rng = SystemRandomNumberGenerator()
        let tsvRows = (0..<200).map { _ -> String in
            let s = UInt32.random(in: 0...UInt32.max - 70000, using: &rng)
            let e = s + UInt32.random(in: 0...65536, using: &rng)
            return "\(s)\t\(e)\t64500\tZZ\tTEST"
        }
        for row in tsvRows {
            let table = try? IntelParser.parse(bytes: Array((row + "\n").utf8), format: .ip2asn, name: "t")
            let store = IntelStore(datasets: table.map { [$0] } ?? [])
            let f = row.split(separator: "\t")
            let s = UInt32(f[0])!
            let e = UInt32(f[1])!
            var cursor = UInt64(s)
            for b in store.networks(matching: .asn(64500)) {
                guard case .v4(let base) = b.address else {
                    Issue.record("family")
                    return
                }
                #expect(UInt64(base) == cursor)
                cursor += UInt64(1) << UInt64(32 - b.prefixLength)
            }
            #expect(cursor == UInt64(e) + 1)
        }
    }

    @Test("JSON files: errors name the line")
    func jsonErrors() {
        func failure(_ text: String, _ format: IntelFormat? = nil) -> IntelParseError? {
            do {
                _ = try IntelParser.parse(bytes: Array(text.utf8), format: format, name: "t")
                return nil
            } catch { return error }
        }
        #expect(failure("{\n \"syncToken\": \"1\",\n \"prefixes\": [\n  {\"ip_prefix\": \"3.0.0.0/33\", \"service\": \"EC2\"}\n ]\n}")?.line == 4)
        #expect(failure("{\n \"prefixes\": [\n  {\"ip_prefix\": \"3.0.0.0/8\"}\n ]\n}", .aws)?.line == 3)
        #expect(failure("{\n \"prefixes\": [\n  {\"ip_prefix\": \"3.0.0.0/8\",\n", .aws)?.line == 4)
        #expect(failure(String(repeating: "[", count: 100), .gcp)?.message.contains("deeply") == true)
        #expect(failure("{\"values\": 3, \"addressPrefixes\": 1}")?.message.contains("array") == true)
        #expect(failure("1.2.3.4/24\nnot-a-cidr\n")?.line == 2)
        #expect(failure("192.0.2.0/24,US,US-CA\n\"unterminated,US\n", .geofeed)?.line == 2)
    }

    @Test("an empty store answers nothing; a mapped IPv6 address is answered as IPv4")
    func empty() throws {
        let store = IntelStore()
        #expect(store.isEmpty)
        #expect(store.lookup(IPAddress("1.2.3.4")!).enrichment.isEmpty)
        let table = try Corpus.dataset("ip2asn-v4.sample.tsv", name: "t")
        #expect(IntelStore(datasets: [table]).lookup(IPAddress("::ffff:1.0.0.1")!).enrichment.asn == 13335)
    }
}

func lastAddress(_ n: IPNetwork) -> IPAddress {
    switch n.address {
    case .v4(let v): .v4(n.prefixLength == 0 ? .max : v | (UInt32.max >> UInt32(n.prefixLength)))
    case .v6: n.address
    }
}
