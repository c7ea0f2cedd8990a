// SPDX-License-Identifier: GPL-2.0-or-later

public import BanFanOut
public import Detection
public import Feeds
public import Firewall
public import LogFormats
public import Logging
public import NetworkAddress
public import Sensors
import Synchronization
public import Telemetry
public import WardenCore

/// The hot path, from decoded lines to kernel bans:
/// lines → dialect parser → `SecurityEvent` → `Detector` → `Ban` → firewall → fan-out.
///
/// Called from each sensor's own thread. The detector is shared behind a mutex taken once
/// per batch of lines; the kernel update happens on the caller's thread right after the
/// batch is judged (no timer, no queue hop). Then the `EnforcedBan` is published to the
/// `BanFanOut`: every consumer (ledger, log line, metrics, …) has its own bounded queue and
/// thread, so neither disk I/O nor a slow consumer ever delays a ban. The pipeline knows
/// no consumer; the daemon subscribes them (`BanConsumers`). A failing source that is
/// not banned is marked as a suspect for the kernel flood guard (`Firewall.markSuspect`:
/// one netlink add at its first failure, after the verdict, never before a ban).
public final class Pipeline: Sendable {
    let detector: Mutex<Detector>
    /// What a ban keeps of its network (the intelligence store's answer); nil without one.
    private let enrichment = Mutex<(@Sendable (IPAddress) -> IntelEnrichment)?>(nil)
    /// The lower max-retries in force and who else applies them (inline admission).
    private let thresholdObservers = Mutex<(current: (any SourceThresholdLookup)?, observers: [SourceThresholdObserver])>((nil, []))
    /// Merges reports of one attempt from several sensors before the detector counts it.
    private let merge: Mutex<SensorMerge>
    private let firewall: any Firewall
    private let fanOut: BanFanOut?
    private let logger: Logger
    let clock: TimeSource
    private let timeResolver: LogTimeResolver
    private let counters = Mutex(PipelineCounters())
    private let unmatched = Mutex([String: UnmatchedLineCount]())
    /// The capture sensors' kernel filter of banned hosts, kept equal to the kernel bans.
    let bannedSources: BannedSourceFilter?
    /// Prometheus metrics: each ban is counted and its latencies observed (nil: none).
    private let metrics: WardenMetrics?
    /// Sources listed by `suspect` feeds: their first failure bans (`FeedService` fills it).
    public let feedSuspects = FeedSuspects()
    /// Failures of the sources of open abuse cases, for the case service (`CasesService`).
    public let sightings = SourceSightings()

    /// - Parameter fanOut: where enforced bans go (nil: nowhere, for tests and dry runs).
    /// - Parameter bannedSources: when given, every host ban that reaches the kernel is
    ///   also put there (same duration), and lifted ones taken out, so that capture sensors
    ///   stop seeing banned floods (see docs/BENCHMARKS.md).
    public init(
        policy: DetectionPolicy, firewall: any Firewall, fanOut: BanFanOut?, logger: Logger,
        clock: @escaping TimeSource, logUTCOffsetSeconds: Int = 0, bannedSources: BannedSourceFilter? = nil,
        metrics: WardenMetrics? = nil
    ) {
        self.bannedSources = bannedSources
        self.metrics = metrics
        detector = Mutex(Detector(policy: policy))
        merge = Mutex(SensorMerge())
        self.firewall = firewall
        self.fanOut = fanOut
        self.logger = logger
        self.clock = clock
        timeResolver = LogTimeResolver(utcOffsetSeconds: logUTCOffsetSeconds)
    }

    /// Judges a batch of complete log lines from one file and enforces any verdicts.
    ///
    /// Each event is judged as soon as its line is decoded, and a verdict goes to the kernel
    /// at once: the lines after it in the batch wait for the ban, never the other way round.
    /// - Parameters:
    ///   - lines: `\n`-separated lines (a trailing `\r` is ignored).
    ///   - firstLineNumber: 1-based number of the first line in its file.
    public func process(lines: UnsafeBufferPointer<UInt8>, firstLineNumber: Int, source: LogSource) {
        let received = clock()
        var eventCount = 0
        var lineCount = 0
        // Events per kind in this batch (metrics); added to the counters with the totals.
        var kinds = InlineArray<8, Int>(repeating: 0)
        TailedLines.forEachLine(in: lines, firstLineNumber: firstLineNumber) { line, lineNumber in
            lineCount += 1
            guard let finding = LogDialects.parse(line, selection: source.dialect) else {
                if UnmatchedLines.looksLikeFailure(line) { noteUnmatched(line, file: source.path) }
                return
            }
            eventCount += 1
            kinds[finding.kind.index] += 1
            let now = clock()
            let event = finding.event(
                at: finding.time.map { timeResolver.resolve($0, reference: now) } ?? now,
                origin: .logLine(file: source.path, line: lineNumber)
            )
            judgeOne(event, now: now, received: received)
        }
        counters.withLock { c in
            c.lines += lineCount
            c.events += eventCount
            for kind in EventKind.allCases where eventCount > 0 && kinds[kind.index] > 0 {
                c.eventsBySource.add(kinds[kind.index], source: .file, kind: kind)
            }
        }
    }

