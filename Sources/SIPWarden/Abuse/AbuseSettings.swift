// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import Foundation
import Yams

/// The `abuse:` section: the case service (`cases`, docs/ABUSE.md). Absent, the service is
/// off and nothing is reported.
///
/// ```yaml
/// abuse:
///   mode: review                  # review | auto
///   reporter: abuse-reports@example.net
///   organisation: Example Telecom
///   rdap-bootstrap: https://data.iana.org/rdap/
///   transport: sendmail           # sendmail | smtp
///   sendmail: /usr/sbin/sendmail
///   relay: smtp.example.net:587   # transport: smtp
///   credentials-file: /etc/sipwarden/smtp.credentials   # "USER PASSWORD", mode 600
///   postfix-log: [/var/log/mail.log]
///   acknowledge-within: 24h
///   mitigate-within: 72h
///   escalate: approve             # approve | auto
///   quiet-time: 6h
///   close-after: 14d
///   maildir: /var/lib/sipwarden/mail/Maildir
///   counter-interval: 10s
///   tick: 10s
///   cert-directory: /etc/sipwarden/certs.txt   # national CERTs by country (CERTDirectory)
///   redact: { addresses: true, host-names: true, accounts: true }   # RedactionSettings
///   contacts: { AS64500: abuse-desk@provider.example }   # overrides, tried before RDAP
/// ```
public struct AbuseSettings: Sendable, Hashable {
    /// `review`: nothing leaves until `sipwarden cases approve ID`; `auto`: reports leave at once.
    public var mode: DeliveryMode = .review
    /// The From address of the reports and the address answers come back to.
    public var reporter: String = ""
    /// Who reports (the `From` name and the XARF reporter's organisation).
    public var organisation = "sipwarden"
    /// IANA's RDAP bootstrap files (`ipv4.json`, `ipv6.json`, `asn.json` below it).
    public var rdapBootstrap = URL(string: "https://data.iana.org/rdap/")!
    /// How reports leave.
    public enum Transport: String, Sendable, Hashable, CaseIterable {
        /// The local MTA's `sendmail` interface.
        case sendmail
        /// SMTP submission to `relay`.
        case smtp
    }
    /// How reports leave (default: the local MTA).
    public var transport: Transport = .sendmail
    /// The `sendmail` program (transport `sendmail`).
    public var sendmail = "/usr/sbin/sendmail"
    /// `HOST:PORT` of the relay (transport `smtp`).
    public var relay: String?
    /// A file with `USER PASSWORD` for the relay (mode 600 or stricter).
    public var credentialsFile: String?
    /// SMTP without STARTTLS (a relay on the loopback only).
    public var relayWithoutTLS = false
    /// The postfix mail logs an interrupted `sendmail` hand-over is checked against.
    public var postfixLogs = ["/var/log/mail.log"]
    /// An acknowledgement is expected within this time of the report.
    public var acknowledgeWithin: Duration = .seconds(24 * 3600)
    /// The attack is expected to stop within this time of the report.
    public var mitigateWithin: Duration = .seconds(72 * 3600)
    /// Sources silent this long after the report are `mitigated`.
    public var quietTime: Duration = .seconds(6 * 3600)
    /// A case mitigated this long is closed.
    public var closeAfter: Duration = .seconds(14 * 86_400)
    /// Escalation steps wait for `cases approve` (else they are taken at once).
    public var approveEscalations = true
    /// The Maildir answers arrive in (nil: `STATE/mail/Maildir`).
    public var maildir: String?
    /// How often the ban sets' counters are read.
    public var counterInterval: Duration = .seconds(10)
    /// How often deadlines are checked and the outbox delivered.
    public var tick: Duration = .seconds(10)
    /// Bans of one network within this time of a case not yet sent join it.
    public var groupWithin: Duration = .seconds(3600)
    /// The operator's national CERTs by country (`cert-directory: PATH`, read and checked
    /// with the configuration); nil: the CERT step only tells the operator.
    public var certDirectory: CERTDirectory?
    /// What the reports leave out about the operator (everything, by default).
    public var redact = RedactionSettings()
    /// The operator's own contacts per prefix or AS, tried before RDAP (`contacts:`).
    public var contactOverrides = AbuseContactOverrides()

    /// The defaults (review mode; no reporter: set one).
    public init() {}

    /// The lifecycle's policy.
    public var casePolicy: CasePolicy {
        CasePolicy(
            review: mode == .review, acknowledgeWithin: acknowledgeWithin, mitigateWithin: mitigateWithin, silenceForMitigated: quietTime,
            approveEscalations: approveEscalations, closeAfterMitigated: closeAfter)
    }

    /// The reporter as reports name it (the domain is the From address's).
    public var reporterIdentity: Reporter {
        let domain = reporter.split(separator: "@").last.map(String.init) ?? "localhost"
        return Reporter(organisation: organisation, contact: reporter, domain: domain)
    }

    /// The relay's host and port.
    public var relayEndpoint: (host: String, port: Int)? { relay.flatMap(Self.hostPort) }

