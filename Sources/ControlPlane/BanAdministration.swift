// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// The daemon's one entry point for ban changes that come from outside (the control
/// plane): the daemon implements it over its own enforcement path — kernel first, then
/// the ledger, then the detector and the capture sensors' banned-source filter learn
/// about it — so that the kernel and the ledger have a single writer.
///
/// The methods are synchronous and may block briefly (a kernel transaction, an SQLite
/// commit); they are called from the server's tasks, one request at a time per
/// connection.
public protocol BanAdministration: Sendable {
    /// Bans `request.network` now. Throws `.refused` when the network may not be banned
    /// (inside the allowlist), `.failed` when the kernel or the ledger refused.
    func ban(_ request: BanRequest) throws(AdministrationError) -> BanView
    /// Lifts every ban of exactly `network` (kernel and ledger); lifting a network that is
    /// not banned is not an error (`LiftResult.lifted` is 0).
    func lift(_ network: IPNetwork) throws(AdministrationError) -> LiftResult
}

/// What the control plane reads. Implementations answer from snapshots (the ledger's own
/// read connections, a kernel listing made on a context of its own, counters copied
/// under their own short locks) and never take the lock of the ban path, so a read can
/// never delay a ban.
public protocol DaemonSnapshots: Sendable {
    /// Bans in force (newest first), or with `includeInactive` also expired and lifted
    /// ones, at most `limit`.
    func bans(includeInactive: Bool, limit: Int) throws(AdministrationError) -> [BanView]
    /// What `sipwarden status` shows.
    func status() throws(AdministrationError) -> StatusView
    /// True once the daemon has reconciled the kernel with the ledger and reads its sources.
    var isReady: Bool { get }
}

/// A manual ban as the API receives it.
public struct BanRequest: Sendable, Hashable {
    /// Host or prefix, host bits clear.
    public var network: IPNetwork
    /// How long; nil = permanent.
    public var duration: Duration?
    /// Why (stored in the ledger).
    public var reason: String

    public init(network: IPNetwork, duration: Duration?, reason: String) {
        self.network = network
        self.duration = duration
        self.reason = reason
    }
}

/// Why an administration call did not happen (mapped to an HTTP status by the server).
public struct AdministrationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The firewall refused the request's values (a /0 prefix, …): 400.
        case invalid
        /// The request is well formed but not allowed (an allowlisted network): 409.
        case refused
        /// The kernel or the ledger failed: 500.
        case failed
        /// The daemon cannot answer now: 503.
        case unavailable
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
