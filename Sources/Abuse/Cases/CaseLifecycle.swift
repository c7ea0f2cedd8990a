// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// What can happen to a case: the operator, the mail, the traffic, the clock.
public enum CaseInput: Sendable, Hashable {
    /// The case was created from a ban: report it (review mode: ask first).
    case open
    /// The operator approved what is pending (the report, or an escalation step).
    case approve
    /// The report went to contact `contactIndex` (handed to the MTA).
    case delivered(contactIndex: Int)
    /// An answer arrived and was classified.
    case answer(AnswerClassification)
    /// A source of the case was seen sending (a failure, or a packet into its ban).
    case traffic
    /// The operator closed the case.
    case close(reason: String)
    /// Time passed: deadlines and silence are checked.
    case tick
}

extension AbuseCase {
    /// Applies `input` at `now` and returns what the shell must do. Pure and
    /// deterministic: the clock is `now`; nothing here sends or reads anything.
    public mutating func handle(_ input: CaseInput, at now: Timestamp, policy: CasePolicy) -> [CaseAction] {
        switch input {
        case .open:
            guard state == .detected else { return [] }
            if policy.review {
                move(to: .review, at: now, "waiting for approval to report to \(contacts.first ?? "no contact")")
                return [.requestApproval("report case \(id.uuidString.lowercased()) to \(contacts.first ?? "no contact")")]
            }
            return contacts.isEmpty
                ? [.notifyOperator("case \(id.uuidString.lowercased()): no abuse contact known")] : [.sendReport(contactIndex: currentContact)]

        case .approve:
            if state == .review {
                note("approved by the operator", at: now)
                return contacts.isEmpty
                    ? [.notifyOperator("case \(id.uuidString.lowercased()): no abuse contact known")] : [.sendReport(contactIndex: currentContact)]
            }
            if let step = pendingEscalation { return take(step, at: now) }
            return []

        case .delivered(let index):
            if state == .detected || state == .review {
                reportedAt = now
                clockStart = now
                move(to: .sent, at: now, "report sent to \(contact(index))")
            } else {
                clockStart = now
                note("report sent to \(contact(index))", at: now)
            }
            return []

        case .answer(let answer):
            return handleAnswer(answer, at: now, policy: policy)

        case .traffic:
            lastTrafficAt = max(lastTrafficAt ?? now, now)
            guard state == .mitigated else { return [] }
            everResumed = true
            clockStart = now
            move(to: .resumed, at: now, "a source is sending again")
            return [.notifyOperator("case \(id.uuidString.lowercased()) resumed: a source is sending again")]

        case .close(let reason):
            guard state != .closed else { return [] }
            move(to: .closed, at: now, "closed: \(reason)")
            return []

        case .tick:
            return checkClock(at: now, policy: policy)
        }
    }

    private mutating func handleAnswer(_ answer: AnswerClassification, at now: Timestamp, policy: CasePolicy) -> [CaseAction] {
        guard state != .closed, state != .detected, state != .review else {
            note("\(answer.kind.rawValue) ignored in state \(state.rawValue): \(answer.reason)", at: now)
            return []
        }
        switch answer.kind {
        case .bounce:
            bounces += 1
            guard answer.permanent else {
                note("temporary delivery failure (\(answer.deliveryStatus ?? "no status")) from \(contact(currentContact))", at: now)
                return []
            }
            note("bounced (\(answer.deliveryStatus ?? "no status")): \(contact(currentContact)) is dead", at: now)
            if currentContact + 1 < contacts.count {
                currentContact += 1
                return [.sendReport(contactIndex: currentContact)]
            }
            return propose(nextStep, at: now, policy: policy, because: "no working contact left")
        case .acknowledgement, .human:
            if let t = answer.ticket { ticket = t }
            if acknowledgedAt == nil { acknowledgedAt = now }
            let what = answer.kind == .human ? "a person answered" : "acknowledged"
            let detail = answer.ticket.map { "\(what), ticket \($0)" } ?? what
            if state == .sent || state == .overdue {
                if state == .overdue { pendingEscalation = nil }
                move(to: .acknowledged, at: now, detail)
            } else {
                note(detail, at: now)
            }
            return []
        case .outOfOffice:
            note("out of office: nobody read it yet", at: now)
            return []
        case .feedbackReport:
            note("a feedback report, not an answer to ours", at: now)
            return []
        }
    }

