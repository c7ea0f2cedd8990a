// SPDX-License-Identifier: GPL-2.0-or-later
public import Evidence
public import NetworkAddress

/// Why a verdict was reached.
public enum BanRule: Hashable, Sendable, CustomStringConvertible {
    /// Too many failures in the shared window (every kind without an override).
    case failures
    /// Too many failures of one kind judged on its own (e.g. `scanner`).
    case kind(EventKind)
    /// Too many distinct users tried.
    case enumeration
    /// Banned by an operator.
    case manual

    public var description: String {
        switch self {
        case .failures: "failures"
        case let .kind(k): k.rawValue
        case .enumeration: "enumeration"
        case .manual: "manual"
        }
    }
}

/// A decision to ban a prefix, with the facts that justified it.
public struct Verdict: Hashable, Sendable {
    public var network: IPNetwork
    public var rule: BanRule
    /// When the decision was made (the detector's clock).
    public var time: Timestamp
    public var banTime: Duration
    /// 1 for a first ban; higher for repeat offenders (the ban was escalated).
    public var offence: Int
    /// One line for humans: what happened and how often.
    public var reason: String
    /// The events inside the window that fired, oldest first.
    public var evidence: [SecurityEvent]

    public var expires: Timestamp { time + banTime }
}

/// Counters for status output and metrics.
public struct DetectorStatistics: Hashable, Sendable {
    public var eventsObserved = 0
    public var eventsAllowlisted = 0
    /// Events from a source that was already banned (queued before the ban reached the kernel).
    public var eventsWhileBanned = 0
    public var verdicts = 0
    public var sourcesEvicted = 0
    public var trackedSources = 0

    public init() {}
}

/// The decision core: per-source sliding windows, enumeration, escalation, allowlist.
///
/// Pure and synchronous: the caller passes the current time with each event, so replays
/// run on the logs' own timestamps and tests need no real clock. Memory is bounded by
/// `DetectionPolicy.maxTrackedSources`; past it the least threatening sources are evicted.
public struct Detector: Sendable {
    public let policy: DetectionPolicy
    /// Counters since start.
    public var statistics: DetectorStatistics {
        var s = counters
        s.trackedSources = sources.count
        return s
    }
    private var counters = DetectorStatistics()

