// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import Foundation
import LogFormats
import Logging
import NetworkAddress
import PacketDecoding
import SIPWarden
import Sensors
import Testing
import WardenCore

private func kamailioMessage(_ ip: String, user: String = "100") -> String {
    "2(123) NOTICE: <script>: SIPWARDEN event=auth_failed ts=1764072000.000001 src=\(ip) sport=5060 proto=udp method=REGISTER user=\"\(user)\" ua=\"x\""
}

private func entry(_ text: String, time: Int64 = 1_700_000_000_123_456, identifier: String? = nil, unit: String? = nil) -> JournalEntry {
    JournalEntry(message: Array(text.utf8), realtimeMicroseconds: time, identifier: identifier, unit: unit)
}

@Suite struct JournalDecodingTests {
    let now = Timestamp(seconds: 1_800_000_000)

    @Test("the dialect comes from the identifier, else the unit, else auto; a forced dialect wins")
    func dialectByIdentifier() {
        #expect(JournalDecoding.selection(identifier: "asterisk", unit: nil, configured: .auto) == .only(.asterisk))
        #expect(JournalDecoding.selection(identifier: "freeswitch", unit: "freeswitch.service", configured: .auto) == .only(.freeswitch))
        #expect(JournalDecoding.selection(identifier: "Kamailio-LB", unit: nil, configured: .auto) == .only(.kamailio))
        #expect(JournalDecoding.selection(identifier: "sh", unit: "opensips.service", configured: .auto) == .only(.opensips))
        #expect(JournalDecoding.selection(identifier: "sshd", unit: "ssh.service", configured: .auto) == .auto)
        #expect(JournalDecoding.selection(identifier: nil, unit: nil, configured: .auto) == .auto)
        #expect(JournalDecoding.selection(identifier: "asterisk", unit: nil, configured: .only(.kamailio)) == .only(.kamailio))
    }

    @Test("the identifier's dialect decides: a SIPWARDEN line from 'asterisk' is not read as Kamailio's")
    func identifierRestrictsDialect() {
        #expect(JournalDecoding.events(in: entry(kamailioMessage("198.18.0.5"), identifier: "kamailio"), configured: .auto, now: now).count == 1)
        #expect(JournalDecoding.events(in: entry(kamailioMessage("198.18.0.5"), identifier: "asterisk"), configured: .auto, now: now).isEmpty)
        let fs = "[WARNING] sofia_reg.c:1234 SIP auth failure (REGISTER) on sofia profile 'internal' for [1001@d] from ip 198.18.0.6"
        let events = JournalDecoding.events(in: entry(fs, identifier: "freeswitch"), configured: .auto, now: now)
        #expect(events.map(\.source) == [IPAddress("198.18.0.6")!])
        #expect(events.first?.dialect == .freeswitch)
    }

