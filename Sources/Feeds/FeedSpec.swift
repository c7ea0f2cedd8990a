// SPDX-License-Identifier: GPL-2.0-or-later

/// How a feed's body is written.
public enum FeedFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// APIBAN's API: POST with a bearer key and a last-ID cursor, paged until `"ID":"none"`.
    case apiban
    /// VoIPBL's list (published over plain HTTP only: prefer FireHOL's HTTPS copy).(one address or CIDR per line, `#` comments).
    case voipbl
    /// FireHOL `.netset` (one address or CIDR per line, `#` comment header).
    case netset
    /// Any plain list: one address or CIDR per line; `#` and `;` start comments.
    case text
    /// A JSON array of addresses (strings, or objects with `ip`/`address`/`network`/`cidr`),
    /// or an object holding such an array under `ipaddress`, `addresses`, `ips` or `bans`.
    case json
}

/// What a listed address gets.
public enum FeedPolicy: String, Sendable, Hashable, CaseIterable, Codable {
    /// Banned on the ban table's ports (the SIP ports when `nftables.ports` says so) for
    /// the feed's ban time, as a ban with origin `feed`.
    case block
    /// Not banned for being listed: its first failure bans it (max-retry 1).
    case suspect
}

/// One subscribed feed (`feeds:` in the configuration).
public struct FeedSpec: Sendable, Hashable {
    /// Unique name (letters, digits, `-`, `_`, `.`): the ban reason and the file under `STATE/feeds/`.
    public var name: String
    public var url: String
    public var format: FeedFormat
    public var policy: FeedPolicy
    /// How often it is fetched.
    public var refresh: Duration
    /// A feed listing more entries than this is refused (its last good copy stays).
    public var maxEntries: Int
    /// How long a listed address stays banned after the last fetch that listed it;
    /// default twice the refresh interval, at least an hour.
    public var banTime: Duration?
    /// APIBAN's API key (sent as `Authorization: Bearer KEY`).
    public var apiKey: String?
    /// APIBAN's set (`sip`).
    public var apibanSet: String

    public init(
        name: String, url: String, format: FeedFormat, policy: FeedPolicy = .block, refresh: Duration = .seconds(3600),
        maxEntries: Int = 100_000, banTime: Duration? = nil, apiKey: String? = nil, apibanSet: String = "sip"
    ) {
        self.name = name
        self.url = url
        self.format = format
        self.policy = policy
        self.refresh = refresh
        self.maxEntries = maxEntries
        self.banTime = banTime
        self.apiKey = apiKey
        self.apibanSet = apibanSet
    }

    /// The ban time in force: `banTime`, else twice the refresh interval, at least 1 h.
    public var effectiveBanTime: Duration {
        banTime ?? max(refresh * 2, .seconds(3600))
    }

    /// APIBAN's API address (`https://apiban.org/api/get`).
    public static let apibanURL = "https://apiban.org/api/get"
    /// VoIPBL's list (published over plain HTTP only: prefer FireHOL's HTTPS copy).
    public static let voipblURL = "http://www.voipbl.org/update/"
    /// FireHOL's processed copy of VoIPBL.
    public static let fireholVoIPBLURL = "https://iplists.firehol.org/files/voipbl.netset"
}
