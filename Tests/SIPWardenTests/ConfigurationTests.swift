// SPDX-License-Identifier: GPL-2.0-or-later

import Detection
import Firewall
import NetworkAddress
import SIPWarden
import Testing
import WardenCore

@Suite struct DurationParserTests {
    @Test(arguments: [
        ("90s", 90_000), ("10m", 600_000), ("1h", 3_600_000), ("7d", 604_800_000), ("250ms", 250),
        ("1h30m", 5_400_000), ("45", 45_000), ("2w", 1_209_600_000), ("0", 0),
    ])
    func parses(text: String, milliseconds: Int64) {
        #expect(DurationParser.parse(text) == .milliseconds(milliseconds))
    }

    @Test(arguments: ["", "s", "10x", "-5", "5m3", "1.5h", "99999999999999999999d", "m10"])
    func rejects(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }

    @Test func formats() {
        #expect(DurationParser.format(.seconds(600)) == "10m")
        #expect(DurationParser.format(.seconds(5400)) == "1h30m")
        #expect(DurationParser.format(.milliseconds(250)) == "250ms")
        #expect(DurationParser.format(.seconds(86_400 * 8)) == "8d")
    }
}

@Suite struct ConfigurationFileTests {
    @Test func fullFileIsApplied() throws {
        let yaml = """
            # sipwarden configuration
            logs:
              - path: /var/log/asterisk/messages
                dialect: asterisk
              - kamailio:/var/log/kamailio.log
              - /var/log/other.log
            firewall: dry-run
            nftables:
              table: sw_test
              ports: [5060-5061, 5080]
            state: /tmp/sw-state
            from-start: true
            log-utc-offset: "+01:00"
            allow:
              - 198.18.0.0/24
              - 2001:2::/48
            detection:
              max-retry: 3
              find-time: 2m
              ban-time: 1h
              kinds:
                scanner: { max-retry: 2 }
                malformed: { max-retry: 20, find-time: 10s }
              enumeration: { distinct-users: 6, find-time: 5m }
              escalation: { factor: 4, max-ban-time: 30d, memory: 14d }
              ipv6-prefix: 64
              max-tracked-sources: 5000
            """
        let c = try ConfigurationFile.parse(yaml, file: "test.yaml")
        #expect(
            c.logs == [
                LogSource(path: "/var/log/asterisk/messages", dialect: .only(.asterisk)),
                LogSource(path: "/var/log/kamailio.log", dialect: .only(.kamailio)),
                LogSource(path: "/var/log/other.log", dialect: .auto),
            ])
        #expect(c.firewall == .dryRun)
        #expect(c.nftTable == "sw_test")
        #expect(c.nftPorts.map(\.description) == ["5060-5061", "5080"])
        #expect(c.stateDirectory == "/tmp/sw-state")
        #expect(c.fromStart)
        #expect(c.logUTCOffsetSeconds == 3600)
        #expect(c.detection.allowlist.contains(IPAddress("198.18.0.77")!))
        #expect(c.detection.allowlist.contains(IPAddress("2001:2::5")!))
        #expect(c.detection.threshold == Threshold(maxRetry: 3, findTime: .seconds(120)))
        #expect(c.detection.banTime == .seconds(3600))
        #expect(c.detection.overrides[.scanner] == Threshold(maxRetry: 2, findTime: .seconds(600)))
        #expect(c.detection.overrides[.malformed] == Threshold(maxRetry: 20, findTime: .seconds(10)))
        #expect(c.detection.enumeration == EnumerationRule(distinctUsers: 6, findTime: .seconds(300)))
        #expect(c.detection.escalation == Escalation(factor: 4, maxBanTime: .seconds(30 * 86_400), memory: .seconds(14 * 86_400)))
        #expect(c.detection.ipv6PrefixLength == 64)
        #expect(c.detection.maxTrackedSources == 5000)
    }

    @Test func emptyFileKeepsDefaults() throws {
        let c = try ConfigurationFile.parse("", file: "empty.yaml")
        #expect(c == Configuration())
    }

    @Test(arguments: [
        ("detection:\n  max-retries: 5\n", "bad.yaml:2: detection.max-retries", "unknown key"),
        ("detection:\n  max-retry: five\n", "bad.yaml:2: detection.max-retry", "expected an integer"),
        ("detection:\n  max-retry: 0\n", "bad.yaml:2: detection.max-retry", "between 1 and 1000"),
        ("firewall: iptables\n", "bad.yaml:1: firewall", "expected nftables or dry-run"),
        ("allow:\n  - 198.18.0.0/99\n", "bad.yaml:2: allow", "CIDR"),
        ("detection:\n  ban-time: forever\n", "bad.yaml:2: detection.ban-time", "duration"),
        ("logs:\n  - { dialect: asterisk }\n", "bad.yaml:2: logs", "needs a path"),
        ("logs:\n  - cisco:/var/log/x\n", "bad.yaml:2: logs", "unknown dialect"),
        ("detection:\n  kinds:\n    brute: { max-retry: 2 }\n", "bad.yaml:3: detection.kinds.brute", "unknown event kind"),
        ("nftables:\n  ports: [70000]\n", "bad.yaml:2: nftables.ports", "port"),
        ("statee: /x\n", "bad.yaml:1: statee", "unknown key"),
        ("detection: [1, 2]\n", "bad.yaml:1: detection", "mapping"),
        ("state: /a\nstate: /b\n", "bad.yaml:1", "duplicate key state"),
        ("flood-guard: on\n", "bad.yaml:1: flood-guard", "expected off or a mapping"),
        ("flood-guard:\n  rate: 0\n", "bad.yaml:2: flood-guard.rate", "between"),
        ("flood-guard:\n  burst: lots\n", "bad.yaml:2: flood-guard.burst", "integer"),
        ("flood-guard:\n  ports: [5060-]\n", "bad.yaml:2: flood-guard.ports", "port"),
        ("flood-guard:\n  v6-prefix: 8\n", "bad.yaml:2: flood-guard.v6-prefix", "between"),
        ("flood-guard:\n  rates: 5\n", "bad.yaml:2: flood-guard.rates", "unknown key"),
        ("flood-guard:\n  report-group: 70000\n", "bad.yaml:2: flood-guard.report-group", "between"),
    ])
    func errorsNameFileLineAndKey(yaml: String, location: String, message: String) {
        do {
            _ = try ConfigurationFile.parse(yaml, file: "bad.yaml")
            Issue.record("accepted invalid configuration: \(yaml)")
        } catch {
            #expect(error.location == location)
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func floodGuardIsOnByDefaultAndConfigurable() throws {
        #expect(Configuration().floodGuard == .standard)
        let off = try ConfigurationFile.parse("flood-guard: off\n", file: "g.yaml")
        #expect(off.floodGuard == nil)
        let tuned = try ConfigurationFile.parse(
            "flood-guard:\n  rate: 300\n  burst: 30\n  ban-rate: 900\n  ban-burst: 500\n  ports: [5060, 5080-5081]\n  v6-prefix: 56\n  report-group: 99\n",
            file: "g.yaml")
        let expected = FloodGuard(
            packetsPerSecond: 300, burst: 30, ports: [PortMatch(5060), PortMatch(lower: 5080, upper: 5081)!], prefixLengthV6: 56, reportGroup: 99,
            banPacketsPerSecond: 900, banBurst: 500)
        #expect(tuned.floodGuard == expected)
        let quiet = try ConfigurationFile.parse("flood-guard:\n  report-group: off\n", file: "g.yaml")
        #expect(quiet.floodGuard?.reportGroup == nil)
    }

    @Test func floodGuardExemptsTheAllowlist() throws {
        var c = try ConfigurationFile.parse("allow: [198.18.5.0/24]\n", file: "g.yaml")
        c.detection.allowlist.insert(IPNetwork("2001:2::/48")!)
        let exempt = Set(try #require(c.nftablesConfiguration.floodGuard).exempt)
        #expect(exempt.isSuperset(of: [IPNetwork("198.18.5.0/24")!, IPNetwork("2001:2::/48")!, IPNetwork("127.0.0.0/8")!]))
    }

    @Test(arguments: [
        ("off", nil as FloodGuard?),
        ("400", FloodGuard(packetsPerSecond: 400)),
        ("400/25", FloodGuard(packetsPerSecond: 400, burst: 25)),
        ("5000/3000", FloodGuard(packetsPerSecond: 5_000, burst: 3_000, banPacketsPerSecond: 5_000, banBurst: 3_000)),
    ])
    func floodGuardFlag(text: String, expected: FloodGuard?) {
        #expect(Configuration.parseFloodGuard(text, base: .standard) == .some(expected))
    }

    @Test(arguments: ["", "on", "0", "-5", "10/", "/10", "10/0", "1e3", "999999999", "10/20/30"])
    func floodGuardFlagRejects(text: String) {
        #expect(Configuration.parseFloodGuard(text, base: .standard) == nil)
    }

    @Test func invalidYAMLSaysWhere() {
        do {
            _ = try ConfigurationFile.parse("detection:\n  max-retry: [1\n", file: "broken.yaml")
            Issue.record("accepted broken YAML")
        } catch {
            #expect(error.location == "broken.yaml")
            #expect(error.message.contains("line"))
        }
    }

    @Test func crossFieldValidation() {
        do {
            _ = try ConfigurationFile.parse("detection:\n  ban-time: 2h\n  escalation: { max-ban-time: 1h }\n", file: "x.yaml")
            Issue.record("accepted max-ban-time < ban-time")
        } catch {
            #expect(error.message.contains("max-ban-time"))
        }
    }

    @Test func missingFileIsAClearError() {
        do {
            _ = try ConfigurationFile.load(path: "/nonexistent/sipwarden.yaml")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.location == "/nonexistent/sipwarden.yaml")
            #expect(error.message.contains("cannot read"))
        }
    }
}

@Suite struct LogSourceArgumentTests {
    @Test func parsesDialectPrefixes() throws {
        #expect(
            try LogSource(argument: "asterisk:/var/log/asterisk/messages") == LogSource(path: "/var/log/asterisk/messages", dialect: .only(.asterisk))
        )
        #expect(try LogSource(argument: "auto:/x") == LogSource(path: "/x", dialect: .auto))
        #expect(try LogSource(argument: "/var/log/a:b.log") == LogSource(path: "/var/log/a:b.log", dialect: .auto))
        #expect(throws: ConfigurationError.self) { try LogSource(argument: "cisco:/x") }
        #expect(throws: ConfigurationError.self) { try LogSource(argument: "kamailio:") }
        #expect(throws: ConfigurationError.self) { try LogSource(argument: "") }
    }
}

