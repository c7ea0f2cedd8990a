// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress
public import WardenCore

/// Which bans become abuse cases, and which case a ban belongs to (pure: the case service
/// passes the ban, the cases still open and the time).
///
/// A case is the sources of one network reported together: bans of one AS (or, where the
/// intelligence store does not know the AS, of one /24 or /48) made within ``Policy/groupWithin``
/// of a case that has not been sent yet join it, up to ``Policy/maxSourcesPerCase``. A source
/// already in an active case is not reported again: its ban is traffic for that case (it
/// came back). Only detector bans of single hosts are reported: an operator's ban, a feed's
/// listing or a provider policy is not evidence of an attack seen here, and a prefix ban is
/// reported host by host. Addresses nobody can act on (private, loopback, link-local, shared
/// address space) are never reported.
public enum CaseOpener {
    /// What decides which bans are reported.
    public struct Policy: Sendable, Hashable {
        /// Ban origins that are reported (default: the detector's).
        public var origins: Set<BanOrigin>
        /// A ban joins a not-yet-sent case of its network opened less than this ago.
        public var groupWithin: Duration
        /// Most sources in one case (a provider's desk reads one mail per case).
        public var maxSourcesPerCase: Int
        /// Never reported: private and special-purpose ranges, and the operator's own.
        public var excluded: IPNetworkSet

        /// Private and special-purpose ranges no abuse desk answers for (RFC 1918, RFC 6598,
        /// loopback, link-local, RFC 4193 unique local).
        public static let specialPurpose = IPNetworkSet(
            [
                "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8", "::1/128", "fc00::/7",
                "fe80::/10",
            ]
            .map { IPNetwork($0)! })

        public init(
            origins: Set<BanOrigin> = [.detector], groupWithin: Duration = .seconds(3600), maxSourcesPerCase: Int = 50,
            excluded: IPNetworkSet = Self.specialPurpose
        ) {
            self.origins = origins
            self.groupWithin = groupWithin
            self.maxSourcesPerCase = max(1, maxSourcesPerCase)
            self.excluded = excluded
        }
    }

    /// What the case service should do with a ban.
    public enum Decision: Sendable, Hashable {
        /// Open a new case for the ban's source, grouped under `network`.
        case open(network: NetworkKey)
        /// Add the source to the not-yet-sent case `id`.
        case join(UUID)
        /// The source is already in the active case `id`: its ban is traffic for it.
        case traffic(UUID)
        /// Not reported, and why.
        case ignore(String)
    }

    /// The network a case groups its sources by.
    public enum NetworkKey: Sendable, Hashable, CustomStringConvertible {
        case autonomousSystem(UInt32)
        case prefix(IPNetwork)

        /// The AS the store knows for the ban, else the /24 (IPv4) or /48 (IPv6).
        public init(address: IPAddress, asn: UInt32?) {
            if let asn {
                self = .autonomousSystem(asn)
            } else {
                let a = address.unmapped
                let length = if case .v4 = a { 24 } else { 48 }
                self = .prefix(IPNetwork(address: a, prefixLength: length)!)
            }
        }

        public var description: String {
            switch self {
            case .autonomousSystem(let asn): "AS\(asn)"
            case .prefix(let network): network.description
            }
        }
    }

    /// A case as the opener needs to see it.
    public struct OpenCase: Sendable, Hashable {
        public var id: UUID
        public var network: NetworkKey
        public var state: CaseState
        public var openedAt: Timestamp
        public var sources: [IPAddress]

        public init(id: UUID, network: NetworkKey, state: CaseState, openedAt: Timestamp, sources: [IPAddress]) {
            self.id = id
            self.network = network
            self.state = state
            self.openedAt = openedAt
            self.sources = sources
        }
    }

    /// What to do with `ban`, given the cases not closed yet.
    public static func decide(_ ban: Ban, openCases: [OpenCase], policy: Policy, now: Timestamp) -> Decision {
        guard policy.origins.contains(ban.origin) else { return .ignore("a \(ban.origin.rawValue) ban is not an attack seen here") }
        guard ban.network.isHost else { return .ignore("a prefix ban is reported host by host") }
        let source = ban.network.address.unmapped
        if policy.excluded.contains(source) { return .ignore("\(source) is a private, special-purpose or own address") }
        let active = openCases.filter { $0.state != .closed }
        if let existing = active.first(where: { $0.sources.contains(source) }) { return .traffic(existing.id) }
        let network = NetworkKey(address: source, asn: ban.enrichment?.asn)
        let joinable = active.filter {
            $0.network == network && ($0.state == .detected || $0.state == .review) && now - $0.openedAt < policy.groupWithin
                && $0.sources.count < policy.maxSourcesPerCase
        }
        if let target = joinable.min(by: { $0.openedAt < $1.openedAt }) { return .join(target.id) }
        return .open(network: network)
    }
}
