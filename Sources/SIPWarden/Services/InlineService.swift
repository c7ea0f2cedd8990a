// SPDX-License-Identifier: GPL-2.0-or-later

public import Inline
public import Logging
import Synchronization
public import Telemetry
import WardenCore

/// The `sensor:inline` service: inline admission through NFQUEUE (its verdict thread) and
/// the iptables-nft rules that queue SIP to it.
///
/// - start: opens the queue, starts the verdict thread (failures it sees are judged by the
///   same detector, on that thread), installs the rules when it manages them;
/// - stop: stops the verdict thread, then removes the rules (fail mode `bypass`: traffic
///   passes while sipwarden is stopped).
///
/// Reload rule: the admission policy live — it is derived from the detection section
/// (`Configuration.admissionPolicy`) and handed to the verdict thread before its next batch,
/// so a SIGHUP changes `max-retry` for inline admission and the detector alike; `inline`
/// (queue, ports, fail mode, rules) restart-only. The lower max-retries of provider, AS
/// and list rules (`ranges.rules`) follow the detector's: every time the intelligence
/// service installs them (start, SIGHUP, an `intel update`), the verdict thread takes them
/// before its next batch (`Pipeline.observeSourceThresholds`).
public final class InlineService: DaemonService {
    public let name = "sensor:inline"
    private let settings: InlineSettings?
    private let policy: AdmissionPolicy
    private let pipeline: Pipeline
    private let logger: Logger
    private let running = Mutex<(queue: InlineQueue?, rulesInstalled: Bool)>((nil, false))

    public init(settings: InlineSettings?, policy: AdmissionPolicy, pipeline: Pipeline, logger: Logger) {
        self.settings = settings
        self.policy = policy
        self.pipeline = pipeline
        self.logger = logger
    }

    public func start() throws(DaemonError) -> [String] {
        guard let inline = settings else { return [] }
        let queueConfiguration = InlineQueueConfiguration(queue: inline.queue, failMode: inline.failMode, policy: policy)
        let pipeline = pipeline
        do {
            // Failures seen inline go to the same detector, on the verdict thread: the
            // kernel ban is as fast as on every other path.
            let queue = try InlineQueue(configuration: queueConfiguration, logger: logger) { event in
                let e = event.securityEvent
                pipeline.judge([e], received: e.time)
            }
            // Before the first batch: the same lower max-retries as the detector, and each
            // new set the intelligence service installs.
            pipeline.observeSourceThresholds { [weak queue] thresholds in
                queue?.replaceSourceLimits(thresholds.map { InlineThresholds($0) })
            }
            try queue.start()
            running.withLock { $0.queue = queue }
        } catch {
            throw DaemonError("cannot open NFQUEUE \(inline.queue): \(error)")
        }
        if inline.manageRules {
            do {
                let report = try InlineRules.install(queue: inline.queue, ports: inline.ports, failMode: inline.failMode)
                running.withLock { $0.rulesInstalled = true }
                logger.notice("inline admission rules installed", metadata: ["rules": "\(report)"])
            } catch {
                throw DaemonError("cannot install the inline queue rules: \(error)")
            }
        }
        logger.info("inline admission on NFQUEUE \(inline.queue)", metadata: ["fail_mode": "\(inline.failMode.rawValue)"])
        return ["inline:\(inline.queue)"]
    }

    public func stop() {
        // The queue is kept (stopped) for the `stopped` line's counters.
        let (queue, rulesInstalled) = running.withLock { r in
            defer { r.rulesInstalled = false }
            return r
        }
        queue?.stop()
        if rulesInstalled {
            do { try InlineRules.remove() } catch { logger.error("could not remove the inline queue rules: \(error)") }
        }
    }

    /// Its restart-only settings, as `ConfigurationSchema` declares them.
    public var restartOnly: [RestartOnlySetting] { ConfigurationSchema.restartOnly(owner: name) }

    public func checkReload(_ next: Configuration) -> ReloadRefusal? {
        guard settings != nil, case let problems = next.admissionPolicy.validationErrors(), !problems.isEmpty else { return nil }
        return ReloadRefusal("configuration not reloaded, inline admission cannot use it", error: problems.joined(separator: "; "))
    }

    public func applyReload(_ next: Configuration, running: Configuration) throws(ReloadRefusal) {
        guard let queue = self.running.withLock({ $0.queue }) else { return }
        do {
            try queue.replacePolicy(next.admissionPolicy)
        } catch {
            // Checked in `checkReload`: unreachable, but never silent.
            logger.error("SIGHUP: inline admission kept its policy", metadata: ["error": "\(error)"])
        }
    }

    public func collectMetrics(into c: inout MetricsCollection) {
        guard let queue = running.withLock({ $0.queue }) else { return }
        let statistics = queue.statistics
        c.count(.packetsRead, "inline", value: statistics.verdicts)
        c.count(.inlineDropped, value: statistics.dropped)
        c.count(.inlineOverruns, value: statistics.receiveOverruns)
        c.gauge(.trackedSources, "inline", value: Double(statistics.admission.trackedSources))
    }

    public var summary: Logger.Metadata {
        guard let inline = running.withLock({ $0.queue })?.statistics else { return [:] }
        return [
            "inline_dropped": "\(inline.dropped)", "inline_overruns": "\(inline.receiveOverruns)",
            "inline_dropped_budget": "\(inline.admission.droppedBudget)",
            "inline_dropped_uncredentialed": "\(inline.admission.droppedUncredentialedLimit)",
            "inline_dropped_exhausted": "\(inline.admission.droppedExhausted)",
            "inline_dropped_hold_expired": "\(inline.admission.droppedHoldExpired)",
            "inline_dropped_unjudgeable": "\(inline.filter.unjudgeableDropped + inline.filter.fragmentsDropped)",
            "inline_held": "\(inline.admission.held)",
            "inline_absorbed": "\(inline.absorbed)",
            "inline_held_admitted": "\(inline.admission.heldAdmitted)",
            "inline_retransmissions": "\(inline.admission.admittedRetransmissions)",
            "inline_timed_out": "\(inline.admission.expired)",
            "inline_unmatched_responses": "\(inline.admission.unmatchedResponses)",
            "inline_verdict_errors": "\(inline.verdictErrors)",
        ]
    }
}
