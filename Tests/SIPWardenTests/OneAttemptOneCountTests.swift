// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Logging
import NetworkAddress
import SIPWarden
import Testing
import WardenCore

private func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

/// The Asterisk `messages` line and the `security` log entry chan_pjsip writes for one
/// failed registration (same source, port and account).
private func messagesLine(_ second: Int, port: Int = 5062) -> String {
    "[2025-11-24 10:00:\(two(second))] NOTICE[1234] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:100@198.18.0.1>' failed for '198.18.0.7:\(port)' (callid: c\(second)) - Failed to authenticate"
}

private func securityLine(_ second: Int, port: Int = 5062) -> String {
    "[2025-11-24 10:00:\(two(second))] SECURITY[77] res_security_log.c: SecurityEvent=\"ChallengeResponseFailed\",EventTV=\"2025-11-24T10:00:\(two(second)).300+0000\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"1\",AccountID=\"100\",SessionID=\"c\(second)\",LocalAddress=\"IPV4/UDP/198.18.0.1/5060\",RemoteAddress=\"IPV4/UDP/198.18.0.7/\(port)\",Challenge=\"1/a\",Response=\"0\",ExpectedResponse=\"\""
}

@Suite struct OneAttemptOneCountTests {
    private func replay(messages: [String], security: [String]) throws -> [Verdict] {
        let base = "/tmp/sipwarden-merge-\(UInt32.random(in: 0...UInt32.max))"
        try writeFile(base + "-messages", messages.joined(separator: "\n") + "\n")
        try writeFile(base + "-security", security.joined(separator: "\n") + "\n")
        defer {
            removeFile(base + "-messages")
            removeFile(base + "-security")
        }
        return try OfflineAnalysis.replay(
            files: [base + "-messages", base + "-security"], selection: .auto, policy: DetectionPolicy(),
            reference: Timestamp(seconds: 1_764_072_000)
        )
    }

    @Test func bothAsteriskLogsCountEachAttemptOnce() throws {
        // Three attempts, each in both logs: three failures, not six (max-retry is 5).
        #expect(try replay(messages: (0..<3).map { messagesLine($0) }, security: (0..<3).map { securityLine($0) }).isEmpty)
        // Five attempts in both logs: banned at the fifth, with five pieces of evidence.
        let verdicts = try replay(messages: (0..<5).map { messagesLine($0) }, security: (0..<5).map { securityLine($0) })
        #expect(verdicts.map(\.network) == [IPNetwork("198.18.0.7")!])
        #expect(verdicts.first?.evidence.count == 5)
        #expect(verdicts.first?.reason.hasPrefix("5 failures") == true)
    }

    @Test func oneLogAloneStillCountsEveryAttempt() throws {
        // A burst from one port in one log: every line counts.
        let burst = (0..<5).map { _ in messagesLine(1) }
        #expect(try replay(messages: burst, security: []).count == 1)
    }

    @Test func thePipelineMergesTwoWatchedLogs() throws {
        let clock = ManualClock()
        let firewall = DryRunFirewall(logger: Logger(label: "test"))
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: Logger(label: "test"), clock: clock.clock)
        func feed(_ line: String, _ path: String) {
            var text = line + "\n"
            text.withUTF8 { pipeline.process(lines: $0, firstLineNumber: 1, source: LogSource(path: path, dialect: .only(.asterisk))) }
        }
        for i in 0..<4 {
            feed(messagesLine(i), "/var/log/asterisk/messages")
            feed(securityLine(i), "/var/log/asterisk/security")
            clock.advance(.milliseconds(200))
        }
        #expect(try firewall.list().isEmpty, "four attempts seen twice are four failures")
        #expect(pipeline.statistics.pipeline.mergedEvents == 4)
        feed(securityLine(4), "/var/log/asterisk/security")
        #expect(try firewall.list().map(\.network) == [IPNetwork("198.18.0.7")!])
    }
}