    /// Counts a line that looks like a failure but matched no known form; keeps the first as
    /// sample. (Also used by the journal source, whose "file" is `journal:UNIT`.)
    func noteUnmatched(_ line: UnsafeBufferPointer<UInt8>, file: String) {
        unmatched.withLock { u in
            if u[file] != nil {
                u[file]?.count += 1
            } else {
                u[file] = UnmatchedLineCount(count: 1, sample: UnmatchedLineCount.sample(line))
            }
        }
    }

    /// Per watched file: lines that looked like security failures but matched no known form.
    public var unmatchedLines: [String: UnmatchedLineCount] { unmatched.withLock { $0 } }

    /// Judges already-decoded events (wire sensors, tests) and enforces any verdicts, each
    /// as soon as it is reached.
    public func judge(_ events: [SecurityEvent], received: Timestamp) {
        for event in events {
            judgeOne(event, now: clock(), received: received)
        }
        guard let first = events.first else { return }
        // One judge call carries one sensor's events (metrics: events by source and kind).
        let source = EventSourceKind(origin: first.origin)
        counters.withLock { c in
            c.events += events.count
            for event in events { c.eventsBySource.add(1, source: source, kind: event.kind) }
        }
    }

    /// One event through the merge and the detector; every verdict (the host's, then its
    /// prefixes') goes to the kernel at once. A success is never merged nor a suspect.
    private func judgeOne(_ event: SecurityEvent, now: Timestamp, received: Timestamp) {
        let success = event.kind == .authSucceeded
        if !success {
            guard merge.withLock({ $0.admit(event, now: now) }) else { return }
            sightings.report(event.source, at: event.time)
        }
        let judgement = detector.withLock { $0.judge(event, now: now) }
        for blocked in judgement.blocked {
            logger.notice(
                "prefix ban blocked", metadata: ["prefix": "\(blocked.network)", "rule": "\(blocked.reason.rawValue)", "reason": "\(blocked)"])
        }
        var verdicts = judgement.verdicts
        // A source a suspect feed lists is banned at its first failure.
        if verdicts.isEmpty, !success, let listed = feedSuspectVerdict(event, now: now) { verdicts = [listed] }
        if verdicts.isEmpty {
            // Not banned (yet): the kernel flood guard meters it per address from now on.
            if !success { firewall.markSuspect(event.source) }
            return
        }
        for verdict in verdicts { enforce(verdict, received: received) }
    }

    /// Enforces a ban decided outside the detector (an operator through the API or the
    /// command line; later a feed, a provider policy, another node) on the caller's thread,
    /// exactly as a verdict is: the kernel, then the fan-out (so the ledger records it and
    /// every consumer — log line, metrics, … — sees it with its origin). The detector
    /// notes it, so the source's events are not judged twice. Unlike a verdict, a ban the
    /// kernel refuses is not published: the caller is told (`FirewallError`) and nothing is
    /// recorded.
    public func enforce(_ ban: Ban) throws(FirewallError) {
        let received = clock()
        try firewall.ban([BanElement(ban)])
        detector.withLock { $0.noteBan(ban.network, until: ban.expires, offence: ban.offence, at: received) }
        enforced(ban, applied: true, received: received, kernelStart: received)
    }

    /// Lifts every ban of exactly `network`, from outside the detector, on the caller's
    /// thread: the kernel first (a refusal is thrown and nothing else changes), then the
    /// capture sensors' filter, the detector (it forgets the network, so its next failures
    /// are judged afresh), then the fan-out (the ledger marks the bans lifted at `at`;
    /// every consumer sees the lift with its origin).
    @discardableResult
    public func lift(_ network: IPNetwork, origin: BanOrigin, reason: String, at: Timestamp? = nil) throws(FirewallError) -> EnforcedLift {
        try firewall.unban([network])
        let now = at ?? clock()
        if let bannedSources, network.isHost { bannedSources.remove(network.address) }
        detector.withLock { $0.forget(network) }
        let lift = EnforcedLift(network: network, origin: origin, reason: reason, at: now, applied: true)
        counters.withLock { $0.lifts += 1 }
        fanOut?.publish(.lift(lift))
        return lift
    }

