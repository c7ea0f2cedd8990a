// SPDX-License-Identifier: GPL-2.0-or-later

import Logging
import Telemetry

/// `ban-consumers`: the fan-out's subscribers (the ledger's record, the ban log line; later
/// cases and fleet). Their threads exist from assembly on, because the pipeline publishes
/// into them; the service's place in the order makes the group stop them after every
/// sensor and before the ledger, so every ban published is handed to the ledger writer
/// before it flushes.
final class BanConsumersService: DaemonService {
    let name = "ban-consumers"
    private let consumers: BanConsumers

    init(consumers: BanConsumers) {
        self.consumers = consumers
    }

    func stop() { consumers.stop() }

    func collectMetrics(into c: inout MetricsCollection) {
        for consumer in consumers.fanOut.statistics {
            c.gauge(.consumerQueueDepth, consumer.name, value: Double(consumer.depth))
            c.count(.consumerQueueDropped, consumer.name, value: consumer.dropped)
        }
    }
}