    private var sources: [IPNetwork: SourceState] = [:]
    private var offenders: [IPNetwork: OffenceRecord] = [:]
    /// Which window each kind is counted in (index into `SourceState.windows`).
    private let windowIndex: [Int]
    private let windowThresholds: [Threshold]
    private let windowRules: [BanRule]
    private let evidenceCapacity: Int

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
        evidenceCapacity = min(32, max(thresholds.map(\.maxRetry).max() ?? 1, policy.enumeration?.distinctUsers ?? 1))
    }

    /// Judges one event observed at `now`. Returns a verdict when this event completes a
    /// rule; the source is then considered banned until the verdict expires.
    public mutating func observe(_ event: SecurityEvent, now: Timestamp) -> Verdict? {
        counters.eventsObserved += 1
        if policy.allowlist.contains(event.source) {
            counters.eventsAllowlisted += 1
            return nil
        }
        let key = policy.banNetwork(for: event.source)
        if sources.count >= policy.maxTrackedSources, sources[key] == nil { evict(now: now) }
        // Take the state out so it is mutated in place (no copy-on-write of its arrays).
        var state = sources.removeValue(forKey: key) ?? SourceState(windowCount: windowThresholds.count)
        defer { sources[key] = state }
        state.lastSeen = now
        if let until = state.bannedUntil, now < until {
            counters.eventsWhileBanned += 1
            return nil
        }
        state.bannedUntil = nil
        state.remember(Self.trimmed(event), capacity: evidenceCapacity)
        let w = windowIndex[event.kind.index]
        let threshold = windowThresholds[w]
        var fired: (BanRule, Int)?
        if state.windows[w].record(now, threshold: threshold) {
            fired = (windowRules[w], threshold.maxRetry)
        }
        if fired == nil, let rule = policy.enumeration, let user = event.user, !user.isEmpty,
           event.kind == .unknownUser || event.kind == .authFailed {
            let distinct = state.users.record(user: user, at: now, rule: rule)
            if distinct >= rule.distinctUsers { fired = (.enumeration, distinct) }
        }
        guard let (rule, count) = fired else { return nil }
        let offence = nextOffence(for: key, now: now)
        let banTime = policy.banDuration(offence: offence)
        let evidence = Array(state.evidence.suffix(rule == .enumeration ? evidenceCapacity : count))
        let verdict = Verdict(
            network: key, rule: rule, time: now, banTime: banTime, offence: offence,
            reason: Self.describe(rule: rule, count: count, evidence: evidence, offence: offence),
            evidence: evidence
        )
        state.bannedUntil = now + banTime
        state.reset()
        counters.verdicts += 1
        offenders[key] = OffenceRecord(count: verdict.offence, lastBan: now)
        return verdict
    }

    /// Records a ban made elsewhere (operator, restored ledger) so that events from the
    /// prefix are not judged again until `until`, and escalation knows the history.
    public mutating func noteBan(_ network: IPNetwork, until: Timestamp?, offence: Int, at time: Timestamp) {
        let key = network.isHost ? policy.banNetwork(for: network.address) : network
        if sources.count >= policy.maxTrackedSources, sources[key] == nil { evict(now: time) }
        var state = sources.removeValue(forKey: key) ?? SourceState(windowCount: windowThresholds.count)
        state.bannedUntil = until ?? Timestamp(microseconds: .max)
        state.lastSeen = time
        state.reset()
        sources[key] = state
        let previous = offenders[key]?.count ?? 0
        offenders[key] = OffenceRecord(count: max(previous, offence), lastBan: time)
    }

    /// Restores escalation history (e.g. from the ledger after a restart).
    public mutating func restoreOffence(_ network: IPNetwork, count: Int, lastBan: Timestamp) {
        offenders[network] = OffenceRecord(count: count, lastBan: lastBan)
    }

    /// Forgets everything about a prefix (operator lifted its ban).
    public mutating func forget(_ network: IPNetwork) {
        sources[network] = nil
        offenders[network] = nil
    }

    /// Drops state that can no longer contribute to a verdict. Call periodically.
    public mutating func expire(now: Timestamp) {
        let horizon = maxFindTime
        sources = sources.filter { _, state in
            if let until = state.bannedUntil, now < until { return true }
            return now - state.lastSeen <= horizon
        }
        let memory = policy.escalation.memory
        offenders = offenders.filter { now - $0.value.lastBan <= memory }
    }

    /// The same detector under a new policy (configuration reload).
    ///
    /// Kept: every ban in force and the repeat-offender history, so a reload never frees
    /// a banned source or resets escalation; the counters. Failure windows are kept when
    /// the new policy counts the same kinds in the same windows (each keeps at most
    /// `max-retry − 1` of its most recent failures, so the reload itself never bans);
    /// otherwise, or when the ban granularity changed, they start empty.
    public func reconfigured(with policy: DetectionPolicy) -> Detector {
        var next = Detector(policy: policy)
        next.counters = counters
        next.offenders = offenders
        let sameGranularity = policy.ipv4PrefixLength == self.policy.ipv4PrefixLength
            && policy.ipv6PrefixLength == self.policy.ipv6PrefixLength
        let sameWindows = sameGranularity && next.windowIndex == windowIndex
        for (key, old) in sources {
            var state = SourceState(windowCount: next.windowThresholds.count)
            state.lastSeen = old.lastSeen
            state.bannedUntil = old.bannedUntil
            if sameWindows {
                for i in state.windows.indices {
                    state.windows[i] = old.windows[i].keepingMostRecent(next.windowThresholds[i].maxRetry - 1)
                }
                state.users = old.users
                state.evidence = Array(old.evidence.suffix(next.evidenceCapacity))
            } else if old.bannedUntil == nil {
                continue // nothing worth carrying over
            }
            next.sources[key] = state
        }
        return next
    }

    /// Number of prefixes currently tracked.
    public var trackedSourceCount: Int { sources.count }

    // MARK: Internals

    private var maxFindTime: Duration {
        var m = windowThresholds.map(\.findTime).max() ?? .zero
        if let e = policy.enumeration { m = max(m, e.findTime) }
        return m
    }

    private mutating func nextOffence(for key: IPNetwork, now: Timestamp) -> Int {
        guard let record = offenders[key], now - record.lastBan <= policy.escalation.memory else { return 1 }
        return record.count + 1
    }

    /// Evicts down to 90 % of capacity: sources not banned and with the fewest recent
    /// failures go first, oldest first among equals. O(n log n) once per n/10 insertions.
    private mutating func evict(now: Timestamp) {
        expire(now: now)
        let target = policy.maxTrackedSources * 9 / 10
        guard sources.count > target else { return }
        let ranked = sources.map { key, state in
            (key: key, banned: state.bannedUntil.map { now < $0 } ?? false, score: state.threatScore, seen: state.lastSeen)
        }.sorted { a, b in
            if a.banned != b.banned { return !a.banned }
            if a.score != b.score { return a.score < b.score }
            return a.seen < b.seen
        }
        let excess = sources.count - target
        for entry in ranked.prefix(excess) {
            sources[entry.key] = nil
        }
        counters.sourcesEvicted += excess
    }

    private static func trimmed(_ event: SecurityEvent) -> SecurityEvent {
        var e = event
        e.user = e.user.map(trim)
        e.userAgent = e.userAgent.map(trim)
        e.reason = e.reason.map(trim)
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
            let kinds = Set(evidence.map(\.kind.rawValue)).sorted().joined(separator: "+")
            what = "\(count) failures (\(kinds)) in \(span)"
        case let .kind(k):
            what = count == 1 ? "\(k.rawValue)" : "\(count) × \(k.rawValue) in \(span)"
        case .enumeration:
            what = "\(count) distinct users tried in \(span)"
        case .manual:
            what = "manual"
        }
        return offence > 1 ? "\(what); repeat offence #\(offence)" : what
    }
}

