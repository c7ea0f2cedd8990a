// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

extension AbuseCase {
    /// Keeps a note in the case's history without changing its state (what the case
    /// service did about an action: a report that could not be built, an escalation step
    /// with nobody to send it to, where an evidence pack was written).
    public mutating func annotate(_ text: String, at time: Timestamp) {
        note(text, at: time)
    }
}
