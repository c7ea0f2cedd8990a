// SPDX-License-Identifier: GPL-2.0-or-later

import Logging

/// What a SIGHUP did with a freshly loaded configuration.
public enum ReloadOutcome: Sendable {
    /// Applied by every service; `configuration` is what now runs.
    case applied(configuration: Configuration, needsRestart: [String])
    /// Refused by `service`; the running configuration stays in force.
    case refused(service: String, ReloadRefusal, needsRestart: [String])
}

/// Hands a reloaded configuration to every service (SIGHUP): restart-only settings keep
/// their running values and are named, every service checks the result, then each applies
/// it in the daemon's order. One refusal changes nothing.
public struct ConfigurationReload: Sendable {
    public let services: [any DaemonService]

    public init(services: [any DaemonService]) {
        self.services = services
    }

    /// Every restart-only setting, in the services' order.
    public var restartOnlySettings: [String] {
        var names: [String] = []
        for name in services.flatMap({ $0.restartOnly.map(\.name) }) where !names.contains(name) { names.append(name) }
        return names
    }

    /// Reloads `next` (already loaded, validated and made effective like the running one)
    /// over `running`.
    public func reload(_ loaded: Configuration, running: Configuration) -> ReloadOutcome {
        var next = loaded
        var needsRestart: [String] = []
        for service in services {
            // A setting several services depend on (`realtime`) is named once.
            for setting in service.restartOnly where setting.keepRunning(in: &next, running: running) && !needsRestart.contains(setting.name) {
                needsRestart.append(setting.name)
            }
        }
        for service in services {
            if let refusal = service.checkReload(next) {
                return .refused(service: service.name, refusal, needsRestart: needsRestart)
            }
        }
        for service in services {
            do {
                try service.applyReload(next, running: running)
            } catch {
                return .refused(service: service.name, error, needsRestart: needsRestart)
            }
        }
        return .applied(configuration: next, needsRestart: needsRestart)
    }

    /// Logs an outcome as the daemon always has (tests and operators wait for these lines).
    static func log(_ outcome: ReloadOutcome, logger: Logger) {
        let needsRestart: [String]
        switch outcome {
        case .applied(_, let names), .refused(_, _, let names): needsRestart = names
        }
        if !needsRestart.isEmpty {
            logger.warning("SIGHUP: these settings changed but apply only after a restart: \(needsRestart.joined(separator: ", "))")
        }
        switch outcome {
        case .refused(let service, let refusal, _):
            logger.error("SIGHUP: \(refusal.message)", metadata: ["error": "\(refusal.error)", "service": "\(service)"])
        case .applied(let next, _):
            logger.notice(
                "SIGHUP: configuration reloaded",
                metadata: [
                    "max_retry": "\(next.detection.threshold.maxRetry)",
                    "find_time": "\(DurationParser.format(next.detection.threshold.findTime))",
                    "ban_time": "\(DurationParser.format(next.detection.banTime))",
                    "flood_guard": "\(next.floodGuard.map { "\($0.packetsPerSecond)/\($0.burst)" } ?? "off")",
                ])
        }
    }
}
