// SPDX-License-Identifier: GPL-2.0-or-later
public import WardenCore
public import NetworkAddress
public import PacketDecoding
public import SIPMessage

/// The inline admission core: decides, per SIP request, whether it may reach the PBX.
///
/// Per source prefix (the IP header's source, masked to the policy's prefix length) it
/// tracks the credentialed requests outstanding (admitted, not yet finally answered),
/// the failures inside `findTime`, and whether the source is exhausted. A new
/// credentialed request is admitted only while `outstanding < maxRetry − failures`, so
/// even if every outstanding request fails, the source cannot exceed `maxRetry`
/// failures: the guarantee holds at any packet rate, unlike detect-then-ban designs,
/// which leak whatever is already queued when the ban lands. A source whose credentialed
/// requests succeed earns a bounded credit of more requests in flight
/// (``AdmissionPolicy/successCredit``), so that a registration storm from one NAT address
/// is not throttled; a source without a success has none.
///
/// Transactions are identified by the request's full source address, top Via branch
/// (Call-ID when there is no branch), CSeq method and CSeq number, hashed with the
/// process's randomly seeded `Hasher` (an attacker cannot craft a collision to pass a
/// new request off as a retransmission).
///
/// Pure and synchronous; the caller passes the time. Memory is bounded by
/// ``AdmissionPolicy/maxSources`` and, per source, by `maxRetry` and
/// ``AdmissionPolicy/maxUncredentialedOutstanding``.
public struct AdmissionController: Sendable {
    /// The rules in force (changed only by ``reconfigure(with:)``).
    public private(set) var policy: AdmissionPolicy

    /// Counters since start.
    public var statistics: AdmissionStatistics {
        var s = counters
        s.trackedSources = slots.count
        return s
    }

    private var counters = AdmissionStatistics()
    /// Source entries, densely packed (random sampling for eviction is O(1)).
    private var slots: [SourceEntry] = []
    /// Source prefix → index in `slots`.
    private var index: [IPAddress: Int] = [:]
    private var random: SplitMix64
    private var sweepCursor = 0
    private var findTimeUS: Int64
    private var banTimeUS: Int64
    private var timeoutUS: Int64

    /// Entries examined per eviction.
    static let evictionSample = 8
    /// Attacker-written text kept for evidence is cut to this many UTF-8 bytes.
    public static let maxEvidenceFieldBytes = 128

    /// A controller with `policy` (validate it first with
    /// ``AdmissionPolicy/validationErrors()``; out-of-range values are clamped).
    /// `seed` drives eviction sampling only; pass a fixed one for reproducible tests.
    public init(policy: AdmissionPolicy, seed: UInt64 = UInt64.random(in: UInt64.min...UInt64.max)) {
        let p = Self.clamped(policy)
        self.policy = p
        random = SplitMix64(seed: seed)
        findTimeUS = max(p.findTime.microsecondsClamped, 1)
        banTimeUS = max(p.banTime.microsecondsClamped, 1)
        timeoutUS = max(p.transactionTimeout.microsecondsClamped, 1)
    }

    /// Decides from now on under `policy` (a configuration reload), keeping what it knows
    /// where that still means the same thing: failures in the window, requests in
    /// flight and exhaustions stay, and are judged against the new budget at the next
    /// request (a lower `maxRetry` can leave a source with no budget: its credentialed
    /// requests are then dropped until failures leave the window). Sources that the new
    /// allowlist covers are forgotten. A change of prefix length re-keys every source,
    /// so all state is dropped then (nothing is admitted that the old state would not
    /// have been: the detector still holds the failures and bans). Past a lower
    /// `maxSources`, entries are evicted at once.
    public mutating func reconfigure(with policy: AdmissionPolicy) {
        let p = Self.clamped(policy)
        if p.ipv4PrefixLength != self.policy.ipv4PrefixLength || p.ipv6PrefixLength != self.policy.ipv6PrefixLength {
            slots.removeAll()
            index.removeAll()
            sweepCursor = 0
        }
        self.policy = p
        findTimeUS = max(p.findTime.microsecondsClamped, 1)
        banTimeUS = max(p.banTime.microsecondsClamped, 1)
        timeoutUS = max(p.transactionTimeout.microsecondsClamped, 1)
        var i = 0
        while i < slots.count {
            if p.allowlist.contains(slots[i].key) { remove(i) } else { i += 1 }
        }
        // No clock here: rank as if now were the newest activity seen.
        let newest = slots.lazy.map(\.lastSeen).max() ?? 0
        while slots.count > p.maxSources { evictOne(now: newest) }
    }