struct OffenceRecord: Hashable, Sendable {
    var count: Int
    var lastBan: Timestamp
}

/// The last `maxRetry` failure times of one window, in a ring.
struct FailureWindow: Sendable {
    private var times: [Int64] = []
    private var next = 0

    /// Records a failure; true when it is the `maxRetry`-th within `findTime`.
    mutating func record(_ now: Timestamp, threshold: Threshold) -> Bool {
        let n = threshold.maxRetry
        if times.count < n {
            times.append(now.microseconds)
            if times.count < n { return false }
            next = 0
        } else {
            times[next] = now.microseconds
            next = (next + 1) % n
        }
        // The oldest of the last n failures sits at `next`.
        let oldest = times[next]
        return now.microseconds - oldest <= threshold.findTime.microsecondsClamped
    }

    var count: Int { times.count }

    mutating func reset() {
        times.removeAll(keepingCapacity: true)
        next = 0
    }

    /// A window holding at most the `limit` most recent failures, oldest first.
    func keepingMostRecent(_ limit: Int) -> FailureWindow {
        // Oldest first: the ring starts at `next` once full (and `next` is 0 until then).
        let ordered = Array(times[next...]) + Array(times[..<next])
        var window = FailureWindow()
        window.times = Array(ordered.suffix(max(0, limit)))
        return window
    }
}

/// Distinct users tried, with the time each was last tried.
struct UserWindow: Sendable {
    private var users: [(hash: Int, time: Int64)] = []

    /// Records a user; returns how many distinct users fall inside the rule's window.
    mutating func record(user: String, at now: Timestamp, rule: EnumerationRule) -> Int {
        let horizon = now.microseconds - rule.findTime.microsecondsClamped
        users.removeAll { $0.time < horizon }
        let h = user.hashValue
        if let i = users.firstIndex(where: { $0.hash == h }) {
            users[i].time = now.microseconds
        } else {
            if users.count >= rule.distinctUsers { users.removeFirst() }
            users.append((h, now.microseconds))
        }
        return users.count
    }

    mutating func reset() { users.removeAll(keepingCapacity: false) }
}

struct SourceState: Sendable {
    var windows: [FailureWindow]
    var users = UserWindow()
    var evidence: [SecurityEvent] = []
    var lastSeen = Timestamp(microseconds: 0)
    var bannedUntil: Timestamp?

    init(windowCount: Int) {
        windows = Array(repeating: FailureWindow(), count: windowCount)
    }

    mutating func remember(_ event: SecurityEvent, capacity: Int) {
        if evidence.count >= capacity { evidence.removeFirst(evidence.count - capacity + 1) }
        evidence.append(event)
    }

    mutating func reset() {
        for i in windows.indices { windows[i].reset() }
        users.reset()
        evidence.removeAll(keepingCapacity: false)
    }

    var threatScore: Int { windows.reduce(0) { $0 + $1.count } }
}
