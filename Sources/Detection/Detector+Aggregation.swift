// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// Everything one event decided: verdicts (the host's first, then its prefixes', narrow
/// to wide) and the prefix bans that protection blocked.
public struct Judgement: Sendable {
    public var verdicts: [Verdict] = []
    /// Prefixes that reached their threshold and were not banned, with the rule that
    /// blocked each (reported once per prefix per find-time).
    public var blocked: [BlockedAggregation] = []

    public init() {}
}

/// A prefix ban that protection blocked: which prefix, which rule, which protected network.
public struct BlockedAggregation: Hashable, Sendable, CustomStringConvertible {
    public var network: IPNetwork
    public var reason: AggregationBlock
    /// The protected network inside it (for `succeeded`: the prefix itself).
    public var protected: IPNetwork
    /// Failures and distinct hosts that reached the threshold.
    public var failures: Int
    public var hosts: Int

    public var description: String {
        let what: String
        switch reason {
        case .allowlist: what = "contains allowlisted \(protected)"
        case .trunk: what = "contains trunk \(protected)"
        case .ownAddress: what = "contains own address \(protected)"
        case .peer: what = "contains inline/HEP peer \(protected)"
        case .succeeded: what = "a host in it authenticated successfully"
        }
        return "\(network) not banned (\(failures) failures from \(hosts) hosts): \(what) [\(reason.rawValue)]"
    }
}

extension Detector {
    /// The longest window of the aggregation steps.
    var aggregationFindTime: Duration {
        policy.aggregation.steps.map(\.findTime).max() ?? .zero
    }

    /// Heap and table bytes of the prefix windows (see ``DetectorMemory/prefixBoundBytes``).
    var prefixHeldBytes: Int {
        guard memory.prefixCapacity > 0 else { return 0 }
        var b = memory.prefixTableBytes(buckets: prefixes.bucketCount)
        for e in prefixes.entries.values { b += e.heapBytes }
        return b
    }

    /// A keyed hash of a host (never 0), to count distinct hosts without storing them.
    static func hostHash(_ address: IPAddress) -> UInt64 {
        var h = Hasher()
        h.combine(address)
        let v = UInt64(bitPattern: Int64(h.finalize()))
        return v == 0 ? 1 : v
    }

    /// The host authenticated: its failures leave every prefix window it is counted in,
    /// its later failures never count, and its prefixes are not banned for
    /// `success-memory`.
    mutating func noteSuccess(of source: IPAddress, now: Timestamp) {
        counters.successes += 1
        let address = source.unmapped
        let slot = slot(for: NetworkKey(policy.banNetwork(for: address)), now: now)
        table[slot].succeeded = true
        if table[slot].lastSeen < now.microseconds { table[slot].lastSeen = now.microseconds }
        let host = Self.hostHash(policy.banNetwork(for: address).address)
        let until = (now + policy.aggregation.successMemory).microseconds
        for (i, step) in policy.aggregation.steps.enumerated() {
            guard let network = step.network(for: address, host: policy.banNetwork(for: address), announced: announcedPrefixes) else { continue }
            let key = PrefixKey(network: NetworkKey(network), step: UInt8(i))
            prefixes.update(key, ringCapacity: step.failures, now: now.microseconds) { e in
                e.remove(host: host)
                e.shieldedUntil = max(e.shieldedUntil, until)
                e.lastSeen = max(e.lastSeen, now.microseconds)
            }
        }
    }

