// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// A per-source packet-rate ceiling for the SIP ports, enforced by the kernel alone.
///
/// Why it exists: a detect-then-ban defender cannot take back what is already queued.
/// At full speed (`svcrack -t 0`, 15–45 k requests/s) the PBX falls behind and its
/// socket buffer fills with the attacker's datagrams; when the 5th failure is finally
/// logged and the ban lands, tens of password guesses are still waiting in that buffer
/// and the PBX processes them after the ban. Capping the attacker's rate keeps the PBX's
/// queue short, so the ban that follows the N-th failure really is the end of the attack.
///
/// Storms are not attacks: many phones behind one NAT address re-registering after a
/// power cut send thousands of packets per second from one address, each phone from its
/// own socket, and every one of them succeeds. So the ceiling is applied in two ways:
///
/// - per flow (source address and UDP source port), to everyone from the first packet:
///   one socket above `packetsPerSecond` (burst `burst`) is a tool, not a phone
///   (sipvicious and most brute forcers send from one socket). A storm's sockets each
///   send a handful of packets and are never touched.
/// - per source (address, IPv6 per `prefixLengthV6`), only to *suspects*: sources the
///   daemon saw fail recently (any failure: wrong password, unknown user, malformed,
///   scanner, flood), which it adds to the `suspects4`/`suspects6` sets at their first
///   failure (`NFTablesFirewall.markSuspect`), for `suspectTimeout`. This catches an
///   attacker that spreads its guesses over many source ports, from its first failure on.
///
/// Only a suspect that keeps far above the ceiling — `banPacketsPerSecond` with a burst
/// of `banBurst` — is reported (once per source per 60 s, NFLOG `reportGroup`) to the
/// daemon, which bans it as a `flood`, like the wire sensors do. A productive source (a
/// storm whose registrations all succeed) is never reported, however fast. A source is
/// forgotten by the meters 10 s after it went quiet.
///
/// Kernel layout (`NFTSyntax.guardCommands`), in a table of its own (`<table>_guard`)
/// so that listing the ban sets never reads the meters: a chain at the ban chain's hook,
/// one priority step after it (banned packets are dropped before they reach a meter);
/// `exempt4`/`exempt6` (the allowlist and this host's addresses) return first; then per
/// family `KEY @suspectsN udp dport PORTS update @floodmeterN { KEY limit rate over
/// BANRATE/second burst BANBURST packets } KEY != @reportedN add @reportedN { KEY } log
/// group G` (counts every packet of a suspect, reports once), `udp dport PORTS update
/// @flowmeterN { SADDR . udp sport limit rate over RATE/second burst BURST packets }
/// counter name floodN drop` and `KEY @suspectsN udp dport PORTS update @meterN { KEY
/// limit rate over RATE/second burst BURST packets } counter name floodN drop`. The meter
/// and suspect sets hold at most `meterSize` entries; when a spoofed flood fills them,
/// new sources pass unmetered (the guard fails open, never closed).
public struct FloodGuard: Hashable, Sendable {
    /// Sustained packets per second one source may send to the guarded ports.
    public var packetsPerSecond: Int
    /// Packets a source may send at once above the sustained rate.
    public var burst: Int
    /// UDP destination ports metered (TCP has its own flow control and is not metered).
    public var ports: [PortMatch]
    /// IPv6 sources are metered per prefix of this length (a host owns a /64).
    public var prefixLengthV6: Int
    /// Sources never metered: the allowlist and this host's own addresses.
    public var exempt: [IPNetwork]
    /// Most sources tracked at once per family.
    public var meterSize: Int
    /// NFLOG group a source above the ban threshold is reported to (once per source per
    /// 60 s), so the daemon can ban the flooder (a `flood` event); nil = the guard only
    /// drops.
    public var reportGroup: UInt16?
    /// Sustained packets per second above which a source is reported as a flood.
    public var banPacketsPerSecond: Int
    /// Packets above `banPacketsPerSecond` a source may send before it is reported.
    public var banBurst: Int
    /// How long a source stays a suspect after the failure that made it one (the daemon
    /// uses the detection's find-time): re-marked while it keeps failing.
    public var suspectTimeout: Duration

    /// The NFLOG group used unless configured otherwise (ulogd and IDSs tend to use low
    /// numbers).
    public static let defaultReportGroup: UInt16 = 7450
    /// The `log prefix` of the guard's reports.
    public static let reportPrefix = "sipwarden-flood"