    /// `policy` with out-of-range values brought into range.
    private static func clamped(_ policy: AdmissionPolicy) -> AdmissionPolicy {
        var p = policy
        p.maxRetry = min(max(p.maxRetry, 1), 1000)
        p.maxUncredentialedOutstanding = min(max(p.maxUncredentialedOutstanding, 1), 10_000)
        p.successCredit = min(max(p.successCredit, 0), 10_000)
        p.maxSources = max(p.maxSources, 16)
        return p
    }

    /// A controller with the default policy except for the three usual knobs.
    public init(maxRetry: Int, findTime: Duration, banTime: Duration, seed: UInt64 = UInt64.random(in: UInt64.min...UInt64.max)) {
        self.init(policy: AdmissionPolicy(maxRetry: maxRetry, findTime: findTime, banTime: banTime), seed: seed)
    }

    // MARK: Requests towards the PBX

    /// Decides on a request arriving for the PBX. `flow.source` must be the IP header's
    /// source. Responses passed here are admitted untracked (a downstream UA answering
    /// the PBX).
    public mutating func inbound(_ request: SIPMessageView, flow: FlowKey, time: Timestamp) -> AdmissionDecision {
        let now = time.microseconds
        sweep(now: now)
        guard let method = request.message.method else { return untracked() }
        let source = flow.source.unmapped
        if policy.allowlist.contains(source) { return untracked() }
        let key = prefix(of: source)
        let slot = slotFor(key, now: now)
        prune(slot, now: now)
        slots[slot].lastSeen = now
        if slots[slot].exhaustedUntil > now {
            counters.droppedExhausted += 1
            return .drop(.exhausted)
        }
        // An ACK is never answered: it cannot fail an authentication and would only
        // hold a slot until the timeout.
        if method == .ack { return untracked() }

        let hash = transactionHash(request, client: source)
        let expires = now &+ timeoutUS
        if request.message.hasCredentials {
            if slots[slot].credentialed.contains(where: { $0.hash == hash }) {
                counters.admittedRetransmissions += 1
                return .admit(.retransmission)
            }
            let budget = policy.maxRetry - slots[slot].failureTimes.count + slots[slot].credit
            guard budget > 0, slots[slot].credentialed.count < budget else {
                counters.droppedBudget += 1
                return .drop(.budget)
            }
            slots[slot].credentialed.append(Pending(
                hash: hash, expires: expires, sourcePort: flow.sourcePort, transport: flow.transport,
                user: request.authorizationUsername.map(Self.clip),
                userAgent: request.userAgent.map(Self.clip),
                method: request.method.map(Self.clip) ?? "?"
            ))
            counters.admittedCredentialed += 1
            return .admit(.credentialed)
        }
        if let i = slots[slot].uncredentialed.firstIndex(where: { $0.hash == hash }) {
            slots[slot].uncredentialed[i].expires = expires
            counters.admittedRetransmissions += 1
            return .admit(.retransmission)
        }
        guard slots[slot].uncredentialed.count < policy.maxUncredentialedOutstanding + slots[slot].credit else {
            counters.droppedUncredentialedLimit += 1
            return .drop(.uncredentialedLimit)
        }
        slots[slot].uncredentialed.append(Outstanding(hash: hash, expires: expires))
        counters.admittedUncredentialed += 1
        return .admit(.uncredentialed)
    }

    // MARK: Responses from the PBX

    /// Accounts for a message the PBX sends. `flow.destination` is the client the
    /// response goes to. A final response releases the matching request; a 401, 403 or
    /// 407 to a credentialed request is a failure (returned as an event, and possibly
    /// the source's exhaustion). 1xx keeps the request outstanding (and restarts its
    /// timeout). The PBX's own requests are ignored.
    public mutating func outbound(_ response: SIPMessageView, flow: FlowKey, time: Timestamp) -> [AdmissionEvent] {
        guard let status = response.message.statusCode else { return [] }
        let now = time.microseconds
        let client = flow.destination.unmapped
        let key = prefix(of: client)
        guard let slot = index[key] else {
            if status >= 200 { counters.unmatchedResponses += 1 }
            return []
        }
        prune(slot, now: now)
        let hash = transactionHash(response, client: client)
        if let i = slots[slot].credentialed.firstIndex(where: { $0.hash == hash }) {
            if status < 200 {
                slots[slot].credentialed[i].expires = now &+ timeoutUS
                return []
            }
            let pending = slots[slot].credentialed.remove(at: i)
            if (200..<300).contains(status) {
                // A success: one more request in flight is safe for this source (bounded).
                slots[slot].credit = min(slots[slot].credit + 1, policy.successCredit)
                slots[slot].lastSuccess = now
                return []
            }
            guard status == 401 || status == 403 || status == 407 else { return [] }
            return recordFailure(
                slot: slot, client: client, pending: pending, status: status, response: response, flow: flow, now: now
            )
        }
        if let i = slots[slot].uncredentialed.firstIndex(where: { $0.hash == hash }) {
            if status < 200 {
                slots[slot].uncredentialed[i].expires = now &+ timeoutUS
            } else {
                slots[slot].uncredentialed.remove(at: i)
            }
            return []
        }
        if status >= 200 { counters.unmatchedResponses += 1 }
        return []
    }

