// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import WardenCore

/// Whether reports leave on their own or wait for the operator.
public enum DeliveryMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Nothing leaves until `approve(caseID)` (`sipwarden outbox approve CASE`).
    case review
    /// Reports are queued for delivery as soon as they are made.
    case auto
}

/// The outbox's rules: mode, back-off, attempts, the per-recipient limit.
public struct DeliveryPolicy: Sendable, Hashable {
    public var mode: DeliveryMode
    /// The wait after the first failed attempt; doubled after each further one.
    public var initialBackoff: Duration
    /// The longest wait between attempts.
    public var maxBackoff: Duration
    /// Attempts before a message is given up (`failed`).
    public var maxAttempts: Int
    /// At most this many messages to one recipient within `recipientWindow`.
    public var perRecipientLimit: Int
    public var recipientWindow: Duration

    public init(
        mode: DeliveryMode = .review, initialBackoff: Duration = .seconds(60), maxBackoff: Duration = .seconds(6 * 3600), maxAttempts: Int = 12,
        perRecipientLimit: Int = 10, recipientWindow: Duration = .seconds(3600)
    ) {
        self.mode = mode
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxAttempts = max(1, maxAttempts)
        self.perRecipientLimit = max(1, perRecipientLimit)
        self.recipientWindow = recipientWindow
    }
}

/// What one hand-over came to.
public enum HandoverOutcome: Sendable, Hashable {
    /// The MTA or relay took responsibility for the message (its words).
    case accepted(String)
    /// Try again later (EX_TEMPFAIL, an SMTP 4xx, a connection or TLS failure, a timeout).
    case temporaryFailure(String)
    /// Never try again (an SMTP 5xx, an unknown user): the case hears of it as a bounce.
    case permanentFailure(String)
    /// Nobody can tell whether the MTA or relay took it (the connection broke after the
    /// final dot, `sendmail` did not finish in time): the restart rule decides
    /// (``OutboxSchedule/resolveInterrupted(_:evidence:at:)``).
    case interrupted(String)
}

/// What the MTA says of a message whose hand-over was interrupted (a crash between
/// `handing-over` and `sent`).
public enum HandoverEvidence: Sendable, Hashable {
    /// The MTA has it (its queue or its log names the Message-ID).
    case seen(String)
    /// The MTA was asked and has never seen it: it can be handed over again.
    case notSeen(String)
    /// Nobody can tell (a remote relay, no readable log).
    case unknown
}

/// The pure scheduling core of the outbox: no I/O, the clock is a parameter.
public enum OutboxSchedule {
    /// The state a new entry starts in.
    public static func initialState(_ mode: DeliveryMode) -> OutboxState { mode == .review ? .pendingApproval : .queued }

    /// The wait after `attempts` failed attempts: `initial × 2^(attempts−1)`, at most `maxBackoff`.
    public static func backoff(afterAttempts attempts: Int, policy: DeliveryPolicy) -> Duration {
        guard attempts > 0 else { return .zero }
        let initial = policy.initialBackoff.components.seconds
        let cap = policy.maxBackoff.components.seconds
        var wait = max(1, initial)
        for _ in 1..<min(attempts, 62) {
            if wait >= cap { break }
            wait *= 2
        }
        return .seconds(min(wait, cap))
    }

    /// The entry after its hand-over ended with `outcome` at `now`.
    public static func afterHandover(_ entry: OutboxEntry, _ outcome: HandoverOutcome, at now: Timestamp, policy: DeliveryPolicy) -> OutboxEntry {
        var e = entry
        e.handoverStage = nil
        e.handoverPID = nil
        switch outcome {
        case .accepted(let words):
            e.state = .sent
            e.sentAt = now
            e.confirmation = words
        case .temporaryFailure(let words):
            e.lastError = words
            if e.attempts >= policy.maxAttempts {
                e.state = .failed
                e.lastError = "\(words) (gave up after \(e.attempts) attempts)"
            } else {
                e.state = .queued
                e.nextAttemptAt = now + backoff(afterAttempts: e.attempts, policy: policy)
            }
        case .permanentFailure(let words):
            e.state = .failed
            e.lastError = words
        case .interrupted(let words):
            var unknown = entry
            unknown.lastError = words
            return resolveInterrupted(unknown, evidence: .unknown, at: now)
        }
        return e
    }

    /// The restart rule for an entry left in `handing-over` by a crash. The MTA's word
    /// decides when it has one; otherwise an SMTP hand-over that never reached its final
    /// dot is sent again (a relay cannot have accepted it), and anything else is taken as
    /// sent, unconfirmed: sipwarden prefers the one-message window of a lost report to
    /// sending a report twice (docs/ABUSE.md "Exactly once").
    public static func resolveInterrupted(_ entry: OutboxEntry, evidence: HandoverEvidence, at now: Timestamp) -> OutboxEntry {
        guard entry.state == .handingOver else { return entry }
        var e = entry
        let stage = e.handoverStage ?? .started
        e.handoverStage = nil
        e.handoverPID = nil
        func requeue(_ why: String) {
            e.state = .queued
            e.nextAttemptAt = now
            e.lastError = "interrupted hand-over: \(why)"
        }
        switch evidence {
        case .seen(let words):
            e.state = .sent
            e.sentAt = e.handoverStartedAt ?? now
            e.confirmation = "interrupted hand-over, then found: \(words)"
        case .notSeen(let words):
            requeue(words)
        case .unknown:
            if e.handoverTransport == .smtp && stage == .started {
                requeue("the relay never got the final dot")
            } else {
                e.state = .sent
                e.sentAt = e.handoverStartedAt ?? now
                e.confirmation = "unconfirmed: interrupted at stage \(stage.rawValue), not sent again"
            }
        }
        return e
    }

    /// Which of `due` (queued entries whose time has come, oldest first) may be handed
    /// over now, given the hand-overs each recipient had within the window
    /// (`recent[recipient]`, any order); the others are deferred until the window lets
    /// them through. Recipients compare case-insensitively.
    public static func plan(
        due: [OutboxEntry], recent: [String: [Timestamp]], at now: Timestamp, policy: DeliveryPolicy
    ) -> (send: [OutboxEntry], deferred: [OutboxEntry]) {
        var windows: [String: [Timestamp]] = [:]
        for (recipient, times) in recent {
            windows[recipient.lowercased(), default: []] += times.filter { now - $0 < policy.recipientWindow }
        }
        var send: [OutboxEntry] = []
        var deferred: [OutboxEntry] = []
        for entry in due where entry.state == .queued && entry.nextAttemptAt <= now {
            let key = entry.recipient.lowercased()
            var times = windows[key, default: []].sorted()
            if times.count < policy.perRecipientLimit {
                times.append(now)
                windows[key] = times
                send.append(entry)
            } else {
                var later = entry
                // The window lets one more through when its oldest hand-over leaves it.
                later.nextAttemptAt = times[times.count - policy.perRecipientLimit] + policy.recipientWindow
                deferred.append(later)
            }
        }
        return (send, deferred)
    }

    /// The entries of `caseID` released by the operator's approval (pending → queued, due now).
    public static func approve(_ entries: [OutboxEntry], caseID: UUID, at now: Timestamp) -> [OutboxEntry] {
        entries.compactMap { entry in
            guard entry.caseID == caseID, entry.state == .pendingApproval else { return nil }
            var e = entry
            e.state = .queued
            e.nextAttemptAt = now
            return e
        }
    }
}
