// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Telemetry
import Testing

/// contrib/grafana/sipwarden.json, read as Grafana reads it.
private struct Dashboard {
    let json: [String: Any]
    /// Every panel (rows' panels included) with the expressions of its targets.
    var panels: [(title: String, datasource: String?, expressions: [String])] {
        func walk(_ list: [[String: Any]]) -> [(String, String?, [String])] {
            list.flatMap { panel -> [(String, String?, [String])] in
                let targets = panel["targets"] as? [[String: Any]] ?? []
                let datasource = (panel["datasource"] as? [String: Any])?["uid"] as? String
                let own = (panel["title"] as? String ?? "?", datasource, targets.compactMap { $0["expr"] as? String })
                return [own] + walk(panel["panels"] as? [[String: Any]] ?? [])
            }
        }
        return walk(json["panels"] as? [[String: Any]] ?? []).map { (title: $0.0, datasource: $0.1, expressions: $0.2) }
    }

    var variables: [[String: Any]] { (json["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? [] }

    init() throws {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("contrib/grafana/sipwarden.json"))
        json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// The `sipwarden_…` names an expression uses.
private func metricNames(in expression: String) throws -> Set<String> {
    let name = try Regex(#"sipwarden_[A-Za-z0-9_]+"#)
    return Set(expression.matches(of: name).map { String(expression[$0.range]) })
}

@Suite("The Grafana dashboard shows only what the exposition has")
struct DashboardTests {
    @Test("every expression names series the exposition has; the data source is a template variable")
    func expressionsNameExposedSeries() throws {
        let dashboard = try Dashboard()
        // The series names of an exposition where every family was recorded.
        let exposed = Set(exposedSamples(fullyRecorded().exposition()).map(\.name))
            .union(MetricFamily.all.filter { $0.kind == .counter }.map(\.name))
        let panels = dashboard.panels.filter { !$0.expressions.isEmpty }
        #expect(panels.count >= 10)
        var used = Set<String>()
        for panel in panels {
            #expect(panel.datasource == "${datasource}", "panel \(panel.title)")
            for expression in panel.expressions {
                let names = try metricNames(in: expression)
                #expect(!names.isEmpty, "panel \(panel.title): \(expression)")
                for name in names.subtracting(exposed) {
                    Issue.record("panel \(panel.title): \(name) is not in the exposition")
                }
                used.formUnion(names)
            }
        }
        let datasource = dashboard.variables.first { $0["name"] as? String == "datasource" }
        #expect(datasource?["type"] as? String == "datasource")
        #expect(datasource?["query"] as? String == "prometheus")

        // The panels the dashboard promises.
        for required in [
            "sipwarden_bans_total", "sipwarden_ban_latency_seconds_bucket", "sipwarden_kernel_ban_duration_seconds_bucket",
            "sipwarden_events_decoded_total", "sipwarden_unmatched_lines_total", "sipwarden_flood_guard_dropped_packets_total",
            "sipwarden_capture_dropped_packets_total", "sipwarden_tracked_sources", "sipwarden_active_bans",
            "sipwarden_consumer_queue_depth", "sipwarden_consumer_queue_dropped_total",
        ] {
            #expect(used.contains(required), "no panel shows \(required)")
        }
    }

    @Test(
        "the check script accepts the dashboard against a full exposition",
        .enabled(if: pythonHasPrometheusClient, needsPrometheusClient)
    )
    func checkScriptAcceptsTheDashboard() throws {
        let dashboard = packageRoot.appendingPathComponent("contrib/grafana/sipwarden.json").path
        let result = try checkMetrics(fullyRecorded().exposition(), ["--dashboard", dashboard])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test("docs/METRICS.md describes every family")
    func documented() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("docs/METRICS.md"), encoding: .utf8)
        for family in MetricFamily.all {
            #expect(text.contains("`\(family.name)`"), "\(family.name) is not in docs/METRICS.md")
        }
    }
}
