// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// A decision of the detector to ban a prefix, with the facts that justified it: a
/// `Ban` of origin `.detector`, whose `id` is made with the decision.
public typealias Verdict = Ban

/// Counters for status output and metrics.
public struct DetectorStatistics: Hashable, Sendable {
    public var eventsObserved = 0
    public var eventsAllowlisted = 0
    /// Events from a source that was already banned (queued before the ban reached the kernel).
    public var eventsWhileBanned = 0
    public var verdicts = 0
    public var sourcesEvicted = 0
    public var trackedSources = 0
    /// Successful authentications seen (never counted as failures).
    public var successes = 0
    /// Prefix bans decided (aggregation).
    public var prefixVerdicts = 0
    /// Prefixes that reached their threshold but were protected (allowlist, trunk, …).
    public var prefixBansBlocked = 0
    /// Prefix windows evicted to stay within the bound.
    public var prefixesEvicted = 0
    public var trackedPrefixes = 0

    public init() {}
}

/// The decision core: per-source sliding windows, enumeration, escalation, allowlist.
///
/// Pure and synchronous: the caller passes the current time with each event, so replays
/// run on the logs' own timestamps and tests need no real clock.
///
/// Memory is bounded by `DetectionPolicy.maxTrackedSources` (N) in three tiers, sized
/// from N (see ``DetectorMemory``): every tracked source is a fixed 56-byte record in a
/// flat open-addressing table, which is all a source with a single failure needs (its
/// evidence waits in a byte-bounded ring); at its second failure a source gets a detail
/// (windows, users tried, evidence) from a pool bounded in count and bytes. Past either
/// bound the least threatening sources (not banned, fewest failures, oldest) are evicted,
/// so a flood of spoofed one-shot sources cannot push out a source about to be banned.
public struct Detector: Sendable {
    public let policy: DetectionPolicy
    /// Counters since start.
    public var statistics: DetectorStatistics {
        var s = counters
        s.trackedSources = table.count
        s.trackedPrefixes = prefixes.count
        s.prefixesEvicted = prefixes.evicted
        return s
    }
    var counters = DetectorStatistics()

    var table: SourceTable
    private var details: DetailStore
    private var ring: EvidenceRing
    var offenders: [IPNetwork: OffenceRecord] = [:]
    /// Prefix windows (aggregation), bounded by ``DetectorMemory/prefixCapacity``.
    var prefixes: PrefixTable
    /// The allowlist and the aggregation policy's protected networks, with their reasons.
    let protectedNetworks: [ProtectedNetwork]
    /// The hook for announced-prefix steps (the intel store); nil until installed.
    public var announcedPrefixes: (any AnnouncedPrefixLookup)?
    /// The hook for lower max-retries per network (provider and AS policy); nil until installed.
    public var sourceThresholds: (any SourceThresholdLookup)?
    /// Which window each kind is counted in (index into `SourceDetail.windows`).
    private let windowIndex: [Int]
    private let windowThresholds: [Threshold]
    private let windowRules: [BanRule]
    private let evidenceCapacity: Int
    /// The sizes every bound is derived from.
    public let memory: DetectorMemory

    /// Attacker-written text kept as evidence is cut to this many UTF-8 bytes.
    public static let maxEvidenceFieldBytes = 256

    public init(policy: DetectionPolicy) {
        self.policy = policy
        var thresholds = [policy.threshold]
        var rules: [BanRule] = [.failures]
        var index = [Int](repeating: 0, count: EventKind.allCases.count)
        for kind in EventKind.allCases {
            if let t = policy.overrides[kind] {
                index[kind.index] = thresholds.count
                thresholds.append(t)
                rules.append(.kind(kind))
            }
        }
        windowIndex = index
        windowThresholds = thresholds
        windowRules = rules
        evidenceCapacity = Self.evidenceCapacity(maxRetries: thresholds.map(\.maxRetry), policy: policy)
        memory = DetectorMemory(policy: policy)
        table = SourceTable(capacity: memory.maxTrackedSources)
        details = DetailStore(capacity: memory.detailCapacity, byteBudget: memory.detailByteBudget)
        ring = EvidenceRing(capacity: memory.ringCapacity, textBudget: memory.ringTextBudget)
        prefixes = PrefixTable(capacity: memory.prefixCapacity)
        protectedNetworks = policy.aggregation.protected + policy.allowlist.networks.map { ProtectedNetwork($0, reason: .allowlist) }
    }