    // MARK: Inspection

    /// What the controller knows about the source prefix covering `address` at `time`
    /// (nil when untracked).
    public func state(of address: IPAddress, at time: Timestamp) -> AdmissionSourceState? {
        let key = prefix(of: address.unmapped)
        guard let slot = index[key] else { return nil }
        let entry = slots[slot]
        let now = time.microseconds
        let failures = entry.failureTimes.filter { $0 > now &- findTimeUS }.count
        return AdmissionSourceState(
            network: network(of: key),
            credentialedOutstanding: entry.credentialed.filter { $0.expires > now }.count,
            uncredentialedOutstanding: entry.uncredentialed.filter { $0.expires > now }.count,
            failures: failures,
            exhaustedUntil: entry.exhaustedUntil > now ? Timestamp(microseconds: entry.exhaustedUntil) : nil
        )
    }

    /// The prefix a source address is judged as.
    public func network(of address: IPAddress) -> IPNetwork {
        let a = address.unmapped
        let length = a.family == .v4 ? policy.ipv4PrefixLength : policy.ipv6PrefixLength
        return IPNetwork(address: a, prefixLength: length) ?? IPNetwork(host: a)
    }

    // MARK: Internals

    private mutating func untracked() -> AdmissionDecision {
        counters.admittedUntracked += 1
        return .admit(.untracked)
    }

    private func prefix(of address: IPAddress) -> IPAddress {
        address.masked(to: address.family == .v4 ? policy.ipv4PrefixLength : policy.ipv6PrefixLength)
    }

    private mutating func recordFailure(
        slot: Int, client: IPAddress, pending: Pending, status: Int, response: SIPMessageView, flow: FlowKey, now: Int64
    ) -> [AdmissionEvent] {
        counters.failures += 1
        let reason = "\(status) to a credentialed \(pending.method)"
        let event = SecurityEvent(
            time: Timestamp(microseconds: now), source: client, sourcePort: pending.sourcePort,
            // The response's IP source is the PBX: where the request went.
            destination: flow.source.unmapped, destinationPort: flow.sourcePort,
            transport: pending.transport, kind: .authFailed, user: pending.user ?? response.toUser.map(Self.clip),
            userAgent: pending.userAgent, reason: reason, callID: Self.callID(response),
            dialect: .sip, origin: .wire(sensor: policy.sensorName)
        )
        slots[slot].failureTimes.append(now)
        let failures = slots[slot].failureTimes.count
        guard failures >= policy.maxRetry else { return [.failure(event)] }
        counters.exhaustions += 1
        let until = now &+ banTimeUS
        slots[slot].exhaustedUntil = until
        // A fresh budget after the ban; nothing is admitted meanwhile.
        slots[slot].failureTimes.removeAll()
        slots[slot].credentialed.removeAll()
        slots[slot].uncredentialed.removeAll()
        slots[slot].credit = 0
        return [.exhausted(network: network(of: slots[slot].key), failures: failures, until: Timestamp(microseconds: until), event: event)]
    }

    /// Drops expired outstanding requests, failures outside the window and a finished
    /// exhaustion.
    private mutating func prune(_ slot: Int, now: Int64) {
        let before = slots[slot].credentialed.count + slots[slot].uncredentialed.count
        if before > 0 {
            slots[slot].credentialed.removeAll { $0.expires <= now }
            slots[slot].uncredentialed.removeAll { $0.expires <= now }
            counters.expired += before - slots[slot].credentialed.count - slots[slot].uncredentialed.count
        }
        let horizon = now &- findTimeUS
        if let first = slots[slot].failureTimes.first, first <= horizon {
            slots[slot].failureTimes.removeAll { $0 <= horizon }
        }
        if slots[slot].exhaustedUntil != .min, slots[slot].exhaustedUntil <= now {
            slots[slot].exhaustedUntil = .min
        }
        if slots[slot].credit > 0, slots[slot].lastSuccess <= horizon {
            slots[slot].credit = 0
        }
    }

    /// The slot for `key`, creating it (evicting when full).
    private mutating func slotFor(_ key: IPAddress, now: Int64) -> Int {
        if let slot = index[key] { return slot }
        if slots.count >= policy.maxSources { evictOne(now: now) }
        slots.append(SourceEntry(key: key, lastSeen: now))
        index[key] = slots.count - 1
        return slots.count - 1
    }

