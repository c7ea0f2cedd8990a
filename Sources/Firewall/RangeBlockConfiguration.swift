// SPDX-License-Identifier: GPL-2.0-or-later

/// Which packets of a blocked range are dropped.
public enum RangeBlockScope: String, Hashable, Sendable, Codable, CaseIterable {
    /// Only TCP and UDP to the SIP ports (`RangeBlockConfiguration.sipPorts`).
    case sip
    /// Every packet from the range.
    case all
}

/// How `RangeBlockFirewall` lays out its table (`inet sipwarden_ranges` by default): a
/// base chain at the ban table's hook and priority that jumps to one regular chain per
/// block, and per block two interval sets (IPv4, IPv6) of its own.
public struct RangeBlockConfiguration: Hashable, Sendable {
    /// Name of the `inet` table (an nft identifier, ≤ 32 characters).
    public var tableName: String
    /// The destination ports a `.sip` block applies to (TCP and UDP).
    public var sipPorts: [PortMatch]
    /// Netfilter hook of the base chain.
    public var hook: NFTablesConfiguration.Hook
    /// Base chain priority (default -300, `raw`: before conntrack, like the ban table).
    public var priority: Int

    /// The defaults: table `sipwarden_ranges`, SIP on 5060-5061, prerouting at raw priority.
    public init(
        tableName: String = "sipwarden_ranges", sipPorts: [PortMatch] = [PortMatch(lower: 5060, upper: 5061)!],
        hook: NFTablesConfiguration.Hook = .prerouting, priority: Int = -300
    ) {
        self.tableName = tableName
        self.sipPorts = sipPorts
        self.hook = hook
        self.priority = priority
    }

    /// Checks every field; names and numbers end up in nft commands.
    public func validate() throws(FirewallError) {
        guard NFTSyntax.isIdentifier(tableName) else {
            throw FirewallError(.invalidConfiguration, "range table name \"\(tableName)\" must be 1-32 letters, digits or '_' starting with a letter")
        }
        guard (-1_000...1_000).contains(priority) else {
            throw FirewallError(.invalidConfiguration, "range chain priority \(priority) is outside -1000...1000")
        }
        guard !sipPorts.isEmpty, sipPorts.count <= 1_024 else {
            throw FirewallError(.invalidConfiguration, "range blocks need 1...1024 SIP port ranges")
        }
    }
}

/// What one kernel update of a block did.
public struct RangeLoadReport: Hashable, Sendable {
    /// Intervals added and removed (both families).
    public var added: Int
    public var removed: Int
    /// True when the block's sets were flushed and refilled (first load, or the kernel's
    /// contents were unknown or out of step); false for a delta.
    public var replaced: Bool
    /// Time spent in the netlink transaction (building, sending, acknowledgements).
    public var kernelTime: Duration
}