    /// Why the settings cannot be used, or nil.
    public func validationError() -> String? {
        if !Self.isMailbox(reporter) { return "reporter: a mail address (local@domain) is required, got '\(reporter)'" }
        if transport == .smtp, relayEndpoint == nil { return "relay: transport smtp needs relay HOST:PORT" }
        if transport == .sendmail, !sendmail.hasPrefix("/") { return "sendmail: the path must be absolute, got '\(sendmail)'" }
        if credentialsFile != nil, transport != .smtp { return "credentials-file: only with transport smtp" }
        if let file = credentialsFile, !file.hasPrefix("/") { return "credentials-file: the path must be absolute, got '\(file)'" }
        if let maildir, !maildir.hasPrefix("/") { return "maildir: the path must be absolute, got '\(maildir)'" }
        if rdapBootstrap.scheme != "http" && rdapBootstrap.scheme != "https" {
            return "rdap-bootstrap: expected an http or https URL, got '\(rdapBootstrap.absoluteString)'"
        }
        return nil
    }

    /// `local@domain.tld`, no spaces, control characters or brackets.
    public static func isMailbox(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, text.utf8.count <= 254, !text.hasPrefix("-") else { return false }
        return !text.unicodeScalars.contains { $0.value <= 32 || $0.value == 127 || "<>()[],;:\\\"".unicodeScalars.contains($0) }
    }

    static func hostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        let host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host.isEmpty ? nil : (host, port)
    }

    static let keys = [
        "mode", "reporter", "organisation", "rdap-bootstrap", "transport", "sendmail", "relay", "credentials-file", "relay-tls",
        "postfix-log", "acknowledge-within", "mitigate-within", "escalate", "quiet-time", "close-after", "maildir", "counter-interval",
        "tick", "group-within", "cert-directory", "redact", "contacts",
    ]

    /// Parses the section (`key` is its path for messages).
    static func parse(_ node: Node, key: String, file: String) throws(ConfigurationError) -> AbuseSettings {
        let r = YAMLNodeReader(file: file)
        var s = AbuseSettings()
        func text(_ node: Node, _ path: String) throws(ConfigurationError) -> String {
            guard case .scalar(let v) = node, !v.string.isEmpty else { throw r.fail(node, path, "expected a single value") }
            return v.string
        }
        func duration(_ node: Node, _ path: String) throws(ConfigurationError) -> Duration {
            let t = try text(node, path)
            guard let d = DurationParser.parse(t), d > .zero else {
                throw r.fail(node, path, "expected a positive duration such as 30s, 10m, 24h or 7d, got '\(t)'")
            }
            return d
        }
        func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _: T.Type) throws(ConfigurationError) -> T
        where T.RawValue == String {
            let t = try text(node, path)
            guard let v = T(rawValue: t.lowercased()) else {
                throw r.fail(node, path, "expected \(T.allCases.map(\.rawValue).joined(separator: " or ")), got '\(t)'")
            }
            return v
        }
        for (name, keyNode, value) in try r.mapping(node, key) {
            let path = "\(key).\(name)"
            switch name {
            case "mode": s.mode = try choice(value, path, DeliveryMode.self)
            case "reporter": s.reporter = try text(value, path)
            case "organisation": s.organisation = try text(value, path)
            case "rdap-bootstrap":
                var t = try text(value, path)
                if !t.hasSuffix("/") { t += "/" }
                guard let url = URL(string: t), url.host != nil else { throw r.fail(value, path, "expected a URL, got '\(t)'") }
                s.rdapBootstrap = url
            case "transport": s.transport = try choice(value, path, Transport.self)
            case "sendmail": s.sendmail = try text(value, path)
            case "relay":
                let t = try text(value, path)
                guard hostPort(t) != nil else { throw r.fail(value, path, "expected HOST:PORT, got '\(t)'") }
                s.relay = t
            case "relay-tls":
                let t = try text(value, path).lowercased()
                guard t == "starttls" || t == "none" else { throw r.fail(value, path, "expected starttls or none, got '\(t)'") }
                s.relayWithoutTLS = t == "none"
            case "credentials-file": s.credentialsFile = try text(value, path)
            case "postfix-log":
                if case .sequence = value {
                    var logs: [String] = []
                    for item in try r.list(value, path) { logs.append(try text(item, path)) }
                    s.postfixLogs = logs
                } else {
                    s.postfixLogs = [try text(value, path)]
                }
            case "acknowledge-within": s.acknowledgeWithin = try duration(value, path)
            case "mitigate-within": s.mitigateWithin = try duration(value, path)
            case "escalate":
                let t = try text(value, path).lowercased()
                guard t == "approve" || t == "auto" else { throw r.fail(value, path, "expected approve or auto, got '\(t)'") }
                s.approveEscalations = t == "approve"
            case "quiet-time": s.quietTime = try duration(value, path)
            case "close-after": s.closeAfter = try duration(value, path)
            case "maildir": s.maildir = try text(value, path)
            case "counter-interval": s.counterInterval = try duration(value, path)
            case "tick": s.tick = try duration(value, path)
            case "group-within": s.groupWithin = try duration(value, path)
            case "cert-directory":
                let file = try text(value, path)
                guard let data = FileManager.default.contents(atPath: file), let content = String(data: data, encoding: .utf8) else {
                    throw r.fail(value, path, "cannot read '\(file)' (a UTF-8 file of country codes and CERT contacts)")
                }
                do throws(CERTDirectoryError) {
                    s.certDirectory = try CERTDirectory(parsing: content, name: file)
                } catch {
                    throw r.fail(value, path, "\(error)")
                }
            case "redact": s.redact = try RedactionSettings.parse(value, key: path, reader: r)
            case "contacts": s.contactOverrides = try AbuseContactOverrides.parse(value, key: path, reader: r)
            default:
                throw r.fail(keyNode, path, "unknown key; expected \(keys.joined(separator: ", "))")
            }
        }
        if let problem = s.validationError() { throw r.fail(node, key, problem) }
        return s
    }
}
