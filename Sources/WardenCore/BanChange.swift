// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// A lift after the enforcer's kernel call: every ban of exactly `network` ends now.
public struct EnforcedLift: Hashable, Sendable {
    /// The network whose bans end (exactly this network, not the prefixes around it).
    public var network: IPNetwork
    /// Who lifted it (`manual` for an operator; later a feed's withdrawal, another node).
    public var origin: BanOrigin
    /// One line for humans: why.
    public var reason: String
    /// When it was lifted (the decider's clock): the ledger's `liftedAt`.
    public var at: Timestamp
    /// Whether the kernel accepted the removal.
    public var applied: Bool

    public init(network: IPNetwork, origin: BanOrigin, reason: String, at: Timestamp, applied: Bool) {
        self.network = network
        self.origin = origin
        self.reason = reason
        self.at = at
        self.applied = applied
    }
}

/// What the verdict fan-out carries to every consumer: a ban made, or bans lifted, each
/// after the kernel call, with its typed origin. The ledger records both; one path
/// (`Pipeline.enforce`, `Pipeline.lift`) publishes both.
public enum BanChange: Hashable, Sendable {
    /// A ban enforced (detector, operator, feed, provider policy, fleet).
    case ban(EnforcedBan)
    /// Bans of one network lifted.
    case lift(EnforcedLift)

    /// The ban, when this is one.
    public var enforcedBan: EnforcedBan? {
        if case .ban(let b) = self { return b }
        return nil
    }

    /// Who decided.
    public var origin: BanOrigin {
        switch self {
        case .ban(let b): b.ban.origin
        case .lift(let l): l.origin
        }
    }
}