    /// Evicts the least informative of a few randomly sampled entries.
    private mutating func evictOne(now: Int64) {
        guard !slots.isEmpty else { return }
        var victim = -1
        var victimScore = (Int.max, Int64.max)
        for _ in 0..<Self.evictionSample {
            let i = Int(random.next() % UInt64(slots.count))
            prune(i, now: now)
            let score = (slots[i].retentionValue(now: now), slots[i].lastSeen)
            if score < victimScore {
                victim = i
                victimScore = score
            }
        }
        if victim >= 0 {
            remove(victim)
            counters.evictions += 1
        }
    }

    /// Removes idle entries, one slot per call: sources with nothing outstanding, no
    /// failure in the window and not exhausted, unseen for a transaction timeout.
    private mutating func sweep(now: Int64) {
        guard !slots.isEmpty else { return }
        if sweepCursor >= slots.count { sweepCursor = 0 }
        let i = sweepCursor
        sweepCursor += 1
        prune(i, now: now)
        if slots[i].isEmpty, slots[i].lastSeen <= now &- timeoutUS { remove(i) }
    }

    private mutating func remove(_ slot: Int) {
        index[slots[slot].key] = nil
        let last = slots.count - 1
        if slot != last {
            slots[slot] = slots[last]
            index[slots[slot].key] = slot
        }
        slots.removeLast()
    }

    private func transactionHash(_ message: SIPMessageView, client: IPAddress) -> Int {
        var hasher = Hasher()
        hasher.combine(client)
        let m = message.message
        if let branch = m.topVia.branch, !branch.isEmpty {
            hasher.combine(0 as UInt8)
            hasher.combine(bytes: message.slice(branch))
        } else {
            hasher.combine(1 as UInt8)
            hasher.combine(bytes: message.slice(m.callIDRange))
        }
        hasher.combine(bytes: message.slice(m.cseqMethodRange))
        hasher.combine(m.cseqNumber)
        return hasher.finalize()
    }

    /// The response's Call-ID (the request's, copied by the PBX; attacker-written) as
    /// evidence, clipped; nil when empty.
    private static func callID(_ response: SIPMessageView) -> String? {
        let bytes = response.slice(response.message.callIDRange)
        guard !bytes.isEmpty else { return nil }
        return String(decoding: bytes.prefix(maxEvidenceFieldBytes), as: UTF8.self)
    }

    private static func clip(_ text: String) -> String {
        text.utf8.count <= maxEvidenceFieldBytes ? text : String(decoding: text.utf8.prefix(maxEvidenceFieldBytes), as: UTF8.self)
    }
}

/// A snapshot of one tracked source, for status output and tests.
public struct AdmissionSourceState: Hashable, Sendable {
    public var network: IPNetwork
    public var credentialedOutstanding: Int
    public var uncredentialedOutstanding: Int
    /// Failures inside the window.
    public var failures: Int
    /// Set while the source is exhausted.
    public var exhaustedUntil: Timestamp?
}

/// A credentialed request in flight, with what a failure event needs.
private struct Pending: Sendable {
    var hash: Int
    var expires: Int64
    var sourcePort: UInt16
    var transport: Transport
    var user: String?
    var userAgent: String?
    var method: String
}

/// A request without credentials in flight.
private struct Outstanding: Sendable {
    var hash: Int
    var expires: Int64
}

private struct SourceEntry: Sendable {
    var key: IPAddress
    var lastSeen: Int64
    var exhaustedUntil: Int64 = .min
    /// Times of failures inside the window, oldest first (at most `maxRetry`).
    var failureTimes: [Int64] = []
    var credentialed: [Pending] = []
    var uncredentialed: [Outstanding] = []
    /// Extra requests in flight earned by successes (at most the policy's success credit),
    /// forgotten `findTime` after the last success.
    var credit = 0
    var lastSuccess: Int64 = .min

    init(key: IPAddress, lastSeen: Int64) {
        self.key = key
        self.lastSeen = lastSeen
    }

    var isEmpty: Bool {
        exhaustedUntil == .min && failureTimes.isEmpty && credentialed.isEmpty && uncredentialed.isEmpty
    }

    /// How much is lost by forgetting this entry (lower is evicted first).
    func retentionValue(now: Int64) -> Int {
        if exhaustedUntil > now { return 3 }
        if !failureTimes.isEmpty { return 2 }
        if !credentialed.isEmpty { return 1 }
        return 0
    }
}

/// A small, fast, seedable generator (eviction sampling only; not for secrets).
struct SplitMix64: Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
