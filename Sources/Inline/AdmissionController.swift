// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import PacketDecoding
public import SIPMessage
public import WardenCore

/// The inline admission core: decides, per SIP request, whether it may reach the PBX.
///
/// Per source prefix (the IP header's source, masked to the policy's prefix length) it
/// tracks the credentialed requests outstanding (admitted, not yet finally answered),
/// the failures inside `findTime`, and whether the source is exhausted. A new
/// credentialed request is admitted only while `outstanding < maxRetry − failures`, so
/// even if every outstanding request fails, the source cannot exceed `maxRetry`
/// failures: the guarantee holds at any packet rate, unlike detect-then-ban designs,
/// which leak whatever is already queued when the ban lands. A source whose credentialed
/// requests succeed earns a bounded credit of more requests in flight, one per distinct
/// account that succeeded
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
    /// Lower max-retries of their own for some sources (changed only by
    /// ``replaceSourceLimits(_:)``); nil = every source gets the policy's.
    public private(set) var sourceLimits: (any AdmissionMaxRetryLookup)?

    /// Counters since start.
    public var statistics: AdmissionStatistics {
        var s = counters
        s.trackedSources = slots.count
        s.heldNow = heldCount
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
    private var holdUS: Int64
    /// Requests held now, over all sources.
    private var heldCount = 0
    /// Every hold in the order it was made (so in deadline order: the hold time is one
    /// value): the expiry sweep pops its front. Entries already released stay until their
    /// deadline and are skipped then.
    private var holdOrder: [HoldDeadline] = []
    private var holdOrderHead = 0
    /// Verdicts of held requests decided since the caller last took them.
    private var releases: [AdmissionRelease] = []

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
        holdUS = max(p.holdTime.microsecondsClamped, 0)
    }

    /// Decides from now on under `policy` (a configuration reload), keeping what it knows
    /// where that still means the same thing: failures in the window, requests in
    /// flight and exhaustions stay, and are judged against the new budget at the next
    /// request (a lower `maxRetry` can leave a source with no budget: its credentialed
    /// requests are then dropped until failures leave the window). Sources that the new
    /// allowlist covers are forgotten. A change of prefix length re-keys every source,
    /// so all state is dropped then (nothing is admitted that the old state would not
    /// have been: the detector still holds the failures and bans). Past a lower
    /// `maxSources`, entries are evicted at once. Held requests keep their deadlines;
    /// those of sources the new allowlist covers are admitted, those of forgotten sources
    /// dropped (take them with ``takeReleases(into:)``).
    public mutating func reconfigure(with policy: AdmissionPolicy) {
        let p = Self.clamped(policy)
        if p.ipv4PrefixLength != self.policy.ipv4PrefixLength || p.ipv6PrefixLength != self.policy.ipv6PrefixLength {
            for i in slots.indices { releaseAllHeld(i, as: .drop(.holdExpired)) }
            slots.removeAll()
            index.removeAll()
            sweepCursor = 0
        }
        self.policy = p
        findTimeUS = max(p.findTime.microsecondsClamped, 1)
        banTimeUS = max(p.banTime.microsecondsClamped, 1)
        timeoutUS = max(p.transactionTimeout.microsecondsClamped, 1)
        holdUS = max(p.holdTime.microsecondsClamped, 0)
        var i = 0
        while i < slots.count {
            if p.allowlist.contains(slots[i].key) {
                releaseAllHeld(i, as: .admit(.untracked))
                remove(i)
            } else {
                i += 1
            }
        }
        // No clock here: rank as if now were the newest activity seen.
        let newest = slots.lazy.map(\.lastSeen).max() ?? 0
        while slots.count > p.maxSources { evictOne(now: newest) }
        refreshMaxRetries()
    }

    /// Gives sources covered by a provider, AS or list rule a lower max-retry of their own
    /// (nil: none). Tracked sources take their new value now: failures and requests in
    /// flight stay and are judged against it at the next request, as a lower policy
    /// max-retry is (``reconfigure(with:)``).
    public mutating func replaceSourceLimits(_ limits: (any AdmissionMaxRetryLookup)?) {
        sourceLimits = limits
        refreshMaxRetries()
    }

    /// The max-retry a source prefix is judged with: the policy's, or a lower one of its own.
    public func maxRetry(of key: IPAddress) -> Int {
        guard let lowered = sourceLimits?.maxRetry(for: key) else { return policy.maxRetry }
        return min(policy.maxRetry, max(lowered, 1))
    }

    private mutating func refreshMaxRetries() {
        for i in slots.indices { slots[i].maxRetry = maxRetry(of: slots[i].key) }
    }

    /// `policy` with out-of-range values brought into range.
    private static func clamped(_ policy: AdmissionPolicy) -> AdmissionPolicy {
        var p = policy
        p.maxRetry = min(max(p.maxRetry, 1), 1000)
        p.maxUncredentialedOutstanding = min(max(p.maxUncredentialedOutstanding, 1), 10_000)
        p.successCredit = min(max(p.successCredit, 0), 65_536)
        p.maxHeldPerSource = min(max(p.maxHeldPerSource, 0), 65_536)
        p.maxHeldTotal = min(max(p.maxHeldTotal, 0), 65_536)
        if p.holdTime < .zero { p.holdTime = .zero }
        if p.holdTime > .seconds(30) { p.holdTime = .seconds(30) }
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
    /// the PBX). Never holds: a request with no room is dropped at once.
    public mutating func inbound(_ request: SIPMessageView, flow: FlowKey, time: Timestamp) -> AdmissionDecision {
        inbound(request, flow: flow, time: time, ticket: nil)
    }

    /// Decides on a request arriving for the PBX, as ``inbound(_:flow:time:)``, except that
    /// a request with no room in flight may be held (`.hold`) when `ticket` is given: its
    /// verdict then comes later, as an ``AdmissionRelease`` with that ticket, from
    /// ``takeReleases(into:)`` — as soon as an answer makes room (admitted exactly as if
    /// it had arrived then), or when the hold time passes or the source is exhausted
    /// (dropped). The caller must call ``expireHeld(time:)`` while anything is held
    /// (``heldCount`` > 0), at least every few milliseconds, and give every released
    /// ticket its verdict. Tickets must be unique among held requests.
    public mutating func inbound(_ request: SIPMessageView, flow: FlowKey, time: Timestamp, ticket: UInt32?) -> AdmissionDecision {
        let now = time.microseconds
        sweep(now: now)
        if heldCount > 0 { expireHeld(now: now) }
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

        let pending = Pending(
            hash: transactionHash(request, client: source), expires: 0, credentialed: request.message.hasCredentials,
            sourcePort: flow.sourcePort, transport: flow.transport,
            user: request.message.hasCredentials ? request.authorizationUsername.map(Self.clip) : nil,
            userAgent: request.message.hasCredentials ? request.userAgent.map(Self.clip) : nil,
            method: request.message.hasCredentials ? request.method.map(Self.clip) ?? "?" : ""
        )
        // Requests held earlier go first (an expired transaction may have made room).
        admitHeld(slot, now: now)
        if slots[slot].heldCount > 0, slots[slot].heldHashes.contains(pending.hash) {
            counters.absorbedRetransmissions += 1
            return .drop(.retransmissionOfHeld)
        }
        // Behind earlier holds of its kind, a request waits its turn even if room appeared.
        let decision =
            slots[slot].held(pending.credentialed).isEmpty || slots[slot].isOutstanding(pending)
            ? place(pending, in: slot, now: now)
            : .drop(pending.credentialed ? .budget : .uncredentialedLimit)
        guard case .drop(let reason) = decision, reason == .budget || reason == .uncredentialedLimit,
            let ticket, canHold(slot)
        else { return count(decision) }
        // No room now: wait for an answer to make some.
        slots[slot].hold(HeldRequest(ticket: ticket, request: pending))
        holdOrder.append(HoldDeadline(deadline: now &+ holdUS, key: slots[slot].key, ticket: ticket))
        heldCount += 1
        counters.held += 1
        return .hold
    }

    /// Admits `request` into `slot` if it fits (or is a retransmission of one admitted),
    /// else says why not. Counts nothing (see ``count(_:)``).
    private mutating func place(_ request: Pending, in slot: Int, now: Int64) -> AdmissionDecision {
        var request = request
        request.expires = now &+ timeoutUS
        if request.credentialed {
            if slots[slot].credentialed.contains(where: { $0.hash == request.hash }) { return .admit(.retransmission) }
            let budget = slots[slot].maxRetry - slots[slot].failureTimes.count + slots[slot].credit
            guard budget > 0, slots[slot].credentialed.count < budget else { return .drop(.budget) }
            slots[slot].credentialed.append(request)
            return .admit(.credentialed)
        }
        if let i = slots[slot].uncredentialed.firstIndex(where: { $0.hash == request.hash }) {
            slots[slot].uncredentialed[i].expires = request.expires
            return .admit(.retransmission)
        }
        guard slots[slot].uncredentialed.count < policy.maxUncredentialedOutstanding + slots[slot].credit else {
            return .drop(.uncredentialedLimit)
        }
        slots[slot].uncredentialed.append(Outstanding(hash: request.hash, expires: request.expires))
        return .admit(.uncredentialed)
    }

    /// Counts a decision in the statistics and returns it.
    private mutating func count(_ decision: AdmissionDecision) -> AdmissionDecision {
        switch decision {
        case .admit(.credentialed): counters.admittedCredentialed += 1
        case .admit(.uncredentialed): counters.admittedUncredentialed += 1
        case .admit(.retransmission): counters.admittedRetransmissions += 1
        case .admit(.untracked): counters.admittedUntracked += 1
        case .drop(.budget): counters.droppedBudget += 1
        case .drop(.uncredentialedLimit): counters.droppedUncredentialedLimit += 1
        case .drop(.exhausted): counters.droppedExhausted += 1
        case .drop(.holdExpired): counters.droppedHoldExpired += 1
        case .drop(.unjudgeableCredentials), .drop(.fragment), .drop(.retransmissionOfHeld), .hold: break
        }
        return decision
    }

    private func canHold(_ slot: Int) -> Bool {
        holdUS > 0 && slots[slot].heldCount < policy.maxHeldPerSource && heldCount < policy.maxHeldTotal
            && holdOrder.count - holdOrderHead < 4 * max(policy.maxHeldTotal, 1)
    }

    // MARK: Held requests

    /// Requests held right now.
    public var heldRequests: Int { heldCount }

    /// Moves the verdicts of held requests decided so far into `buffer` (appending).
    public mutating func takeReleases(into buffer: inout [AdmissionRelease]) {
        guard !releases.isEmpty else { return }
        buffer.append(contentsOf: releases)
        releases.removeAll(keepingCapacity: true)
    }

    /// Decides every held request whose hold time has passed at `time`: admitted if room
    /// has appeared meanwhile, else dropped (`hold_expired`).
    public mutating func expireHeld(time: Timestamp) {
        expireHeld(now: time.microseconds)
    }

    private mutating func expireHeld(now: Int64) {
        while holdOrderHead < holdOrder.count, holdOrder[holdOrderHead].deadline <= now {
            let due = holdOrder[holdOrderHead]
            holdOrderHead += 1
            guard let slot = index[due.key], slots[slot].heldCount > 0 else { continue }
            prune(slot, now: now)
            admitHeld(slot, now: now)
            // Holds leave each queue from its front, in deadline order: if this one is
            // still held, it is at the front of one of them, and no room came in time.
            for credentialed in [true, false] where slots[slot].held(credentialed).first?.ticket == due.ticket {
                let held = slots[slot].takeFirstHeld(credentialed)
                release(held.ticket, .drop(.holdExpired))
            }
        }
        if holdOrderHead == holdOrder.count {
            holdOrder.removeAll(keepingCapacity: true)
            holdOrderHead = 0
        } else if holdOrderHead > 1_024, holdOrderHead * 2 > holdOrder.count {
            holdOrder.removeFirst(holdOrderHead)
            holdOrderHead = 0
        }
    }

    /// Admits the source's held requests, oldest first in each kind, while they fit.
    private mutating func admitHeld(_ slot: Int, now: Int64) {
        guard slots[slot].heldCount > 0 else { return }
        for credentialed in [true, false] {
            while let held = slots[slot].held(credentialed).first {
                let decision = place(held.request, in: slot, now: now)
                guard case .admit = decision else { break }
                _ = slots[slot].takeFirstHeld(credentialed)
                release(held.ticket, decision)
            }
        }
    }

    /// Gives every held request of `slot` the verdict `decision` (the source is exhausted,
    /// allowlisted or forgotten).
    private mutating func releaseAllHeld(_ slot: Int, as decision: AdmissionDecision) {
        guard slots[slot].heldCount > 0 else { return }
        for held in slots[slot].takeAllHeld() { release(held.ticket, decision) }
    }

    private mutating func release(_ ticket: UInt32, _ decision: AdmissionDecision) {
        heldCount -= 1
        if decision.isAdmitted { counters.heldAdmitted += 1 } else { counters.heldDropped += 1 }
        releases.append(AdmissionRelease(ticket: ticket, decision: count(decision)))
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
                // One more request in flight per distinct account that succeeded (bounded):
                // an attacker holding one valid password earns one, an office of phones many.
                if slots[slot].successfulUsers.count < policy.successCredit {
                    slots[slot].successfulUsers.insert(userHash(pending.user))
                }
                slots[slot].lastSuccess = now
                admitHeld(slot, now: now)
                return []
            }
            guard status == 401 || status == 403 || status == 407 else {
                admitHeld(slot, now: now)
                return []
            }
            let events = recordFailure(
                slot: slot, client: client, pending: pending, status: status, response: response, flow: flow, now: now
            )
            admitHeld(slot, now: now)
            return events
        }
        if let i = slots[slot].uncredentialed.firstIndex(where: { $0.hash == hash }) {
            if status < 200 {
                slots[slot].uncredentialed[i].expires = now &+ timeoutUS
            } else {
                slots[slot].uncredentialed.remove(at: i)
                admitHeld(slot, now: now)
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
        guard failures >= slots[slot].maxRetry else { return [.failure(event)] }
        counters.exhaustions += 1
        let until = now &+ banTimeUS
        slots[slot].exhaustedUntil = until
        releaseAllHeld(slot, as: .drop(.exhausted))
        // A fresh budget after the ban; nothing is admitted meanwhile.
        slots[slot].failureTimes.removeAll()
        slots[slot].credentialed.removeAll()
        slots[slot].uncredentialed.removeAll()
        slots[slot].successfulUsers = []
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
            slots[slot].successfulUsers = []
        }
    }

    /// The slot for `key`, creating it (evicting when full).
    private mutating func slotFor(_ key: IPAddress, now: Int64) -> Int {
        if let slot = index[key] { return slot }
        if slots.count >= policy.maxSources { evictOne(now: now) }
        slots.append(SourceEntry(key: key, lastSeen: now, maxRetry: maxRetry(of: key)))
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
            releaseAllHeld(victim, as: .drop(.holdExpired))
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

    /// The randomly seeded hash of an account name (nil: a request without a user name).
    private func userHash(_ user: String?) -> Int {
        var hasher = Hasher()
        hasher.combine(user)
        return hasher.finalize()
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

/// A request admitted (or held), with what a failure event needs (user, user agent and
/// method only for credentialed requests).
private struct Pending: Sendable {
    var hash: Int
    var expires: Int64
    var credentialed: Bool
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

/// A request waiting for room, with the caller's ticket for its deferred verdict.
private struct HeldRequest: Sendable {
    var ticket: UInt32
    var request: Pending
}

/// When a hold ends, in the order holds were made.
private struct HoldDeadline: Sendable {
    var deadline: Int64
    var key: IPAddress
    var ticket: UInt32
}

/// A first-in first-out queue of held requests (amortised O(1) at both ends).
private struct HeldQueue: Sendable {
    private var items: [HeldRequest] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }
    var first: HeldRequest? { head < items.count ? items[head] : nil }

    mutating func append(_ request: HeldRequest) { items.append(request) }

    mutating func removeFirst() -> HeldRequest {
        let request = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: items.capacity <= 256)
            head = 0
        } else if head >= 256, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return request
    }

    mutating func removeAll() -> ArraySlice<HeldRequest> {
        defer {
            items = []
            head = 0
        }
        return items[head...]
    }
}