    /// The defaults. Dropped above 1000 packets/s with a burst of 20 (per socket, and per
    /// suspect source): far above what a phone or even sipvicious' default pace (≈ 180
    /// requests/s) sends, far below a full-speed brute force (15–70 k packets/s). The burst bounds what one
    /// source can have queued in the PBX at any moment; measured in the e2e lab
    /// (docs/BENCHMARKS.md): with a burst of 100, 21–25 failures reached Kamailio at full
    /// speed, with 20 at most 9. Reported for a ban above 3000 packets/s sustained over a
    /// burst of 2000 packets, and only a suspect. A trunk or SBC that legitimately sends more
    /// than the ceiling from one socket belongs in the allowlist.
    public static let standard = FloodGuard()

    public init(
        packetsPerSecond: Int = 1_000,
        burst: Int = 20,
        ports: [PortMatch] = [PortMatch(5060)],
        prefixLengthV6: Int = 64,
        exempt: [IPNetwork] = [],
        meterSize: Int = 65_536,
        reportGroup: UInt16? = FloodGuard.defaultReportGroup,
        banPacketsPerSecond: Int = 3_000,
        banBurst: Int = 2_000,
        suspectTimeout: Duration = .seconds(600)
    ) {
        self.packetsPerSecond = packetsPerSecond
        self.burst = burst
        self.ports = ports
        self.prefixLengthV6 = prefixLengthV6
        self.exempt = exempt
        self.meterSize = meterSize
        self.reportGroup = reportGroup
        self.banPacketsPerSecond = banPacketsPerSecond
        self.banBurst = banBurst
        self.suspectTimeout = suspectTimeout
    }

    /// Shortest and longest suspect timeouts the guard accepts (the kernel takes
    /// milliseconds; a suspect older than a day is no longer "recent").
    public static let suspectTimeoutRange: ClosedRange<Duration> = .seconds(1) ... .seconds(86_400)

    /// The reason a `flood` ban from this guard's report carries (and so the ledger and
    /// any abuse report): the reporting threshold exactly as the kernel rule applies it,
    /// from the same fields `NFTSyntax.guardCommands` writes into that rule.
    public var reportReason: String {
        "over \(banPacketsPerSecond) packets/s sustained (burst \(banBurst) packets) to UDP "
            + ports.map(\.description).joined(separator: ",") + " after failing"
    }

    /// Checks every number that ends up in an nft command.
    public func validate() throws(FirewallError) {
        guard (1...10_000_000).contains(packetsPerSecond) else {
            throw FirewallError(.invalidConfiguration, "flood guard rate \(packetsPerSecond) packets/s is outside 1...10000000")
        }
        guard (1...1_000_000).contains(burst) else {
            throw FirewallError(.invalidConfiguration, "flood guard burst \(burst) packets is outside 1...1000000")
        }
        guard !ports.isEmpty, ports.count <= 1_024 else {
            throw FirewallError(.invalidConfiguration, "flood guard needs 1...1024 port ranges, got \(ports.count)")
        }
        guard (1...10_000_000).contains(banPacketsPerSecond), (1...1_000_000).contains(banBurst) else {
            throw FirewallError(
                .invalidConfiguration,
                "flood guard ban threshold \(banPacketsPerSecond) packets/s, burst \(banBurst), is outside 1...10000000 / 1...1000000")
        }
        guard banPacketsPerSecond >= packetsPerSecond else {
            throw FirewallError(
                .invalidConfiguration,
                "flood guard ban rate \(banPacketsPerSecond) packets/s is below the drop rate \(packetsPerSecond): a source would be banned for what the guard tolerates"
            )
        }
        guard (16...128).contains(prefixLengthV6) else {
            throw FirewallError(.invalidConfiguration, "flood guard IPv6 prefix length \(prefixLengthV6) is outside 16...128")
        }
        guard (1_024...16_777_216).contains(meterSize) else {
            throw FirewallError(.invalidConfiguration, "flood guard meter size \(meterSize) is outside 1024...16777216")
        }
        guard Self.suspectTimeoutRange.contains(suspectTimeout) else {
            throw FirewallError(.invalidConfiguration, "flood guard suspect timeout \(suspectTimeout) is outside 1 s...1 day")
        }
        guard exempt.count <= 100_000 else {
            throw FirewallError(.invalidConfiguration, "flood guard exemptions: \(exempt.count) networks, at most 100000")
        }
    }
}

extension NFTSyntax {
    static let guardCounterV4 = "flood4"
    static let guardCounterV6 = "flood6"
    static let guardChainName = "flood_guard"
    /// The sets the daemon fills with sources that failed (`NFTablesFirewall.markSuspect`).
    static let suspectSetV4 = "suspects4"
    static let suspectSetV6 = "suspects6"

    /// The guard's own table: `<table>_guard`.
    static func guardTableName(_ configuration: NFTablesConfiguration) -> String {
        configuration.tableName + "_guard"
    }

