// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
import AsyncHTTPClient
import Dispatch
public import Foundation
import Glibc
import NIOCore
public import NetworkAddress
public import Storage
import Synchronization
public import WardenCore

/// AbuseIPDB as a second reporting channel: the I/O shell around ``AbuseIPDBQueue``.
///
/// The queue lives in `STATE/abuse/abuseipdb.json`, rewritten atomically after every
/// answer, so a report leaves it only once AbuseIPDB has answered (see the queue's note on
/// crashes). One process drains at a time (`STATE/abuse/abuseipdb.lock`, `flock`). The
/// API key is read from a root-only file and sent in the `Key` header over HTTPS; the API
/// location is configurable so tests and air-gapped hosts can use a local server.
public struct AbuseIPDBChannel: Sendable {
    /// AbuseIPDB's v2 API (`report` below it).
    public static let defaultAPI = URL(string: "https://api.abuseipdb.com/api/v2/")!

    public var api: URL
    public var stateDirectory: URL
    public var dailyLimit: Int
    private let key: String
    private let clock: @Sendable () -> Timestamp

    /// What went wrong around the queue (answers of the service are outcomes, not errors).
    public enum ChannelError: Error, CustomStringConvertible {
        case keyFile(String, String)
        case queue(String, String)
        case ledger(LedgerError)
        case incident(IPAddress, String)

        public var description: String {
            switch self {
            case .keyFile(let path, let why): "AbuseIPDB key file \(path): \(why)"
            case .queue(let path, let why): "AbuseIPDB queue \(path): \(why)"
            case .ledger(let error): "ledger: \(error)"
            case .incident(let address, let why): "\(address): \(why)"
            }
        }
    }

    /// One answered report.
    public struct Outcome: Sendable {
        public var report: AbuseIPDBReport
        public var answer: AbuseIPDBAnswer
    }

