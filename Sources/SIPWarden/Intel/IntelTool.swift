// SPDX-License-Identifier: GPL-2.0-or-later

public import IntelStore
import NetworkAddress
public import WardenCore

/// `sipwarden intel lookup` and `sipwarden intel import`.
public enum IntelTool {
    /// One answer per address: text, or one JSON object per line.
    public static func lookup(_ addresses: [String], stateDirectory: String, json: Bool) throws(RuntimeFailure) -> String {
        var parsed: [IPAddress] = []
        for text in addresses {
            guard let a = IPAddress(text) else { throw RuntimeFailure("'\(text.prefix(64))' is not an IP address") }
            parsed.append(a)
        }
        let directory = IntelDirectory(stateDirectory: stateDirectory)
        let (store, problems) = directory.loadStore()
        var out = ""
        for p in problems { out += "warning: \(p) (left out)\n" }
        if store.isEmpty, !json {
            out += "no intelligence data in \(directory.path) (sipwarden intel import FILE …)\n"
        }
        var w = JSONLineWriter()
        for a in parsed {
            let answer = store.lookup(a)
            if json {
                w.append(answer)
            } else {
                out += text(answer) + "\n"
            }
        }
        if json { out += String(decoding: w.bytes, as: UTF8.self) }
        return out
    }

    /// A human-readable line.
    static func text(_ a: IntelAnswer) -> String {
        let e = a.enrichment
        var parts = [a.address.description]
        if let asn = e.asn {
            parts.append("AS\(asn)" + (e.asName.map { " \($0)" } ?? ""))
        } else {
            parts.append("no announced range")
        }
        if let c = e.country { parts.append("country \(c)") }
        if let p = e.prefix { parts.append("prefix \(p)") }
        if let r = a.range { parts.append("range \(r.start)-\(r.end)") }
        if let p = e.provider {
            parts.append("provider \(p)" + (e.service.map { " service \($0)" } ?? "") + (e.region.map { " region \($0)" } ?? ""))
        }
        if !a.lists.isEmpty { parts.append("lists \(a.lists.joined(separator: ","))") }
        return parts.joined(separator: "  ")
    }

    /// Parses each file (format detected unless given), then stores it under `STATE/intel`.
    /// All files are parsed before any is stored: one bad file stores nothing.
    public static func importFiles(_ paths: [String], name: String?, format: String?, stateDirectory: String) throws(RuntimeFailure) -> String {
        if name != nil, paths.count > 1 { throw RuntimeFailure("--name names one file; give one FILE with it") }
        var forced: IntelFormat?
        if let format {
            guard let f = IntelFormat(rawValue: format) else {
                throw RuntimeFailure(
                    "--format: expected one of \(IntelFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format.prefix(32))'")
            }
            forced = f
        }
        var parsed: [(bytes: [UInt8], dataset: IntelDataset)] = []
        for path in paths {
            let bytes: [UInt8]
            do { bytes = try readFileBytes(path, limit: IntelLimits.maxFileBytes) } catch { throw RuntimeFailure("\(error)") }
            let detected = forced ?? IntelFormat.detect(bytes: bytes)
            guard let detected else {
                throw RuntimeFailure(
                    "\(path): not a known format (ip2asn TSV, AWS, Google Cloud, Azure, Oracle JSON, RFC 8805 geofeed, CIDR list); give --format")
            }
            let datasetName = name ?? defaultName(path: path, format: detected)
            guard IntelDirectory.isValidName(datasetName) else {
                throw RuntimeFailure("'\(datasetName.prefix(64))' is not a usable name (letters, digits, . _ -; at most 64); give --name")
            }
            do {
                parsed.append((bytes, try IntelParser.parse(bytes: bytes, format: detected, name: datasetName)))
            } catch {
                throw RuntimeFailure(error.located(in: path))
            }
        }
        let directory = IntelDirectory(stateDirectory: stateDirectory)
        var out = ""
        for (bytes, d) in parsed {
            do { try directory.store(bytes, name: d.name, format: d.format) } catch { throw RuntimeFailure("\(error)") }
            out +=
                "\(d.name): \(d.format.rawValue) (\(d.role.rawValue)), \(d.ipv4Count) IPv4 + \(d.ipv6Count) IPv6 ranges"
                + (d.skippedRows > 0 ? ", \(d.skippedRows) unrouted rows" : "") + " -> \(directory.path)/\(d.name).\(d.format.rawValue)\n"
        }
        return out
    }

    /// `aws`, `gcp`, `azure`, `oracle` for the clouds; the file's base name otherwise.
    static func defaultName(path: String, format: IntelFormat) -> String {
        switch format {
        case .aws, .gcp, .azure, .oracle: return format.rawValue
        case .ip2asn, .geofeed, .cidrList:
            var base = String(path.split(separator: "/").last ?? "")
            for suffix in [".tsv", ".csv", ".txt", ".json", ".gz"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
            return base
        }
    }
}

extension JSONLineWriter {
    /// Appends one lookup answer: `address`, then the enrichment fields known, `range`, `lists`.
    public mutating func append(_ a: IntelAnswer) {
        raw("{")
        key("address", first: true)
        address(a.address)
        append(enrichment: a.enrichment)
        if let r = a.range {
            key("range")
            string("\(r.start)-\(r.end)")
        }
        if !a.lists.isEmpty {
            key("lists")
            raw("[")
            for (i, l) in a.lists.enumerated() {
                if i > 0 { raw(",") }
                string(l)
            }
            raw("]")
        }
        raw("}\n")
    }

    /// Appends the known enrichment fields as members (`asn`, `as_name`, `country`, `prefix`,
    /// `provider`, `service`, `region`) after other members.
    public mutating func append(enrichment e: IntelEnrichment) {
        if let asn = e.asn {
            key("asn")
            number(Int64(asn))
        }
        if let v = e.asName {
            key("as_name")
            string(v)
        }
        if let v = e.country {
            key("country")
            string(v)
        }
        if let v = e.prefix {
            key("prefix")
            string(v.description)
        }
        if let v = e.provider {
            key("provider")
            string(v)
        }
        if let v = e.service {
            key("service")
            string(v)
        }
        if let v = e.region {
            key("region")
            string(v)
        }
    }
}
