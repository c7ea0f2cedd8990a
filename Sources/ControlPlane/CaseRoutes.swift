// SPDX-License-Identifier: GPL-2.0-or-later

import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `/v1/cases` and `/v1/providers`: the abuse cases and the provider scorecard. Without the
/// case service (a daemon whose configuration has no `abuse:` section) every route answers
/// 404 with a message that says so; an id that is not a UUID is 400, an unknown one 404.
enum CaseRoutes {
    static let disabled = "the case service is off (no abuse: section in the daemon's configuration)"

    static func add(to router: Router<BasicRequestContext>, cases: (any CaseAdministration)?) {
        router.get("/v1/cases") { request, _ in
            guard let cases else { return APIRouter.problem(.notFound, disabled) }
            let query = request.uri.queryParameters
            var all = false
            if let text = query["all"] {
                guard let value = Bool(text.lowercased()) else { return APIRouter.problem(.badRequest, "all: expected true or false") }
                all = value
            }
            var state: String?
            if let text = query["state"] {
                guard CaseStates.names.contains(String(text)) else {
                    return APIRouter.problem(.badRequest, "state: expected one of \(CaseStates.names.joined(separator: ", "))")
                }
                state = String(text)
            }
            var limit = 1_000
            if let text = query["limit"] {
                guard let value = Int(text), (1...APIRouter.maximumLimit).contains(value) else {
                    return APIRouter.problem(.badRequest, "limit: expected an integer from 1 to \(APIRouter.maximumLimit)")
                }
                limit = value
            }
            do throws(AdministrationError) {
                return APIRouter.json(.ok, CaseList(cases: try cases.cases(state: state, includeClosed: all, limit: limit)))
            } catch {
                return APIRouter.failure(error)
            }
        }
        router.get("/v1/cases/{id}") { _, context in
            guard let cases else { return APIRouter.problem(.notFound, disabled) }
            let id: UUID
            switch caseID(context) {
            case .success(let value): id = value
            case .failure(let message): return APIRouter.problem(.badRequest, message.text)
            }
            return answer(id) { () throws(AdministrationError) in try cases.abuseCase(id: id) }
        }
        router.post("/v1/cases/{id}/approve") { _, context in
            guard let cases else { return APIRouter.problem(.notFound, disabled) }
            let id: UUID
            switch caseID(context) {
            case .success(let value): id = value
            case .failure(let message): return APIRouter.problem(.badRequest, message.text)
            }
            return answer(id) { () throws(AdministrationError) in try cases.approve(id: id) }
        }
        router.post("/v1/cases/{id}/close") { request, context in
            guard let cases else { return APIRouter.problem(.notFound, disabled) }
            let id: UUID
            switch caseID(context) {
            case .success(let value): id = value
            case .failure(let message): return APIRouter.problem(.badRequest, message.text)
            }
            var reason = "closed by the operator"
            do {
                let buffer = try await request.body.collect(upTo: APIRouter.maximumBodyBytes)
                if buffer.readableBytes > 0 {
                    let body = try JSONDecoder().decode(CaseCloseRequestBody.self, from: Data(buffer.readableBytesView))
                    if let text = body.reason, !text.isEmpty { reason = text }
                }
            } catch {
                return APIRouter.problem(.badRequest, "expected no body or a JSON object {\"reason\": text}")
            }
            guard reason.count <= APIRouter.maximumReasonLength else {
                return APIRouter.problem(.badRequest, "reason: at most \(APIRouter.maximumReasonLength) characters")
            }
            return answer(id) { () throws(AdministrationError) in try cases.close(id: id, reason: reason) }
        }
        router.get("/v1/providers") { _, _ in
            guard let cases else { return APIRouter.problem(.notFound, disabled) }
            do throws(AdministrationError) { return APIRouter.json(.ok, ProviderList(providers: try cases.providers())) } catch {
                return APIRouter.failure(error)
            }
        }
    }

    /// The `{id}` path parameter as a case's UUID.
    static func caseID(_ context: BasicRequestContext) -> Result<UUID, APIRouter.Invalid> {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            return .failure(APIRouter.Invalid(text: "id: expected a case's UUID (sipwarden cases list shows them)"))
        }
        return .success(id)
    }

    /// What one case's call gave: 200 with it, 404 when there is no such case, else the
    /// error's status.
    static func answer<T: Encodable>(_ id: UUID, _ call: () throws(AdministrationError) -> T?) -> Response {
        do throws(AdministrationError) {
            guard let value = try call() else { return noSuchCase(id) }
            return APIRouter.json(.ok, value)
        } catch {
            return APIRouter.failure(error)
        }
    }

    static func noSuchCase(_ id: UUID) -> Response {
        APIRouter.problem(.notFound, "no case \(id.uuidString.lowercased())")
    }
}
