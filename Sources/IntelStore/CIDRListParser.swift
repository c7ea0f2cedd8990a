// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress

/// A plain list: one CIDR or address per line (host bits cleared), blank lines and `#`
/// or `;` comments (whole-line or trailing), the last line with or without a newline —
/// Cloudflare's `ips-v4`/`ips-v6` and an operator's own named lists.
enum CIDRListParser {
    /// Publishers of plain lists whose list is a provider's ranges rather than an operator's list.
    static let publishingProviders: Set<String> = ["cloudflare"]

    static func parse(_ b: UnsafeBufferPointer<UInt8>, name: String) throws(IntelParseError) -> IntelDataset {
        let role: IntelDatasetRole = publishingProviders.contains(name.lowercased()) ? .provider : .namedList
        var dataset = IntelDataset(name: name, format: .cidrList, role: role)
        dataset.labels = [ProviderLabel(provider: name, service: nil, region: nil, country: 0, generic: false)]
        try IntelText.forEachLine(b) { line, range throws(IntelParseError) in
            let r = entryRange(b, range)
            if r.isEmpty { return }
            guard let network = IntelText.network(b, r) else {
                throw IntelParseError(line: line, "not a CIDR or address: '\(excerpt(b, r))'")
            }
            try dataset.add(network, 0, line: line)
        }
        return dataset
    }

    /// The line's entry: up to a comment, blanks trimmed.
    static func entryRange(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var end = range.lowerBound
        while end < range.upperBound, b[end] != UInt8(ascii: "#"), b[end] != UInt8(ascii: ";") { end += 1 }
        return IntelText.trimmed(b, range.lowerBound..<end)
    }
}