    /// - Parameter keyFile: a file holding the API key (one line); it must not be readable
    ///   by others than its owner.
    public init(
        keyFile: String, stateDirectory: URL, api: URL = Self.defaultAPI, dailyLimit: Int = 1_000,
        clock: @escaping @Sendable () -> Timestamp = { Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000)) }
    ) throws(ChannelError) {
        var status = stat()
        guard stat(keyFile, &status) == 0 else { throw .keyFile(keyFile, String(cString: strerror(errno))) }
        guard status.st_mode & 0o077 == 0 else { throw .keyFile(keyFile, "readable by others than its owner: chmod 600 it") }
        guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else { throw .keyFile(keyFile, "not readable as text") }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty, key.count <= 256, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw .keyFile(keyFile, "expected one line with the API key (letters and digits)")
        }
        self.key = key
        self.api = api
        self.stateDirectory = stateDirectory
        self.dailyLimit = dailyLimit
        self.clock = clock
    }

    private var queueFile: URL { stateDirectory.appending(path: "abuse/abuseipdb.json") }

    /// The report of each address's most recent ban in the ledger (with its evidence),
    /// redacted by `redaction`. Addresses without a reportable ban are errors.
    public static func reports(
        for addresses: [IPAddress], ledger: Ledger, redaction: RedactionPolicy
    ) -> [Result<AbuseIPDBReport, ChannelError>] {
        addresses.map { address in
            do throws(ChannelError) {
                return .success(AbuseIPDBReport(incident: try incident(of: address, ledger: ledger), redaction: redaction))
            } catch {
                return .failure(error)
            }
        }
    }

    /// The incident of `address`'s most recent ban (its case ID: the ban's ID).
    public static func incident(of address: IPAddress, ledger: Ledger) throws(ChannelError) -> AbuseIncident {
        let host = IPNetwork(host: address.unmapped)
        let record: BanRecord
        let events: [SecurityEvent]
        do {
            guard let latest = try ledger.bans(limit: 1, includeInactive: true, network: host).first, let id = latest.id else {
                throw ChannelError.incident(address, "the ledger has no ban of it")
            }
            record = latest
            events = try ledger.evidence(forBan: id)
        } catch let error as ChannelError {
            throw error
        } catch let error as LedgerError {
            throw .ledger(error)
        } catch {
            throw .incident(address, "\(error)")
        }
        do {
            return try IncidentBuilder.incident(caseID: record.banID.uuid, ban: record.ban, events: events)
        } catch {
            throw .incident(address, error.description)
        }
    }

    /// Queues `reports` (merged per address) durably.
    public func enqueue(_ reports: [AbuseIPDBReport]) throws(ChannelError) -> [AbuseIPDBQueue.Admission] {
        try withLockedQueue { queue throws(ChannelError) in
            let now = clock()
            return reports.map { queue.enqueue($0, now: now) }
        }
    }

    /// Sends what may be sent now, one report at a time, saving the queue after each
    /// answer; stops when nothing more may be sent now (spacing, pause, quota) or after
    /// `limit` requests. Returns the answers and when the queue next has a chance.
    public func drain(limit: Int = 100) async throws(ChannelError) -> (outcomes: [Outcome], nextChance: Timestamp?) {
        let lock = try acquireLock()
        defer {
            flock(lock, LOCK_UN)
            close(lock)
        }
        var outcomes: [Outcome] = []
        var queue = try loadQueue()
        queue.dailyLimit = dailyLimit
        while outcomes.count < limit, let report = queue.next(now: clock()) {
            let answer = await send(report)
            queue.record(answer, for: report.address, now: clock())
            try saveQueue(queue)
            outcomes.append(Outcome(report: report, answer: answer))
        }
        return (outcomes, queue.nextChance(now: clock()))
    }

    /// The queue as it is on disk.
    public func queued() throws(ChannelError) -> AbuseIPDBQueue { try loadQueue() }

    /// One `POST report`; transport failures are answered as "retry later".
    func send(_ report: AbuseIPDBReport) async -> AbuseIPDBAnswer {
        var request = HTTPClientRequest(url: api.appending(path: "report").absoluteString)
        request.method = .POST
        request.headers.add(name: "Key", value: key)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "User-Agent", value: "sipwarden/\(SIPWardenVersion.string)")
        request.body = .bytes(ByteBuffer(string: report.formBody))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return AbuseIPDBAnswer.parse(
                status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: Array(body.readableBytesView))
        } catch {
            return .retry(after: .seconds(300), detail: "no answer: \(error)")
        }
    }

    // MARK: The file

    private func withLockedQueue<T>(_ body: (inout AbuseIPDBQueue) throws(ChannelError) -> T) throws(ChannelError) -> T {
        let lock = try acquireLock()
        defer {
            flock(lock, LOCK_UN)
            close(lock)
        }
        var queue = try loadQueue()
        let result = try body(&queue)
        try saveQueue(queue)
        return result
    }

    private func acquireLock() throws(ChannelError) -> Int32 {
        let directory = stateDirectory.appending(path: "abuse")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .queue(directory.path, "\(error)")
        }
        let path = directory.appending(path: "abuseipdb.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .queue(path, String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw .queue(path, why)
        }
        return fd
    }

    private func loadQueue() throws(ChannelError) -> AbuseIPDBQueue {
        guard FileManager.default.fileExists(atPath: queueFile.path) else { return AbuseIPDBQueue() }
        do {
            return try JSONDecoder().decode(AbuseIPDBQueue.self, from: try Data(contentsOf: queueFile))
        } catch {
            throw .queue(queueFile.path, "unreadable (\(error)); move it aside to start an empty queue")
        }
    }

    private func saveQueue(_ queue: AbuseIPDBQueue) throws(ChannelError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(queue).write(to: queueFile, options: .atomic)
        } catch {
            throw .queue(queueFile.path, "not saved: \(error)")
        }
    }
}

extension AbuseIPDBChannel {
    /// ``drain(limit:)`` for synchronous callers (the command line).
    public func drainWaiting(limit: Int = 100) throws(ChannelError) -> (outcomes: [Outcome], nextChance: Timestamp?) {
        let channel = self
        let result: Result<([Outcome], Timestamp?), ChannelError> = blockingAwait {
            do throws(ChannelError) {
                let drained = try await channel.drain(limit: limit)
                return .success((drained.outcomes, drained.nextChance))
            } catch {
                return .failure(error)
            }
        }
        let (outcomes, next) = try result.get()
        return (outcomes, next)
    }
}
