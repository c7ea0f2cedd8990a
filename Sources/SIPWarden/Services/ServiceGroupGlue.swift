// SPDX-License-Identifier: GPL-2.0-or-later

import Logging
import ServiceLifecycle
import UnixSignals

/// What the supervisor hears: a service is up, a signal, the periodic tick.
enum SupervisorEvent: Sendable {
    case started(index: Int, watching: [String])
    case signal(UnixSignal)
    case tick
}

/// Lets the services start one after the other, in the daemon's order, although the
/// group runs them concurrently: service `i` starts when service `i - 1` is up. One gate
/// per service, opened by the one before it (the first is open).
final class StartOrder: Sendable {
    private let gates: [(stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)]

    init(count: Int) {
        gates = (0...count).map { _ in AsyncStream.makeStream(of: Void.self) }
        gates[0].continuation.yield()
    }

    /// Waits until the services before `index` have started; false when the group was
    /// cancelled first (a service before it failed to start).
    func waitTurn(_ index: Int) async -> Bool {
        var gate = gates[index].stream.makeAsyncIterator()
        return await gate.next() != nil
    }

    func markStarted(_ index: Int) {
        gates[index + 1].continuation.yield()
        gates[index + 1].continuation.finish()
    }
}

/// Runs a `DaemonService` in the `ServiceGroup`: start in turn, report, wait for the
/// graceful shutdown (or the group's cancellation), stop.
struct ManagedService: Service, CustomStringConvertible {
    let service: any DaemonService
    let index: Int
    let order: StartOrder
    let events: AsyncStream<SupervisorEvent>.Continuation

    var description: String { service.name }

    func run() async throws {
        guard await order.waitTurn(index) else {
            return // an earlier service failed: this one never started
        }
        let watching: [String]
        do {
            watching = try service.start()
        } catch {
            service.stop()
            throw error
        }
        order.markStarted(index)
        events.yield(.started(index: index, watching: watching))
        // Returns on graceful shutdown; throws if the group is cancelled: stop either way.
        try? await gracefulShutdown()
        service.stop()
    }
}

/// The one owner of signals, and the daemon's clock: SIGTERM/SIGINT end its `run`, which
/// makes the group stop every service gracefully in reverse order; SIGHUP reloads the
/// configuration into every service; SIGUSR1 and every 10 s, each service's `tick`.
/// It logs `sipwarden ready` once every service has started.
struct Supervisor: Service, CustomStringConvertible {
    /// Re-reads the configuration file with the command line's flags on top.
    typealias Loader = @Sendable () throws(ConfigurationError) -> Configuration
    /// Turns a loaded configuration into the running form (own addresses allowlisted,
    /// embedded defaults kept), given the running one.
    typealias Effective = @Sendable (_ loaded: Configuration, _ running: Configuration) -> Configuration

    let services: [any DaemonService]
    let events: AsyncStream<SupervisorEvent>
    let continuation: AsyncStream<SupervisorEvent>.Continuation
    let configuration: Configuration
    let loader: Loader?
    let effective: Effective
    let tickInterval: Duration
    let logger: Logger

    var description: String { "supervisor" }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup, .sigusr1)
        let continuation = continuation
        let interval = tickInterval
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await signal in signals { continuation.yield(.signal(signal)) }
            }
            group.addTask {
                while (try? await Task.sleep(for: interval)) != nil { continuation.yield(.tick) }
            }
            await supervise()
            group.cancelAll()
        }
    }

    private func supervise() async {
        var running = configuration
        var watching = [[String]](repeating: [], count: services.count)
        var started = 0
        var ready: Bool { started == services.count }
        for await event in events.cancelOnGracefulShutdown() {
            switch event {
            case .started(let index, let names):
                watching[index] = names
                started += 1
                if ready { logReady(watching.flatMap { $0 }, running) }
            case .signal(let signal):
                if signal == .sigterm || signal == .sigint {
                    logger.notice("stopping on signal \(signal.rawValue)")
                    return
                }
                if signal == .sighup { reload(&running) }
                if ready { tick() }
            case .tick:
                if ready { tick() }
            }
        }
    }

    private func tick() {
        for service in services { service.tick() }
    }

    private func logReady(_ chosen: [String], _ config: Configuration) {
        if chosen.isEmpty {
            logger.warning(
                "no source to watch: sipwarden only enforces bans made with `sipwarden bans add` (use --log, --journal, --capture, --hep or --inline)"
            )
        }
        logger.notice(
            "sipwarden ready",
            metadata: [
                "firewall": "\(config.firewall.rawValue)", "sources": "\(chosen.count)", "watching": "\(chosen.joined(separator: " "))",
                "max_retry": "\(config.detection.threshold.maxRetry)",
            ])
    }

    /// SIGHUP: a configuration that does not load or validate changes nothing.
    private func reload(_ running: inout Configuration) {
        guard let loader else {
            logger.notice("SIGHUP: started without --config, nothing to reload")
            return
        }
        let loaded: Configuration
        do {
            loaded = try loader()
        } catch {
            logger.error("SIGHUP: configuration not reloaded, the running one stays in force", metadata: ["error": "\(error)"])
            return
        }
        let outcome = ConfigurationReload(services: services).reload(effective(loaded, running), running: running)
        ConfigurationReload.log(outcome, logger: logger)
        if case .applied(let next, _) = outcome {
            // What changed live, and which services took it (ConfigurationSchema's owners).
            let changed = ConfigurationSchema.changes(from: running, to: next).filter { $0.reload == .live }
            if !changed.isEmpty {
                var services: [String] = []
                for owner in changed.flatMap(\.owners) where !services.contains(owner) { services.append(owner) }
                logger.info(
                    "SIGHUP: live settings changed",
                    metadata: [
                        "settings": "\(changed.map(\.key).joined(separator: ","))", "services": "\(services.joined(separator: ","))",
                    ])
            }
            running = next
        }
    }
}