private struct SourceEntry: Sendable {
    var key: IPAddress
    var lastSeen: Int64
    var exhaustedUntil: Int64 = .min
    /// Its max-retry: the policy's, or a lower one of a provider, AS or list rule.
    var maxRetry: Int
    /// Times of failures inside the window, oldest first (at most `maxRetry`).
    var failureTimes: [Int64] = []
    var credentialed: [Pending] = []
    var uncredentialed: [Outstanding] = []
    /// Requests waiting for room, per kind, and their transaction hashes (to absorb
    /// retransmissions of a held request).
    var heldCredentialed = HeldQueue()
    var heldUncredentialed = HeldQueue()
    var heldHashes: Set<Int> = []
    /// The accounts (hashed user names) whose credentialed requests succeeded: each earns
    /// one more request in flight (at most the policy's success credit); all forgotten
    /// `findTime` after the last success.
    var successfulUsers: Set<Int> = []
    var credit: Int { successfulUsers.count }
    var lastSuccess: Int64 = .min

    init(key: IPAddress, lastSeen: Int64, maxRetry: Int) {
        self.key = key
        self.lastSeen = lastSeen
        self.maxRetry = maxRetry
    }

    var heldCount: Int { heldCredentialed.count + heldUncredentialed.count }

    func held(_ credentialed: Bool) -> HeldQueue { credentialed ? heldCredentialed : heldUncredentialed }

