// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// RFC 8805 self-published geofeeds: `ip_prefix,alpha2code,region,city,postal_code`
/// per line, `#` comments, trailing fields optional (DigitalOcean ships rows with only
/// `prefix,None`), fields possibly quoted (RFC 4180). The dataset's name is the provider;
/// the RFC 8805 region (`US-TX`) becomes the entry's region, its country the country.
enum GeofeedParser {
    static func parse(_ b: UnsafeBufferPointer<UInt8>, name: String) throws(IntelParseError) -> IntelDataset {
        var dataset = IntelDataset(name: name, format: .geofeed, role: .provider)
        var interner = LabelInterner()
        var fields: [Range<Int>] = []
        try IntelText.forEachLine(b) { line, range throws(IntelParseError) in
            let r = IntelText.trimmed(b, range)
            if r.isEmpty || b[r.lowerBound] == UInt8(ascii: "#") { return }
            try split(b, r, into: &fields, line: line)
            guard let network = IntelText.network(b, unquoted(b, fields[0])) else {
                throw IntelParseError(line: line, "bad prefix '\(excerpt(b, fields[0]))'")
            }
            let country = fields.count > 1 ? IntelText.country(b, unquoted(b, fields[1])) : 0
            let region = fields.count > 2 ? try IntelText.field(b, unquoted(b, fields[2]), line: line, what: "region") : nil
            let id = interner.id(ProviderLabel(provider: name, service: nil, region: region, country: country, generic: false))
            try dataset.add(network, id, line: line)
        }
        dataset.labels = interner.labels
        return dataset
    }

    /// Splits a CSV line on commas outside double quotes.
    static func split(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, into fields: inout [Range<Int>], line: Int) throws(IntelParseError) {
        fields.removeAll(keepingCapacity: true)
        var from = r.lowerBound
        var quoted = false
        for k in r {
            let c = b[k]
            if c == UInt8(ascii: "\"") {
                quoted.toggle()
            } else if c == UInt8(ascii: ","), !quoted {
                fields.append(from..<k)
                from = k + 1
                guard fields.count <= 16 else { throw IntelParseError(line: line, "more than 16 fields") }
            }
        }
        guard !quoted else { throw IntelParseError(line: line, "unterminated quoted field") }
        fields.append(from..<r.upperBound)
    }

    /// The field without blanks and surrounding quotes.
    static func unquoted(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
        let t = IntelText.trimmed(b, r)
        if t.count >= 2, b[t.lowerBound] == UInt8(ascii: "\""), b[t.upperBound - 1] == UInt8(ascii: "\"") {
            return IntelText.trimmed(b, t.lowerBound + 1..<t.upperBound - 1)
        }
        return t
    }
}
