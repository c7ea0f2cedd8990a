// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
public import WardenCore

/// The reports waiting for AbuseIPDB, and the rules for sending them (pure; the caller
/// passes the time, keeps the queue on disk and does the HTTP).
///
/// - One report per address per ``spacing`` (AbuseIPDB's own rule: 15 minutes): a second
///   report of an address already queued is merged into it, one reported less than
///   `spacing` ago waits.
/// - A `429` with `Retry-After` (or a server error) pauses the whole queue until then.
/// - At most ``dailyLimit`` requests per UTC day (the free plan allows 1,000 reports and
///   checks together).
///
/// Nothing is lost: a report leaves the queue only on an answer. A crash between sending
/// and recording the answer sends it again at the next start; AbuseIPDB then answers that
/// the address was reported within 15 minutes (``AbuseIPDBAnswer/alreadyReported(detail:)``)
/// and the report is done — it is never counted twice.
public struct AbuseIPDBQueue: Sendable, Hashable, Codable {
    /// A queued report.
    public struct Entry: Sendable, Hashable, Codable {
        public var report: AbuseIPDBReport
        public var queuedAt: Timestamp
        /// Answers that said "later" so far.
        public var attempts: Int
    }

    /// A report that will not be sent (refused by the service), kept for the operator.
    public struct Refusal: Sendable, Hashable, Codable {
        public var address: IPAddress
        public var status: Int
        public var detail: String
        public var at: Timestamp
    }

    /// What became of an offered report.
    public enum Admission: Sendable, Hashable {
        case queued
        /// A report of the same address is already waiting: it stands for both.
        case merged
    }

    public private(set) var pending: [Entry] = []
    /// When each address was last reported (accepted or already reported), for the spacing.
    public private(set) var lastReported: [IPAddress: Timestamp] = [:]
    /// No request before this time (`Retry-After`).
    public private(set) var pausedUntil: Timestamp?
    /// Requests made on ``quotaDay`` (days since 1970-01-01, UTC).
    public private(set) var requestsToday = 0
    public private(set) var quotaDay: Int64 = 0
    /// The most recent refusals (at most 100).
    public private(set) var refusals: [Refusal] = []

    public var spacing: Duration
    public var dailyLimit: Int

    public init(spacing: Duration = .seconds(900), dailyLimit: Int = 1_000) {
        self.spacing = spacing
        self.dailyLimit = max(1, dailyLimit)
    }

    /// Queues `report` (or merges it into the waiting report of its address).
    @discardableResult
    public mutating func enqueue(_ report: AbuseIPDBReport, now: Timestamp) -> Admission {
        if pending.contains(where: { $0.report.address == report.address }) { return .merged }
        pending.append(Entry(report: report, queuedAt: now, attempts: 0))
        return .queued
    }

    /// The report to send now, if any may be sent.
    public func next(now: Timestamp) -> AbuseIPDBReport? {
        if let pausedUntil, now < pausedUntil { return nil }
        guard requests(on: now) < dailyLimit else { return nil }
        return pending.first { eligible($0.report.address, now: now) }?.report
    }

    /// When ``next(now:)`` may next return a report (nil: nothing queued).
    public func nextChance(now: Timestamp) -> Timestamp? {
        guard !pending.isEmpty else { return nil }
        var at = now
        if let pausedUntil, pausedUntil > at { at = pausedUntil }
        if requests(on: now) >= dailyLimit { at = max(at, Timestamp(seconds: (quotaDay + 1) * 86_400)) }
        let earliest = pending.map { entry in lastReported[entry.report.address].map { $0 + spacing } ?? at }.min() ?? at
        return max(at, earliest)
    }

    /// Records the service's answer to the report of `address` sent at `now`.
    public mutating func record(_ answer: AbuseIPDBAnswer, for address: IPAddress, now: Timestamp) {
        rollQuota(now)
        requestsToday += 1
        guard let index = pending.firstIndex(where: { $0.report.address == address }) else { return }
        switch answer {
        case .accepted, .alreadyReported:
            pending.remove(at: index)
            lastReported[address] = now
        case .retry(let after, _):
            pending[index].attempts += 1
            pausedUntil = now + after
        case .rejected(let status, let detail):
            pending.remove(at: index)
            refusals.append(Refusal(address: address, status: status, detail: detail, at: now))
            if refusals.count > 100 { refusals.removeFirst(refusals.count - 100) }
        }
        // Spacing entries older than the spacing matter no more.
        lastReported = lastReported.filter { now - $0.value < spacing }
    }

    private func eligible(_ address: IPAddress, now: Timestamp) -> Bool {
        guard let last = lastReported[address] else { return true }
        return now - last >= spacing
    }

    /// Requests made on `now`'s UTC day.
    private func requests(on now: Timestamp) -> Int { now.utcDay == quotaDay ? requestsToday : 0 }

    private mutating func rollQuota(_ now: Timestamp) {
        let today = now.utcDay
        if today != quotaDay {
            quotaDay = today
            requestsToday = 0
        }
    }
}
