// SPDX-License-Identifier: GPL-2.0-or-later

public import Hummingbird
import NetworkAddress

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The API's routes (the contract is the OpenAPI document, `OpenAPIDocument.yaml`).
///
/// One router per listener: on the Unix socket reads are open to whoever can open the
/// socket (root), on TCP every request needs the token.
public enum APIRouter {
    /// Largest request body read (a ban request is a few hundred bytes).
    static let maximumBodyBytes = 16 * 1024
    /// Longest `reason` accepted (the ledger keeps at most 1024 bytes of text).
    public static let maximumReasonLength = 1_000
    /// Longest ban accepted: ten years, in seconds.
    public static let maximumBanSeconds: Int64 = 315_360_000
    /// Most rows `GET /v1/bans` returns.
    public static let maximumLimit = 100_000

    /// Builds the router.
    /// - Parameters:
    ///   - tokenForReads: require the token for every request (TCP), not only for those
    ///     that change state.
    ///   - ranges: `/v1/ranges`; nil = those routes answer 404.
    ///   - cases: `/v1/cases` and `/v1/providers`; nil = those routes answer 404.
    public static func build(
        administration: any BanAdministration, snapshots: any DaemonSnapshots,
        token: APIToken, tokenForReads: Bool, metricsText: (@Sendable () -> String)?,
        ranges: (any RangeAdministration)? = nil, cases: (any CaseAdministration)? = nil
    ) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: BearerTokenMiddleware(token: token, tokenForReads: tokenForReads))

        router.get("/v1/health") { _, _ in
            json(.ok, HealthBody(status: "ok"))
        }
        router.get("/v1/ready") { _, _ in
            snapshots.isReady ? json(.ok, HealthBody(status: "ready")) : json(.serviceUnavailable, HealthBody(status: "starting"))
        }
        router.get("/v1/status") { _, _ in
            do throws(AdministrationError) { return json(.ok, try snapshots.status()) } catch { return failure(error) }
        }
        router.get("/v1/bans") { request, _ in
            let query = request.uri.queryParameters
            var all = false
            if let text = query["all"] {
                guard let value = Bool(text.lowercased()) else { return problem(.badRequest, "all: expected true or false") }
                all = value
            }
            var limit = 1_000
            if let text = query["limit"] {
                guard let value = Int(text), (1...maximumLimit).contains(value) else {
                    return problem(.badRequest, "limit: expected an integer from 1 to \(maximumLimit)")
                }
                limit = value
            }
            do throws(AdministrationError) { return json(.ok, BanList(bans: try snapshots.bans(includeInactive: all, limit: limit))) } catch {
                return failure(error)
            }
        }
        router.post("/v1/bans") { request, _ in
            let body: BanRequestBody
            do {
                let buffer = try await request.body.collect(upTo: maximumBodyBytes)
                body = try JSONDecoder().decode(BanRequestBody.self, from: Data(buffer.readableBytesView))
            } catch {
                return problem(.badRequest, "expected a JSON object {\"network\": CIDR, \"ban_seconds\": N or null, \"reason\": text}")
            }
            let ban: BanRequest
            switch banRequest(body) {
            case .success(let r): ban = r
            case .failure(let message): return problem(.badRequest, message.text)
            }
            do throws(AdministrationError) { return json(.created, try administration.ban(ban)) } catch { return failure(error) }
        }
        router.delete("/v1/bans") { request, _ in
            guard let text = request.uri.queryParameters["network"] else { return problem(.badRequest, "network: required") }
            guard let network = IPNetwork(text, strict: true) else {
                return problem(.badRequest, "network: expected an address or CIDR prefix with clear host bits")
            }
            do throws(AdministrationError) { return json(.ok, try administration.lift(network)) } catch { return failure(error) }
        }
        addRangeRoutes(router, ranges: ranges)
        CaseRoutes.add(to: router, cases: cases)
        router.get("/metrics") { _, _ in
            guard let metricsText else { return problem(.notFound, "metrics are not enabled in this daemon") }
            return text(.ok, metricsText(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        FeedRoutes.add(to: router, snapshots: snapshots)
        router.get("/openapi.yaml") { _, _ in
            text(.ok, OpenAPIDocument.yaml, contentType: "application/yaml")
        }
        return router
    }

    /// A validation message (a type of its own so `Result` can carry it).
    struct Invalid: Error {
        var text: String
    }

    /// Checks a ban request's fields.
    static func banRequest(_ body: BanRequestBody) -> Result<BanRequest, Invalid> {
        guard let network = IPNetwork(body.network, strict: true) else {
            return .failure(Invalid(text: "network: expected an address or CIDR prefix with clear host bits, got '\(body.network.prefix(64))'"))
        }
        var duration: Duration?
        if let seconds = body.banSeconds {
            guard (1...maximumBanSeconds).contains(seconds) else {
                return .failure(Invalid(text: "ban_seconds: expected 1 to \(maximumBanSeconds), or null for a permanent ban"))
            }
            duration = .seconds(seconds)
        }
        let reason = body.reason ?? "manual"
        guard reason.count <= maximumReasonLength else {
            return .failure(Invalid(text: "reason: at most \(maximumReasonLength) characters"))
        }
        return .success(BanRequest(network: network, duration: duration, reason: reason.isEmpty ? "manual" : reason))
    }

    static func failure(_ error: AdministrationError) -> Response {
        switch error.kind {
        case .invalid: problem(.badRequest, error.message)
        case .refused: problem(.conflict, error.message)
        case .unavailable: problem(.serviceUnavailable, error.message)
        case .failed: problem(.internalServerError, error.message)
        }
    }

    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(status, ErrorBody(error: message))
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{\"error\":\"response could not be encoded\"}".utf8)
        var bytes = Array(data)
        bytes.append(0x0A)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    static func text(_ status: HTTPResponse.Status, _ body: String, contentType: String) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Refuses, with 401 and a JSON error, a request without the right bearer token when it
/// changes state (any method but GET and HEAD) or when every request needs it.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: APIToken
    let tokenForReads: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let reads = request.method == .get || request.method == .head
        if tokenForReads || !reads {
            guard let presented = Self.bearer(request.headers[.authorization]), token.matches(presented) else {
                var response = APIRouter.problem(
                    .unauthorized,
                    "a valid bearer token is required (Authorization: Bearer TOKEN; the token is in the state directory's \(APIToken.fileName))")
                response.headers[.wwwAuthenticate] = "Bearer"
                return response
            }
        }
        return try await next(request, context)
    }

    /// The credentials of `Authorization: Bearer …`.
    static func bearer(_ header: String?) -> Substring? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].drop { $0 == " " }
    }
}
