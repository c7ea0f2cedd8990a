// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import NetworkAddress
import Yams

// `detection.aggregation` (issue 10, item 4): prefixes as sources. Kept apart from the
// rest of the configuration reader; docs/CONFIGURATION.md "Aggregation".
extension YAMLNodeReader {
    /// `aggregation: off` or a mapping: the first step's `failures`, `distinct-hosts`,
    /// `find-time`, `ipv4-prefix`, `ipv6-prefix`; `wider` (a list of stronger steps, the
    /// last may be `announced: true`); `trunks`; `success-memory`; `max-tracked-prefixes`.
    func aggregation(_ node: Node, _ key: String, base: AggregationPolicy) throws(ConfigurationError) -> AggregationPolicy {
        if case .scalar = node {
            if try !bool(node, key) { return .off }
            return base.steps.isEmpty ? AggregationPolicy(protected: base.protected) : base
        }
        var policy = base.steps.isEmpty ? AggregationPolicy(protected: base.protected) : base
        var first = policy.steps[0]
        var wider: [AggregationStep]?
        for (k, kn, v) in try mapping(node, key) {
            let path = join(key, k)
            switch k {
            case "failures", "distinct-hosts", "find-time", "ipv4-prefix", "ipv6-prefix":
                try aggregationStepKey(k, v, path, &first)
            case "wider":
                var steps: [AggregationStep] = []
                for (i, item) in try list(v, path).enumerated() {
                    let itemPath = "\(path)[\(i)]"
                    var step = AggregationStep(scope: .prefix(ipv4: 16, ipv6: 32), failures: 100, distinctHosts: 10, findTime: first.findTime)
                    for (sk, skn, sv) in try mapping(item, itemPath) {
                        if sk == "announced" {
                            if try bool(sv, join(itemPath, sk)) { step.scope = .announced }
                            continue
                        }
                        guard ["failures", "distinct-hosts", "find-time", "ipv4-prefix", "ipv6-prefix"].contains(sk) else {
                            throw unknown(
                                skn, join(itemPath, sk), ["failures", "distinct-hosts", "find-time", "ipv4-prefix", "ipv6-prefix", "announced"])
                        }
                        try aggregationStepKey(sk, sv, join(itemPath, sk), &step)
                    }
                    steps.append(step)
                }
                wider = steps
            case "trunks":
                policy.protected.removeAll { $0.reason == .trunk }
                for item in try list(v, path) {
                    let s = try string(item, path)
                    guard let n = IPNetwork(s) else { throw fail(item, path, "expected an address or CIDR prefix, got '\(s)'") }
                    policy.protected.append(ProtectedNetwork(n, reason: .trunk))
                }
            case "success-memory": policy.successMemory = try duration(v, path)
            case "max-tracked-prefixes": policy.maxTrackedPrefixes = try int(v, path, 16...10_000_000)
            default:
                throw unknown(
                    kn, path,
                    [
                        "failures", "distinct-hosts", "find-time", "ipv4-prefix", "ipv6-prefix", "wider", "trunks", "success-memory",
                        "max-tracked-prefixes",
                    ])
            }
        }
        policy.steps = [first] + (wider ?? Array(policy.steps.dropFirst()))
        return policy
    }

    private func bool(_ node: Node, _ key: String) throws(ConfigurationError) -> Bool { try value(node, key) }
    private func string(_ node: Node, _ key: String) throws(ConfigurationError) -> String { try value(node, key) }
    private func duration(_ node: Node, _ key: String) throws(ConfigurationError) -> Duration { try value(node, key) }
    private func int(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int { try integer(node, key, range) }

    private func aggregationStepKey(_ k: String, _ v: Node, _ path: String, _ step: inout AggregationStep) throws(ConfigurationError) {
        switch k {
        case "failures": step.failures = try int(v, path, 2...1000)
        case "distinct-hosts": step.distinctHosts = try int(v, path, 2...1000)
        case "find-time": step.findTime = try duration(v, path)
        case "ipv4-prefix", "ipv6-prefix":
            let (v4, v6): (Int, Int)
            if case .prefix(let a, let b) = step.scope { (v4, v6) = (a, b) } else { (v4, v6) = (24, 48) }
            let n = k == "ipv4-prefix" ? try int(v, path, 8...31) : try int(v, path, 16...127)
            step.scope = k == "ipv4-prefix" ? .prefix(ipv4: n, ipv6: v6) : .prefix(ipv4: v4, ipv6: n)
        default: break
        }
    }
}

extension Configuration {
    /// The networks no prefix ban may cover besides the allowlist: the configured trunks,
    /// this host's own addresses and the HEP agents (the inline peer, the PBX, is this host).
    static func protectAggregation(_ config: inout Configuration, ownAddresses: IPNetworkSet) {
        var protected = config.detection.aggregation.protected.filter { $0.reason == .trunk }
        protected += ownAddresses.networks.map { ProtectedNetwork($0, reason: .ownAddress) }
        if let hep = config.hep { protected += hep.agents.networks.map { ProtectedNetwork($0, reason: .peer) } }
        config.detection.aggregation.protected = protected
    }
}
