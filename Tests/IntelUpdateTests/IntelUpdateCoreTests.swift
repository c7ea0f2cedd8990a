// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import IntelUpdate

@Suite("gunzip, atomic swap, shrink guard, structural validation")
struct IntelUpdateCoreTests {
    @Test func gunzipInvertsTheSystemGzipAndRefusesBrokenOrHugeInput() throws {
        let original = try Corpus.bytes("ranges/asn-db-ip2asn-v4.subset.tsv")
        let compressed = try Corpus.gzip(original)
        #expect(Gunzip.isGzip(compressed))
        #expect(try Gunzip.decompress(compressed, maxBytes: 1 << 24) == original)
        // Two members, as `cat a.gz b.gz` makes: both come out.
        let second = try Corpus.gzip(Array("198.18.0.0\t198.18.0.255\t64512\tZZ\tTEST\n".utf8))
        #expect(try Gunzip.decompress(compressed + second, maxBytes: 1 << 24) == original + Array("198.18.0.0\t198.18.0.255\t64512\tZZ\tTEST\n".utf8))
        // Truncated: an error, never a partial copy.
        #expect(throws: Gunzip.Failure.self) { try Gunzip.decompress(Array(compressed.prefix(compressed.count / 2)), maxBytes: 1 << 24) }
        // A bound on the output (a gzip bomb).
        #expect(throws: Gunzip.Failure.tooLarge(limit: 1000)) { try Gunzip.decompress(compressed, maxBytes: 1000) }
        // Garbage after the magic.
        #expect(throws: Gunzip.Failure.self) { try Gunzip.decompress([0x1F, 0x8B, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], maxBytes: 1 << 20) }
        #expect(!Gunzip.isGzip(original))
    }

    @Test func theAtomicSwapReplacesWholeAndLeavesNoTemporaryFile() throws {
        let directory = Corpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sub/dir/copy"
        try AtomicFile.makeDirectory(directory + "/sub/dir")
        try AtomicFile.write(Array("old\n".utf8), to: path)
        // A reader holding the old file keeps reading the old content after the swap.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try AtomicFile.write(Array("new content\n".utf8), to: path)
        #expect(String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self) == "old\n")
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self) == "new content\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/sub/dir") == ["copy"])
        // A directory that cannot be written: an error naming the call, the target untouched.
        #expect(throws: FileIOError.self) { try AtomicFile.write([1], to: directory + "/missing/copy") }
    }

    @Test func theShrinkGuardRefusesEmptyAndBelowTheRatio() {
        let guardHalf = ShrinkGuard(minimumRatio: 0.5)
        #expect(guardHalf.refusal(newEntries: 0, newBytes: 10, oldEntries: nil) != nil)
        #expect(guardHalf.refusal(newEntries: 5, newBytes: 0, oldEntries: nil) != nil)
        #expect(guardHalf.refusal(newEntries: 1, newBytes: 10, oldEntries: nil) == nil)
        #expect(guardHalf.refusal(newEntries: 49, newBytes: 10, oldEntries: 100) != nil)
        #expect(guardHalf.refusal(newEntries: 50, newBytes: 10, oldEntries: 100) == nil)
        #expect(guardHalf.refusal(newEntries: 500, newBytes: 10, oldEntries: 100) == nil)
        #expect(ShrinkGuard(minimumRatio: 0).refusal(newEntries: 1, newBytes: 1, oldEntries: 1_000_000) == nil)
    }

    @Test func theStructuralValidatorReadsEveryPublishedFormat() throws {
        let v = StructuralIntelValidator()
        #expect(try v.validate(try Corpus.bytes("ranges/aws-ip-ranges.excerpt.json"), format: "aws", name: "aws") == 79)
        #expect(try v.validate(try Corpus.bytes("ranges/gcp-cloud.excerpt.json"), format: "gcp", name: "gcp") == 77)
        #expect(try v.validate(try Corpus.bytes("ranges/oracle-public_ip_ranges.excerpt.json"), format: "oracle", name: "o") == 73 + 12 + 60)
        #expect(try v.validate(try Corpus.bytes("ranges/digitalocean-geofeed-google.csv"), format: "geofeed", name: "do") == 1197)
        #expect(try v.validate(try Corpus.bytes("ranges/cloudflare-ips-v6.txt"), format: "list", name: "cf") == 7)
        #expect(try v.validate(try Corpus.bytes("ranges/ip2asn-combined.sample.tsv"), format: "ip2asn", name: "i") == 33)
        // Azure: the sum of every value's addressPrefixes, counted independently.
        let azure = try Corpus.bytes("ranges/azure-ServiceTags_Public.excerpt.json")
        let json = try JSONSerialization.jsonObject(with: Data(azure)) as? [String: Any]
        let values = json?["values"] as? [[String: Any]] ?? []
        let expected = values.reduce(0) { $0 + (($1["properties"] as? [String: Any])?["addressPrefixes"] as? [Any] ?? []).count }
        #expect(expected > 0)
        #expect(try v.validate(azure, format: "azure", name: "az") == expected)
        // Linode: comment lines skipped, the rest are rows.
        let linode = try Corpus.bytes("ranges/linode-geofeed.excerpt.csv")
        let rows = String(decoding: linode, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        #expect(try v.validate(linode, format: "geofeed", name: "l") == rows)
        // Wrong format or damage: refused.
        #expect(throws: IntelValidationError.self) { try v.validate(try Corpus.bytes("ranges/aws-ip-ranges.excerpt.json"), format: "gcp", name: "x") }
        #expect(throws: IntelValidationError.self) { try v.validate(Array("1.0.0.0\t1.0.0.255\tAS?\tUS\n".utf8), format: "ip2asn", name: "x") }
        #expect(throws: IntelValidationError.self) { try v.validate(Array("not-a-prefix\n".utf8), format: "list", name: "x") }
    }

    @Test func untrustedBytesNeverTrapTheValidatorOrGunzip() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let count = Int.random(in: 0...256, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator), bytes.count > 2 {
                bytes[0] = 0x1F
                bytes[1] = 0x8B
            }
            for format in IntelSource.knownFormats {
                _ = try? StructuralIntelValidator().validate(bytes, format: format, name: "fuzz")
            }
            _ = try? Gunzip.decompress(bytes, maxBytes: 1 << 16)
        }
    }

    @Test func sourceNamesAreSafeFileNames() {
        #expect(IntelSource.isValidName("cloudflare-v4"))
        #expect(!IntelSource.isValidName("../etc"))
        #expect(!IntelSource.isValidName("a/b"))
        #expect(!IntelSource.isValidName(""))
        #expect(!IntelSource.isValidName(".hidden"))
        #expect(IntelSource(name: "x", url: "https://h/x.tsv.gz", format: "ip2asn").gzip)
    }
}
