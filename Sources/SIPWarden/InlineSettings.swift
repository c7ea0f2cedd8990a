// SPDX-License-Identifier: GPL-2.0-or-later

public import Inline

/// Settings of the inline admission mode (`--inline QUEUE`).
public struct InlineSettings: Sendable, Hashable {
    /// NFQUEUE number the SIP traffic is queued to.
    public var queue: UInt16
    /// What happens when sipwarden is stopped or overloaded (see docs/INLINE.md).
    public var failMode: InlineFailMode
    /// UDP ports whose requests (in) and responses (out) go through the queue.
    public var ports: [ClosedRange<UInt16>]
    /// Install and remove the iptables-nft NFQUEUE rules itself (off: the operator does).
    public var manageRules: Bool

    public init(queue: UInt16, failMode: InlineFailMode = .bypassWhenStopped, ports: [ClosedRange<UInt16>] = [5060...5060], manageRules: Bool = true)
    {
        self.queue = queue
        self.failMode = failMode
        self.ports = ports
        self.manageRules = manageRules
    }
}
