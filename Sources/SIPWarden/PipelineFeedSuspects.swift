// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Feeds
import NetworkAddress
import WardenCore

extension Pipeline {
    /// A failure from a source that a `suspect` feed lists bans it at once (max-retry 1),
    /// unless the source is allowlisted. One atomic load when no suspect feed is configured.
    func feedSuspectVerdict(_ event: SecurityEvent, now: Timestamp) -> Ban? {
        guard let listing = feedSuspects.listing(event.source) else { return nil }
        let policy = detector.withLock { $0.policy }
        guard !policy.allowlist.contains(event.source) else { return nil }
        let ban = Ban(
            network: IPNetwork(host: event.source), rule: .feed, origin: .feed, created: now, duration: listing.banTime,
            reason: "\(event.kind.rawValue) from a source listed by suspect feed \(listing.feed) (max-retry 1)", evidence: [event])
        detector.withLock { $0.noteBan(ban.network, until: ban.expires, offence: 1, at: now) }
        return ban
    }
}
