// SPDX-License-Identifier: GPL-2.0-or-later

import Hummingbird
import Logging
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The control plane as a `Service`: its `run()` serves the Unix socket and, when
/// configured, TCP until graceful shutdown or cancellation.
public struct ControlPlaneServer: Service {
    public let configuration: ControlPlaneConfiguration
    private let administration: any BanAdministration
    private let snapshots: any DaemonSnapshots
    private let onListening: @Sendable (String) -> Void

    /// - Parameter onListening: called once per listener when it accepts connections
    ///   (with `unix:PATH` or `tcp:ADDR:PORT`), after the socket was made 0600.
    public init(
        configuration: ControlPlaneConfiguration, administration: any BanAdministration, snapshots: any DaemonSnapshots,
        onListening: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.administration = administration
        self.snapshots = snapshots
        self.onListening = onListening
    }

    /// The same server, calling `onListening` for each listener that accepts connections.
    func announcing(_ onListening: @escaping @Sendable (String) -> Void) -> ControlPlaneServer {
        ControlPlaneServer(configuration: configuration, administration: administration, snapshots: snapshots, onListening: onListening)
    }

    public func run() async throws {
        let c = configuration
        var applications: [Application<RouterResponder<BasicRequestContext>>] = []
        if let path = c.socketPath {
            let router = APIRouter.build(
                administration: administration, snapshots: snapshots, token: c.token, tokenForReads: false,
                metricsText: c.metricsText, ranges: c.ranges, cases: c.cases)
            let announce = onListening
            applications.append(
                Application(
                    router: router, configuration: .init(address: .unixDomainSocket(path: path), serverName: "sipwarden"),
                    onServerRunning: { _ in
                        // Root only: connecting needs write permission on the socket file.
                        chmod(path, 0o600)
                        announce("unix:\(path)")
                    },
                    logger: c.logger))
        }
        if let tcp = c.tcp {
            let router = APIRouter.build(
                administration: administration, snapshots: snapshots, token: c.token, tokenForReads: true,
                metricsText: c.metricsText, ranges: c.ranges, cases: c.cases)
            let announce = onListening
            applications.append(
                Application(
                    router: router, configuration: .init(address: .hostname(tcp.host, port: tcp.port), serverName: "sipwarden"),
                    onServerRunning: { _ in announce("tcp:\(tcp)") },
                    logger: c.logger))
        }
        defer { if let path = c.socketPath { unlink(path) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for application in applications {
                group.addTask { try await application.run() }
            }
            // One listener failing (its address in use, …) stops the others.
            for try await _ in group { group.cancelAll() }
        }
    }
}

/// A control plane started from synchronous code (the daemon's main thread), until the
/// daemon is a `ServiceGroup`: `start` waits until every listener accepts connections or
/// one failed; `stop` cancels it and waits for it to end.
public final class RunningControlPlane: Sendable {
    private let group: Mutex<ServiceGroup?> = Mutex(nil)
    private let finished = Gate()

    private init() {}

    /// Starts `server`; returns once it listens everywhere it should, or throws what
    /// stopped it (within `timeout`).
    public static func start(_ server: ControlPlaneServer, timeout: Duration = .seconds(10)) throws(ControlPlaneStartError) -> RunningControlPlane {
        let running = RunningControlPlane()
        let expected = (server.configuration.socketPath == nil ? 0 : 1) + (server.configuration.tcp == nil ? 0 : 1)
        let listening = Gate()
        let progress = StartProgress()
        let wrapped = server.announcing { _ in
            if progress.count.withLock({
                $0 += 1
                return $0
            }) == expected {
                listening.open()
            }
        }
        let finished = running.finished
        // A group of one, so that `stop` is a graceful shutdown (open requests finish).
        let group = ServiceGroup(configuration: .init(services: [wrapped], logger: server.configuration.logger))
        running.group.withLock { $0 = group }
        Task {
            defer {
                finished.open()
                listening.open()
            }
            do { try await group.run() } catch {
                progress.failure.withLock { $0 = "\(error)" }
            }
        }
        guard listening.wait(timeout: timeout) else {
            running.stop()
            throw ControlPlaneStartError(message: "not listening after \(timeout)")
        }
        if finished.isOpen || progress.count.withLock({ $0 }) < expected {
            running.stop()
            throw ControlPlaneStartError(message: progress.failure.withLock { $0 } ?? "stopped at start")
        }
        return running
    }

    /// Stops serving (gracefully: requests in progress are answered) and waits for it.
    public func stop() {
        guard let group = group.withLock({ $0 }) else { return }
        Task { await group.triggerGracefulShutdown() }
        _ = finished.wait(timeout: .seconds(10))
    }
}

/// What `RunningControlPlane.start` learns from the server's task.
private final class StartProgress: Sendable {
    let count = Mutex(0)
    let failure = Mutex<String?>(nil)
}

/// The control plane could not start listening.
public struct ControlPlaneStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A one-shot event a thread can wait for (with a timeout).
final class Gate: Sendable {
    private let state = Mutex(false)

    func open() { state.withLock { $0 = true } }

    var isOpen: Bool { state.withLock { $0 } }

    /// Waits until open; false on timeout. Polls every millisecond (used at start and
    /// stop only).
    func wait(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isOpen {
            if ContinuousClock.now >= deadline { return false }
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&pause, nil)
        }
        return true
    }
}
