// SPDX-License-Identifier: GPL-2.0-or-later

public import Logging

/// Limits and places of an update run.
public struct IntelUpdateOptions: Sendable, Hashable {
    /// Where the copies live (`STATE/intel`).
    public var directory: String
    /// When a new copy is too small to replace the one in use.
    public var shrinkGuard: ShrinkGuard
    /// A larger download is refused.
    public var maxDownloadBytes: Int
    /// A larger decompressed body is refused.
    public var maxDecompressedBytes: Int

    public init(directory: String, shrinkGuard: ShrinkGuard = ShrinkGuard(), maxDownloadBytes: Int = 256 << 20, maxDecompressedBytes: Int = 1 << 30) {
        self.directory = directory
        self.shrinkGuard = shrinkGuard
        self.maxDownloadBytes = maxDownloadBytes
        self.maxDecompressedBytes = maxDecompressedBytes
    }
}

/// What happened to one source in an update run.
public enum SourceOutcome: Sendable, Hashable {
    /// A new copy was validated and swapped in.
    case updated(entries: Int, previousEntries: Int?)
    /// The server answered 304, or sent the same bytes: the copy in use stays.
    case unchanged(entries: Int)
    /// Nothing was swapped in; the last good copy (if any, with its entries) stays in use.
    case failed(reason: String, keptEntries: Int?)
}

/// One line of an update run's report.
public struct SourceReport: Sendable, Hashable {
    public var name: String
    public var outcome: SourceOutcome

    public init(name: String, outcome: SourceOutcome) {
        self.name = name
        self.outcome = outcome
    }

    /// True when the copy in use changed.
    public var changed: Bool {
        if case .updated = outcome { return true }
        return false
    }

    /// True when the source could not be refreshed.
    public var failed: Bool {
        if case .failed = outcome { return true }
        return false
    }
}

/// Fetches every configured source and swaps in the copies that pass: a conditional
/// request (`If-None-Match`, `If-Modified-Since`; a 304 keeps the copy), gunzip where the
/// body is gzip, a full parse by the validator, the shrink guard, then an atomic swap
/// (`AtomicFile`) of `DIRECTORY/NAME` and its `NAME.meta.json`. A failure at any step
/// keeps the last good copy and records the reason in the meta file.
public struct IntelUpdater: Sendable {
    public let sources: [IntelSource]
    public let options: IntelUpdateOptions
    private let fetcher: any ConditionalFetcher
    private let validator: any IntelSourceValidator
    private let clock: @Sendable () -> Int64
    private let logger: Logger

    /// - Parameter clock: seconds since the epoch (injected for tests).
    public init(
        sources: [IntelSource], options: IntelUpdateOptions, fetcher: any ConditionalFetcher,
        validator: any IntelSourceValidator, logger: Logger, clock: @escaping @Sendable () -> Int64
    ) {
        self.sources = sources
        self.options = options
        self.fetcher = fetcher
        self.validator = validator
        self.logger = logger
        self.clock = clock
    }

    /// The file holding the copy of `name` in use: `NAME.FORMAT`, the layout the
    /// intelligence store loads (`IntelDirectory`: `aws.aws`, `cloudflare-v4.list`).
    public func dataPath(_ name: String) -> String {
        let format = sources.first { $0.name == name }?.format ?? "data"
        return "\(options.directory)/\(name).\(format)"
    }
    /// The file holding what is known of that copy.
    public func statePath(_ name: String) -> String { "\(options.directory)/\(name).meta.json" }

    /// What is known of the copy of `name` in use (nil: none yet).
    public func state(of name: String) -> SourceState? { SourceState.load(statePath(name)) }

    /// Updates every source (or those named in `only`) one after another.
    public func update(only: Set<String>? = nil) async -> [SourceReport] {
        do {
            try AtomicFile.makeDirectory(options.directory)
        } catch {
            return sources.filter { only?.contains($0.name) ?? true }.map {
                SourceReport(name: $0.name, outcome: .failed(reason: "\(error)", keptEntries: nil))
            }
        }
        var reports: [SourceReport] = []
        for source in sources where only?.contains(source.name) ?? true {
            let report = await update(source)
            switch report.outcome {
            case .updated(let entries, let previous):
                logger.info(
                    "intel: source updated",
                    metadata: ["source": "\(source.name)", "entries": "\(entries)", "previous": "\(previous.map(String.init) ?? "none")"])
            case .unchanged(let entries):
                logger.debug("intel: source unchanged", metadata: ["source": "\(source.name)", "entries": "\(entries)"])
            case .failed(let reason, let kept):
                logger.warning(
                    "intel: source not updated, the last good copy stays",
                    metadata: ["source": "\(source.name)", "error": "\(reason)", "kept_entries": "\(kept.map(String.init) ?? "none")"])
            }
            reports.append(report)
        }
        return reports
    }

    /// One source: fetch, decode, validate, guard, swap.
    public func update(_ source: IntelSource) async -> SourceReport {
        let now = clock()
        let previous = state(of: source.name)
        let hasCopy = FileBytes.exists(dataPath(source.name))
        let usable = hasCopy ? previous : nil
        func fail(_ reason: String) -> SourceReport {
            if var state = previous {
                state.checkedAt = now
                state.lastError = reason
                try? state.save(statePath(source.name))
            }
            return SourceReport(name: source.name, outcome: .failed(reason: reason, keptEntries: usable?.entries))
        }
        let request = FetchRequest(url: source.url, etag: usable?.etag, lastModified: usable?.lastModified, maxBytes: options.maxDownloadBytes)
        let response: FetchResponse
        do {
            response = try await fetcher.fetch(request)
        } catch {
            return fail("\(error)")
        }
        guard case .response(let status, let body, let etag, let lastModified) = response else {
            guard var state = usable else { return fail("304 Not Modified but no copy is held") }
            state.checkedAt = now
            state.lastError = nil
            try? state.save(statePath(source.name))
            return SourceReport(name: source.name, outcome: .unchanged(entries: state.entries))
        }
        guard (200...299).contains(status) else { return fail("HTTP status \(status)") }
        var bytes = body
        if source.gzip || Gunzip.isGzip(body) {
            do {
                bytes = try Gunzip.decompress(body, maxBytes: options.maxDecompressedBytes)
            } catch {
                return fail("\(error)")
            }
        }
        let entries: Int
        do {
            entries = try validator.validate(bytes, format: source.format, name: source.name)
        } catch {
            return fail("validation failed: \(error)")
        }
        if let refusal = options.shrinkGuard.refusal(newEntries: entries, newBytes: bytes.count, oldEntries: usable?.entries) {
            return fail("refused: \(refusal)")
        }
        let state = SourceState(etag: etag, lastModified: lastModified, entries: entries, bytes: bytes.count, updatedAt: now, checkedAt: now)
        if let usable, usable.bytes == bytes.count, (try? FileBytes.read(dataPath(source.name), maxBytes: bytes.count)) == bytes {
            var kept = state
            kept.updatedAt = usable.updatedAt
            try? kept.save(statePath(source.name))
            return SourceReport(name: source.name, outcome: .unchanged(entries: entries))
        }
        do {
            try AtomicFile.write(bytes, to: dataPath(source.name))
            try state.save(statePath(source.name))
        } catch {
            return fail("\(error)")
        }
        return SourceReport(name: source.name, outcome: .updated(entries: entries, previousEntries: usable?.entries))
    }
}
