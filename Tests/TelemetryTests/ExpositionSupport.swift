// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

/// One sample line of a Prometheus text exposition: `name{l="v",…} value`.
struct ExposedSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Reads the sample lines of a text exposition (format 0.0.4): comments skipped, label
/// values unescaped. Written from the format, enough for sipwarden's output (no
/// timestamps, no `}` or `,` escaped inside label values).
func exposedSamples(_ text: String) -> [ExposedSample] {
    var samples: [ExposedSample] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
        guard let space = line.lastIndex(of: " "),
            let value = Double(line[line.index(after: space)...]) ?? infinity(line[line.index(after: space)...])
        else {
            Issue.record("not a sample line: \(line)")
            continue
        }
        let head = line[..<space]
        var labels: [String: String] = [:]
        var name = String(head)
        if let open = head.firstIndex(of: "{"), head.last == "}" {
            name = String(head[..<open])
            let body = head[head.index(after: open)..<head.index(before: head.endIndex)]
            for pair in body.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[1].hasPrefix("\""), parts[1].hasSuffix("\"") else {
                    Issue.record("bad label in \(line)")
                    continue
                }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                    .replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
            }
        }
        samples.append(ExposedSample(name: name, labels: labels, value: value))
    }
    return samples
}

private func infinity(_ text: Substring) -> Double? {
    switch text {
    case "+Inf": .infinity
    case "-Inf": -.infinity
    default: nil
    }
}

/// The value of the one sample with this name and exactly these labels (nil: none).
func value(_ samples: [ExposedSample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
    let matching = samples.filter { $0.name == name && $0.labels == labels }
    #expect(matching.count <= 1, "\(name)\(labels) appears \(matching.count) times")
    return matching.first?.value
}

/// The package root (this file is Tests/TelemetryTests/ExpositionSupport.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Runs a program and returns its exit status and what it wrote to stdout and stderr.
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Whether `python3` (from PATH) can import prometheus_client (scripts/install-deps.sh
/// installs it).
let pythonHasPrometheusClient: Bool = {
    (try? run("python3", ["-c", "import prometheus_client"]).status) == 0
}()

/// Why the tests that run integration/api/check-metrics.py are skipped.
let needsPrometheusClient: Comment = "needs python3 with prometheus_client: pip install prometheus-client (scripts/install-deps.sh)"

/// Runs integration/api/check-metrics.py on `exposition` (written to a temporary file) with
/// `arguments` after the file.
func checkMetrics(_ exposition: String, _ arguments: [String] = []) throws -> (status: Int32, output: String) {
    let path = try writeTemporary(exposition, name: "exposition.txt")
    let script = packageRoot.appendingPathComponent("integration/api/check-metrics.py").path
    return try run("python3", [script, path] + arguments)
}
