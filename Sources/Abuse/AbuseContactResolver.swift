// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress
public import WardenCore

/// An HTTP GET the resolver needs: status and body of `url`, redirects followed (RDAP
/// servers redirect to the registry that holds a transferred block). Injected, so the
/// resolver is tested without a network and the daemon can use any client.
public typealias RDAPFetch = @Sendable (URL) async throws -> (status: Int, body: Data)

/// Operator overrides, tried before RDAP: per prefix, per AS number.
public struct AbuseContactOverrides: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var email: String?
        public var webForm: URL?
        public init(email: String? = nil, webForm: URL? = nil) {
            self.email = email
            self.webForm = webForm
        }
    }

    public var byPrefix: [IPNetwork: Entry]
    public var byAS: [UInt32: Entry]

    public init(byPrefix: [IPNetwork: Entry] = [:], byAS: [UInt32: Entry] = [:]) {
        self.byPrefix = byPrefix
        self.byAS = byAS
    }

    /// The override for `address` (longest prefix first), else for `asn`.
    func match(_ address: IPAddress, asn: UInt32?) -> (Entry, String)? {
        if let (network, entry) = byPrefix.filter({ $0.key.contains(address) }).max(by: { $0.key.prefixLength < $1.key.prefixLength }) {
            return (entry, "operator override for \(network)")
        }
        if let asn, let entry = byAS[asn] { return (entry, "operator override for AS\(asn)") }
        return nil
    }
}

/// Finds the abuse contact of an address: overrides, then RDAP — the network's answer,
/// its parent network's, then its origin AS's — with a cache (TTL) and at most one query
/// per registry host per `minimumInterval` (a query waits its turn). The clock, the sleep
/// and the fetch are injected.
public actor AbuseContactResolver {
    public enum ResolveError: Error, Hashable, Sendable, CustomStringConvertible {
        case noRegistry(IPAddress)
        case notFound(IPAddress, trail: [String])
        case fetchFailed(URL, String)

        public var description: String {
            switch self {
            case .noRegistry(let a): "no RDAP service covers \(a) in the bootstrap"
            case .notFound(let a, let trail): "no abuse contact for \(a) (\(trail.joined(separator: "; ")))"
            case .fetchFailed(let url, let why): "\(url.absoluteString): \(why)"
            }
        }
    }

    private let bootstrap: RDAPBootstrap
    private let fetch: RDAPFetch
    private let now: @Sendable () -> Timestamp
    private let sleep: @Sendable (Duration) async -> Void
    private let overrides: AbuseContactOverrides
    private let ttl: Duration
    private let minimumInterval: Duration
    private var cache: [IPAddress: (contact: AbuseContact, expires: Timestamp)] = [:]
    private var lastQuery: [String: Timestamp] = [:]
    /// Parent and autnum steps followed at most.
    private static let maxSteps = 4

    public init(
        bootstrap: RDAPBootstrap, overrides: AbuseContactOverrides = AbuseContactOverrides(), ttl: Duration = .seconds(7 * 86_400),
        minimumInterval: Duration = .milliseconds(500), now: @escaping @Sendable () -> Timestamp,
        sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }, fetch: @escaping RDAPFetch
    ) {
        self.sleep = sleep
        self.bootstrap = bootstrap
        self.overrides = overrides
        self.ttl = ttl
        self.minimumInterval = minimumInterval
        self.now = now
        self.fetch = fetch
    }

    /// Cached contacts, for persisting in the state directory.
    public var cachedContacts: [IPAddress: AbuseContact] { cache.mapValues(\.contact) }

    /// Seeds the cache (from the state directory), keeping `expires`.
    public func seed(_ address: IPAddress, _ contact: AbuseContact, expires: Timestamp) {
        cache[address] = (contact, expires)
    }

    public func contact(for address: IPAddress) async throws(ResolveError) -> AbuseContact {
        let a = address.unmapped
        // The operator's word first, also over a contact cached before it was given.
        if let (entry, why) = overrides.match(a, asn: nil) {
            return AbuseContact(email: entry.email, webForm: entry.webForm, source: .override, trail: [why])
        }
        if let hit = cache[a], hit.expires > now() {
            let c = hit.contact
            if let asn = c.asn, let (entry, why) = overrides.match(a, asn: asn) {
                return AbuseContact(
                    email: entry.email, webForm: entry.webForm, source: .override, registry: c.registry, networkHandle: c.networkHandle,
                    network: c.network, networkName: c.networkName, asn: asn, trail: [why])
            }
            return c
        }
        guard let base = bootstrap.services(for: a).first else { throw .noRegistry(a) }
        var trail: [String] = []
        var url = RDAPBootstrap.ipQuery(a, base: base)
        var source = AbuseContactSource.networkAbuseRole
        var origins: [UInt32] = []
        var first: RDAPAnswer?
        for _ in 0..<Self.maxSteps {
            let answer = try await query(url)
            if first == nil { first = answer }
            origins += answer.originAS
            if let (entry, why) = overrides.match(a, asn: answer.originAS.first) {
                return remember(
                    a,
                    AbuseContact(
                        email: entry.email, webForm: entry.webForm, source: .override, registry: answer.registry,
                        networkHandle: answer.handle, network: answer.rangeDescription, networkName: answer.name, asn: answer.originAS.first,
                        trail: trail + [why]))
            }
            if var found = AbuseContactFinder.contact(in: answer, as: source) {
                found.trail = trail + found.trail
                if found.asn == nil { found.asn = origins.first }
                if let first, source != .networkAbuseRole {
                    found.networkHandle = first.handle
                    found.network = first.rangeDescription
                }
                return remember(a, found)
            }
            trail.append("\(AbuseContactFinder.describe(answer)): no abuse contact")
            if source == .networkAbuseRole, let up = answer.parentLink {
                url = up
                source = .parentAbuseRole
            } else if let asn = origins.first, source != .autnumAbuseRole, let asBase = bootstrap.services(forAS: asn).first {
                url = RDAPBootstrap.autnumQuery(asn, base: asBase)
                source = .autnumAbuseRole
            } else {
                break
            }
        }
        throw .notFound(a, trail: trail)
    }

    private func remember(_ address: IPAddress, _ contact: AbuseContact) -> AbuseContact {
        cache[address] = (contact, now() + ttl)
        return contact
    }

    private func query(_ url: URL) async throws(ResolveError) -> RDAPAnswer {
        let host = url.host ?? "?"
        // Reserve the next slot for this host first, so concurrent callers queue up.
        let t = now()
        let slot = max(t, (lastQuery[host] ?? Timestamp(microseconds: .min / 2)) + minimumInterval)
        lastQuery[host] = slot
        if slot > t { await sleep(slot - t) }
        let status: Int
        let body: Data
        do {
            (status, body) = try await fetch(url)
        } catch {
            throw .fetchFailed(url, String(describing: error))
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(body, maxBytes: 1 << 20)
        } catch {
            throw .fetchFailed(url, "HTTP \(status): \(error)")
        }
        do {
            return try RDAPAnswer(json)
        } catch {
            throw .fetchFailed(url, "HTTP \(status): \(error)")
        }
    }
}
