// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse

/// The handler the case service plugs in: each message matched against the case store's
/// index (asked afresh for every message), then recorded with its match.
public struct MatchingHandler: MaildirHandler {
    let index: @Sendable () -> any AnswerIndex
    let record: @Sendable (IncomingMail, MatchedAnswer) throws -> Void

    /// - Parameters:
    ///   - index: the current index (the case store's look-ups).
    ///   - record: keeps the answer with its case (or with the unmatched ones) and feeds the
    ///     lifecycle; returns once that is durable, idempotent by ``IncomingMail/key``.
    public init(index: @escaping @Sendable () -> any AnswerIndex, record: @escaping @Sendable (IncomingMail, MatchedAnswer) throws -> Void) {
        self.index = index
        self.record = record
    }

    public func record(_ mail: IncomingMail) throws {
        try record(mail, AnswerMatcher.match(mail.message, index: index()))
    }
}
