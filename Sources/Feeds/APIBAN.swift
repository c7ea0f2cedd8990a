// SPDX-License-Identifier: GPL-2.0-or-later

public import IntelUpdate

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// APIBAN's API (apiban.org): `POST https://apiban.org/api/get` with
/// `Authorization: Bearer KEY` and the body `{"set":"sip","id":"CURSOR"}` answers
/// `{"ipaddress":[…], "ID":"NEXT"}`; the caller asks again from `NEXT` until the answer's
/// ID is `"none"` (a 400 whose `ipaddress` is `["no new bans"]`). A first fetch starts
/// from the cursor `"100"`, which lists every address in force. `"ID":"unauthorized"`
/// (403) is a wrong key; `"ipaddress":"rate limit exceeded"` (429) a rate limit.
public enum APIBAN {
    /// The cursor of a first fetch: the whole list.
    public static let initialCursor = "100"

    /// One page of an answer.
    public enum Page: Sendable, Hashable {
        /// Addresses and the cursor to ask from next.
        case addresses([String], next: String)
        /// The list is complete (`"ID":"none"`).
        case end
    }

    /// Why a page is not usable.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case unauthorized
        case rateLimited
        case unexpected(status: Int, detail: String)

        public var description: String {
            switch self {
            case .unauthorized: "APIBAN: unauthorized (check the feed's api-key)"
            case .rateLimited: "APIBAN: rate limit exceeded"
            case .unexpected(let status, let detail): "APIBAN: unexpected answer (HTTP \(status)): \(detail)"
            }
        }
    }

    /// The request body for the page after `cursor`.
    public static func requestBody(set: String, cursor: String) -> [UInt8] {
        struct Body: Encodable {
            var set: String
            var id: String
        }
        return Array((try? JSONEncoder().encode(Body(set: set, id: cursor))) ?? Data())
    }

    /// Reads one answer (any status: APIBAN says "done" with a 400).
    public static func parsePage(status: Int, body: [UInt8]) throws(Failure) -> Page {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(body)), case .object(let fields) = value else {
            throw .unexpected(status: status, detail: "not a JSON object")
        }
        let id: String? = if case .string(let s)? = fields["ID"] { s } else { nil }
        if id == "unauthorized" || status == 401 || status == 403 { throw .unauthorized }
        if case .string(let s)? = fields["ipaddress"], s == "rate limit exceeded" { throw .rateLimited }
        if status == 429 { throw .rateLimited }
        if id == "none" { return .end }
        guard (200...299).contains(status), let id, !id.isEmpty else {
            throw .unexpected(status: status, detail: "no ID")
        }
        guard case .array(let items)? = fields["ipaddress"] else {
            throw .unexpected(status: status, detail: "no ipaddress list")
        }
        return .addresses(items.compactMap(\.addressText), next: id)
    }

    /// Fetches every page after `cursor` (at most `maxPages`): the addresses in order and
    /// the cursor to start from next time.
    public static func fetchAll(
        url: String, key: String, set: String, from cursor: String, maxPages: Int, maxBytes: Int, fetcher: any ConditionalFetcher
    ) async throws(FeedFetchError) -> (addresses: [String], cursor: String) {
        var cursor = cursor
        var addresses: [String] = []
        for _ in 0..<maxPages {
            let request = FetchRequest(
                url: url, method: .post,
                headers: [(name: "Authorization", value: "Bearer \(key)"), (name: "Content-Type", value: "application/json")],
                body: requestBody(set: set, cursor: cursor), maxBytes: maxBytes)
            let response: FetchResponse
            do {
                response = try await fetcher.fetch(request)
            } catch {
                throw .fetch(error)
            }
            guard case .response(let status, let body, _, _) = response else {
                throw .apiban(.unexpected(status: 304, detail: "not modified"))
            }
            let page: Page
            do {
                page = try parsePage(status: status, body: body)
            } catch {
                throw .apiban(error)
            }
            switch page {
            case .end: return (addresses, cursor)
            case .addresses(let more, let next):
                addresses += more
                // A server that does not move its cursor forward would loop.
                guard next != cursor else { return (addresses, cursor) }
                cursor = next
            }
        }
        throw .apiban(.unexpected(status: 200, detail: "more than \(maxPages) pages"))
    }
}

/// Why a feed could not be refreshed (its last good copy stays in use).
public enum FeedFetchError: Error, Sendable, Hashable, CustomStringConvertible {
    case fetch(FetchError)
    case status(Int)
    case apiban(APIBAN.Failure)
    case parse(FeedParseError)
    case store(String)

    public var description: String {
        switch self {
        case .fetch(let e): "\(e)"
        case .status(let code): "HTTP status \(code)"
        case .apiban(let e): "\(e)"
        case .parse(let e): "\(e)"
        case .store(let message): message
        }
    }
}