    /// Evidence events a detail keeps: enough for the largest window or the enumeration
    /// rule, at most 32.
    static func evidenceCapacity(maxRetries: [Int], policy: DetectionPolicy) -> Int {
        min(32, max(maxRetries.max() ?? 1, policy.enumeration?.distinctUsers ?? 1))
    }

    /// Judges one event observed at `now`. Returns a verdict when this event completes a
    /// rule; the source is then considered banned until the verdict expires. The host's
    /// verdict comes first; a prefix verdict the same event completes is returned when
    /// there is no host verdict — use ``judge(_:now:)`` to receive every verdict.
    public mutating func observe(_ event: SecurityEvent, now: Timestamp) -> Verdict? {
        judge(event, now: now).verdicts.first
    }

    /// Judges one event observed at `now`: the host's verdict (if any) first, then the
    /// verdicts of the prefixes it completed, and the prefix bans protection blocked.
    public mutating func judge(_ event: SecurityEvent, now: Timestamp) -> Judgement {
        counters.eventsObserved += 1
        if policy.allowlist.contains(event.source) {
            counters.eventsAllowlisted += 1
            return Judgement()
        }
        if event.kind == .authSucceeded {
            noteSuccess(of: event.source, now: now)
            return Judgement()
        }
        var judgement = Judgement()
        if let v = observeHost(event, now: now) { judgement.verdicts.append(v) }
        aggregate(event, now: now, into: &judgement)
        return judgement
    }

    /// The host's windows alone.
    private mutating func observeHost(_ event: SecurityEvent, now: Timestamp) -> Verdict? {
        let network = policy.banNetwork(for: event.source)
        let key = NetworkKey(network)
        var slot = slot(for: key, now: now)
        var r = table[slot]
        r.lastSeen = now.microseconds
        if r.banned {
            if now.microseconds < r.stamp {
                counters.eventsWhileBanned += 1
                table[slot] = r
                return nil
            }
            r.banned = false
            r.stamp = 0
        }
        let trimmedEvent = Self.trimmed(event)
        let w = windowIndex[event.kind.index]
        var threshold = windowThresholds[w]
        var loweredBy: String?
        if let lower = sourceThresholds?.maxRetry(for: event.source), lower.maxRetry < threshold.maxRetry, lower.maxRetry >= 1 {
            threshold.maxRetry = lower.maxRetry
            loweredBy = lower.rule
        }
        let userHash = enumerationUserHash(event)

        // A source's first failure lives in its record alone.
        if r.detail == 0 && !r.hasFirst {
            if threshold.maxRetry > 1 {
                r.hasFirst = true
                r.stamp = now.microseconds
                r.firstWindow = UInt8(w)
                r.firstUser = userHash
                r.score = 1
                r.evidenceTag = ring.push(trimmedEvent)
                r.hasEvidence = true
                table[slot] = r
                return nil
            }
            return ban(
                slot: slot, record: r, network: network, rule: windowRules[w], count: 1, evidence: [trimmedEvent], now: now, loweredBy: loweredBy)
        }

        // From the second on, it is counted in a detail.
        if r.detail == 0 {
            table[slot] = r
            if details.isFull { evictDetails(now: now, sparing: key) }
            slot = table.find(key)!
            r = table[slot]
            r.detail = details.add(promote(r))
            r.hasFirst = false
            r.hasEvidence = false
            r.firstUser = 0
        }
        let evidenceCapacity = self.evidenceCapacity
        let enumeration = policy.enumeration
        let rule = windowRules[w]
        let (fired, score, evidence): ((BanRule, Int)?, Int, [SecurityEvent]) = details.update(r.detail) { d in
            _ = d.remember(trimmedEvent, capacity: evidenceCapacity)
            var fired: (BanRule, Int)?
            if d.windows[w].record(now, threshold: threshold) {
                fired = (rule, threshold.maxRetry)
            }
            if fired == nil, let rule = enumeration, userHash != 0 {
                let distinct = d.users.record(hash: userHash, at: now, rule: rule)
                if distinct >= rule.distinctUsers { fired = (.enumeration, distinct) }
            }
            guard let (rule, count) = fired else { return (nil, d.threatScore, []) }
            return (fired, d.threatScore, Array(d.evidence.suffix(rule == .enumeration ? evidenceCapacity : count)))
        }
        if let (rule, count) = fired {
            return ban(
                slot: slot, record: r, network: network, rule: rule, count: count, evidence: evidence, now: now,
                loweredBy: rule == .enumeration ? nil : loweredBy)
        }
        r.score = UInt16(clamping: score)
        table[slot] = r
        if details.overBudget {
            evictDetails(now: now, sparing: key)
        }
        return nil
    }

