// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// One entry of the kernel's ban sets: a source prefix and how long it stays banned.
public struct BanElement: Hashable, Sendable {
    /// The banned source: a host (/32, /128) or a prefix such as a /24 or /64.
    public var network: IPNetwork
    /// Time left before the kernel drops the element by itself; `nil` = permanent.
    public var timeout: Duration?

    /// Creates an element. A `nil` timeout means the ban never expires on its own.
    public init(network: IPNetwork, timeout: Duration?) {
        self.network = network
        self.timeout = timeout
    }
}

extension BanElement: CustomStringConvertible {
    public var description: String {
        guard let timeout else { return "\(network) permanent" }
        return "\(network) timeout \(NFTSyntax.format(timeout: timeout) ?? "\(timeout)")"
    }
}

/// Packets dropped so far by the ban rules, per address family.
public struct DropCounters: Hashable, Sendable {
    public var packetsV4: UInt64
    public var bytesV4: UInt64
    public var packetsV6: UInt64
    public var bytesV6: UInt64

    public init(packetsV4: UInt64 = 0, bytesV4: UInt64 = 0, packetsV6: UInt64 = 0, bytesV6: UInt64 = 0) {
        self.packetsV4 = packetsV4
        self.bytesV4 = bytesV4
        self.packetsV6 = packetsV6
        self.bytesV6 = bytesV6
    }

    /// Packets above the flood guard's per-source rate, dropped by it (both families).
    public var floodPackets: UInt64 = 0

    /// Packets dropped by the ban rules in both families.
    public var packets: UInt64 { packetsV4 &+ packetsV6 }
}

/// The enforcer the daemon codes against: a kernel packet filter holding banned sources.
///
/// All methods are synchronous and may be called from any thread; implementations
/// serialise access internally.
public protocol Firewall: Sendable {
    /// Creates/repairs the table, its sets and chains. Idempotent.
    func setUp() throws(FirewallError)
    /// Adds elements (one kernel transaction for the whole batch). Re-banning an element
    /// already present refreshes its timeout (sets it to the new value) instead of failing.
    func ban(_ elements: [BanElement]) throws(FirewallError)
    /// Removes the given networks and any banned element inside them. Networks that are
    /// not banned are ignored. An address covered by a broader banned prefix stays blocked
    /// until that prefix is unbanned.
    func unban(_ networks: [IPNetwork]) throws(FirewallError)
    /// Current elements with their remaining timeout.
    func list() throws(FirewallError) -> [BanElement]
    /// Makes the kernel sets equal to `elements` (used at start-up after a crash: the ledger
    /// is the truth).
    func reconcile(with elements: [BanElement]) throws(FirewallError)
    /// Removes the table (for `sipwarden` uninstall and tests). Idempotent.
    func tearDown() throws(FirewallError)
    /// Packets and bytes dropped by the ban rules since the table was created.
    func dropCounters() throws(FirewallError) -> DropCounters
    /// Notes that `source` just failed (a failure of any kind): the kernel flood guard
    /// meters a suspect per address, everyone else only per socket (see `FloodGuard`).
    /// Cheap when repeated for the same source; never throws, never delays a ban (bans
    /// do not wait for it). The default does nothing.
    func markSuspect(_ source: IPAddress)
}

extension Firewall {
    /// No flood guard: nothing to mark.
    public func markSuspect(_ source: IPAddress) {}
}

/// A failure to talk to, or to change, the packet filter.
public struct FirewallError: Error, CustomStringConvertible, Hashable, Sendable {
    /// What went wrong, broadly.
    public enum Kind: Hashable, Sendable {
        /// libnftables could not be initialised (library or permissions missing).
        case unavailable
        /// The configuration cannot be used (bad table name, empty port range, …).
        case invalidConfiguration
        /// An argument was refused before anything reached the kernel (zero timeout, /0 prefix, …).
        case invalidArgument
        /// nft (or the kernel) rejected a command; `message` holds nft's own error text.
        case commandFailed
        /// nft's output could not be understood.
        case unexpectedOutput
    }

    public var kind: Kind
    /// nft's own error text, or our reason when nothing reached nft.
    public var message: String
    /// The nft command text that failed, when one was run.
    public var command: String?

    public init(_ kind: Kind, _ message: String, command: String? = nil) {
        self.kind = kind
        self.message = message
        self.command = command
    }

    public var description: String {
        var text = "firewall: \(message)"
        if let command {
            let limit = 1_000
            let shown = command.count > limit ? String(command.prefix(limit)) + " …(\(command.count) characters)" : command
            text += " [command: \(shown)]"
        }
        return text
    }
}

extension BanElement {
    /// The kernel element of a ban just decided: its network for its whole duration.
    public init(_ ban: Ban) {
        self.init(network: ban.network, timeout: ban.duration)
    }
}