    private mutating func checkClock(at now: Timestamp, policy: CasePolicy) -> [CaseAction] {
        switch state {
        case .detected, .review, .closed:
            return []
        case .mitigated:
            if let m = mitigatedAt, now - m >= policy.closeAfterMitigated {
                move(to: .closed, at: now, "mitigated for \(Self.words(policy.closeAfterMitigated))")
            }
            return []
        case .sent, .acknowledged, .overdue, .escalated, .resumed:
            guard let reported = reportedAt, let start = clockStart else { return [] }
            // Silence since the report (or since the source's last packet after it).
            let silentSince = max(lastTrafficAt ?? start, state == .resumed ? start : reported)
            if now - silentSince >= policy.silenceForMitigated {
                mitigatedAt = now
                pendingEscalation = nil
                move(
                    to: .mitigated, at: now, "sources silent for \(Self.words(now - silentSince)) (last traffic \(lastTrafficAt?.rfc3339 ?? "none"))")
                return []
            }
            guard state != .overdue else { return [] }
            if acknowledgedAt == nil, state == .sent, now - start >= policy.acknowledgeWithin {
                move(to: .overdue, at: now, "no acknowledgement within \(Self.words(policy.acknowledgeWithin))")
                return propose(nextStep, at: now, policy: policy, because: "overdue")
            }
            if now - start >= policy.mitigateWithin {
                move(
                    to: .overdue, at: now,
                    "the attack went on for \(Self.words(policy.mitigateWithin)) after the \(escalations.isEmpty ? "report" : "escalation")")
                return propose(nextStep, at: now, policy: policy, because: "overdue")
            }
            return []
        }
    }

    /// The next step up the ladder not yet taken (nil when all are).
    var nextStep: EscalationStep? { EscalationStep.allCases.first { !escalations.contains($0) } }

    private mutating func propose(_ step: EscalationStep?, at now: Timestamp, policy: CasePolicy, because reason: String) -> [CaseAction] {
        guard let step else {
            note("\(reason); every escalation step has been taken", at: now)
            return [.notifyOperator("case \(id.uuidString.lowercased()): \(reason), nothing left to escalate to")]
        }
        if policy.approveEscalations {
            pendingEscalation = step
            note("\(reason): escalation to \(step.rawValue) waits for approval", at: now)
            return [.requestApproval("escalate case \(id.uuidString.lowercased()) to \(step.rawValue)")]
        }
        return take(step, at: now)
    }

    private mutating func take(_ step: EscalationStep, at now: Timestamp) -> [CaseAction] {
        escalations.append(step)
        pendingEscalation = nil
        clockStart = now
        move(to: .escalated, at: now, "escalated to \(step.rawValue)")
        var actions: [CaseAction] = [.escalate(step)]
        if step == .lawEnforcement {
            actions.append(.notifyOperator("case \(id.uuidString.lowercased()): evidence pack for law enforcement written"))
        }
        return actions
    }

    private func contact(_ index: Int) -> String { contacts.indices.contains(index) ? contacts[index] : "contact \(index)" }

    /// `90000 s` → `25 h`.
    static func words(_ d: Duration) -> String {
        let s = d.components.seconds
        if s % 86_400 == 0, s >= 86_400 { return "\(s / 86_400) d" }
        if s % 3600 == 0, s >= 3600 { return "\(s / 3600) h" }
        if s % 60 == 0, s >= 60 { return "\(s / 60) min" }
        return "\(s) s"
    }
}