    /// Counts a failure towards the prefixes of its source, narrow to wide; a prefix that
    /// reaches its step's threshold is banned unless it is protected.
    mutating func aggregate(_ event: SecurityEvent, now: Timestamp, into judgement: inout Judgement) {
        let steps = policy.aggregation.steps
        guard !steps.isEmpty else { return }
        let address = event.source.unmapped
        let hostNetwork = policy.banNetwork(for: address)
        let hostKey = NetworkKey(hostNetwork)
        if let slot = table.find(hostKey), table[slot].succeeded { return }
        // A "host" is what a host ban covers (an address, or a /64 if so configured).
        let hit = PrefixHit(time: now.microseconds, host: Self.hostHash(hostKey.network.address))
        var firstVerdict = judgement.verdicts.count
        var blockedWider: [BlockedAggregation] = []
        for (i, step) in steps.enumerated() {
            guard let network = step.network(for: address, host: hostNetwork, announced: announcedPrefixes) else { continue }
            let key = PrefixKey(network: NetworkKey(network), step: UInt8(i))
            let t = now.microseconds
            let outcome: (fired: Bool, hosts: Int, span: Int64, shielded: Bool, report: Bool) =
                prefixes.update(key, ringCapacity: step.failures, now: t) { e in
                    e.lastSeen = max(e.lastSeen, t)
                    guard e.bannedUntil <= t else { return (false, 0, 0, false, false) }
                    let r = e.record(hit, step: step)
                    guard r.fired else { return (false, 0, 0, false, false) }
                    let shielded = e.shieldedUntil > t
                    e.clear()
                    let report = e.reportedUntil <= t
                    if report { e.reportedUntil = t + step.findTime.microsecondsClamped }
                    return (true, r.hosts, r.span, shielded, report)
                }
            guard outcome.fired else { continue }
            let block: (AggregationBlock, IPNetwork)? =
                outcome.shielded
                ? (.succeeded, network)
                : protectedNetworks.first { $0.network.contains(network) || network.contains($0.network) }.map { ($0.reason, $0.network) }
            if let (reason, protected) = block {
                counters.prefixBansBlocked += 1
                let b = BlockedAggregation(network: network, reason: reason, protected: protected, failures: step.failures, hosts: outcome.hosts)
                if outcome.report { judgement.blocked.append(b) }
                blockedWider.append(b)
                continue
            }
            let offence = nextOffence(for: network, now: now)
            let banTime = policy.banDuration(offence: offence)
            let span = outcome.span / 1000
            var reason =
                "\(step.failures) failures from \(outcome.hosts)+ hosts of \(network) in \(span >= 10_000 ? "\(span / 1000) s" : "\(span) ms")"
            if offence > 1 { reason += "; repeat offence #\(offence)" }
            let verdict = Verdict(
                network: network, rule: .aggregate, origin: .detector, offence: offence, created: now, duration: banTime,
                reason: reason, evidence: [Self.trimmed(event)]
            )
            prefixes[key]?.bannedUntil = (now + banTime).microseconds
            offenders[network] = OffenceRecord(count: offence, lastBan: now)
            counters.verdicts += 1
            counters.prefixVerdicts += 1
            judgement.verdicts.append(verdict)
        }
        // A narrower ban names the wider ones protection blocked (ledger reason).
        if !blockedWider.isEmpty {
            while firstVerdict < judgement.verdicts.count {
                let v = judgement.verdicts[firstVerdict]
                if v.rule == .aggregate {
                    let wider = blockedWider.filter { $0.network.contains(v.network) && $0.network != v.network }
                    if !wider.isEmpty {
                        judgement.verdicts[firstVerdict].reason += "; wider " + wider.map(\.description).joined(separator: "; ")
                    }
                }
                firstVerdict += 1
            }
        }
    }

    /// A prefix ban made elsewhere (operator, ledger): its windows stop counting until `until`.
    mutating func notePrefixBan(_ network: IPNetwork, until: Timestamp?) {
        for (i, step) in policy.aggregation.steps.enumerated() {
            guard case .prefix(let v4, let v6) = step.scope,
                network.prefixLength == (network.family == .v4 ? v4 : v6)
            else { continue }
            let key = PrefixKey(network: NetworkKey(network), step: UInt8(i))
            let t = until?.microseconds ?? .max
            prefixes.update(key, ringCapacity: step.failures, now: t) { e in
                e.bannedUntil = t
                e.clear()
            }
        }
    }

    /// Carries bans and success shields over a reload (windows start empty).
    mutating func carryPrefixes(from old: Detector) {
        guard old.policy.aggregation.steps == policy.aggregation.steps else { return }
        for (key, e) in old.prefixes.entries where e.bannedUntil != .min || e.shieldedUntil != .min {
            let step = policy.aggregation.steps[Int(key.step)]
            prefixes.update(key, ringCapacity: step.failures, now: e.lastSeen) { n in
                n.bannedUntil = e.bannedUntil
                n.shieldedUntil = e.shieldedUntil
                n.lastSeen = e.lastSeen
            }
        }
    }
}