    @Test("the event's time is the entry's journal time, not the time written in the text")
    func timeFromEntry() throws {
        let line =
            "[2019-03-04 05:06:07] NOTICE[77] chan_sip.c: Registration from '\"100\" <sip:100@198.18.0.1>' failed for '198.18.0.9:5060' - Wrong password"
        let e = try #require(
            JournalDecoding.events(in: entry(line, time: 1_700_000_000_123_456, identifier: "asterisk"), configured: .auto, now: now).first)
        #expect(e.time == Timestamp(microseconds: 1_700_000_000_123_456))
        #expect(e.source == IPAddress("198.18.0.9"))
        #expect(e.dialect == .asterisk)
        #expect(e.origin == .logLine(file: "journal:asterisk", line: 0))
        // Without a journal time (never from journald, but bounded input): the read time.
        let f = try #require(
            JournalDecoding.events(in: entry(kamailioMessage("198.18.0.5"), time: 0, unit: "kamailio.service"), configured: .auto, now: now).first)
        #expect(f.time == now)
        #expect(f.origin == .logLine(file: "journal:kamailio.service", line: 0))
    }

    @Test("Asterisk's syslog message (no timestamp: LEVEL[lwp]: file:line in function: text) from the journal")
    func asteriskSyslogForm() throws {
        // Asterisk's logger writes "%s[%d]%s: %s:%d in %s: %s" (level, lwp, call id, file, line, function, message) to syslog.
        let message =
            "NOTICE[12345]: chan_sip.c:28100 in handle_request_register: Registration from '\"100\" <sip:100@198.18.0.1>' failed for '198.18.0.9:5060' - Wrong password"
        let e = try #require(
            JournalDecoding.events(
                in: entry(message, time: 1_700_000_000_000_001, identifier: "asterisk", unit: "asterisk.service"), configured: .auto, now: now
            ).first)
        #expect(e.source == IPAddress("198.18.0.9"))
        #expect(e.kind == .authFailed)
        #expect(e.time == Timestamp(microseconds: 1_700_000_000_000_001))
        #expect(e.origin == .logLine(file: "journal:asterisk.service", line: 0))
    }

    @Test("a failure-looking message in no known form is reported as unmatched, under the journal's name")
    func unmatchedReported() {
        var seen: [(String, String)] = []
        let text = "authentication failed for user 100 from 198.18.0.9: wrong password"
        let events = JournalDecoding.events(in: entry(text, identifier: "kamailio", unit: "kamailio.service"), configured: .auto, now: now) {
            line, name in
            seen.append((String(decoding: line, as: UTF8.self), name))
        }
        #expect(events.isEmpty)
        #expect(seen.map(\.0) == [text])
        #expect(seen.map(\.1) == ["journal:kamailio.service"])
        var none = 0
        _ = JournalDecoding.events(in: entry(kamailioMessage("198.18.0.5"), identifier: "kamailio"), configured: .auto, now: now) { _, _ in none += 1
        }
        #expect(none == 0)
    }

    @Test("every line of a multi-line message is read; binary junk and overlong messages are not events")
    func boundedMessages() {
        let two = kamailioMessage("198.18.0.5") + "\r\n" + kamailioMessage("198.18.0.7") + "\n"
        #expect(
            JournalDecoding.events(in: entry(two, identifier: "kamailio"), configured: .auto, now: now).map(\.source)
                == [IPAddress("198.18.0.5")!, IPAddress("198.18.0.7")!])
        var junk = [UInt8](repeating: 0, count: 70_000)
        for i in junk.indices { junk[i] = UInt8(truncatingIfNeeded: i &* 7919) }
        #expect(
            JournalDecoding.events(
                in: JournalEntry(message: junk, realtimeMicroseconds: 1, identifier: "kamailio", unit: nil), configured: .auto, now: now
            ).isEmpty)
        // A message cut at the reader's bound (one byte over the SIPWARDEN limit) is ignored, not half-read.
        let long = kamailioMessage("198.18.0.5") + String(repeating: "A", count: LogDialects.maximumSIPWardenLineLength)
        let cut = Array(long.utf8.prefix(LogDialects.maximumSIPWardenLineLength + 1))
        #expect(
            JournalDecoding.events(
                in: JournalEntry(message: cut, truncated: true, realtimeMicroseconds: 1, identifier: "kamailio", unit: nil), configured: .auto,
                now: now
            ).isEmpty)
    }

    @Test("settings from names: a bare name matches unit and identifier, a unit name only the unit, none = the four servers")
    func settingsFromNames() {
        let bare = JournalSettings(names: ["kamailio"])
        #expect(bare.units == ["kamailio.service"])
        #expect(bare.identifiers == ["kamailio"])
        let unit = JournalSettings(names: ["opensips.service"])
        #expect(unit.units == ["opensips.service"])
        #expect(unit.identifiers.isEmpty)
        let all = JournalSettings(names: [])
        #expect(all.identifiers == ["asterisk", "freeswitch", "kamailio", "opensips"])
        #expect(JournalSettings(names: ["bad name"]).validationError() != nil)
    }
}

@Suite struct JournalConfigurationTests {
    @Test("journal: in the file, as true, a name, a list or a mapping")
    func fileForms() throws {
        #expect(try ConfigurationFile.parse("journal: true\n", file: "f").journal == JournalSettings(names: []))
        #expect(try ConfigurationFile.parse("journal: off\n", file: "f").journal == nil)
        #expect(try ConfigurationFile.parse("journal: kamailio\n", file: "f").journal == JournalSettings(names: ["kamailio"]))
        #expect(
            try ConfigurationFile.parse("journal: [asterisk.service, opensips]\n", file: "f").journal
                == JournalSettings(names: ["asterisk.service", "opensips"]))
        let mapped = try ConfigurationFile.parse(
            "journal:\n  units: [kamailio]\n  identifiers: [kam-edge]\n  dialect: kamailio\n  directory: /srv/journal\n", file: "f"
        ).journal
        #expect(
            mapped == JournalSettings(units: ["kamailio.service"], identifiers: ["kam-edge"], dialect: .only(.kamailio), directory: "/srv/journal"))
    }

    @Test("journal: errors name the file, line and key")
    func fileErrors() {
        #expect(
            throws: ConfigurationError(
                location: "f:2: journal.unit", message: "unknown key (known keys here: units, identifiers, dialect, directory)")
        ) {
            try ConfigurationFile.parse("journal:\n  unit: kamailio\n", file: "f")
        }
        #expect(throws: ConfigurationError.self) { try ConfigurationFile.parse("journal:\n  dialect: cisco\n", file: "f") }
        #expect(throws: ConfigurationError.self) { try ConfigurationFile.parse("journal: \"a=b\"\n", file: "f") }
    }
}