    /// The kernel call, on the sensor's thread, then the fan-out. A verdict the kernel
    /// refused is still published (the ledger records it; a restart reconciles it).
    @discardableResult
    private func enforce(_ ban: Ban, received: Timestamp) -> Bool {
        var applied = true
        let kernelStart = clock()
        do {
            try firewall.ban([BanElement(ban)])
        } catch {
            applied = false
            logger.error("kernel ban failed", metadata: ["error": "\(error)", "network": "\(ban.network)"])
        }
        enforced(ban, applied: applied, received: received, kernelStart: kernelStart)
        return applied
    }

    /// After the kernel call: the capture filter, counters, metrics, the fan-out.
    private func enforced(_ ban: Ban, applied: Bool, received: Timestamp, kernelStart: Timestamp) {
        let done = clock()
        var ban = ban
        // After the kernel call: what the store knows of the network, kept with the ban.
        if ban.enrichment == nil, let enrich = enrichment.withLock({ $0 }) {
            let known = enrich(ban.network.address)
            if !known.isEmpty { ban.enrichment = known }
        }
        if applied, let bannedSources, ban.network.isHost {
            bannedSources.insert(ban.network.address, for: ban.duration)
        }
        counters.withLock { c in
            c.bans += 1
            if !applied { c.banFailures += 1 }
        }
        // The end-to-end histogram is "line read or packet seen → kernel": detector bans only.
        metrics?.recordBan(
            rule: ban.rule.description, origin: ban.origin.rawValue,
            endToEndMicroseconds: applied && ban.origin == .detector ? (done - received).microsecondsClamped : nil,
            kernelMicroseconds: (done - kernelStart).microsecondsClamped)
        fanOut?.publish(EnforcedBan(ban: ban, applied: applied, latency: done - received, kernelLatency: done - kernelStart))
    }

    /// Judges from now on under `policy` (configuration reload): bans in force and the
    /// escalation history are kept (see `Detector.reconfigured(with:)`).
    public func replacePolicy(_ policy: DetectionPolicy) {
        detector.withLock { $0 = $0.reconfigured(with: policy) }
    }

    /// Installs what the detector asks the intelligence store and the range policy: the
    /// announced prefix of an address (aggregation's widest step) and lower max-retries per
    /// network. Kept across `replacePolicy`; installing again replaces them (a refresh).
    /// `enrichment` answers what a ban keeps of its network (asked after the kernel call).
    public func installNetworkKnowledge(
        announced: (any AnnouncedPrefixLookup)?, thresholds: (any SourceThresholdLookup)?,
        enrichment: (@Sendable (IPAddress) -> IntelEnrichment)? = nil
    ) {
        self.enrichment.withLock { $0 = enrichment }
        detector.withLock {
            $0.announcedPrefixes = announced
            $0.sourceThresholds = thresholds
        }
        thresholdObservers.withLock { state in
            state.current = thresholds
            for observer in state.observers { observer(thresholds) }
        }
    }

    /// Calls `observer` with the lower max-retries in force now and again at every
    /// `installNetworkKnowledge` (inline admission applies them to its budget).
    public func observeSourceThresholds(_ observer: @escaping SourceThresholdObserver) {
        thresholdObservers.withLock { state in
            state.observers.append(observer)
            observer(state.current)
        }
    }

    /// Drops detector state that can no longer matter. Called periodically.
    public func housekeeping() {
        let now = clock()
        detector.withLock { $0.expire(now: now) }
    }

    public var statistics: (pipeline: PipelineCounters, detector: DetectorStatistics) {
        var pipeline = counters.withLock { $0 }
        pipeline.mergedEvents = merge.withLock { $0.merged }
        return (pipeline, detector.withLock { $0.statistics })
    }
}

/// Pipeline counters since start.
public struct PipelineCounters: Sendable, Hashable {
    public var lines = 0
    public var events = 0
    public var bans = 0
    public var banFailures = 0
    /// Lifts enforced (`Pipeline.lift`).
    public var lifts = 0
    /// Events another sensor had already reported (same source, port and user): not
    /// counted again.
    public var mergedEvents = 0
    /// Events decoded, by source kind and event kind (their sum is `events`).
    public var eventsBySource = EventTally()
}

/// Told the detector's lower max-retries whenever they are installed (nil: none).
public typealias SourceThresholdObserver = @Sendable ((any SourceThresholdLookup)?) -> Void
