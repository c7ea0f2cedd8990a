// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// How many failures within which span of time make a ban.
public struct Threshold: Hashable, Sendable {
    /// Failures that trigger a ban: the `maxRetry`-th failure within `findTime` bans.
    public var maxRetry: Int
    public var findTime: Duration

    public init(maxRetry: Int, findTime: Duration) {
        self.maxRetry = maxRetry
        self.findTime = findTime
    }
}

/// Ban on too many distinct user names tried by one source (extension enumeration,
/// `svwar`, credential stuffing across accounts).
public struct EnumerationRule: Hashable, Sendable {
    public var distinctUsers: Int
    public var findTime: Duration

    public init(distinctUsers: Int, findTime: Duration) {
        self.distinctUsers = distinctUsers
        self.findTime = findTime
    }
}

/// Repeat offenders are banned for longer: `banTime × factor^(offence−1)`, capped.
public struct Escalation: Hashable, Sendable {
    /// Multiplier per repeat offence (1 disables escalation).
    public var factor: Int
    /// Upper bound for any ban.
    public var maxBanTime: Duration
    /// An offender's record is forgotten this long after its last ban.
    public var memory: Duration

    public init(factor: Int, maxBanTime: Duration, memory: Duration) {
        self.factor = factor
        self.maxBanTime = maxBanTime
        self.memory = memory
    }
}

/// Everything the detector decides with. A plain value: validated once at start-up.
public struct DetectionPolicy: Hashable, Sendable {
    /// The shared window for every kind without an override.
    public var threshold: Threshold
    /// Kinds judged in a window of their own (e.g. `scanner` bans at the first sighting).
    public var overrides: [EventKind: Threshold]
    public var enumeration: EnumerationRule?
    public var banTime: Duration
    public var escalation: Escalation
    /// Sources in these prefixes are never banned.
    public var allowlist: IPNetworkSet
    /// Granularity of a ban: /32 for IPv4 by default.
    public var ipv4PrefixLength: Int
    /// Granularity of a ban: /128 for IPv6 by default, /64 is a common choice.
    public var ipv6PrefixLength: Int
    /// Hard cap on sources tracked at once; beyond it the least threatening are evicted.
    /// Every bound of the detector's memory derives from it (`DetectorMemory`: at most
    /// 174 bytes per tracked source under the default windows).
    public var maxTrackedSources: Int
    /// Prefixes as sources: failures of one /24 or /48 counted together (on by default).
    public var aggregation = AggregationPolicy()

    /// The embedded defaults: 5 failures in 10 minutes ban for 10 minutes, doubling per
    /// repeat offence up to a week; scanners and floods ban at once; 20 malformed
    /// messages in a minute ban; 10 distinct users in 10 minutes is enumeration;
    /// loopback is never banned.
    public init(
        threshold: Threshold = Threshold(maxRetry: 5, findTime: .seconds(600)),
        overrides: [EventKind: Threshold] = [
            .scanner: Threshold(maxRetry: 1, findTime: .seconds(600)),
            .flood: Threshold(maxRetry: 1, findTime: .seconds(600)),
            // Strict parsing means a sloppy but honest user agent can look malformed now
            // and then: judge it by rate, apart from the password failures.
            .malformed: Threshold(maxRetry: 20, findTime: .seconds(60)),
        ],
        enumeration: EnumerationRule? = EnumerationRule(distinctUsers: 10, findTime: .seconds(600)),
        banTime: Duration = .seconds(600),
        escalation: Escalation = Escalation(factor: 2, maxBanTime: .seconds(7 * 86_400), memory: .seconds(7 * 86_400)),
        allowlist: IPNetworkSet = IPNetworkSet([IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]),
        ipv4PrefixLength: Int = 32,
        ipv6PrefixLength: Int = 128,
        maxTrackedSources: Int = 200_000
    ) {
        self.threshold = threshold
        self.overrides = overrides
        self.enumeration = enumeration
        self.banTime = banTime
        self.escalation = escalation
        self.allowlist = allowlist
        self.ipv4PrefixLength = ipv4PrefixLength
        self.ipv6PrefixLength = ipv6PrefixLength
        self.maxTrackedSources = maxTrackedSources
    }

    /// The window an event of `kind` is counted in.
    public func threshold(for kind: EventKind) -> Threshold {
        overrides[kind] ?? threshold
    }

    /// Problems that make this policy unusable, as human-readable messages (empty = valid).
    public func validationErrors() -> [String] {
        var errors: [String] = []
        func check(_ t: Threshold, _ name: String) {
            if t.maxRetry < 1 || t.maxRetry > 1000 { errors.append("\(name): max-retry must be between 1 and 1000, got \(t.maxRetry)") }
            if t.findTime <= .zero { errors.append("\(name): find-time must be positive") }
        }
        check(threshold, "default")
        for (kind, t) in overrides { check(t, kind.rawValue) }
        if overrides[.authSucceeded] != nil { errors.append("auth_succeeded is not a failure: it has no window") }
        if let e = enumeration {
            if e.distinctUsers < 2 || e.distinctUsers > 1000 {
                errors.append("enumeration: distinct-users must be between 2 and 1000, got \(e.distinctUsers)")
            }
            if e.findTime <= .zero { errors.append("enumeration: find-time must be positive") }
        }
        if banTime <= .zero { errors.append("ban-time must be positive") }
        if escalation.factor < 1 || escalation.factor > 100 { errors.append("escalation factor must be between 1 and 100") }
        if escalation.maxBanTime < banTime { errors.append("escalation max-ban-time must be at least ban-time") }
        if !(8...32).contains(ipv4PrefixLength) { errors.append("ipv4 prefix length must be between 8 and 32") }
        if !(32...128).contains(ipv6PrefixLength) { errors.append("ipv6 prefix length must be between 32 and 128") }
        if maxTrackedSources < 100 { errors.append("max tracked sources must be at least 100") }
        errors += aggregation.validationErrors(hostV4: ipv4PrefixLength, hostV6: ipv6PrefixLength)
        return errors
    }

    /// The ban length for the `offence`-th ban of one source (1 = first).
    public func banDuration(offence: Int) -> Duration {
        var duration = banTime
        var n = 1
        while n < offence && duration < escalation.maxBanTime && escalation.factor > 1 {
            duration = duration * escalation.factor
            n += 1
        }
        return min(duration, escalation.maxBanTime)
    }

    /// The prefix a ban on `address` covers.
    public func banNetwork(for address: IPAddress) -> IPNetwork {
        let a = address.unmapped
        let length = a.family == .v4 ? ipv4PrefixLength : ipv6PrefixLength
        return IPNetwork(address: a, prefixLength: length) ?? IPNetwork(host: a)
    }
}
