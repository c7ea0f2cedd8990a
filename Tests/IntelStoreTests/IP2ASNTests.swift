// SPDX-License-Identifier: GPL-2.0-or-later

import IntelStore
import NetworkAddress
import Testing

@Suite("iptoasn ip2asn TSV")
struct IP2ASNTests {
    /// Every row of the file answers for its first and last address and its middle; a
    /// "Not routed" row answers nothing; so does the address after the last row.
    func checkAgainstOwnRows(_ file: String) throws {
        let rows = TSVRow.rows(try Corpus.text(file))
        #expect(rows.count >= 10, "corpus missing: \(file)")
        let dataset = try Corpus.dataset(file, name: "ip2asn")
        #expect(dataset.format == .ip2asn)
        #expect(dataset.entryCount == rows.filter { $0.asn != 0 }.count)
        #expect(dataset.skippedRows == rows.filter { $0.asn == 0 }.count)
        let store = IntelStore(datasets: [dataset], providerASNs: ProviderASNMap([:]))
        for row in rows {
            for address in [row.start, row.end] {
                let answer = store.lookup(address)
                if row.asn == 0 {
                    #expect(answer.enrichment.asn == nil, "\(address) is in a Not routed row of \(file)")
                    #expect(!answer.isRouted)
                } else {
                    #expect(answer.enrichment.asn == row.asn, "\(address) in \(file)")
                    #expect(answer.enrichment.asName == row.name)
                    #expect(answer.enrichment.country == (row.country.count == 2 ? row.country : nil))
                    #expect(answer.range?.start == row.start && answer.range?.end == row.end)
                    // The prefix lies inside the row and holds the address.
                    if let prefix = answer.enrichment.prefix {
                        #expect(prefix.contains(address))
                        #expect(row.start <= prefix.address)
                    } else {
                        Issue.record("no prefix for \(address)")
                    }
                }
            }
        }
        // Just past every row that is followed by a gap (not the next row's start): nothing.
        for (i, row) in rows.enumerated() where row.asn != 0 {
            let after = row.end.next
            let covered = rows.contains { $0.asn != 0 && $0.start <= after && after <= $0.end }
            if !covered, i + 1 == rows.count || rows[i + 1].start != after {
                #expect(store.lookup(after).enrichment.asn == nil, "\(after) after the last row")
            }
        }
    }

    @Test(
        "v4 sample: boundaries, Not routed gaps",
        arguments: [
            "ip2asn-v4.sample.tsv", "ip2asn-v6.sample.tsv",
            "ip2asn-combined.sample.tsv", "asn-db-ip2asn-v4.subset.tsv",
        ])
    func ownRows(file: String) throws { try checkAgainstOwnRows(file) }

    @Test("the u32 variant gives the same answers as the dotted file for the same rows")
    func u32() throws {
        let u32 = try Corpus.dataset("ip2asn-v4-u32.sample.tsv", name: "u32")
        let rows = TSVRow.rows(try Corpus.text("ip2asn-v4-u32.sample.tsv"))
        let store = IntelStore(datasets: [u32], providerASNs: ProviderASNMap([:]))
        #expect(u32.ipv4Count == rows.filter { $0.asn != 0 }.count)
        // 16777216 is 1.0.0.0: the first row of the file.
        #expect(rows.first?.start == IPAddress("1.0.0.0"))
        for row in rows where row.asn != 0 {
            #expect(store.lookup(row.end).enrichment.asn == row.asn)
        }
    }

    @Test("v6: an address inside a long row and IPv4-mapped addresses")
    func v6() throws {
        let store = IntelStore(datasets: [try Corpus.dataset("ip2asn-combined.sample.tsv", name: "combined")])
        let answer = store.lookup(IPAddress("2c0f:ffa0:3::1234")!)
        #expect(answer.enrichment.asn == 37273)
        #expect(answer.enrichment.country == "UG")
        // The row 2c0f:ffa0:3:: – 2c0f:ffa0:4:ffff:… is two /48s, not one /47 (3 is odd).
        #expect(answer.enrichment.prefix == IPNetwork("2c0f:ffa0:3::/48"))
        #expect(store.lookup(IPAddress("2c0f:ffa0:4::1")!).enrichment.prefix == IPNetwork("2c0f:ffa0:4::/48"))
        #expect(store.lookup(IPAddress("::ffff:1.0.0.7")!).enrichment.asn == 13335)
        // In the gap row that runs to fdff:ffff:…: nothing.
        #expect(store.lookup(IPAddress("3000::1")!).enrichment.asn == nil)
    }

    @Test("bad rows are refused with their line")
    func errors() {
        func failure(_ text: String) -> IntelParseError? {
            do {
                _ = try IntelParser.parse(bytes: Array(text.utf8), format: .ip2asn, name: "t")
                return nil
            } catch { return error }
        }
        #expect(failure("1.0.0.0\t1.0.0.255\t13335\tUS\tX\n1.0.1.0\t1.0.0.0\t1\tUS\tY\n")?.line == 2)
        #expect(failure("1.0.0.0\t1.0.0.255\t13335\tUS\n")?.line == 1)
        #expect(failure("1.0.0.0\t1.0.0.255\t99999999999\tUS\tX\n")?.line == 1)
        #expect(failure("1.0.0.0\t::1\t1\tUS\tX\n")?.line == 1)
        #expect(failure("\n\n1.0.0.0\t1.0.0.x\t1\tUS\tX\n")?.line == 3)
        #expect(failure("1.0.0.0\t1.0.0.255\t0\tNone\tNot routed\n")?.message == "no ranges in the file")
        #expect(failure("") != nil)
    }
}