    /// Whole seconds for an nft `timeout`, at least 1.
    private static func seconds(_ duration: Duration) -> Int64 {
        max(duration.components.seconds, 1)
    }

    /// Commands that (re)build the guard table from scratch, or remove it when the guard
    /// is off. Rebuilding resets the meters and forgets the suspects, which only matters at
    /// start-up and on a reload.
    static func guardCommands(_ configuration: NFTablesConfiguration) -> String {
        let t = guardTableName(configuration)
        // `add` first makes the deletion succeed when the table does not exist yet.
        var text = "add table inet \(t)\ndelete table inet \(t)\n"
        guard let floodGuard = configuration.floodGuard else { return text }
        text += "add table inet \(t)\n"
        text += "add counter inet \(t) \(guardCounterV4)\n"
        text += "add counter inet \(t) \(guardCounterV6)\n"
        var exempt: [IPAddress.Family: [String]] = [:]
        for network in floodGuard.exempt {
            let plain = BanPlanner.unmapped(network)
            exempt[plain.family, default: []].append(AddressInterval(plain).nftKey)
        }
        let size = floodGuard.meterSize
        for family in [IPAddress.Family.v4, .v6] {
            let suffix = family == .v4 ? "4" : "6"
            let type = family == .v4 ? "ipv4_addr" : "ipv6_addr"
            text += "add set inet \(t) exempt\(suffix) { type \(type); flags interval; auto-merge; }\n"
            if let items = exempt[family], !items.isEmpty {
                text += "add element inet \(t) exempt\(suffix) { \(items.joined(separator: ", ")) }\n"
            }
            text +=
                "add set inet \(t) suspects\(suffix) { type \(type); size \(size); flags timeout; timeout \(seconds(floodGuard.suspectTimeout))s; }\n"
            text += "add set inet \(t) flowmeter\(suffix) { type \(type) . inet_service; size \(size); flags dynamic, timeout; timeout 10s; }\n"
            text += "add set inet \(t) meter\(suffix) { type \(type); size \(size); flags dynamic, timeout; timeout 10s; }\n"
            if floodGuard.reportGroup != nil {
                text += "add set inet \(t) floodmeter\(suffix) { type \(type); size \(size); flags dynamic, timeout; timeout 10s; }\n"
                text += "add set inet \(t) reported\(suffix) { type \(type); size \(size); flags dynamic, timeout; timeout 60s; }\n"
            }
        }
        text +=
            "add chain inet \(t) \(guardChainName) { type filter hook \(configuration.hook.rawValue) priority \(configuration.priority + 1); policy accept; }\n"
        text += "add rule inet \(t) \(guardChainName) ip saddr @exempt4 return\n"
        text += "add rule inet \(t) \(guardChainName) ip6 saddr @exempt6 return\n"
        let ports = floodGuard.ports.map(\.description).joined(separator: ", ")
        let limit = "limit rate over \(floodGuard.packetsPerSecond)/second burst \(floodGuard.burst) packets"
        var key6 = "ip6 saddr"
        if floodGuard.prefixLengthV6 < 128 {
            let mask = IPAddress(family: .v6, integer: ~AddressInterval.mask(hostBits: 128 - floodGuard.prefixLengthV6))
            key6 += " and \(mask)"
        }
        let banLimit = "limit rate over \(floodGuard.banPacketsPerSecond)/second burst \(floodGuard.banBurst) packets"
        for (suffix, address, key, counter) in [("4", "ip saddr", "ip saddr", guardCounterV4), ("6", "ip6 saddr", key6, guardCounterV6)] {
            let suspect = "\(key) @suspects\(suffix) udp dport { \(ports) }"
            // A suspect flooding (far over the ceiling): report it once per 60 s, go on.
            // First, so that it counts every packet, also those the ceilings drop.
            if let group = floodGuard.reportGroup {
                text +=
                    "add rule inet \(t) \(guardChainName) \(suspect) update @floodmeter\(suffix) { \(key) \(banLimit) } \(key) != @reported\(suffix) add @reported\(suffix) { \(key) } log prefix \"\(FloodGuard.reportPrefix)\" group \(group)\n"
            }
            // One socket over the ceiling, whoever it is: drop and count.
            text +=
                "add rule inet \(t) \(guardChainName) udp dport { \(ports) } update @flowmeter\(suffix) { \(address) . udp sport \(limit) } counter name \(counter) drop\n"
            // A suspect over the ceiling, over all its sockets: drop and count.
            text += "add rule inet \(t) \(guardChainName) \(suspect) update @meter\(suffix) { \(key) \(limit) } counter name \(counter) drop\n"
        }
        return text
    }
}
