// SPDX-License-Identifier: GPL-2.0-or-later

public import Detection
public import IntelStore
public import LogFormats
import Sensors
public import WardenCore

#if canImport(Glibc)
    import Glibc
#endif

/// A failure at run time (I/O, kernel, ledger): exit status 1.
public struct RuntimeFailure: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `sipwarden events` and `sipwarden replay`: the same decoders and detector as the
/// daemon, run over recorded files.
public enum OfflineAnalysis {
    /// Decodes every line of `files` and calls `body` with each security event, in file
    /// order. Lines without a year or zone are resolved against `reference`.
    public static func decode(
        files: [String], selection: DialectSelection, reference: Timestamp, utcOffsetSeconds: Int = 0,
        _ body: (SecurityEvent) -> Void
    ) throws(RuntimeFailure) {
        let resolver = LogTimeResolver(utcOffsetSeconds: utcOffsetSeconds)
        for file in files {
            do {
                try forEachLine(inFile: file) { line, number in
                    guard let f = LogDialects.parse(line, selection: selection) else { return }
                    body(
                        f.event(
                            at: f.time.map { resolver.resolve($0, reference: reference) } ?? reference,
                            origin: .logLine(file: file, line: number)
                        ))
                }
            } catch let error as SystemCallError {
                throw RuntimeFailure("\(error)")
            } catch {
                throw RuntimeFailure("\(file): \(error)")
            }
        }
    }

    /// Writes one JSON object per event to standard output (JSON Lines), each with what
    /// `intel` knows of its source when given. Returns the number of events written.
    @discardableResult
    public static func printEvents(
        files: [String], selection: DialectSelection, reference: Timestamp, utcOffsetSeconds: Int = 0, intel: IntelStore? = nil
    ) throws(RuntimeFailure) -> Int {
        let out = OutputStream(fd: 1)
        var writer = JSONLineWriter(reservingCapacity: 1 << 20)
        var count = 0
        var failure: RuntimeFailure?
        try decode(files: files, selection: selection, reference: reference, utcOffsetSeconds: utcOffsetSeconds) { event in
            writer.append(event, enrichment: intel?.enrichment(for: event.source))
            count += 1
            if writer.bytes.count >= 1 << 20, failure == nil {
                do throws(RuntimeFailure) { try out.write(writer.bytes) } catch { failure = error }
                writer.removeAll()
            }
        }
        if let failure { throw failure }
        try out.write(writer.bytes)
        return count
    }

    /// Prints, as `FILE:LINE: text`, every line of `files` that looks like a security failure
    /// but matches no known form (control characters escaped). Returns how many.
    @discardableResult
    public static func printUnmatched(files: [String], selection: DialectSelection) throws(RuntimeFailure) -> Int {
        let out = OutputStream(fd: 1)
        var text = ""
        var count = 0
        for file in files {
            do {
                try forEachLine(inFile: file) { line, number in
                    guard LogDialects.parse(line, selection: selection) == nil, UnmatchedLines.looksLikeFailure(line) else { return }
                    count += 1
                    text += "\(file):\(number): \(UnmatchedLineCount.escaped(UnmatchedLineCount.sample(line)))\n"
                    if text.utf8.count >= 1 << 16 {
                        try out.write(text)
                        text = ""
                    }
                }
            } catch let error as RuntimeFailure {
                throw error
            } catch let error as SystemCallError {
                throw RuntimeFailure("\(error)")
            } catch {
                throw RuntimeFailure("\(file): \(error)")
            }
        }
        try out.write(text)
        return count
    }