    /// The table slot of `key`, inserting it (after an eviction when the table is full).
    mutating func slot(for key: NetworkKey, now: Timestamp) -> Int {
        if let found = table.find(key) { return found }
        if table.count >= memory.maxTrackedSources { evict(now: now) }
        return table.insert(key)
    }

    /// Records a ban made elsewhere (operator, restored ledger) so that events from the
    /// prefix are not judged again until `until`, and escalation knows the history.
    public mutating func noteBan(_ network: IPNetwork, until: Timestamp?, offence: Int, at time: Timestamp) {
        let keyNetwork = network.isHost ? policy.banNetwork(for: network.address) : network
        let slot = slot(for: NetworkKey(keyNetwork), now: time)
        var r = table[slot]
        if r.detail != 0 { details.remove(r.detail) }
        r.detail = 0
        r.banned = true
        r.stamp = until?.microseconds ?? .max
        r.lastSeen = time.microseconds
        r.clearFailures()
        table[slot] = r
        let previous = offenders[keyNetwork]?.count ?? 0
        offenders[keyNetwork] = OffenceRecord(count: max(previous, offence), lastBan: time)
        if !network.isHost { notePrefixBan(network, until: until) }
    }

    /// Restores escalation history (e.g. from the ledger after a restart).
    public mutating func restoreOffence(_ network: IPNetwork, count: Int, lastBan: Timestamp) {
        offenders[network] = OffenceRecord(count: count, lastBan: lastBan)
    }

    /// Forgets everything about a prefix (operator lifted its ban).
    public mutating func forget(_ network: IPNetwork) {
        if let r = table.remove(NetworkKey(network)), r.detail != 0 { details.remove(r.detail) }
        offenders[network] = nil
        prefixes.remove(network: NetworkKey(network))
    }

    /// Drops state that can no longer contribute to a verdict. Call periodically.
    public mutating func expire(now: Timestamp) {
        let horizon = maxFindTime.microsecondsClamped
        var stale: [NetworkKey] = []
        for r in table.slots where !r.isEmpty {
            if r.banned, now.microseconds < r.stamp { continue }
            if now.microseconds - r.lastSeen > horizon { stale.append(r.key) }
        }
        for key in stale { drop(key) }
        prefixes.expire(now: now.microseconds, horizon: aggregationFindTime.microsecondsClamped)
        let memory = policy.escalation.memory
        offenders = offenders.filter { now - $0.value.lastBan <= memory }
    }

    /// The same detector under a new policy (configuration reload).
    ///
    /// Kept: the installed hooks (announced prefixes, per-network thresholds); every ban in
    /// force and the repeat-offender history, so a reload never frees
    /// a banned source or resets escalation; the counters. Failure windows are kept when
    /// the new policy counts the same kinds in the same windows (each keeps at most
    /// `max-retry − 1` of its most recent failures, so the reload itself never bans);
    /// otherwise, or when the ban granularity changed, they start empty.
    public func reconfigured(with policy: DetectionPolicy) -> Detector {
        var next = Detector(policy: policy)
        next.counters = counters
        next.offenders = offenders
        next.announcedPrefixes = announcedPrefixes
        next.sourceThresholds = sourceThresholds
        let sameGranularity =
            policy.ipv4PrefixLength == self.policy.ipv4PrefixLength
            && policy.ipv6PrefixLength == self.policy.ipv6PrefixLength
        let sameWindows = sameGranularity && next.windowIndex == windowIndex
        var oldRing = ring
        for old in table.slots where !old.isEmpty {
            let banned = old.banned
            if !sameWindows && !banned && !old.succeeded { continue } // nothing worth carrying over
            if next.table.count >= next.memory.maxTrackedSources { next.evict(now: Timestamp(microseconds: old.lastSeen)) }
            let slot = next.table.insert(old.key)
            var r = next.table[slot]
            r.lastSeen = old.lastSeen
            r.banned = banned
            r.succeeded = old.succeeded
            if banned { r.stamp = old.stamp }
            if sameWindows, !banned {
                if old.hasFirst, next.windowThresholds[Int(old.firstWindow)].maxRetry > 1 {
                    r.hasFirst = true
                    r.stamp = old.stamp
                    r.firstWindow = old.firstWindow
                    r.firstUser = old.firstUser
                    r.score = 1
                    if old.hasEvidence, let e = oldRing.take(old.evidenceTag) {
                        r.evidenceTag = next.ring.push(e)
                        r.hasEvidence = true
                    }
                } else if old.detail != 0, let d = details[old.detail], !next.details.isFull {
                    var carried = SourceDetail(owner: old.key, windowCount: next.windowThresholds.count)
                    for i in carried.windows.indices {
                        carried.windows[i] = d.windows[i].keepingMostRecent(next.windowThresholds[i].maxRetry - 1)
                    }
                    carried.users = d.users
                    for e in d.evidence.suffix(next.evidenceCapacity) { _ = carried.remember(e, capacity: next.evidenceCapacity) }
                    r.score = UInt16(clamping: carried.threatScore)
                    r.detail = next.details.add(carried)
                }
            }
            next.table[slot] = r
        }
        next.carryPrefixes(from: self)
        return next
    }

