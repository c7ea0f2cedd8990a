// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// Why a ban was decided: the detector rule that fired, or `manual`.
public enum BanRule: Hashable, Sendable, CustomStringConvertible, Codable {
    /// Too many failures in the shared window (every kind without an override).
    case failures
    /// Too many failures of one kind judged on its own (e.g. `scanner`).
    case kind(EventKind)
    /// Too many distinct users tried.
    case enumeration
    /// Banned by an operator.
    case manual
    /// Listed by a blocklist feed (`block` policy, or a `suspect` feed's source that failed).
    case feed
    /// A prefix (/24, /48 or a wider configured step) whose hosts failed together.
    case aggregate

    /// The stored and printed form: `failures`, `enumeration`, `manual`, or the event kind
    /// (`auth_failed`, `scanner`, …).
    public var description: String {
        switch self {
        case .failures: "failures"
        case .kind(let k): k.rawValue
        case .enumeration: "enumeration"
        case .manual: "manual"
        case .feed: "feed"
        case .aggregate: "aggregate"
        }
    }

    /// Parses the form `description` prints; nil for anything else.
    public init?(_ text: String) {
        switch text {
        case "failures": self = .failures
        case "enumeration": self = .enumeration
        case "manual": self = .manual
        case "feed": self = .feed
        case "aggregate": self = .aggregate
        default:
            guard let kind = EventKind(rawValue: text) else { return nil }
            self = .kind(kind)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let rule = BanRule(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a ban rule: \(text.prefix(64))"))
        }
        self = rule
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One ban, from the moment it is decided: the detector's verdict, an operator's ban,
/// later a feed's, a provider policy's or another node's. The same value goes to the
/// kernel (as a `BanElement`), to every consumer of the fan-out (as an `EnforcedBan`) and
/// to the ledger; `id` names it everywhere, and is made here, before any of them sees it.
public struct Ban: Hashable, Sendable {
    /// The ban's identity, made with the decision.
    public var id: BanID
    /// The banned source: a host (/32, /128) or a prefix.
    public var network: IPNetwork
    /// What fired.
    public var rule: BanRule
    /// Who decided.
    public var origin: BanOrigin
    /// 1 for a first ban of this network; higher for repeat offenders (escalated).
    public var offence: Int
    /// When the decision was made (the decider's clock).
    public var created: Timestamp
    /// How long the ban lasts; nil for a permanent ban.
    public var duration: Duration?
    /// One line for humans: what happened and how often.
    public var reason: String
    /// The events that justified it, oldest first (empty for a manual ban).
    public var evidence: [SecurityEvent]
    /// What the intelligence store knew of the banned network's address when it was
    /// banned (AS, country, prefix, provider); nil without a store. Kept as it was then.
    public var enrichment: IntelEnrichment?

    /// A ban with a fresh `id` unless one is given.
    public init(
        id: BanID = BanID(), network: IPNetwork, rule: BanRule, origin: BanOrigin, offence: Int = 1,
        created: Timestamp, duration: Duration?, reason: String, evidence: [SecurityEvent] = [], enrichment: IntelEnrichment? = nil
    ) {
        self.id = id
        self.network = network
        self.rule = rule
        self.origin = origin
        self.offence = offence
        self.created = created
        self.duration = duration
        self.reason = reason
        self.evidence = evidence
        self.enrichment = enrichment
    }

    /// When the ban ends by itself; nil for a permanent ban.
    public var expires: Timestamp? { duration.map { created + $0 } }

    /// True when the ban never ends by itself.
    public var isPermanent: Bool { duration == nil }
}

/// A ban after the enforcer's kernel call: what every consumer of the fan-out receives.
public struct EnforcedBan: Hashable, Sendable {
    /// The ban.
    public var ban: Ban
    /// Whether the kernel accepted it (false: the kernel call failed; the ban is still
    /// recorded, as before, so a restart reconciles it into the kernel).
    public var applied: Bool
    /// From the triggering line read (or packet seen) to the kernel call's return.
    public var latency: Duration
    /// The kernel call alone.
    public var kernelLatency: Duration

    public init(ban: Ban, applied: Bool, latency: Duration, kernelLatency: Duration) {
        self.ban = ban
        self.applied = applied
        self.latency = latency
        self.kernelLatency = kernelLatency
    }
}
