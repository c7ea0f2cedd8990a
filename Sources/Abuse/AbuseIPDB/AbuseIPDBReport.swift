// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// One report to AbuseIPDB's v2 API (`POST /api/v2/report`, form-encoded): the address,
/// its categories, a comment and the time of the attack.
///
/// The comment is written from the incident after redaction (``RedactionPolicy``): what
/// happened, how often and when, the transport and port, a few of the user names tried
/// (attacker-written, quoted) — never the operator's address, host name or real account
/// names. AbuseIPDB keeps at most 1,024 characters; the comment is cut, at a character
/// boundary, to ``commentLimit`` bytes.
public struct AbuseIPDBReport: Sendable, Hashable, Codable {
    /// The reported address (the banned source).
    public var address: IPAddress
    /// AbuseIPDB's category numbers (https://www.abuseipdb.com/categories).
    public var categories: [Int]
    public var comment: String
    /// When the attack was seen (its last attempt).
    public var attackTime: Timestamp

    /// Bytes of comment sent (AbuseIPDB truncates past 1,024 characters).
    public static let commentLimit = 1_000

    /// AbuseIPDB's categories sipwarden uses.
    public enum Category {
        /// "Fraud VoIP".
        public static let fraudVoIP = 8
        /// "Brute-Force".
        public static let bruteForce = 18
        /// "Port Scan".
        public static let portScan = 14
        /// "DDoS Attack".
        public static let ddos = 4
    }

    public init(address: IPAddress, categories: [Int], comment: String, attackTime: Timestamp) {
        self.address = address.unmapped
        self.categories = categories
        self.comment = Self.cut(comment, toBytes: Self.commentLimit)
        self.attackTime = attackTime
    }

    /// The report of `incident` as it may leave the host (`redaction` applied first).
    public init(incident: AbuseIncident, redaction: RedactionPolicy) {
        let safe = redaction.apply(to: incident)
        let categories: [Int] =
            switch safe.pattern {
            case .bruteForce, .enumeration: [Category.fraudVoIP, Category.bruteForce]
            case .scanning: [Category.fraudVoIP, Category.portScan]
            case .flood: [Category.fraudVoIP, Category.ddos]
            }
        var text = "\(safe.pattern.phrase.prefix(1).uppercased())\(safe.pattern.phrase.dropFirst()): "
        text += "\(safe.attempts) failed attempts over SIP/\(safe.transport.rawValue.uppercased())"
        if let port = safe.destinationPort { text += " to port \(port)" }
        text += ", \(safe.firstSeen.rfc3339) to \(safe.lastSeen.rfc3339)."
        let users = safe.usersTried.prefix(10).map { IncidentBuilder.quoted($0) }
        if !users.isEmpty { text += " Accounts tried: \(users.joined(separator: ", "))\(safe.usersTried.count > 10 ? ", …" : "")." }
        if let ua = safe.userAgents.first { text += " User-Agent: \(IncidentBuilder.quoted(ua))." }
        text += " Reported by sipwarden."
        self.init(address: safe.source, categories: categories, comment: redaction.redact(text), attackTime: safe.lastSeen)
    }

    /// The request body (`application/x-www-form-urlencoded`).
    public var formBody: String {
        [
            ("ip", address.description), ("categories", categories.map(String.init).joined(separator: ",")),
            ("comment", comment), ("timestamp", attackTime.rfc3339),
        ]
        .map { "\($0.0)=\(Self.formEncode($0.1))" }
        .joined(separator: "&")
    }

    /// WHATWG `application/x-www-form-urlencoded` byte serialisation.
    static func formEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "): out += "+"
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// `text` cut to at most `limit` UTF-8 bytes at a character boundary.
    static func cut(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var out = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > limit - 3 { break }
            out.append(character)
            used += size
        }
        return out + "…"
    }
}