    /// Number of prefixes currently tracked.
    public var trackedSourceCount: Int { table.count }

    /// Heap and table bytes the detector's per-source state holds now (structural: the
    /// table's slots, the evidence ring's slots and text, the details' arrays at their
    /// allocated capacity and their text). Never more than ``DetectorMemory/boundBytes``.
    public var heldBytes: Int {
        memory.tableBytes(slots: table.slotCount) + memory.ringSlotBytes + ring.textBytes
            + memory.detailSlotBytes + details.bytes + prefixHeldBytes
    }

    /// Sources currently holding a detail (more than one failure in their windows).
    public var detailedSourceCount: Int { details.count }

    // MARK: Internals

    private var maxFindTime: Duration {
        var m = windowThresholds.map(\.findTime).max() ?? .zero
        if let e = policy.enumeration { m = max(m, e.findTime) }
        return m
    }

    /// Hash of the user for the enumeration rule, 0 when the event does not count.
    private func enumerationUserHash(_ event: SecurityEvent) -> UInt32 {
        guard policy.enumeration != nil, let user = event.user, !user.isEmpty,
            event.kind == .unknownUser || event.kind == .authFailed
        else { return 0 }
        var h = Hasher()
        h.combine(user)
        let v = UInt32(truncatingIfNeeded: h.finalize())
        return v == 0 ? 1 : v
    }

    /// A new detail holding the record's inline failure, its user and its evidence.
    private mutating func promote(_ r: SourceRecord) -> SourceDetail {
        var d = SourceDetail(owner: r.key, windowCount: windowThresholds.count)
        guard r.hasFirst else { return d }
        let first = Timestamp(microseconds: r.stamp)
        let w = Int(r.firstWindow)
        _ = d.windows[w].record(first, threshold: windowThresholds[w])
        if r.firstUser != 0, let rule = policy.enumeration {
            _ = d.users.record(hash: r.firstUser, at: first, rule: rule)
        }
        if r.hasEvidence, let e = ring.take(r.evidenceTag), NetworkKey(policy.banNetwork(for: e.source)) == r.key {
            _ = d.remember(e, capacity: evidenceCapacity)
        }
        return d
    }

    /// `loweredBy`: the rule of a lower max-retry that applied (named in the reason).
    private mutating func ban(
        slot: Int, record: SourceRecord, network: IPNetwork, rule: BanRule, count: Int, evidence: [SecurityEvent], now: Timestamp,
        loweredBy: String? = nil
    ) -> Verdict {
        var r = record
        let offence = nextOffence(for: network, now: now)
        let banTime = policy.banDuration(offence: offence)
        let reason = Self.describe(rule: rule, count: count, evidence: evidence, offence: offence)
        let verdict = Verdict(
            network: network, rule: rule, origin: .detector, offence: offence, created: now, duration: banTime,
            reason: loweredBy.map { "\(reason) (max-retry \(count) for \($0))" } ?? reason,
            evidence: evidence
        )
        if r.detail != 0 { details.remove(r.detail) }
        r.detail = 0
        r.banned = true
        r.stamp = (now + banTime).microseconds
        r.clearFailures()
        table[slot] = r
        counters.verdicts += 1
        offenders[network] = OffenceRecord(count: verdict.offence, lastBan: now)
        return verdict
    }

    mutating func nextOffence(for key: IPNetwork, now: Timestamp) -> Int {
        guard let record = offenders[key], now - record.lastBan <= policy.escalation.memory else { return 1 }
        return record.count + 1
    }

    /// Removes a source and its detail.
    private mutating func drop(_ key: NetworkKey) {
        if let r = table.remove(key), r.detail != 0 { details.remove(r.detail) }
    }

