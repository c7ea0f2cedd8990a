// SPDX-License-Identifier: GPL-2.0-or-later

// The JSON bodies of the API (docs/CONTROL-PLANE.md, and the OpenAPI document served at
// /openapi.yaml, which is the contract). Keys are snake_case; times are RFC 3339 in UTC.

/// One ban, as the ledger records it.
public struct BanView: Codable, Sendable, Hashable {
    /// The ledger's row id.
    public var id: Int64?
    public var network: String
    /// The rule that made it (`failures`, `enumeration`, `manual`, …).
    public var kind: String
    public var reason: String
    /// Who decided: `detector`, `manual`, `feed`, `provider_policy`, `fleet`.
    public var origin: String
    public var offence: Int
    public var created: String
    /// Absent for a permanent ban.
    public var expires: String?
    /// When an operator lifted it.
    public var lifted: String?
    /// Whether the kernel set holds it now (absent with the dry-run firewall).
    public var inKernel: Bool?
    /// The ban's stable identity (a UUID made with the verdict), the same on every node
    /// and in every report.
    public var banID: String?
    /// Who the network belonged to when it was banned, as the intelligence store knew it
    /// (absent without a store): origin AS, its name, country, announced prefix, and the
    /// cloud provider, service and region where one publishes its ranges.
    public var asn: Int64?
    public var asName: String?
    public var country: String?
    public var prefix: String?
    public var provider: String?
    public var service: String?
    public var region: String?

    public init(
        id: Int64?, network: String, kind: String, reason: String, origin: String, offence: Int,
        created: String, expires: String?, lifted: String?, inKernel: Bool?, banID: String? = nil
    ) {
        self.id = id
        self.network = network
        self.kind = kind
        self.reason = reason
        self.origin = origin
        self.offence = offence
        self.created = created
        self.expires = expires
        self.lifted = lifted
        self.inKernel = inKernel
        self.banID = banID
    }

    enum CodingKeys: String, CodingKey {
        case id, network, kind, reason, origin, offence, created, expires, lifted
        case inKernel = "in_kernel"
        case banID = "ban_id"
        case asn
        case asName = "as_name"
        case country, prefix, provider, service, region
    }
}

/// `GET /v1/bans`.
public struct BanList: Codable, Sendable, Hashable {
    public var bans: [BanView]
    public init(bans: [BanView]) { self.bans = bans }
}

/// The body of `POST /v1/bans`.
public struct BanRequestBody: Codable, Sendable, Hashable {
    /// Address or CIDR prefix with clear host bits.
    public var network: String
    /// Ban length in seconds; absent or null = permanent.
    public var banSeconds: Int64?
    public var reason: String?

    public init(network: String, banSeconds: Int64?, reason: String?) {
        self.network = network
        self.banSeconds = banSeconds
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case network, reason
        case banSeconds = "ban_seconds"
    }
}

/// The answer to `DELETE /v1/bans?network=…`.
public struct LiftResult: Codable, Sendable, Hashable {
    public var network: String
    /// Ledger entries lifted (0: it was not banned).
    public var lifted: Int

    public init(network: String, lifted: Int) {
        self.network = network
        self.lifted = lifted
    }
}

/// `GET /v1/status`: the daemon, the ledger and the kernel at a glance.
public struct StatusView: Codable, Sendable, Hashable {
    public var pid: Int32
    public var version: String
    public var stateDirectory: String
    public var ledger: LedgerView
    public var firewall: FirewallView
    /// Absent when the flood guard is off.
    public var floodGuard: FloodGuardView?
    /// Lines that look like security failures but match no known form, per watched file.
    public var unmatched: [UnmatchedView]
    /// When `unmatched` was counted.
    public var unmatchedAsOf: String

    public init(
        pid: Int32, version: String, stateDirectory: String, ledger: LedgerView, firewall: FirewallView,
        floodGuard: FloodGuardView?, unmatched: [UnmatchedView], unmatchedAsOf: String
    ) {
        self.pid = pid
        self.version = version
        self.stateDirectory = stateDirectory
        self.ledger = ledger
        self.firewall = firewall
        self.floodGuard = floodGuard
        self.unmatched = unmatched
        self.unmatchedAsOf = unmatchedAsOf
    }

    enum CodingKeys: String, CodingKey {
        case pid, version, ledger, firewall, unmatched
        case stateDirectory = "state_directory"
        case floodGuard = "flood_guard"
        case unmatchedAsOf = "unmatched_as_of"
    }
}

/// Ledger counts.
public struct LedgerView: Codable, Sendable, Hashable {
    public var activeBans: Int
    public var permanentActiveBans: Int
    public var totalBans: Int
    public var liftedBans: Int
    public var eventsStored: Int
    public var lastBan: String?

    public init(activeBans: Int, permanentActiveBans: Int, totalBans: Int, liftedBans: Int, eventsStored: Int, lastBan: String?) {
        self.activeBans = activeBans
        self.permanentActiveBans = permanentActiveBans
        self.totalBans = totalBans
        self.liftedBans = liftedBans
        self.eventsStored = eventsStored
        self.lastBan = lastBan
    }

    enum CodingKeys: String, CodingKey {
        case activeBans = "active_bans"
        case permanentActiveBans = "permanent_active_bans"
        case totalBans = "total_bans"
        case liftedBans = "lifted_bans"
        case eventsStored = "events_stored"
        case lastBan = "last_ban"
    }
}

/// The kernel side.
public struct FirewallView: Codable, Sendable, Hashable {
    /// `nftables` or `dry-run`.
    public var kind: String
    /// The nftables table (family inet).
    public var table: String?
    /// Elements in the ban sets; absent when not readable.
    public var elements: Int?
    /// Packets dropped by the ban rules; absent when not readable.
    public var packetsDropped: UInt64?
    /// Why the kernel could not be read.
    public var error: String?

    public init(kind: String, table: String?, elements: Int?, packetsDropped: UInt64?, error: String?) {
        self.kind = kind
        self.table = table
        self.elements = elements
        self.packetsDropped = packetsDropped
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case kind, table, elements, error
        case packetsDropped = "packets_dropped"
    }
}

/// The kernel flood guard's settings and what it dropped.
public struct FloodGuardView: Codable, Sendable, Hashable {
    public var packetsPerSecond: Int
    public var burst: Int
    public var ports: [String]
    public var packetsDropped: UInt64?

    public init(packetsPerSecond: Int, burst: Int, ports: [String], packetsDropped: UInt64?) {
        self.packetsPerSecond = packetsPerSecond
        self.burst = burst
        self.ports = ports
        self.packetsDropped = packetsDropped
    }

    enum CodingKeys: String, CodingKey {
        case burst, ports
        case packetsPerSecond = "packets_per_second"
        case packetsDropped = "packets_dropped"
    }
}

/// Unmatched lines of one watched file.
public struct UnmatchedView: Codable, Sendable, Hashable {
    public var file: String
    public var count: Int
    /// The first such line, as read (attacker-influenced: escape before printing).
    public var sample: String

    public init(file: String, count: Int, sample: String) {
        self.file = file
        self.count = count
        self.sample = sample
    }
}

/// Every error answer: `{"error": "…"}`.
public struct ErrorBody: Codable, Sendable, Hashable {
    public var error: String
    public init(error: String) { self.error = error }
}

/// `GET /v1/health` and `GET /v1/ready`.
public struct HealthBody: Codable, Sendable, Hashable {
    /// `ok`, `ready` or `starting`.
    public var status: String
    public init(status: String) { self.status = status }
}
