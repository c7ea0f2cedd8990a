// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import WardenCore

/// Where one outgoing message stands in the outbox (docs/ABUSE.md "Delivery").
public enum OutboxState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Review mode: nothing leaves until the operator approves the case.
    case pendingApproval = "pending-approval"
    /// Waiting for its next attempt (`nextAttemptAt`).
    case queued
    /// Durably marked before the hand-over to the MTA or relay began; a crash leaves it
    /// here, and the restart rule decides what it means.
    case handingOver = "handing-over"
    /// Accepted by the MTA or relay (or judged so after an interrupted hand-over).
    case sent
    /// Given up: a permanent refusal, or too many attempts.
    case failed
}

/// How far an interrupted hand-over had got: what the restart rule needs to know.
public enum HandoverStage: String, Sendable, Hashable, Codable {
    /// Marked durably; the transport may or may not have started.
    case started
    /// `sendmail` was started with the whole message as its stdin file (it goes on after
    /// our process dies, so the message is then normally queued by the MTA).
    case spawned
    /// SMTP: the message's final `.` is about to be sent. Before this stage a relay
    /// cannot have accepted it (RFC 5321: a transaction without its final dot is aborted).
    case finalDot = "final-dot"
}

/// Which transport handed a message over.
public enum TransportKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The local MTA's `sendmail` interface (`/usr/sbin/sendmail -i -f FROM -- RCPT`).
    case sendmail
    /// SMTP submission to a relay (STARTTLS, AUTH).
    case smtp
}

/// One message in the outbox: a rendered report for one recipient of one case.
public struct OutboxEntry: Sendable, Hashable {
    /// Row id; nil until stored.
    public var id: Int64?
    public var caseID: UUID
    /// The Message-ID (with angle brackets), derived from the case and the report number:
    /// a retry or a resend reuses it, and the store keeps one entry per Message-ID.
    public var messageID: String
    /// The envelope sender (`-f`, `MAIL FROM`).
    public var sender: String
    /// The envelope recipient (one per entry).
    public var recipient: String
    /// The whole message as rendered (CRLF lines, before dot-stuffing).
    public var message: [UInt8]
    public var state: OutboxState
    /// Hand-overs started so far.
    public var attempts: Int
    /// Not tried before this time (back-off, or the per-recipient limit).
    public var nextAttemptAt: Timestamp
    public var createdAt: Timestamp
    /// When the last hand-over began, its transport and how far it got.
    public var handoverStartedAt: Timestamp?
    public var handoverTransport: TransportKind?
    public var handoverStage: HandoverStage?
    /// The `sendmail` process of the last hand-over (to wait for it after a crash).
    public var handoverPID: Int32?
    public var sentAt: Timestamp?
    /// The last failure (the MTA's or relay's words).
    public var lastError: String?
    /// How the sending is known: the relay's reply, the MTA's log, or "unconfirmed".
    public var confirmation: String?

    public init(
        id: Int64? = nil, caseID: UUID, messageID: String, sender: String, recipient: String, message: [UInt8], state: OutboxState,
        attempts: Int = 0, nextAttemptAt: Timestamp, createdAt: Timestamp
    ) {
        self.id = id
        self.caseID = caseID
        self.messageID = messageID
        self.sender = sender
        self.recipient = recipient
        self.message = message
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
    }

    /// The Message-ID without its angle brackets.
    public var bareMessageID: String { messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) }
}