    /// Evicts down to 90 % of capacity: sources not banned and with the fewest recent
    /// failures go first, oldest first among equals. O(n log n) once per n/10 insertions.
    private mutating func evict(now: Timestamp) {
        expire(now: now)
        let target = memory.maxTrackedSources * 9 / 10
        guard table.count > target else { return }
        var ranked: [(key: NetworkKey, banned: Bool, score: UInt16, seen: Int64)] = []
        ranked.reserveCapacity(table.count)
        for r in table.slots where !r.isEmpty {
            ranked.append((r.key, r.banned && now.microseconds < r.stamp, r.score, r.lastSeen))
        }
        ranked.sort(by: Self.lessThreatening)
        var evicted = 0
        for entry in ranked.prefix(table.count - target) where !entry.banned {
            drop(entry.key)
            evicted += 1
        }
        counters.sourcesEvicted += evicted
    }

    /// Frees details (and forgets their sources) until the pool is at 90 % of its count
    /// and byte bounds: fewest failures first, oldest first among equals. `sparing` (the
    /// source being judged) is never chosen.
    private mutating func evictDetails(now: Timestamp, sparing: NetworkKey) {
        var ranked: [(key: NetworkKey, banned: Bool, score: UInt16, seen: Int64)] = []
        ranked.reserveCapacity(details.count)
        for handle in details.handles {
            guard let owner = details[handle]?.owner, owner != sparing, let slot = table.find(owner) else { continue }
            let r = table[slot]
            ranked.append((owner, false, r.score, r.lastSeen))
        }
        ranked.sort(by: Self.lessThreatening)
        let countTarget = details.capacity * 9 / 10
        let byteTarget = details.byteBudget * 9 / 10
        var evicted = 0
        for entry in ranked {
            if details.count <= countTarget && details.bytes <= byteTarget { break }
            drop(entry.key)
            evicted += 1
        }
        counters.sourcesEvicted += evicted
    }

    private static func lessThreatening(
        _ a: (key: NetworkKey, banned: Bool, score: UInt16, seen: Int64),
        _ b: (key: NetworkKey, banned: Bool, score: UInt16, seen: Int64)
    ) -> Bool {
        if a.banned != b.banned { return !a.banned }
        if a.score != b.score { return a.score < b.score }
        if a.seen != b.seen { return a.seen < b.seen }
        return NetworkKey.precedes(a.key, b.key)
    }

    static func trimmed(_ event: SecurityEvent) -> SecurityEvent {
        var e = event
        e.user = e.user.map(trim)
        e.userAgent = e.userAgent.map(trim)
        e.reason = e.reason.map(trim)
        e.callID = e.callID.map(trim)
        return e
    }

    private static func trim(_ s: String) -> String {
        guard s.utf8.count > maxEvidenceFieldBytes else { return s }
        var out = ""
        for scalar in s.unicodeScalars {
            if out.utf8.count + String(scalar).utf8.count > maxEvidenceFieldBytes { break }
            out.unicodeScalars.append(scalar)
        }
        return out + "…"
    }

    /// Event kinds in the order of their names (a ban's reason lists its kinds so).
    private static let kindsByName = EventKind.allCases.sorted { $0.rawValue < $1.rawValue }

    private static func describe(rule: BanRule, count: Int, evidence: [SecurityEvent], offence: Int) -> String {
        let span: String
        if let first = evidence.first, let last = evidence.last {
            let ms = (last.time.microseconds - first.time.microseconds) / 1000
            span = ms >= 10_000 ? "\(ms / 1000) s" : "\(ms) ms"
        } else {
            span = "0 ms"
        }
        let what: String
        switch rule {
        case .failures:
            var present: UInt32 = 0
            for e in evidence { present |= 1 << UInt32(e.kind.index) }
            var kinds = ""
            for kind in Self.kindsByName where present & (1 << UInt32(kind.index)) != 0 {
                if !kinds.isEmpty { kinds += "+" }
                kinds += kind.rawValue
            }
            what = "\(count) failures (\(kinds)) in \(span)"
        case .kind(let k):
            what = count == 1 ? "\(k.rawValue)" : "\(count) × \(k.rawValue) in \(span)"
        case .enumeration:
            what = "\(count) distinct users tried in \(span)"
        case .manual:
            what = "manual"
        case .feed:
            what = "feed"
        case .aggregate:
            what = "aggregate"
        }
        return offence > 1 ? "\(what); repeat offence #\(offence)" : what
    }
}

struct OffenceRecord: Hashable, Sendable {
    var count: Int
    var lastBan: Timestamp
}
