// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Logging
import Synchronization
import Testing

@testable import IntelUpdate

@Suite("intel update against a local HTTP server: conditional requests, failures, shrink guard, swap")
struct IntelUpdaterTests {
    /// The corpus files published under their real names.
    static let published: [(name: String, path: String, corpus: String, format: String)] = [
        ("aws", "/ip-ranges.json", "ranges/aws-ip-ranges.excerpt.json", "aws"),
        ("gcp", "/ipranges/cloud.json", "ranges/gcp-cloud.excerpt.json", "gcp"),
        ("azure", "/ServiceTags_Public.json", "ranges/azure-ServiceTags_Public.excerpt.json", "azure"),
        ("oracle", "/public_ip_ranges.json", "ranges/oracle-public_ip_ranges.excerpt.json", "oracle"),
        ("digitalocean", "/geo/google.csv", "ranges/digitalocean-geofeed-google.csv", "geofeed"),
        ("linode", "/linode.csv", "ranges/linode-geofeed.excerpt.csv", "geofeed"),
        ("cloudflare-v4", "/ips-v4", "ranges/cloudflare-ips-v4.txt", "list"),
        ("cloudflare-v6", "/ips-v6", "ranges/cloudflare-ips-v6.txt", "list"),
    ]

    /// Serves every corpus source (ip2asn gzip-compressed, as iptoasn publishes it).
    static func serveCorpus(_ server: LocalSourceServer) throws {
        for (index, p) in published.enumerated() {
            server.set(p.path, ServedFile(body: try Corpus.bytes(p.corpus), etag: "\"v1-\(index)\""))
        }
        server.set(
            "/data/ip2asn-combined.tsv.gz",
            ServedFile(
                body: try Corpus.gzip(try Corpus.bytes("ranges/ip2asn-combined.sample.tsv")), etag: nil,
                lastModified: "Tue, 01 Dec 2026 06:00:00 GMT"))
    }

    static func sources(_ base: String) -> [IntelSource] {
        published.map { IntelSource(name: $0.name, url: base + $0.path, format: $0.format) }
            + [IntelSource(name: "ip2asn", url: base + "/data/ip2asn-combined.tsv.gz", format: "ip2asn")]
    }

    static func updater(_ base: String, directory: String, ratio: Double = 0.5, clock: @escaping @Sendable () -> Int64 = { 1_764_700_000 })
        -> IntelUpdater
    {
        IntelUpdater(
            sources: sources(base), options: IntelUpdateOptions(directory: directory, shrinkGuard: ShrinkGuard(minimumRatio: ratio)),
            fetcher: AsyncHTTPFetcher(timeout: .seconds(30)), validator: StructuralIntelValidator(), logger: Logger(label: "test"), clock: clock)
    }

    static func outcome(_ reports: [SourceReport], _ name: String) -> SourceOutcome? {
        reports.first { $0.name == name }?.outcome
    }