    /// Runs detection over the events of `files` on their own timestamps and returns the
    /// verdicts it would have reached.
    ///
    /// Streams in constant memory whatever the files' size: each file is read line by line
    /// and the files are merged by time (a log is written in time order; equal times keep
    /// the order of `files`). Reports of one attempt in two files (Asterisk `messages` and
    /// `security`) count once (``SensorMerge``).
    public static func replay(
        files: [String], selection: DialectSelection, policy: DetectionPolicy, reference: Timestamp, utcOffsetSeconds: Int = 0
    ) throws(RuntimeFailure) -> [Verdict] {
        let resolver = LogTimeResolver(utcOffsetSeconds: utcOffsetSeconds)
        var judge = ReplayJudge(policy: policy)
        var cursors: [LineCursor] = []
        var heads: [SecurityEvent?] = []
        func nextEvent(_ cursor: LineCursor) throws(RuntimeFailure) -> SecurityEvent? {
            var found: SecurityEvent?
            do {
                while found == nil {
                    let more = try cursor.next { line, number in
                        guard let f = LogDialects.parse(line, selection: selection) else { return }
                        found = f.event(
                            at: f.time.map { resolver.resolve($0, reference: reference) } ?? reference,
                            origin: .logLine(file: cursor.path, line: number)
                        )
                    }
                    if !more { break }
                }
            } catch let error as SystemCallError {
                throw RuntimeFailure("\(error)")
            } catch {
                throw RuntimeFailure("\(cursor.path): \(error)")
            }
            return found
        }
        for file in files {
            let cursor: LineCursor
            do throws(SystemCallError) {
                cursor = try LineCursor(path: file)
            } catch {
                throw RuntimeFailure("\(error)")
            }
            cursors.append(cursor)
            heads.append(try nextEvent(cursor))
        }
        while true {
            var pick = -1
            for i in heads.indices {
                guard let e = heads[i] else { continue }
                if pick < 0 || e.time < heads[pick]!.time { pick = i }
            }
            guard pick >= 0, let event = heads[pick] else { break }
            judge.observe(event)
            heads[pick] = try nextEvent(cursors[pick])
        }
        return judge.verdicts
    }

    /// Runs a detector over `events` on their own timestamps, merged in time order.
    public static func judge(_ events: [SecurityEvent], policy: DetectionPolicy) -> [Verdict] {
        // Stable merge by time: equal times keep file/line order.
        let ordered = events.enumerated().sorted { a, b in
            a.element.time == b.element.time ? a.offset < b.offset : a.element.time < b.element.time
        }.map(\.element)
        var judge = ReplayJudge(policy: policy)
        for e in ordered { judge.observe(e) }
        return judge.verdicts
    }

    /// One human-readable line per verdict.
    public static func describe(_ v: Verdict) -> String {
        var location = ""
        if let first = v.evidence.first, case .frame(let file, let frame) = first.origin {
            location = " [\(file) frame \(frame)"
            if let last = v.evidence.last, case .frame(_, let lastFrame) = last.origin, lastFrame != frame {
                location += "–\(lastFrame)"
            }
            location += "]"
        } else if let first = v.evidence.first, case .logLine(let file, let line) = first.origin {
            location = " [\(file):\(line)"
            if let last = v.evidence.last, case .logLine(let lf, let ll) = last.origin, ll != line || lf != file {
                location += lf == file ? "–\(ll)" : " … \(lf):\(ll)"
            }
            location += "]"
        }
        let span = v.duration.map { "for \(DurationParser.format($0))" } ?? "permanently"
        return "\(RFC3339.format(v.created)) ban \(v.network) \(span) rule=\(v.rule) offence=\(v.offence): \(v.reason)\(location)"
    }

    /// One JSON object per verdict.
    public static func json(_ v: Verdict, into w: inout JSONLineWriter) {
        w.raw("{")
        w.key("time", first: true)
        w.string(RFC3339.format(v.created))
        w.key("network")
        w.string(v.network.description)
        w.key("rule")
        w.string(v.rule.description)
        if let duration = v.duration, let expires = v.expires {
            w.key("ban_seconds")
            w.number(duration.components.seconds)
            w.key("expires")
            w.string(RFC3339.format(expires))
        }
        w.key("offence")
        w.number(Int64(v.offence))
        w.key("reason")
        w.string(v.reason)
        w.key("evidence")
        w.raw("[")
        for (i, e) in v.evidence.enumerated() {
            if i > 0 { w.raw(",") }
            var inner = JSONLineWriter(reservingCapacity: 256)
            inner.append(e)
            w.raw(String(decoding: inner.bytes.dropLast(), as: UTF8.self))
        }
        w.raw("]}\n")
    }
}

/// The detector of a replay, on the events' own clock, behind the same merge of
/// several sensors' reports as the daemon's pipeline.
public struct ReplayJudge {
    private var detector: Detector
    private var merge = SensorMerge()
    /// Verdicts reached so far, in order.
    public private(set) var verdicts: [Verdict] = []

    public init(policy: DetectionPolicy) {
        detector = Detector(policy: policy)
    }

    /// Judges one event at its own time.
    public mutating func observe(_ event: SecurityEvent) {
        if event.kind != .authSucceeded {
            guard merge.admit(event, now: event.time) else { return }
        }
        verdicts += detector.judge(event, now: event.time).verdicts
    }
}

/// Unbuffered writes to a file descriptor, retried until complete.
struct OutputStream {
    let fd: Int32

    func write(_ bytes: [UInt8]) throws(RuntimeFailure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeFailure("write to standard output failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    func write(_ text: String) throws(RuntimeFailure) { try write(Array(text.utf8)) }
}
