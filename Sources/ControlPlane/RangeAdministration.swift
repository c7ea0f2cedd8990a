// SPDX-License-Identifier: GPL-2.0-or-later

/// Range blocks through the control plane (`/v1/ranges`): the daemon implements it over
/// its `RangeBlocks` (the one writer of the range table and its state file). Selectors are
/// text here (`aws:EC2`, `AS14061`, `list:NAME`, `file:/PATH`); the daemon parses them.
public protocol RangeAdministration: Sendable {
    /// The blocks in force.
    func rangeBlocks() throws(AdministrationError) -> [RangeBlockView]
    /// Blocks every range of the request's selector. `.invalid` for a bad or unknown
    /// selector, `.refused` when nothing is left to block (allowlist, minimum prefix lengths),
    /// `.failed` when the kernel or the state file failed.
    func block(_ request: RangeBlockRequestBody) throws(AdministrationError) -> RangeBlockView
    /// Lifts the block of `selector`.
    func unblock(selector: String) throws(AdministrationError) -> RangeUnblockResult
}

/// A block as the API shows it.
public struct RangeBlockView: Codable, Sendable, Hashable {
    public var selector: String
    /// `sip` (the SIP ports only) or `all`.
    public var scope: String
    /// `manual`, `policy`, `asn-rule` or `overdue-rule`.
    public var origin: String
    public var created: String
    /// Absent for a permanent block.
    public var expires: String?
    /// Intervals in the kernel after merging and carving out the allowlist.
    public var intervals: Int
    public var refreshed: String
    /// Why it was made, when the origin alone does not say (the AS rule: its K and window).
    public var reason: String?

    public init(
        selector: String, scope: String, origin: String, created: String, expires: String?, intervals: Int, refreshed: String,
        reason: String? = nil
    ) {
        self.reason = reason
        self.selector = selector
        self.scope = scope
        self.origin = origin
        self.created = created
        self.expires = expires
        self.intervals = intervals
        self.refreshed = refreshed
    }
}

/// `GET /v1/ranges`.
public struct RangeBlockList: Codable, Sendable, Hashable {
    public var blocks: [RangeBlockView]
    public init(blocks: [RangeBlockView]) { self.blocks = blocks }
}

/// `POST /v1/ranges`.
public struct RangeBlockRequestBody: Codable, Sendable, Hashable {
    public var selector: String
    /// `sip` (default) or `all`.
    public var scope: String?
    /// Block length in seconds; absent or null = permanent.
    public var blockSeconds: Int64?

    public init(selector: String, scope: String?, blockSeconds: Int64?) {
        self.selector = selector
        self.scope = scope
        self.blockSeconds = blockSeconds
    }

    enum CodingKeys: String, CodingKey {
        case selector, scope
        case blockSeconds = "block_seconds"
    }
}

/// `DELETE /v1/ranges?selector=…`.
public struct RangeUnblockResult: Codable, Sendable, Hashable {
    public var selector: String
    /// False when there was no such block.
    public var lifted: Bool
    public init(selector: String, lifted: Bool) {
        self.selector = selector
        self.lifted = lifted
    }
}

extension ControlPlaneConfiguration {
    /// The same configuration serving `/v1/ranges` through `ranges`.
    public func withRanges(_ ranges: (any RangeAdministration)?) -> ControlPlaneConfiguration {
        var copy = self
        copy.ranges = ranges
        return copy
    }
}
