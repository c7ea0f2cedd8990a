// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import AbuseMail
import BanFanOut
import Dispatch
import Firewall
import Foundation
import Logging
import NetworkAddress
import ReportDelivery
import Storage
import Synchronization
import Telemetry
import WardenCore

/// `cases`: abuse reports and cases (docs/ABUSE.md). Off unless `abuse:` is configured.
///
/// One loop, woken by every enforced ban (a fan-out consumer) and every `tick`, does in
/// order: the bans the ledger recorded since its cursor (`STATE/abuse/cases.cursor`,
/// written after each ban) → `CaseEngine.take`; the outbox (`OutboxDeliverer`: `recover`
/// once at start, then `deliverDue`; in review mode only approved reports are due) and the
/// sent reports fed to their cases; the cases' deadlines. Beside it, the Maildir watcher
/// (its own thread) records answers, and the traffic sampler (reading the ban sets'
/// counters every `counter-interval`) feeds traffic to the cases.
///
/// Reload rule: the `abuse` section is restart-only.
final class CasesService: DaemonService {
    let name = ServiceName.cases
    let engine: CaseEngine
    private let settings: AbuseSettings
    private let ledger: Ledger
    private let consumers: BanConsumers
    private let deliverer: OutboxDeliverer
    private let maildir: Maildir
    private let cursorFile: String
    private let counterReader: SetCounterReader?
    private let sightings: SourceSightings?
    private let logger: Logger
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let running = Mutex<Running>(Running())
    private let counts = Mutex<Counts>(Counts())
    private let afterPass = Mutex<(@Sendable () -> Void)?>(nil)

    private struct Running {
        var loop: Task<Void, Never>?
        var samplerTask: Task<Void, Never>?
        var watcher: MaildirWatcher?
        var sampler: TrafficSampler?
    }

    private struct Counts {
        var opened = 0
        var sent = 0
        var failures = 0
    }

    /// The service of `configuration.abuse`; nil when the section is absent.
    /// - Parameter sightings: the detection path's failures of watched sources (the
    ///   pipeline's); nil: only the ban sets' counters and new bans tell traffic.
    init?(
        configuration: Configuration, ledger: Ledger, consumers: BanConsumers, ownAddresses: [IPNetwork], sightings: SourceSightings? = nil,
        logger: Logger
    ) throws(DaemonError) {
        guard let settings = configuration.abuse else { return nil }
        self.settings = settings
        self.sightings = sightings
        self.ledger = ledger
        self.consumers = consumers
        self.logger = logger
        let state = configuration.stateDirectory
        let store = CaseStore(ledger: ledger)
        let lookup = AbuseContactLookup(
            bootstrapBase: settings.rdapBootstrap, stateDirectory: URL(fileURLWithPath: state), overrides: settings.contactOverrides)
        let redaction = settings.redact.policy(ownNetworks: ownAddresses + configuration.detection.allowlist.networks)
        engine = CaseEngine(
            store: store, ledger: ledger, settings: settings, redaction: redaction, stateDirectory: state,
            lookup: { address in
                do throws(AbuseContactLookup.LookupError) { return .success(try await lookup.contact(for: address)) } catch { return .failure(error) }
            }, clock: systemClock, logger: logger)
        let transport: any ReportTransport
        let check: (any HandoverCheck)?
        switch settings.transport {
        case .sendmail:
            transport = SendmailTransport(path: settings.sendmail)
            check = PostfixHandoverCheck(logFiles: settings.postfixLogs)
        case .smtp:
            guard let endpoint = settings.relayEndpoint else { throw DaemonError("abuse.relay: HOST:PORT required") }
            let (host, port) = endpoint
            var credentials: SMTPConfiguration.Credentials?
            if let file = settings.credentialsFile {
                credentials = try Self.credentials(file)
            }
            transport = SMTPTransport(
                configuration: SMTPConfiguration(
                    host: host, port: port, security: settings.relayWithoutTLS ? .none : .startTLS, credentials: credentials,
                    heloName: settings.reporterIdentity.domain))
            check = nil
        }
        deliverer = OutboxDeliverer(store: store, transport: transport, policy: DeliveryPolicy(mode: settings.mode), check: check, clock: systemClock)
        maildir = settings.maildir.map { Maildir(root: $0) } ?? .default(stateDirectory: state)
        cursorFile = state + "/abuse/cases.cursor"
        if configuration.firewall == .nftables {
            do throws(FirewallError) { counterReader = try SetCounterReader(configuration: configuration.nftablesConfiguration) } catch {
                logger.warning("cases: the ban sets' counters cannot be read; only sensors tell traffic", metadata: ["error": "\(error.message)"])
                counterReader = nil
            }
        } else {
            counterReader = nil
        }
        let stream = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wakes = stream.stream
        wake = stream.continuation
    }

