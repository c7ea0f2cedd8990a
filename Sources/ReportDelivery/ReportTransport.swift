// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse

/// Hands one outbox entry to a mail system. `progress` records a stage durably; a
/// transport calls it before the step the stage names (`spawned` with the process id,
/// `final-dot` before the message's final dot) and gives up with a temporary failure when
/// it throws, so the ledger always knows at least as much as the mail system.
public protocol ReportTransport: Sendable {
    /// Which transport this is (kept with each hand-over, for the restart rule).
    var kind: TransportKind { get }

    /// Hands `entry` over (envelope `entry.sender` → `entry.recipient`, `entry.message`).
    func handOver(_ entry: OutboxEntry, progress: @escaping @Sendable (HandoverStage, Int32?) throws -> Void) async -> HandoverOutcome
}

/// Mail addresses a transport puts on a command line or into an SMTP command: no spaces,
/// no control characters, no angle brackets, not starting with `-` (never an option).
enum EnvelopeAddress {
    static func isSafe(_ address: String) -> Bool {
        guard !address.isEmpty, address.utf8.count <= 254, !address.hasPrefix("-") else { return false }
        return address.unicodeScalars.allSatisfy { s in s.value > 0x20 && s.value < 0x7F && !"<>()[],;:\\\"".unicodeScalars.contains(s) }
            && address.contains("@")
    }
}
