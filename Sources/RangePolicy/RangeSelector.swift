// SPDX-License-Identifier: GPL-2.0-or-later

/// What a range policy or block names: a cloud provider (and service, and region), an
/// autonomous system, an operator's named list, or a file of CIDRs.
///
/// Text forms: `aws:EC2`, `aws:EC2:eu-west-1`, `digitalocean:*:US-TX` (a region of any
/// service: geofeeds name no service), `hetzner` (provider), `AS14061` (AS),
/// `list:office-blocklist` (named list), `file:/etc/sipwarden/bad.txt` or an absolute path
/// (CIDR file). A bare word is a named list when one of that name is configured, else a
/// provider (`parse(_:namedLists:)`).
public enum RangeSelector: Hashable, Sendable {
    /// A provider's published ranges: provider (lowercase), optional service, optional region.
    case provider(String, service: String?, region: String?)
    /// Every prefix the AS announces.
    case asn(UInt32)
    /// An operator's named list (a file of CIDRs with a name).
    case list(String)
    /// A file of CIDRs given by path.
    case file(String)

    /// Parses a selector. Nil for empty text, bad characters or an out-of-range AS number.
    /// - Parameter namedLists: the configured list names (a bare word naming one is a list).
    public static func parse(_ text: String, namedLists: Set<String> = []) -> RangeSelector? {
        let text = text.trimmingWhitespace
        guard !text.isEmpty, text.utf8.count <= 4_096 else { return nil }
        if text.hasPrefix("/") { return .file(text) }
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            return path.isEmpty ? nil : .file(path)
        }
        if text.hasPrefix("list:") {
            let name = String(text.dropFirst(5))
            return isName(name) ? .list(name) : nil
        }
        let upper = text.uppercased()
        if upper.hasPrefix("AS"), text.count > 2, text.dropFirst(2).allSatisfy(\.isASCIIDigit) {
            guard text.count <= 12, let number = UInt32(text.dropFirst(2)) else { return nil }
            return .asn(number)
        }
        if namedLists.contains(text) { return .list(text) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 3 else { return nil }
        // `*` for the service: a region of any service (`digitalocean:*:US-TX`).
        let anyService = parts.count == 3 && parts[1] == "*"
        guard parts.enumerated().allSatisfy({ isName($0.element) || (anyService && $0.offset == 1) }) else { return nil }
        return .provider(
            parts[0].lowercased(), service: parts.count > 1 && !anyService ? parts[1] : nil, region: parts.count > 2 ? parts[2] : nil)
    }

    /// Names: 1–64 letters, digits, `-`, `_`, `.`.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy { byte in
                (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A || (byte >= 0x30 && byte <= 0x39)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }
}

extension RangeSelector: CustomStringConvertible {
    /// The canonical text form (parses back to the same selector).
    public var description: String {
        switch self {
        case .provider(let provider, let service, nil):
            [provider, service].compactMap { $0 }.joined(separator: ":")
        case .provider(let provider, let service, let region?):
            "\(provider):\(service ?? "*"):\(region)"
        case .asn(let number): "AS\(number)"
        case .list(let name): "list:\(name)"
        case .file(let path): "file:\(path)"
        }
    }
}

extension RangeSelector: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let selector = RangeSelector.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a range selector: \(text)")
        }
        self = selector
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