@Suite struct DefaultSourcesTests {
    @Test("a readable log wins for its server; the first readable candidate is taken")
    func logsFirst() {
        let plan = DefaultSources.plan(
            .init(
                readableFiles: ["/var/log/asterisk/full", "/var/log/asterisk/security", "/usr/local/freeswitch/log/freeswitch.log"],
                journalNames: ["asterisk"], interfaces: ["lo", "eth0"]))
        #expect(
            plan.logs == [
                LogSource(path: "/var/log/asterisk/full", dialect: .only(.asterisk)),
                LogSource(path: "/var/log/asterisk/security", dialect: .only(.asterisk)),
                LogSource(path: "/usr/local/freeswitch/log/freeswitch.log", dialect: .only(.freeswitch)),
            ])
        #expect(plan.journal == nil)
        #expect(plan.captures.isEmpty)
        #expect(plan.reasons.count == 3)
        #expect(plan.reasons[0].contains("/var/log/asterisk/full"))
        #expect(plan.reasons[1].contains("also watching /var/log/asterisk/security"))
    }

    @Test("Asterisk's security log alone is its main log, watched once")
    func securityAlone() {
        let plan = DefaultSources.plan(.init(readableFiles: ["/var/log/asterisk/security"]))
        #expect(plan.logs == [LogSource(path: "/var/log/asterisk/security", dialect: .only(.asterisk))])
    }

    @Test("a server with no readable log but journal entries is read from the journal")
    func journalWhenNoFile() {
        let plan = DefaultSources.plan(.init(readableFiles: ["/var/log/asterisk/messages"], journalNames: ["kamailio", "opensips"]))
        #expect(plan.logs.map(\.path) == ["/var/log/asterisk/messages"])
        #expect(plan.journal == JournalSettings(names: ["kamailio", "opensips"]))
        #expect(plan.captures.isEmpty)
        #expect(plan.reasons.count == 3)
        #expect(plan.reasons[1].hasPrefix("kamailio: no readable log file"))
    }

    @Test("nothing readable and no journal: capture SIP on every interface, and say so")
    func captureOtherwise() {
        let plan = DefaultSources.plan(.init(readableFiles: ["/var/log/syslog"], journalNames: ["sshd"], interfaces: ["lo", "eth0"]))
        #expect(plan.logs.isEmpty)
        #expect(plan.journal == nil)
        #expect(plan.captures.count == 1)
        #expect(plan.captures.first?.interface == nil)
        #expect(plan.captures.first?.ports == .sipDefault)
        #expect(plan.reasons.count == 1)
        #expect(plan.reasons[0].contains("capturing SIP") && plan.reasons[0].contains("lo, eth0"))
    }
}

/// The reader and the pipeline together, on a real journal file written by
/// systemd-journal-remote: the 5th failure in the journal bans.
@Suite(.enabled(if: access("/lib/systemd/systemd-journal-remote", X_OK) == 0, "needs systemd-journal-remote"))
struct JournalPipelineTests {
    @Test("failures written to the journal are judged and banned, with the journal's time")
    func journalBans() throws {
        var template = Array("/tmp/sipwarden-jp-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let export = (1...5).map { i in
            "__REALTIME_TIMESTAMP=\(1_764_072_000_000_000 + Int64(i))\n__MONOTONIC_TIMESTAMP=\(i)\n_BOOT_ID=5f0c6e0c0c8d4ad1b0b51b2c2f8e8a11\nSYSLOG_IDENTIFIER=kamailio\nMESSAGE=\(kamailioMessage("198.18.0.44", user: "10\(i)"))\n\n"
        }.joined()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/lib/systemd/systemd-journal-remote")
        process.arguments = ["--output=\(dir)/remote.journal", "-"]
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(export.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()

        let logger = Logger(label: "test")
        let firewall = DryRunFirewall(logger: logger)
        let clock = ManualClock()
        let pipeline = Pipeline(policy: DetectionPolicy(), firewall: firewall, fanOut: nil, logger: logger, clock: clock.clock)
        let settings = JournalSettings(names: ["kamailio"], directory: dir)
        let reader = JournalReader(
            configuration: JournalReaderConfiguration(
                matches: settings.matches, directory: dir, cursorPath: dir + "/cursor", fromStart: true), logger: logger)
        let sink = JournalSink(settings: settings, pipeline: pipeline, clock: clock.clock)
        try reader.start { sink.handle($0) }
        defer { reader.stop() }
        var banned: [BanElement] = []
        for _ in 0..<500 where banned.isEmpty {
            banned = try firewall.list()
            usleep(10_000)
        }
        #expect(banned.map(\.network) == [IPNetwork("198.18.0.44")!])
        #expect(pipeline.statistics.pipeline.events == 5)
    }
}