    /// `USER PASSWORD` on one line, the file mode 600 or stricter.
    static func credentials(_ path: String) throws(DaemonError) -> SMTPConfiguration.Credentials {
        var info = stat()
        guard stat(path, &info) == 0, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DaemonError("abuse.credentials-file: cannot read \(path)")
        }
        guard info.st_mode & 0o077 == 0 else { throw DaemonError("abuse.credentials-file: \(path) must be mode 600 or stricter") }
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { throw DaemonError("abuse.credentials-file: expected 'USER PASSWORD' in \(path)") }
        return .init(user: String(parts[0]), password: String(parts[1]))
    }

    /// Wakes the loop at every enforced ban.
    func subscribe() throws(BanFanOutError) {
        let wake = self.wake
        try consumers.fanOut.subscribe("cases", capacity: 1_024, onGap: { _ in wake.yield() }) { change in
            if case .ban = change { wake.yield() }
        }
    }

    /// Runs `body` after every pass, when the cases may have changed (the ranges service's
    /// `overdue-block` rule re-reads them).
    func afterEachPass(_ body: @escaping @Sendable () -> Void) { afterPass.withLock { $0 = body } }

    var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    func start() throws(DaemonError) -> [String] {
        do throws(MaildirError) { try maildir.create() } catch {
            throw DaemonError("cases: maildir: \(error)")
        }
        let engine = self.engine
        let store = engine.store
        let watcher: MaildirWatcher
        do throws(MaildirError) {
            watcher = try MaildirWatcher(
                maildir: maildir, handler: MatchingHandler(index: { store }, record: { mail, matched in try engine.record(mail, matched) }),
                logger: logger)
            try watcher.start()
        } catch {
            throw DaemonError("cases: maildir watcher: \(error)")
        }
        var sampler: TrafficSampler?
        if let counterReader {
            let s = TrafficSampler(
                reader: counterReader, watch: TrafficWatch(silence: settings.quietTime), interval: settings.counterInterval,
                events: { events in engine.traffic(events) })
            if let sightings { s.follow(sightings) }
            engine.whenReported { c in
                if let at = c.reportedAt { s.withWatch { $0.watch(c.id, sources: c.sources, reportedAt: at) } }
            }
            sampler = s
        }
        let cursor = loadCursor()
        let trafficSampler = sampler
        let loop = Task { [self] in await self.run(cursor: cursor, sampler: trafficSampler) }
        let samplerTask = sampler.map { s in Task { await s.run() } }
        running.withLock {
            $0.loop = loop
            $0.samplerTask = samplerTask
            $0.watcher = watcher
            $0.sampler = sampler
        }
        return ["cases:\(settings.mode.rawValue)", "maildir:\(maildir.root)"]
    }

    func stop() {
        let r = running.withLock { r -> Running in
            let copy = r
            r = Running()
            return copy
        }
        r.watcher?.stop()
        r.samplerTask?.cancel()
        wake.finish()
        r.loop?.cancel()
        if let loop = r.loop {
            let done = DispatchSemaphore(value: 0)
            Task {
                await loop.value
                done.signal()
            }
            _ = done.wait(timeout: .now() + 10)
        }
    }

    func tick() { wake.yield() }

    /// Wakes the loop (a change through the control plane: approve, close).
    var waker: @Sendable () -> Void {
        let wake = self.wake
        return { wake.yield() }
    }

    var summary: Logger.Metadata {
        let c = counts.withLock { $0 }
        return ["casesOpened": "\(c.opened)", "reportsSent": "\(c.sent)"]
    }

    // MARK: - The loop

    private func run(cursor start: Int64?, sampler: TrafficSampler?) async {
        var cursor: Int64
        do throws(LedgerError) {
            if let start { cursor = start } else { cursor = try ledger.lastRow() }
            for e in try await deliverer.recover() {
                logger.notice("outbox: interrupted hand-over resolved", metadata: ["message": "\(e.messageID)", "state": "\(e.state.rawValue)"])
            }
            try engine.reconcileSent()
            if let sampler {
                for c in try engine.store.cases(states: [.sent, .acknowledged, .overdue, .escalated, .resumed, .mitigated], limit: 100_000) {
                    if let at = c.reportedAt { sampler.withWatch { $0.watch(c.id, sources: c.sources, reportedAt: at) } }
                }
            }
        } catch {
            logger.error("cases: cannot read the ledger at start", metadata: ["error": "\(error)"])
            return
        }
        saveCursor(cursor)
        let ticker = Task { [wake, settings] in
            while !Task.isCancelled {
                try? await Task.sleep(for: settings.tick)
                wake.yield()
            }
        }
        defer { ticker.cancel() }
        var iterator = wakes.makeAsyncIterator()
        repeat {
            if Task.isCancelled { break }
            cursor = await pass(cursor: cursor, sampler: sampler)
        } while await iterator.next() != nil
    }

    /// One pass: new bans, delivery, deadlines. Returns the new cursor.
    private func pass(cursor start: Int64, sampler: TrafficSampler?) async -> Int64 {
        var cursor = start
        consumers.flushLedger()
        do throws(LedgerError) {
            while true {
                let page = try ledger.bans(afterRow: cursor, limit: 200)
                for record in page {
                    let outcome = try await engine.take(record)
                    switch outcome {
                    case .opened: counts.withLock { $0.opened += 1 }
                    case .traffic(_, let source): sampler?.sighted(source, at: record.createdAt)
                    case .joined, .ignored: break
                    }
                    if let id = record.id { cursor = max(cursor, id) }
                    saveCursor(cursor)
                }
                if page.count < 200 { break }
            }
            while true {
                let pass = try await deliverer.deliverDue(limit: 50)
                for e in pass.handedOver {
                    logger.notice(
                        "report \(e.state == .sent ? "sent" : e.state.rawValue)",
                        metadata: [
                            "case": "\(CaseEngine.key(e.caseID))", "to": "\(e.recipient)", "message": "\(e.messageID)",
                            "error": "\(e.lastError ?? "")",
                        ])
                }
                counts.withLock { $0.sent += pass.sent }
                try engine.delivered(pass.handedOver)
                if pass.handedOver.isEmpty { break }
            }
            try await engine.retryContacts()
            for id in try engine.tick() { sampler?.withWatch { $0.unwatch(id) } }
        } catch {
            counts.withLock { $0.failures += 1 }
            logger.warning("cases: pass failed (retried at the next tick)", metadata: ["error": "\(error)"])
        }
        afterPass.withLock { $0 }?()
        return cursor
    }

    private func loadCursor() -> Int64? {
        (try? String(contentsOfFile: cursorFile, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private func saveCursor(_ cursor: Int64) {
        let url = URL(fileURLWithPath: cursorFile)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? Data("\(cursor)\n".utf8).write(to: url, options: .atomic)
    }
}

/// `cases` while `abuse:` is not configured: runs nothing, but owns the section's reload
/// rule, so a SIGHUP that adds or changes `abuse:` is named as needing a restart instead of
/// passing unnoticed.
struct CasesServiceOff: DaemonService {
    let name = ServiceName.cases
    var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }
}
