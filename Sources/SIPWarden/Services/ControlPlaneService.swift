// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Logging
import Synchronization

/// `control-plane`: the HTTP API (docs/CONTROL-PLANE.md) on the state directory's Unix
/// socket and, when configured, on TCP. Last in the start order, so that when it answers
/// `/v1/ready` every sensor is up; first to stop.
///
/// Reload rule: its listeners (`control-plane`) are restart-only; the allowlist the API
/// checks manual bans against follows every reload.
final class ControlPlaneService: DaemonService {
    let name = "control-plane"
    private let configuration: Configuration
    private let controlPlane: DaemonControlPlane
    private let metricsText: (@Sendable () -> String)?
    private let ranges: (any RangeAdministration)?
    private let cases: (any CaseAdministration)?
    private let logger: Logger
    private let running = Mutex<RunningControlPlane?>(nil)

    init(
        configuration: Configuration, controlPlane: DaemonControlPlane, metricsText: (@Sendable () -> String)?,
        ranges: (any RangeAdministration)? = nil, cases: (any CaseAdministration)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.ranges = ranges
        self.cases = cases
        self.controlPlane = controlPlane
        self.metricsText = metricsText
        self.logger = logger
    }

    var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    func start() throws(DaemonError) -> [String] {
        let settings = configuration.controlPlane
        guard settings.socket || settings.http != nil else { return [] }
        let token: APIToken
        do { token = try APIToken.loadOrCreate(stateDirectory: configuration.stateDirectory) } catch {
            throw DaemonError("control plane: the token file \(error)")
        }
        let server = ControlPlaneServer(
            configuration: ControlPlaneConfiguration(
                socketPath: settings.socket ? ControlPlaneConfiguration.socketPath(stateDirectory: configuration.stateDirectory) : nil,
                tcp: settings.http, token: token, metricsText: metricsText, logger: logger
            ).withRanges(ranges).withCases(cases),
            administration: controlPlane, snapshots: controlPlane)
        do {
            let started = try RunningControlPlane.start(server)
            running.withLock { $0 = started }
        } catch {
            throw DaemonError("control plane: cannot listen: \(error)")
        }
        logger.info(
            "control plane listening",
            metadata: [
                "socket": "\(server.configuration.socketPath ?? "-")", "http": "\(settings.http?.description ?? "-")",
            ])
        controlPlane.markReady()
        return []
    }

    func stop() {
        running.withLock { r in
            defer { r = nil }
            return r
        }?.stop()
    }

    func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        controlPlane.update(next)
    }
}
