// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import NetworkAddress
import Synchronization

/// A daemon stand-in that records what the API asked of it.
final class FakeDaemon: BanAdministration, DaemonSnapshots {
    struct State {
        var bans: [BanRequest] = []
        var lifts: [IPNetwork] = []
        var failure: AdministrationError?
    }

    let state = Mutex(State())

    var isReady: Bool { true }

    func ban(_ request: BanRequest) throws(AdministrationError) -> BanView {
        if let failure = state.withLock({ $0.failure }) { throw failure }
        state.withLock { $0.bans.append(request) }
        return BanView(
            id: 1, network: request.network.description, kind: "manual", reason: request.reason, origin: "manual", offence: 1,
            created: "2026-12-02T20:00:00Z", expires: request.duration == nil ? nil : "2026-12-02T21:00:00Z", lifted: nil, inKernel: true)
    }

    func lift(_ network: IPNetwork) throws(AdministrationError) -> LiftResult {
        if let failure = state.withLock({ $0.failure }) { throw failure }
        return state.withLock { s in
            let lifted = s.bans.filter { $0.network == network }.count
            s.lifts.append(network)
            s.bans.removeAll { $0.network == network }
            return LiftResult(network: network.description, lifted: lifted)
        }
    }

    func bans(includeInactive: Bool, limit: Int) throws(AdministrationError) -> [BanView] {
        let requests = state.withLock { $0.bans }
        return requests.prefix(limit).map { r in
            BanView(
                id: nil, network: r.network.description, kind: "manual", reason: r.reason, origin: "manual", offence: 1,
                created: "2026-12-02T20:00:00Z", expires: nil, lifted: nil, inKernel: nil)
        }
    }

    func status() throws(AdministrationError) -> StatusView {
        let active = state.withLock { $0.bans.count }
        return StatusView(
            pid: 42, version: "test", stateDirectory: "/tmp/x",
            ledger: LedgerView(activeBans: active, permanentActiveBans: 0, totalBans: active, liftedBans: 0, eventsStored: 0, lastBan: nil),
            firewall: FirewallView(kind: "dry-run", table: nil, elements: nil, packetsDropped: nil, error: nil),
            floodGuard: nil, unmatched: [], unmatchedAsOf: "2026-12-02T20:00:00Z")
    }
}
