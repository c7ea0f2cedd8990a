// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import NetworkAddress
import SIPWarden
import Testing

@Suite struct ConfigurationAggregationTests {
    @Test func onByDefaultAtSlash24AndSlash48() {
        let steps = Configuration().detection.aggregation.steps
        #expect(steps == [AggregationStep(scope: .prefix(ipv4: 24, ipv6: 48), failures: 10, distinctHosts: 3, findTime: .seconds(600))])
    }

    @Test func everyKeyIsRead() throws {
        let yaml = """
            detection:
              aggregation:
                failures: 12
                distinct-hosts: 4
                find-time: 5m
                ipv4-prefix: 23
                ipv6-prefix: 56
                wider:
                  - { ipv4-prefix: 20, ipv6-prefix: 44, failures: 40, distinct-hosts: 8 }
                  - { announced: true, failures: 100, distinct-hosts: 20, find-time: 1h }
                trunks: [203.0.113.10, 198.51.100.0/28]
                success-memory: 2h
                max-tracked-prefixes: 500
            """
        let a = try ConfigurationFile.parse(yaml, file: "a.yaml").detection.aggregation
        #expect(
            a.steps == [
                AggregationStep(scope: .prefix(ipv4: 23, ipv6: 56), failures: 12, distinctHosts: 4, findTime: .seconds(300)),
                AggregationStep(scope: .prefix(ipv4: 20, ipv6: 44), failures: 40, distinctHosts: 8, findTime: .seconds(300)),
                AggregationStep(scope: .announced, failures: 100, distinctHosts: 20, findTime: .seconds(3600)),
            ])
        #expect(
            a.protected == [
                ProtectedNetwork(IPNetwork("203.0.113.10")!, reason: .trunk), ProtectedNetwork(IPNetwork("198.51.100.0/28")!, reason: .trunk),
            ])
        #expect(a.successMemory == .seconds(7200))
        #expect(a.maxTrackedPrefixes == 500)
    }

    @Test func offDisablesIt() throws {
        #expect(try ConfigurationFile.parse("detection:\n  aggregation: off\n", file: "o.yaml").detection.aggregation.steps.isEmpty)
    }

    @Test(arguments: [
        ("detection:\n  aggregation:\n    failure: 3\n", "unknown key"),
        ("detection:\n  aggregation:\n    distinct-hosts: 1\n", "between"),
        ("detection:\n  aggregation:\n    wider:\n      - { ipv4-prefix: 20, failures: 5, distinct-hosts: 3 }\n", "wider step"),
        ("detection:\n  aggregation:\n    trunks: [not-an-address]\n", "CIDR"),
        ("detection:\n  kinds:\n    auth_succeeded: { max-retry: 3 }\n", "not a failure"),
    ])
    func invalidIsRefused(yaml: String, message: String) {
        do {
            _ = try ConfigurationFile.parse(yaml, file: "bad.yaml")
            Issue.record("accepted invalid configuration: \(yaml)")
        } catch {
            #expect(error.message.contains(message), "\(error)")
        }
    }
}
