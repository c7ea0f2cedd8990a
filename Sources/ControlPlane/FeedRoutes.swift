// SPDX-License-Identifier: GPL-2.0-or-later

import Hummingbird
import NetworkAddress

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// sipwarden's own active bans as a feed other servers and tools can subscribe to
/// (docs/FEEDS.md "Publishing"): plain text, JSON, and APIBAN's answer shape. Bans that
/// came from feeds are left out unless `include_feeds=true`, so two servers subscribed to
/// each other do not pass one list back and forth for ever.
enum FeedRoutes {
    /// Addresses per APIBAN page (APIBAN's own page size).
    static let apibanPageSize = 250
    /// APIBAN IDs this API hands out are the ledger's row id plus this base; any smaller
    /// ID (an APIBAN client's first request sends 100) means "from the start".
    static let apibanIDBase: Int64 = 1_000_000_000

    static func add(to router: Router<BasicRequestContext>, snapshots: any DaemonSnapshots) {
        router.get("/v1/feed/bans.txt") { request, _ in
            switch published(snapshots, request) {
            case .failure(let error): return APIRouter.failure(error)
            case .success(let bans):
                var body = "# sipwarden active bans: \(bans.count)\n"
                for ban in bans { body += ban.network + "\n" }
                return APIRouter.text(.ok, body, contentType: "text/plain; charset=utf-8")
            }
        }
        router.get("/v1/feed/bans.json") { request, _ in
            switch published(snapshots, request) {
            case .failure(let error): return APIRouter.failure(error)
            case .success(let bans):
                return APIRouter.json(.ok, FeedList(count: bans.count, bans: bans.map(FeedEntry.init)))
            }
        }
        router.get("/v1/feed/apiban/banned") { request, _ in
            apiban(snapshots, request, after: nil)
        }
        router.get("/v1/feed/apiban/banned/{id}") { request, context in
            apiban(snapshots, request, after: context.parameters.get("id"))
        }
    }

    /// Active bans, oldest first, feed bans only when asked for.
    static func published(_ snapshots: any DaemonSnapshots, _ request: Request) -> Result<[BanView], AdministrationError> {
        var includeFeeds = false
        if let text = request.uri.queryParameters["include_feeds"] {
            guard let value = Bool(text.lowercased()) else { return .failure(AdministrationError(.invalid, "include_feeds: expected true or false")) }
            includeFeeds = value
        }
        do throws(AdministrationError) {
            let bans = try snapshots.bans(includeInactive: false, limit: APIRouter.maximumLimit)
            return .success(bans.filter { includeFeeds || $0.origin != "feed" }.sorted { ($0.id ?? 0) < ($1.id ?? 0) })
        } catch {
            return .failure(error)
        }
    }

    /// APIBAN's `banned` answer: up to 250 addresses recorded after `id`, and the ID to
    /// ask from next; when none is left, 400 `{"ipaddress":["no new bans"],"ID":"none"}`
    /// exactly as apiban.org ends its list.
    static func apiban(_ snapshots: any DaemonSnapshots, _ request: Request, after id: String?) -> Response {
        var cursor: Int64 = 0
        if let id {
            guard let value = Int64(id), value >= 0 else { return APIRouter.problem(.badRequest, "id: expected a number") }
            cursor = value >= apibanIDBase ? value - apibanIDBase : 0
        }
        switch published(snapshots, request) {
        case .failure(let error): return APIRouter.failure(error)
        case .success(let bans):
            let page = bans.filter { ($0.id ?? 0) > cursor }.prefix(apibanPageSize)
            guard let last = page.last?.id else {
                return APIRouter.json(.badRequest, APIBANAnswer(ipaddress: ["no new bans"], next: "none"))
            }
            return APIRouter.json(.ok, APIBANAnswer(ipaddress: page.map(\.network), next: String(last + apibanIDBase)))
        }
    }
}

/// `GET /v1/feed/bans.json`.
struct FeedList: Codable, Sendable {
    var count: Int
    var bans: [FeedEntry]
}

/// One published ban: what a consumer needs, no evidence and no attacker text.
struct FeedEntry: Codable, Sendable {
    var network: String
    var origin: String
    var kind: String
    var created: String
    var expires: String?

    init(_ ban: BanView) {
        network = ban.network
        origin = ban.origin
        kind = ban.kind
        created = ban.created
        expires = ban.expires
    }
}

/// APIBAN's answer shape.
struct APIBANAnswer: Codable, Sendable {
    var ipaddress: [String]
    /// The ID to ask from next (`"none"` at the end).
    var next: String

    enum CodingKeys: String, CodingKey {
        case ipaddress
        case next = "ID"
    }
}
