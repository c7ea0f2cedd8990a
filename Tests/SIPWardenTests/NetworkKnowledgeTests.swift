// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Foundation
import IntelStore
import Logging
import NetworkAddress
import RangePolicy
import Synchronization
import Testing
import WardenCore

@testable import SIPWarden

/// The intelligence store in the daemon: selectors of range blocks and the detector's lower
/// max-retries, over the published samples in ../shared/corpus/ranges imported into a
/// throwaway state directory.
@Suite("intel store in the daemon: range selectors and per-provider max-retry")
struct NetworkKnowledgeTests {
    let logger = Logger(label: "test")

    /// A state directory holding AWS's and iptoasn's samples, and a configuration over it.
    func withState(_ yaml: String = "", _ body: (Configuration) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sw-knowledge-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try IntelTool.importFiles(
            ["\(IntelToolTests.ranges)/aws-ip-ranges.excerpt.json", "\(IntelToolTests.ranges)/ip2asn-v4.sample.tsv"],
            name: nil, format: nil, stateDirectory: dir)
        try body(try ConfigurationFile.parse("state: \(dir)\nfirewall: dry-run\n" + yaml, file: "test.yaml"))
    }

    func failure(_ source: String, at seconds: Int64) -> SecurityEvent {
        SecurityEvent(
            time: Timestamp(microseconds: seconds * 1_000_000), source: IPAddress(source)!, kind: .authFailed, user: "100",
            dialect: .kamailio, origin: .logLine(file: "t.log", line: 1))
    }

    @Test("aws:EC2 with max-retry 1 bans an EC2 address at its first failure; others keep the policy's")
    func providerMaxRetry() throws {
        try withState("ranges:\n  rules:\n    aws:EC2: { max-retry: 1 }\n") { config in
            let clock = Mutex(Timestamp(microseconds: 1_000_000))
            let pipeline = Pipeline(
                policy: config.detection, firewall: DryRunFirewall(logger: logger), fanOut: nil, logger: logger,
                clock: { clock.withLock { $0 } })
            let intel = IntelService(configuration: config, pipeline: pipeline, logger: logger)
            #expect(intel.reload().contains("datasets"))
            pipeline.judge([failure("3.5.140.9", at: 1)], received: Timestamp(microseconds: 1))
            #expect(pipeline.statistics.pipeline.bans == 1, "EC2 (3.5.140.0/22 in the sample): banned at once")
            for i in 0..<4 { pipeline.judge([failure("1.0.0.1", at: 2 + Int64(i))], received: Timestamp(microseconds: 1)) }
            #expect(pipeline.statistics.pipeline.bans == 1, "not in EC2: four failures are not enough")
            pipeline.judge([failure("1.0.0.1", at: 7)], received: Timestamp(microseconds: 1))
            #expect(pipeline.statistics.pipeline.bans == 2)
        }
    }

    @Test("a rule whose ranges cannot be had is left out, never fatal")
    func unresolvedRule() throws {
        try withState("ranges:\n  rules:\n    AS64512: { max-retry: 1 }\n") { config in
            let knowledge = NetworkKnowledge(
                holder: IntelStoreHolder(IntelDirectory(stateDirectory: config.stateDirectory).loadStore().store), settings: config.ranges)
            #expect(knowledge.thresholds.isEmpty)
            #expect(knowledge.unresolved.map(\.0.description) == ["AS64512"])
            #expect(knowledge.unresolved.first?.1.message.contains("no ranges") == true)
        }
    }

    @Test("selectors: providers and services, AS numbers, imported and configured lists; an empty store says why")
    func selectors() throws {
        try withState { config in
            let holder = IntelStoreHolder(IntelDirectory(stateDirectory: config.stateDirectory).loadStore().store)
            let source = NetworkKnowledge.rangeSource(holder: holder, settings: config.ranges)
            let ec2 = try source.networks(for: RangeSelector.parse("aws:EC2")!)
            #expect(ec2.contains(IPNetwork("3.5.140.0/22")!))
            #expect(try source.networks(for: RangeSelector.parse("aws")!).count >= ec2.count, "the provider holds its services")
            #expect(try source.networks(for: RangeSelector.parse("AS13335")!).contains(IPNetwork("1.0.0.0/24")!))
            #expect(throws: RangeSourceError.self) { try source.networks(for: RangeSelector.parse("aws:EC2:eu-west-1")!) }
            // A list neither imported nor configured: the file source's answer.
            do throws(RangeSourceError) {
                _ = try source.networks(for: RangeSelector.parse("list:lab")!)
                Issue.record("an unknown list must not resolve")
            } catch { #expect(error.message.contains("no named list")) }
            // An empty store names the way to fill it.
            let empty = NetworkKnowledge.rangeSource(holder: IntelStoreHolder(), settings: config.ranges)
            do throws(RangeSourceError) {
                _ = try empty.networks(for: RangeSelector.parse("aws:EC2")!)
                Issue.record("an empty store must not resolve")
            } catch { #expect(error.message.contains("intel update")) }
        }
    }

    @Test("the announced prefix of an address, for aggregation's widest step")
    func announced() throws {
        try withState { config in
            let store = IntelDirectory(stateDirectory: config.stateDirectory).loadStore().store
            #expect(IntelAnnouncedPrefixes(store).announcedPrefix(of: IPAddress("1.0.0.1")!) == IPNetwork("1.0.0.0/24"))
            #expect(IntelAnnouncedPrefixes(store).announcedPrefix(of: IPAddress("1.0.2.3")!) == nil, "not routed")
        }
    }
}