    @Test func aChangedSourceIsPickedUpAFailingOneKeepsItsCopyAndTheRestAnswer304() async throws {
        let server = LocalSourceServer()
        try Self.serveCorpus(server)
        let directory = Corpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await server.run { base in
            let updater = Self.updater(base, directory: directory)
            // Run 1: every source is new.
            let first = await updater.update()
            #expect(first.count == 9)
            #expect(first.allSatisfy { $0.changed }, "\(first)")
            // The stored copies are the published bytes (ip2asn decompressed).
            for p in Self.published {
                #expect(try Data(contentsOf: URL(fileURLWithPath: updater.dataPath(p.name))) == Data(try Corpus.bytes(p.corpus)))
            }
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: updater.dataPath("ip2asn"))) == Data(try Corpus.bytes("ranges/ip2asn-combined.sample.tsv")))
            // Entries counted from the formats (cloudflare: one CIDR per line; AWS: 64 v4 + 15 v6).
            let v4Lines = String(decoding: try Corpus.bytes("ranges/cloudflare-ips-v4.txt"), as: UTF8.self).split(separator: "\n").count
            #expect(Self.outcome(first, "cloudflare-v4") == .updated(entries: v4Lines, previousEntries: nil))
            #expect(Self.outcome(first, "aws") == .updated(entries: 79, previousEntries: nil))

            // Between runs: Cloudflare v4 publishes one more prefix (new ETag); AWS fails.
            var changed = try Corpus.bytes("ranges/cloudflare-ips-v4.txt")
            changed += Array("\n198.18.0.0/15".utf8)
            server.set("/ips-v4", ServedFile(body: changed, etag: "\"v2\""))
            server.set("/ip-ranges.json", ServedFile(body: [], status: 500))
            let awsBefore = try Data(contentsOf: URL(fileURLWithPath: updater.dataPath("aws")))

            let second = await updater.update()
            #expect(Self.outcome(second, "cloudflare-v4") == .updated(entries: v4Lines + 1, previousEntries: v4Lines))
            #expect(try Data(contentsOf: URL(fileURLWithPath: updater.dataPath("cloudflare-v4"))) == Data(changed))
            guard case .failed(let reason, let kept)? = Self.outcome(second, "aws") else {
                Issue.record("aws should have failed: \(second)")
                return
            }
            #expect(reason.contains("500"))
            #expect(kept == 79)
            #expect(try Data(contentsOf: URL(fileURLWithPath: updater.dataPath("aws"))) == awsBefore)
            #expect(updater.state(of: "aws")?.lastError?.contains("500") == true)
            // Every other source answered 304 to the validators of run 1.
            for p in Self.published where p.name != "aws" && p.name != "cloudflare-v4" {
                #expect(Self.outcome(second, p.name).map { if case .unchanged = $0 { true } else { false } } == true, "\(p.name)")
                let requests = server.requests(to: p.path)
                #expect(requests.count == 2)
                #expect(requests.last?.ifNoneMatch != nil && requests.last?.status == 304)
            }
            // ip2asn has no ETag, only Last-Modified: If-Modified-Since gets the 304.
            let ip2asn = server.requests(to: "/data/ip2asn-combined.tsv.gz")
            #expect(ip2asn.last?.ifModifiedSince == "Tue, 01 Dec 2026 06:00:00 GMT")
            #expect(ip2asn.last?.status == 304)
        }
    }

    @Test func anEmptyOrSuspiciouslyShrunkCopyIsRefusedAndTheOldOneStays() async throws {
        let server = LocalSourceServer()
        let full = try Corpus.bytes("ranges/digitalocean-geofeed-google.csv")
        server.set("/geo/google.csv", ServedFile(body: full, etag: "\"a\""))
        let directory = Corpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await server.run { base in
            let updater = IntelUpdater(
                sources: [IntelSource(name: "do", url: base + "/geo/google.csv", format: "geofeed")],
                options: IntelUpdateOptions(directory: directory, shrinkGuard: ShrinkGuard(minimumRatio: 0.5)),
                fetcher: AsyncHTTPFetcher(), validator: StructuralIntelValidator(), logger: Logger(label: "test"), clock: { 1 })
            let rows = String(decoding: full, as: UTF8.self).split(separator: "\n").count
            #expect(await updater.update().first?.outcome == .updated(entries: rows, previousEntries: nil))

            // A third of the rows: refused (ratio 0.5).
            let third = Array(String(decoding: full, as: UTF8.self).split(separator: "\n").prefix(rows / 3).joined(separator: "\n").utf8)
            server.set("/geo/google.csv", ServedFile(body: third, etag: "\"b\""))
            guard case .failed(let reason, let kept)? = await updater.update().first?.outcome else {
                Issue.record("a shrunk copy was accepted")
                return
            }
            #expect(reason.contains("shrinks"))
            #expect(kept == rows)
            let keptCopy = try Data(contentsOf: URL(fileURLWithPath: updater.dataPath("do")))
            #expect(keptCopy == Data(full))

            // An empty body: refused.
            server.set("/geo/google.csv", ServedFile(body: [], etag: "\"c\""))
            guard case .failed(let emptyReason, _)? = await updater.update().first?.outcome else {
                Issue.record("an empty copy was accepted")
                return
            }
            #expect(emptyReason.contains("empty"))

            // Not the format at all: the validation hook refuses it.
            server.set("/geo/google.csv", ServedFile(body: Array("<html>maintenance</html>\n".utf8), etag: "\"d\""))
            guard case .failed(let invalid, _)? = await updater.update().first?.outcome else {
                Issue.record("an invalid copy was accepted")
                return
            }
            #expect(invalid.contains("validation failed"))
            let stillKept = try Data(contentsOf: URL(fileURLWithPath: updater.dataPath("do")))
            #expect(stillKept == Data(full))

            // Two thirds: within the ratio, accepted.
            let twoThirds = Array(String(decoding: full, as: UTF8.self).split(separator: "\n").prefix(rows * 2 / 3).joined(separator: "\n").utf8)
            server.set("/geo/google.csv", ServedFile(body: twoThirds, etag: "\"e\""))
            #expect(await updater.update().first?.outcome == .updated(entries: rows * 2 / 3, previousEntries: rows))
        }
    }

    @Test func thePluggedValidatorDecidesAndItsCountFeedsTheGuard() async throws {
        let server = LocalSourceServer()
        server.set("/list", ServedFile(body: Array("198.18.0.0/24\n".utf8), etag: "\"1\""))
        let directory = Corpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let calls = Mutex<[String]>([])
        let validator = ClosureIntelValidator { bytes, format, name in
            calls.withLock { $0.append("\(name):\(format):\(bytes.count)") }
            guard format == "list" else { throw IntelValidationError("wrong format") }
            return 1000
        }
        try await server.run { base in
            let updater = IntelUpdater(
                sources: [IntelSource(name: "mine", url: base + "/list", format: "list")],
                options: IntelUpdateOptions(directory: directory), fetcher: AsyncHTTPFetcher(), validator: validator,
                logger: Logger(label: "test"), clock: { 1 })
            #expect(await updater.update().first?.outcome == .updated(entries: 1000, previousEntries: nil))
            #expect(calls.withLock { $0 } == ["mine:list:14"])
        }
    }

    @Test func anUnreachableSourceFailsWithoutTouchingAnything() async throws {
        let directory = Corpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Port 9 on loopback: nothing listens (connection refused), nothing leaves the host.
        let updater = IntelUpdater(
            sources: [IntelSource(name: "gone", url: "http://127.0.0.1:9/x", format: "list")],
            options: IntelUpdateOptions(directory: directory), fetcher: AsyncHTTPFetcher(timeout: .seconds(10)),
            validator: StructuralIntelValidator(), logger: Logger(label: "test"), clock: { 1 })
        let report = await updater.update()
        #expect(report.first?.failed == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
