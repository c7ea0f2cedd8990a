// SPDX-License-Identifier: GPL-2.0-or-later
public import Detection
public import LogFormats
public import WardenCore
public import Firewall
public import Logging
public import NetworkAddress
public import Sensors
public import Storage
import Synchronization

/// The hot path, from decoded lines to kernel bans:
/// lines → dialect parser → `SecurityEvent` → `Detector` → `Verdict` → firewall, then ledger.
///
/// Called from each sensor's own thread. The detector is shared behind a mutex taken once
/// per batch of lines; the kernel update happens on the caller's thread right after the
/// batch is judged (no timer, no queue hop), and the ledger write is handed to the
/// `LedgerWriter`'s own thread so disk I/O never delays a ban. A failing source that is
/// not banned is marked as a suspect for the kernel flood guard (`Firewall.markSuspect`:
/// one netlink add at its first failure, after the verdict, never before a ban).
public final class Pipeline: Sendable {
    private let detector: Mutex<Detector>
    /// Merges reports of one attempt from several sensors before the detector counts it.
    private let merge: Mutex<SensorMerge>
    private let firewall: any Firewall
    private let ledger: LedgerWriter?
    private let logger: Logger
    private let clock: TimeSource
    private let timeResolver: LogTimeResolver
    private let counters = Mutex(PipelineCounters())
    private let unmatched = Mutex([String: UnmatchedLineCount]())
    /// The capture sensors' kernel filter of banned hosts, kept equal to the kernel bans.
    private let bannedSources: BannedSourceFilter?

    /// - Parameter bannedSources: when given, every host ban that reaches the kernel is
    ///   also put there (same duration), and lifted ones taken out, so that capture sensors
    ///   stop seeing banned floods (see docs/BENCHMARKS.md).
    public init(
        policy: DetectionPolicy, firewall: any Firewall, ledger: LedgerWriter?, logger: Logger,
        clock: @escaping TimeSource, logUTCOffsetSeconds: Int = 0, bannedSources: BannedSourceFilter? = nil
    ) {
        self.bannedSources = bannedSources
        detector = Mutex(Detector(policy: policy))
        merge = Mutex(SensorMerge())
        self.firewall = firewall
        self.ledger = ledger
        self.logger = logger
        self.clock = clock
        timeResolver = LogTimeResolver(utcOffsetSeconds: logUTCOffsetSeconds)
    }

    /// Restores state after a restart: bans still active are re-noted (and must already be
    /// in the kernel), and the escalation history is known again.
    public func restore(activeBans: [BanRecord], offences: [IPNetwork: OffenceHistory]) {
        let now = clock()
        detector.withLock { d in
            for (network, o) in offences { d.restoreOffence(network, count: o.highestOffence, lastBan: o.lastBanAt) }
            for ban in activeBans { d.noteBan(ban.network, until: ban.expiresAt, offence: ban.offence, at: now) }
        }
        if let bannedSources {
            for ban in activeBans where ban.network.isHost {
                bannedSources.insert(ban.network.address, for: ban.expiresAt.map { $0 - now })
            }
        }
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
        TailedLines.forEachLine(in: lines, firstLineNumber: firstLineNumber) { line, lineNumber in
            lineCount += 1
            guard let finding = LogDialects.parse(line, selection: source.dialect) else {
                if UnmatchedLines.looksLikeFailure(line) { noteUnmatched(line, file: source.path) }
                return
            }
            eventCount += 1
            let now = clock()
            let event = finding.event(
                at: finding.time.map { timeResolver.resolve($0, reference: now) } ?? now,
                origin: .logLine(file: source.path, line: lineNumber)
            )
            guard merge.withLock({ $0.admit(event, now: now) }) else { return }
            if let verdict = detector.withLock({ $0.observe(event, now: now) }) {
                enforce([verdict], received: received)
            } else {
                firewall.markSuspect(event.source)
            }
        }
        counters.withLock { $0.lines += lineCount; $0.events += eventCount }
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
            let now = clock()
            guard merge.withLock({ $0.admit(event, now: now) }) else { continue }
            if let verdict = detector.withLock({ $0.observe(event, now: now) }) {
                enforce([verdict], received: received)
            } else {
                // Not banned (yet): the kernel flood guard meters it per address from now on.
                firewall.markSuspect(event.source)
            }
        }
        counters.withLock { $0.events += events.count }
    }

    private func enforce(_ verdicts: [Verdict], received: Timestamp) {
        let elements = verdicts.map { BanElement(network: $0.network, timeout: $0.banTime) }
        var enforced = true
        let kernelStart = clock()
        do {
            try firewall.ban(elements)
        } catch {
            enforced = false
            logger.error("kernel ban failed", metadata: ["error": "\(error)", "networks": "\(elements.map(\.network.description))"])
        }
        let done = clock()
        if enforced, let bannedSources {
            for element in elements where element.network.isHost {
                bannedSources.insert(element.network.address, for: element.timeout)
            }
        }
        let latency = done.microseconds - received.microseconds
        let kernelLatency = done.microseconds - kernelStart.microseconds
        counters.withLock { c in
            c.bans += verdicts.count
            if !enforced { c.banFailures += verdicts.count }
        }
        for v in verdicts {
            logger.notice("ban \(v.network) for \(DurationParser.format(v.banTime)): \(v.reason)", metadata: [
                "rule": "\(v.rule)", "offence": "\(v.offence)", "latency_us": "\(latency)", "kernel_us": "\(kernelLatency)",
                "enforced": "\(enforced)",
            ])
            ledger?.enqueueBan(
                BanRecord(
                    id: nil, network: v.network, reason: v.reason, kind: v.rule.description,
                    createdAt: v.time, expiresAt: v.expires, offence: v.offence, liftedAt: nil, origin: "detector"
                ),
                evidence: v.evidence
            )
        }
    }

    /// Applies what an operator changed in the ledger while the daemon ran: a lifted ban
    /// makes the detector forget the prefix (its next failures are judged afresh, so a
    /// source unbanned by mistake is banned again at `max-retry`), a manual ban is noted so
    /// its events are not judged twice. Returns how many records changed the detector.
    @discardableResult
    public func applyOperatorChanges(_ records: [BanRecord]) -> Int {
        let now = clock()
        if let bannedSources {
            for record in records where record.network.isHost {
                if record.liftedAt != nil {
                    bannedSources.remove(record.network.address)
                } else if record.origin == "manual" {
                    bannedSources.insert(record.network.address, for: record.expiresAt.map { $0 - now })
                }
            }
        }
        return detector.withLock { d in
            var applied = 0
            for record in records {
                if record.liftedAt != nil {
                    d.forget(record.network)
                    applied += 1
                } else if record.origin == "manual", record.expiresAt.map({ $0 > now }) ?? true {
                    d.noteBan(record.network, until: record.expiresAt, offence: record.offence, at: now)
                    applied += 1
                }
            }
            return applied
        }
    }

    /// Judges from now on under `policy` (configuration reload): bans in force and the
    /// escalation history are kept (see `Detector.reconfigured(with:)`).
    public func replacePolicy(_ policy: DetectionPolicy) {
        detector.withLock { $0 = $0.reconfigured(with: policy) }
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
    /// Events another sensor had already reported (same source, port and user): not
    /// counted again.
    public var mergedEvents = 0
}
