// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import Foundation
public import WardenCore

/// One message kept with its case: a report that went out, or an answer that came in.
public struct CaseMessage: Sendable, Hashable {
    /// Which way it went.
    public enum Direction: String, Sendable, Hashable, Codable {
        case incoming = "in"
        case outgoing = "out"
    }

    /// What an answer was classified as (the `AnswerClassifier`'s verdict, as stored).
    public struct Classification: Sendable, Hashable, Codable {
        public var kind: AnswerKind
        public var ticket: String?
        public var deliveryStatus: String?
        public var permanent: Bool
        public var failedRecipient: String?
        public var reason: String

        public init(kind: AnswerKind, ticket: String?, deliveryStatus: String?, permanent: Bool, failedRecipient: String?, reason: String) {
            self.kind = kind
            self.ticket = ticket
            self.deliveryStatus = deliveryStatus
            self.permanent = permanent
            self.failedRecipient = failedRecipient
            self.reason = reason
        }

        /// The classifier's verdict as stored.
        public init(_ answer: AnswerClassification) {
            kind = answer.kind
            ticket = answer.ticket
            deliveryStatus = answer.deliveryStatus
            permanent = answer.permanent
            failedRecipient = answer.failedRecipient
            reason = answer.reason
        }
    }

    /// Row id; nil until stored.
    public var id: Int64?
    public var caseID: UUID
    public var direction: Direction
    /// Its Message-ID, with angle brackets (nil when it had none).
    public var messageID: String?
    public var time: Timestamp
    /// The recipient (outgoing) or the sender (incoming).
    public var peer: String?
    /// The raw message, or a `path` to it (a Maildir file), or both.
    public var raw: [UInt8]?
    public var path: String?
    /// For an answer: what it was classified as.
    public var classification: Classification?

    public init(
        id: Int64? = nil, caseID: UUID, direction: Direction, messageID: String?, time: Timestamp, peer: String?, raw: [UInt8]? = nil,
        path: String? = nil, classification: Classification? = nil
    ) {
        self.id = id
        self.caseID = caseID
        self.direction = direction
        self.messageID = messageID
        self.time = time
        self.peer = peer
        self.raw = raw
        self.path = path
        self.classification = classification
    }
}
