// SPDX-License-Identifier: GPL-2.0-or-later

import Logging
import SIPWarden
import Storage
import Testing

/// The daemon's ban consumers over an in-memory ledger, as tests use them: `flush` waits
/// until the fan-out's consumers and then the ledger writer have handled every ban so far.
final class LedgeredConsumers: Sendable {
    let writer: LedgerWriter
    let consumers: BanConsumers

    init(ledger: Ledger, logger: Logger, ledgerCapacity: Int = BanConsumers.ledgerCapacity) throws {
        writer = try LedgerWriter(ledger: ledger) { Issue.record("ledger error \($0)") }
        consumers = try BanConsumers(ledger: writer, logger: logger, ledgerCapacity: ledgerCapacity)
    }

    func flush() { consumers.flush() }

    func stop() {
        consumers.stop()
        writer.stop()
    }
}
