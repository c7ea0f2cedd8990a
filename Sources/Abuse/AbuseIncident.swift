// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress
public import WardenCore

/// What one report tells about one source: the attack as sipwarden saw it. Built from the
/// ledger's ban and its evidence; the source address is the IP header's or the log's
/// address that was banned, never a field the attacker wrote.
public struct AbuseIncident: Sendable, Hashable {
    /// The case's ID: the report's ID in every format, so a resend is recognisable.
    public var caseID: UUID
    public var source: IPAddress
    public var sourcePort: UInt16?
    public var destination: IPAddress?
    public var destinationPort: UInt16?
    public var transport: Transport
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    /// When the source crossed the threshold (banned).
    public var thresholdExceeded: Timestamp
    /// Failed attempts seen (authentication failures, unknown users, …).
    public var attempts: Int
    /// What kind of attack: decides the wording and the XARF attack pattern.
    public var pattern: AttackPattern
    /// The account names tried (attacker-written; redacted per policy before use).
    public var usersTried: [String]
    /// User-Agent strings seen (attacker-written).
    public var userAgents: [String]
    public var evidence: [EvidenceItem]
    /// The names of ``usersTried`` the PBX knew (it answered a wrong password, not "no such
    /// user"): real accounts, redacted by default (``RedactionPolicy``); emptied by it.
    public var knownAccounts: [String] = []

    public init(
        caseID: UUID, source: IPAddress, sourcePort: UInt16?, destination: IPAddress?, destinationPort: UInt16?, transport: Transport,
        firstSeen: Timestamp, lastSeen: Timestamp, thresholdExceeded: Timestamp, attempts: Int, pattern: AttackPattern,
        usersTried: [String] = [], userAgents: [String] = [], evidence: [EvidenceItem] = []
    ) {
        self.caseID = caseID
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.transport = transport
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.thresholdExceeded = thresholdExceeded
        self.attempts = attempts
        self.pattern = pattern
        self.usersTried = usersTried
        self.userAgents = userAgents
        self.evidence = evidence
    }
}

/// The shape of an attack, in the words a report uses.
public enum AttackPattern: String, Sendable, Hashable, CaseIterable {
    /// Many passwords against accounts (svcrack).
    case bruteForce = "brute_force"
    /// Many account names, to learn which exist (svwar).
    case enumeration
    /// Probing for SIP servers (svmap, friendly-scanner).
    case scanning
    /// Requests far above any legitimate rate.
    case flood

    /// The sentence a person reads.
    public var phrase: String {
        switch self {
        case .bruteForce: "SIP password brute force (repeated failed digest authentication)"
        case .enumeration: "SIP extension enumeration (requests for many account names, to find valid ones)"
        case .scanning: "SIP scanning (probing for SIP servers with a known attack tool)"
        case .flood: "a flood of SIP requests"
        }
    }
}

/// One piece of evidence: log lines or captured requests.
public struct EvidenceItem: Sendable, Hashable {
    /// MIME type (`text/plain` for log lines, `application/vnd.tcpdump.pcap` for a capture).
    public var contentType: String
    public var description: String
    public var bytes: [UInt8]

    public init(contentType: String, description: String, bytes: [UInt8]) {
        self.contentType = contentType
        self.description = description
        self.bytes = bytes
    }
}

/// Who reports: goes into every format.
public struct Reporter: Sendable, Hashable, Codable {
    public var organisation: String
    public var contact: String
    public var domain: String

    public init(organisation: String, contact: String, domain: String) {
        self.organisation = organisation
        self.contact = contact
        self.domain = domain
    }
}
