// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
import Foundation
public import WardenCore

/// Makes the outbox entry of one report: the MIME message (`MIMEReport`) for one
/// recipient, with the Message-ID of report number `sequence` of the case — the first
/// report to the case's contact `i` is number `i + 1`, and a retry or a resend after a
/// crash keeps it, so the store (unique by Message-ID) and the receiver see one message.
public enum OutboxComposer {
    /// The report number of the first report to contact `contactIndex`.
    public static func sequence(contactIndex: Int) -> Int { contactIndex + 1 }

    /// The entry for `incident` (already redacted) to `recipient`, in the state the
    /// policy's mode gives (`pending-approval` in review mode, `queued` in auto mode).
    public static func entry(
        incident: AbuseIncident, recipient: String, sequence: Int, reporter: Reporter, envelopeSender: String? = nil,
        policy: DeliveryPolicy, at now: Timestamp
    ) throws(XARFReport.RenderError) -> OutboxEntry {
        let xarf = try XARFReport.render(incident, reporter: reporter, timestamp: now)
        let message = MIMEReport.build(incident, to: [recipient], reporter: reporter, sequence: sequence, date: now, xarf: xarf)
        return OutboxEntry(
            caseID: incident.caseID, messageID: message.messageID, sender: envelopeSender ?? reporter.contact, recipient: recipient,
            message: message.bytes, state: OutboxSchedule.initialState(policy.mode), nextAttemptAt: now, createdAt: now)
    }
}