@Suite struct JSONLineWriterTests {
    @Test func escapesAttackerText() {
        var w = JSONLineWriter()
        let e = SecurityEvent(
            time: Timestamp(seconds: 1_764_072_000, microseconds: 5), source: IPAddress("2001:2::2")!, sourcePort: 5060,
            transport: .udp, kind: .authFailed, user: "a\"b\\c\n\u{1}é", userAgent: "friendly-scanner",
            dialect: .asterisk, origin: .logLine(file: "/var/log/x", line: 42)
        )
        w.append(e)
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(
            text
                == #"{"time":"2025-11-25T12:00:00.000005Z","source":"2001:2::2","port":5060,"transport":"udp","kind":"auth_failed","user":"a\"b\\c\n\u0001é","user_agent":"friendly-scanner","dialect":"asterisk","file":"/var/log/x","line":42}"#
                + "\n")
    }

    @Test func destinationAndCallIDWhenKnown() {
        var w = JSONLineWriter()
        let e = SecurityEvent(
            time: Timestamp(seconds: 1_764_072_000), source: IPAddress("198.18.1.66")!, sourcePort: 5071,
            destination: IPAddress("198.18.0.10")!, destinationPort: 5060, transport: .udp, kind: .authFailed,
            reason: "403 to REGISTER with credentials", callID: "c\"1@h", dialect: .sip, origin: .wire(sensor: "capture:eth0")
        )
        w.append(e)
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(
            text
                == #"{"time":"2025-11-25T12:00:00Z","source":"198.18.1.66","port":5071,"destination":"198.18.0.10","destination_port":5060,"transport":"udp","kind":"auth_failed","reason":"403 to REGISTER with credentials","call_id":"c\"1@h","dialect":"sip","sensor":"capture:eth0"}"#
                + "\n")
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"), (-1, "1969-12-31T23:59:59Z"),
        (4_102_444_799, "2099-12-31T23:59:59Z"),
    ])
    func rfc3339(seconds: Int64, text: String) {
        #expect(RFC3339.format(Timestamp(seconds: seconds)) == text)
    }
}
