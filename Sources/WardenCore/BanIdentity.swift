// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The identity of one ban: a random UUID made when the verdict is made, before the
/// kernel or the ledger sees it, so that every consumer (ledger, cases, reports, other
/// nodes of a fleet) can name the same ban without asking a database for a row number.
public struct BanID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The UUID.
    public let uuid: UUID

    /// A fresh, random identity.
    public init() { uuid = RandomUUIDPool.shared.next() }

    /// The identity `uuid`.
    public init(uuid: UUID) { self.uuid = uuid }

    /// Parses the canonical text form (`E621E1F8-C36C-495A-93FC-0C247A3E6E5F`, any case);
    /// nil for anything else.
    public init?(_ text: String) {
        guard let uuid = UUID(uuidString: text) else { return nil }
        self.uuid = uuid
    }

    /// The canonical text form, lower case (as stored and printed).
    public var description: String { uuid.uuidString.lowercased() }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = BanID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a ban id: \(text.prefix(64))"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Who decided a ban.
public enum BanOrigin: String, Hashable, Sendable, Codable, CaseIterable {
    /// The detector, from events (log, journal, wire, inline admission).
    case detector
    /// An operator (`sipwarden bans add`, the HTTP API).
    case manual
    /// A blocklist feed.
    case feed
    /// A provider or AS policy (block where attacks come from).
    case providerPolicy = "provider_policy"
    /// Another node of the fleet.
    case fleet
}
