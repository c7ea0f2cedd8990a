// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import IntelStore
import NetworkAddress
import Testing

/// The clouds' publications, checked against an independent reading of the same file
/// (Foundation's JSONSerialization, a CSV split), not against numbers copied from them.
@Suite("Provider publications")
struct ProviderFormatTests {
    @Test("AWS ip-ranges.json: every prefix answers aws and its region; a specific service wins over AMAZON")
    func aws() throws {
        let json = try Corpus.json("aws-ip-ranges.excerpt.json")
        let v4 = json["prefixes"] as? [[String: String]] ?? []
        let v6 = json["ipv6_prefixes"] as? [[String: String]] ?? []
        let dataset = try Corpus.dataset("aws-ip-ranges.excerpt.json", name: "aws")
        #expect(dataset.format == .aws)
        #expect(dataset.ipv4Count == v4.count && dataset.ipv6Count == v6.count && v4.count > 0)
        let store = IntelStore(datasets: [dataset])
        for entry in v4 + v6 {
            let prefix = IPNetwork(entry["ip_prefix"] ?? entry["ipv6_prefix"] ?? "")!
            let answer = store.lookup(prefix.address)
            #expect(answer.enrichment.provider == "aws")
            // The answer is the most specific published prefix that holds the address.
            let holding = (v4 + v6).compactMap { e -> (IPNetwork, String)? in
                let n = IPNetwork(e["ip_prefix"] ?? e["ipv6_prefix"] ?? "")!
                return n.contains(prefix.address) ? (n, e["service"]!) : nil
            }
            let longest = holding.map(\.0.prefixLength).max()!
            let services = Set(holding.filter { $0.0.prefixLength == longest }.map(\.1))
            let expected = services.count > 1 ? services.subtracting(["AMAZON"]) : services
            #expect(expected.contains(answer.enrichment.service ?? ""), "\(prefix): \(services)")
            if services == [entry["service"]!], longest == prefix.prefixLength {
                #expect(answer.enrichment.region == entry["region"])
            }
        }
        // aws:EC2 gives exactly the EC2 prefixes (merged where adjacent, never more).
        let ec2 = store.networks(matching: IntelSelector("aws:EC2")!)
        let published = (v4 + v6).filter { $0["service"] == "EC2" }.map { IPNetwork($0["ip_prefix"] ?? $0["ipv6_prefix"]!)! }
        for n in published { #expect(ec2.contains { $0.contains(n) }, "\(n)") }
        for n in ec2 { #expect(published.contains { $0.contains(n) }, "\(n) is not EC2's") }
    }

    @Test("Google Cloud cloud.json")
    func gcp() throws {
        let json = try Corpus.json("gcp-cloud.excerpt.json")
        let prefixes = json["prefixes"] as? [[String: String]] ?? []
        let dataset = try Corpus.dataset("gcp-cloud.excerpt.json", name: "gcp")
        #expect(dataset.format == .gcp && dataset.entryCount == prefixes.count && prefixes.count > 0)
        let store = IntelStore(datasets: [dataset])
        for p in prefixes {
            let n = IPNetwork(p["ipv4Prefix"] ?? p["ipv6Prefix"] ?? "")!
            let answer = store.lookup(n.address)
            #expect(answer.enrichment.provider == "gcp")
            #expect(answer.enrichment.service == p["service"])
            #expect(answer.enrichment.region == p["scope"])
        }
    }

    @Test("Azure Service Tags: regional service tags win over the AzureCloud region tag")
    func azure() throws {
        let json = try Corpus.json("azure-ServiceTags_Public.excerpt.json")
        let values = json["values"] as? [[String: Any]] ?? []
        var count = 0
        var serviceOf: [IPNetwork: (service: String, region: String)] = [:]
        for v in values {
            let props = v["properties"] as? [String: Any] ?? [:]
            let list = props["addressPrefixes"] as? [String] ?? []
            count += list.count
            let system = props["systemService"] as? String ?? ""
            if !system.isEmpty { for p in list { serviceOf[IPNetwork(p)!] = (system, props["region"] as? String ?? "") } }
        }
        let dataset = try Corpus.dataset("azure-ServiceTags_Public.excerpt.json", name: "azure")
        #expect(dataset.format == .azure && dataset.entryCount == count && count > 0)
        let store = IntelStore(datasets: [dataset])
        var checked = 0
        for (network, expected) in serviceOf {
            // Only where no narrower published prefix holds the address.
            let narrower = serviceOf.keys.contains { $0 != network && $0.prefixLength > network.prefixLength && $0.contains(network.address) }
            if narrower { continue }
            let answer = store.lookup(network.address)
            #expect(answer.enrichment.provider == "azure")
            if network.prefixLength >= 20 {
                #expect(answer.enrichment.service != nil)
            }
            if let region = answer.enrichment.region, !expected.region.isEmpty, answer.enrichment.service == expected.service {
                #expect(region == expected.region)
                checked += 1
            }
        }
        #expect(checked > 0)
        // A Storage.GermanyWestCentral prefix answers AzureStorage, not the generic AzureCloud.germanywc.
        let storage = values.first { $0["name"] as? String == "Storage.GermanyWestCentral" }
        let first = ((storage?["properties"] as? [String: Any])?["addressPrefixes"] as? [String])?.first
        let answer = store.lookup(IPNetwork(first ?? "")!.address)
        #expect(answer.enrichment.service == "AzureStorage")
        #expect(answer.enrichment.region == "germanywc")
    }

    @Test("Oracle public_ip_ranges.json")
    func oracle() throws {
        let json = try Corpus.json("oracle-public_ip_ranges.excerpt.json")
        let regions = json["regions"] as? [[String: Any]] ?? []
        let dataset = try Corpus.dataset("oracle-public_ip_ranges.excerpt.json", name: "oracle")
        var count = 0
        let store = IntelStore(datasets: [dataset])
        for r in regions {
            for c in r["cidrs"] as? [[String: Any]] ?? [] {
                count += 1
                let answer = store.lookup(IPNetwork(c["cidr"] as! String)!.address)
                #expect(answer.enrichment.provider == "oracle")
                #expect(answer.enrichment.region == r["region"] as? String)
                #expect(answer.enrichment.service == (c["tags"] as? [String])?.joined(separator: ","))
            }
        }
        #expect(dataset.format == .oracle && dataset.entryCount == count && count > 0)
    }

    @Test(
        "RFC 8805 geofeeds: DigitalOcean (rows with only 2 fields) and Linode (comments, empty last field)",
        arguments: [("digitalocean-geofeed-google.csv", "digitalocean"), ("linode-geofeed.excerpt.csv", "linode")])
    func geofeed(file: String, name: String) throws {
        let lines = try Corpus.text(file).split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        let dataset = try Corpus.dataset(file, name: name)
        #expect(dataset.format == .geofeed && dataset.entryCount == lines.count && lines.count > 10)
        let store = IntelStore(datasets: [dataset])
        var prefixes = Set<IPNetwork>()
        for line in lines { prefixes.insert(IPNetwork(line.split(separator: ",")[0])!) }
        for line in lines {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let network = IPNetwork(f[0])!
            if prefixes.contains(where: { $0 != network && $0.contains(network.address) && $0.prefixLength > network.prefixLength }) { continue }
            let answer = store.lookup(network.address)
            #expect(answer.enrichment.provider == name)
            #expect(answer.enrichment.country == (f[1].count == 2 ? f[1] : nil), "\(line)")
            #expect(answer.enrichment.region == (f.count > 2 && !f[2].isEmpty ? f[2] : nil), "\(line)")
        }
    }

    @Test("Cloudflare's lists are the provider cloudflare; other plain lists are named lists")
    func plainLists() throws {
        let v4 = try Corpus.dataset("cloudflare-ips-v4.txt", name: "cloudflare")
        let v6 = try Corpus.dataset("cloudflare-ips-v6.txt", name: "cloudflare")
        let lines4 = try Corpus.text("cloudflare-ips-v4.txt").split(separator: "\n")
        let lines6 = try Corpus.text("cloudflare-ips-v6.txt").split(separator: "\n")
        #expect(v4.format == .cidrList && v4.role == .provider)
        #expect(v4.ipv4Count == lines4.count && v6.ipv6Count == lines6.count)
        let mine = try IntelParser.parse(bytes: Array("# scanners\n198.18.7.0/24\n198.18.9.1 # one host\n\n2001:2::/48\n".utf8), name: "scanners")
        #expect(mine.role == .namedList && mine.entryCount == 3)
        let store = IntelStore(datasets: [v4, v6, mine])
        for line in lines4 + lines6 {
            #expect(store.lookup(IPNetwork(line)!.address).enrichment.provider == "cloudflare")
        }
        #expect(store.lookup(IPAddress("198.18.7.200")!).lists == ["scanners"])
        #expect(store.lookup(IPAddress("198.18.9.1")!).lists == ["scanners"])
        #expect(store.lookup(IPAddress("198.18.9.2")!).lists.isEmpty)
        #expect(store.networks(matching: .list("scanners")).map(\.description) == ["198.18.7.0/24", "198.18.9.1", "2001:2::/48"])
        #expect(store.networks(matching: IntelSelector("cloudflare")!).count >= lines4.count + lines6.count - 2)
    }
}
