// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// Parses published intelligence files. Untrusted input: every parser is bounded (file
/// size, entries, field length, JSON depth), never traps, and refuses a bad file with
/// the line at fault.
public enum IntelParser {
    /// Parses a whole file.
    /// - Parameters:
    ///   - bytes: the file's content.
    ///   - format: its format, or nil to detect it from the content.
    ///   - name: the dataset's name (provider or list name for CIDR lists and geofeeds).
    public static func parse(bytes: some Collection<UInt8>, format: IntelFormat? = nil, name: String) throws(IntelParseError) -> IntelDataset {
        guard bytes.count <= IntelLimits.maxFileBytes else {
            throw IntelParseError(line: 0, "file larger than \(IntelLimits.maxFileBytes >> 20) MB")
        }
        let result: Result<IntelDataset, IntelParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(IntelParseError) in try parse(buffer, format: format, name: name) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer throws(IntelParseError) in try parse(buffer, format: format, name: name) }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, format: IntelFormat?, name: String) throws(IntelParseError) -> IntelDataset {
        guard let format = format ?? IntelFormat.detect(bytes) else {
            throw IntelParseError(line: 0, "not a known format (ip2asn TSV, AWS, Google Cloud, Azure, Oracle JSON, RFC 8805 geofeed, CIDR list)")
        }
        let dataset: IntelDataset
        switch format {
        case .ip2asn: dataset = try IP2ASNParser.parse(bytes, name: name)
        case .geofeed: dataset = try GeofeedParser.parse(bytes, name: name)
        case .cidrList: dataset = try CIDRListParser.parse(bytes, name: name)
        case .aws, .gcp, .azure, .oracle: dataset = try CloudJSONParser.parse(bytes, format: format, name: name)
        }
        guard dataset.entryCount > 0 else { throw IntelParseError(line: 0, "no ranges in the file") }
        return dataset
    }
}

/// Adds one CIDR to a dataset's columns, with the entry bound.
extension IntelDataset {
    mutating func add(_ network: IPNetwork, _ attribute: UInt32, line: Int) throws(IntelParseError) {
        guard entryCount < IntelLimits.maxEntries else {
            throw IntelParseError(line: line, "more than \(IntelLimits.maxEntries) ranges")
        }
        if let (s, e) = network.bounds4 {
            v4.append(s, e, attribute)
        } else if let (s, e) = network.bounds6 {
            v6.append(s, e, attribute)
        }
    }
}