    mutating func hold(_ request: HeldRequest) {
        if request.request.credentialed { heldCredentialed.append(request) } else { heldUncredentialed.append(request) }
        heldHashes.insert(request.request.hash)
    }

    mutating func takeFirstHeld(_ credentialed: Bool) -> HeldRequest {
        let request = credentialed ? heldCredentialed.removeFirst() : heldUncredentialed.removeFirst()
        heldHashes.remove(request.request.hash)
        if heldCount == 0 { heldHashes = [] }
        return request
    }

    mutating func takeAllHeld() -> [HeldRequest] {
        heldHashes = []
        return Array(heldCredentialed.removeAll()) + Array(heldUncredentialed.removeAll())
    }

    /// Whether `request` repeats one admitted and still in flight (a retransmission).
    func isOutstanding(_ request: Pending) -> Bool {
        request.credentialed
            ? credentialed.contains(where: { $0.hash == request.hash })
            : uncredentialed.contains(where: { $0.hash == request.hash })
    }

    var isEmpty: Bool {
        exhaustedUntil == .min && failureTimes.isEmpty && credentialed.isEmpty && uncredentialed.isEmpty && heldCount == 0
    }

    /// How much is lost by forgetting this entry (lower is evicted first).
    func retentionValue(now: Int64) -> Int {
        if exhaustedUntil > now { return 3 }
        if !failureTimes.isEmpty { return 2 }
        if !credentialed.isEmpty || heldCount > 0 { return 1 }
        return 0
    }
}
