// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// The opt-in AS rule's memory: the distinct addresses of each AS banned recently. Pure
/// (time is passed in); bounded: at most `threshold` addresses per AS and
/// `maximumTrackedASes` ASes (the least recently active is forgotten).
public struct ASNBlockTracker: Sendable {
    public let rule: ASNBlockRule
    /// ASes remembered at most.
    public let maximumTrackedASes: Int
    private var recent: [UInt32: [(address: IPAddress, time: Timestamp)]] = [:]
    private var triggered: Set<UInt32> = []

    public init(rule: ASNBlockRule, maximumTrackedASes: Int = 65_536) {
        self.rule = rule
        self.maximumTrackedASes = max(1, maximumTrackedASes)
    }

    /// Notes that `address`, announced by AS `asn`, was banned at `time`. Returns the AS
    /// selector to block when this ban makes `threshold` distinct addresses of the AS within
    /// the window (once per AS until `forget(asn:)`).
    public mutating func recordBan(of address: IPAddress, asn: UInt32, at time: Timestamp) -> RangeSelector? {
        guard !triggered.contains(asn) else { return nil }
        let since = time - rule.window
        var list = (recent[asn] ?? []).filter { $0.time > since && $0.address != address }
        list.append((address, time))
        if list.count > rule.threshold { list.removeFirst(list.count - rule.threshold) }
        if list.count >= rule.threshold {
            recent[asn] = nil
            triggered.insert(asn)
            return .asn(asn)
        }
        if recent[asn] == nil, recent.count >= maximumTrackedASes { evictOldest() }
        recent[asn] = list
        return nil
    }

    /// Lets the AS trigger again (its block was lifted or expired).
    public mutating func forget(asn: UInt32) {
        triggered.remove(asn)
        recent[asn] = nil
    }

    /// True when `asn` tripped the rule and has not been forgotten since.
    public func isTriggered(asn: UInt32) -> Bool { triggered.contains(asn) }

    /// ASes currently counted.
    public var trackedCount: Int { recent.count }

    private mutating func evictOldest() {
        guard
            let oldest = recent.min(by: { ($0.value.last?.time ?? Timestamp(microseconds: 0)) < ($1.value.last?.time ?? Timestamp(microseconds: 0)) })
        else { return }
        recent[oldest.key] = nil
    }
}
