// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation

/// The national CERTs to escalate to, by the source's country: the operator's own file
/// (sipwarden ships no addresses: who handles reports changes, and a stale address would
/// send evidence to the wrong place).
///
/// The file has one country per line — its ISO 3166-1 alpha-2 code, then an e-mail
/// address, a web form (`https://…`), or both, separated by blanks; `#` starts a comment:
///
///     # country  contact(s)
///     DE  certbund@example.org
///     NL  https://cert.example.nl/report  incident@example.nl
///
/// Parsing is strict (the file is configuration): every line that is not blank or a
/// comment must be a valid entry, and a country may appear once.
public struct CERTDirectory: Sendable, Hashable {
    /// Where to report for one country.
    public struct Entry: Sendable, Hashable {
        /// Upper-case ISO 3166-1 alpha-2 code.
        public var country: String
        public var email: String?
        public var webForm: URL?
    }

    /// Entries by upper-case country code.
    public private(set) var entries: [String: Entry]

    /// An empty directory (no CERT step possible).
    public init() { entries = [:] }

    /// Parses the directory file's text; `name` (the path) goes into error messages.
    public init(parsing text: String, name: String = "CERT directory") throws(CERTDirectoryError) {
        entries = [:]
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = rawLine.prefix { $0 != "#" }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first else { continue }
            func fail(_ reason: String) -> CERTDirectoryError { CERTDirectoryError(file: name, line: lineNumber, reason: reason) }
            let country = first.uppercased()
            guard country.count == 2, country.unicodeScalars.allSatisfy({ $0.value >= 0x41 && $0.value <= 0x5A }) else {
                throw fail("\"\(first.prefix(32))\" is not a two-letter country code (ISO 3166-1 alpha-2)")
            }
            guard entries[country] == nil else { throw fail("\(country) is listed twice") }
            guard fields.count >= 2 else { throw fail("\(country) has no contact: give an e-mail address or an https:// web form") }
            guard fields.count <= 3 else { throw fail("\(country): at most one e-mail address and one web form") }
            var entry = Entry(country: country)
            for field in fields.dropFirst() {
                let value = String(field)
                if value.lowercased().hasPrefix("https://") {
                    guard entry.webForm == nil else { throw fail("\(country) has two web forms") }
                    guard let url = URL(string: value), url.host?.isEmpty == false else {
                        throw fail("\(country): \"\(value.prefix(80))\" is not a valid https URL")
                    }
                    entry.webForm = url
                } else if Self.isMailbox(value) {
                    guard entry.email == nil else { throw fail("\(country) has two e-mail addresses") }
                    entry.email = value
                } else {
                    throw fail("\(country): \"\(value.prefix(80))\" is neither an e-mail address nor an https:// web form")
                }
            }
            entries[country] = entry
        }
    }

    /// The CERT of `country` (any case), if the operator listed one.
    public func entry(forCountry country: String) -> Entry? { entries[country.uppercased()] }

    /// A plain `local@domain` address: printable ASCII, no blanks, angle brackets, quotes or
    /// commas (nothing a mail header could be made to carry), one `@`, a dotted domain.
    static func isMailbox(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count <= 254, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !"<>\"(),;:\\[]".utf8.contains($0) }) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && $0.count <= 63 && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
    }
}

/// A CERT directory file that cannot be used: where and why.
public struct CERTDirectoryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String { "\(file):\(line): \(reason)" }
}
