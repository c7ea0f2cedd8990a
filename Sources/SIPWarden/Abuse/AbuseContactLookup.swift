// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
import AsyncHTTPClient
import Dispatch
public import Foundation
import NIOCore
public import NetworkAddress
import Synchronization
import WardenCore

/// The I/O shell around ``AbuseContactResolver``: fetches IANA's RDAP bootstrap files from
/// a configurable location (cached in the state directory for a week), queries the
/// registries over HTTPS (redirects followed, 15 s timeout, answers up to 1 MiB), and keeps
/// found contacts in `STATE/abuse/contacts.json` for their TTL.
public struct AbuseContactLookup: Sendable {
    /// IANA's bootstrap location: `ipv4.json`, `ipv6.json` and `asn.json` below it.
    public static let defaultBootstrap = URL(string: "https://data.iana.org/rdap/")!

    public var bootstrapBase: URL
    public var stateDirectory: URL?
    public var overrides: AbuseContactOverrides

    public init(bootstrapBase: URL = Self.defaultBootstrap, stateDirectory: URL?, overrides: AbuseContactOverrides = AbuseContactOverrides()) {
        self.bootstrapBase = bootstrapBase
        self.stateDirectory = stateDirectory
        self.overrides = overrides
    }

    public enum LookupError: Error, CustomStringConvertible {
        case bootstrap(URL, String)
        case resolve(AbuseContactResolver.ResolveError)

        public var description: String {
            switch self {
            case .bootstrap(let url, let why): "RDAP bootstrap \(url.absoluteString): \(why)"
            case .resolve(let error): error.description
            }
        }
    }

    /// The abuse contact of `address`.
    public func contact(for address: IPAddress) async throws(LookupError) -> AbuseContact {
        var bootstrap = RDAPBootstrap()
        for file in ["ipv4.json", "ipv6.json", "asn.json"] {
            let url = bootstrapBase.appending(path: file)
            do {
                try bootstrap.add(try JSONValue.parse(try await bootstrapFile(url, name: file)))
            } catch let error as LookupError {
                throw error
            } catch {
                throw .bootstrap(url, String(describing: error))
            }
        }
        let resolver = AbuseContactResolver(bootstrap: bootstrap, overrides: overrides, now: { Self.now() }, fetch: Self.fetch)
        let cacheFile = stateDirectory?.appending(path: "abuse/contacts.json")
        let cached = cacheFile.flatMap { try? Data(contentsOf: $0) }.flatMap { try? JSONDecoder().decode([CachedContact].self, from: $0) } ?? []
        for entry in cached {
            if let a = IPAddress(entry.address) { await resolver.seed(a, entry.contact, expires: Timestamp(microseconds: entry.expiresMicroseconds)) }
        }
        let contact: AbuseContact
        do {
            contact = try await resolver.contact(for: address)
        } catch {
            throw .resolve(error)
        }
        if let cacheFile {
            let now = Self.now()
            var entries = cached.filter { $0.address != address.unmapped.description && $0.expiresMicroseconds > now.microseconds }
            entries.append(
                CachedContact(address: address.unmapped.description, contact: contact, expiresMicroseconds: (now + .seconds(7 * 86_400)).microseconds)
            )
            try? Self.writeAtomically(try JSONEncoder().encode(entries.suffix(10_000)), to: cacheFile)
        }
        return contact
    }

    /// ``contact(for:)`` for synchronous callers (the command line).
    public func contactWaiting(for address: IPAddress) throws(LookupError) -> AbuseContact {
        let outcome = Mutex<Result<AbuseContact, LookupError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let lookup = self
        Task {
            do throws(LookupError) {
                let contact = try await lookup.contact(for: address)
                outcome.withLock { $0 = .success(contact) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }

    private struct CachedContact: Codable {
        var address: String
        var contact: AbuseContact
        var expiresMicroseconds: Int64
    }

    /// A bootstrap file: from the state directory while younger than a week, else fetched.
    private func bootstrapFile(_ url: URL, name: String) async throws -> Data {
        let cache = stateDirectory?.appending(path: "abuse/bootstrap-\(name)")
        if let cache, let attributes = try? FileManager.default.attributesOfItem(atPath: cache.path),
            let modified = attributes[.modificationDate] as? Date, Date().timeIntervalSince(modified) < 7 * 86_400,
            let data = try? Data(contentsOf: cache)
        {
            return data
        }
        let (status, body) = try await Self.fetch(url)
        guard status == 200 else { throw LookupError.bootstrap(url, "HTTP \(status)") }
        if let cache { try? Self.writeAtomically(body, to: cache) }
        return body
    }

    /// GET with redirects followed (AsyncHTTPClient's default), at most 1 MiB.
    static let fetch: RDAPFetch = { url in
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "Accept", value: "application/rdap+json, application/json;q=0.9")
        request.headers.add(name: "User-Agent", value: "sipwarden/\(SIPWardenVersion.string) (abuse contact lookup)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(body.readableBytesView))
    }

    static func now() -> Timestamp {
        Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
    }

    static func writeAtomically(_ data: Data, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }
}
