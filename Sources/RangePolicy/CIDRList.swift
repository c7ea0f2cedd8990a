// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// A file of CIDRs as operators write them: one prefix or address per line; `#` and `;`
/// start comments (whole-line or trailing); blank lines, spaces and CRLF are ignored; host
/// bits are cleared. Pure; a line that is not an address or prefix never stops the parse,
/// it is counted with its number.
public struct CIDRList: Hashable, Sendable {
    /// The prefixes, in file order (duplicates kept; `RangeSet` merges them).
    public var networks: [IPNetwork]
    /// 1-based numbers of the lines that were neither blank, comments nor prefixes.
    public var rejectedLines: [Int]

    /// Longest line looked at (longer ones are rejected, never buffered further).
    public static let maximumLineLength = 256

    /// Parses `text`.
    public init(parsing text: String) {
        networks = []
        rejectedLines = []
        var number = 0
        // "\r\n" is one Character in Swift: split on every newline character.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            number += 1
            guard rawLine.utf8.count <= Self.maximumLineLength else {
                rejectedLines.append(number)
                continue
            }
            var line = rawLine[...]
            if let comment = line.firstIndex(where: { $0 == "#" || $0 == ";" }) { line = line[..<comment] }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "," })
            guard !words.isEmpty else { continue }
            // One prefix per line; anything after it (a second column) is ignored only
            // when the first word is a prefix.
            if let network = IPNetwork(words[0]) {
                networks.append(network)
            } else {
                rejectedLines.append(number)
            }
        }
    }
}
