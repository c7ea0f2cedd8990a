// SPDX-License-Identifier: GPL-2.0-or-later

import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension APIRouter {
    /// Longest selector accepted (a file path at most).
    static let maximumSelectorLength = 4_096

    /// `/v1/ranges`: list, block, unblock. Without range administration (a daemon built
    /// without it) every route answers 404.
    static func addRangeRoutes(_ router: Router<BasicRequestContext>, ranges: (any RangeAdministration)?) {
        let disabled = "range blocks are not enabled in this daemon"
        router.get("/v1/ranges") { _, _ in
            guard let ranges else { return problem(.notFound, disabled) }
            do throws(AdministrationError) { return json(.ok, RangeBlockList(blocks: try ranges.rangeBlocks())) } catch { return failure(error) }
        }
        router.post("/v1/ranges") { request, _ in
            let body: RangeBlockRequestBody
            do {
                let buffer = try await request.body.collect(upTo: maximumBodyBytes)
                body = try JSONDecoder().decode(RangeBlockRequestBody.self, from: Data(buffer.readableBytesView))
            } catch {
                return problem(
                    .badRequest, "expected a JSON object {\"selector\": text, \"scope\": \"sip\" or \"all\", \"block_seconds\": N or null}")
            }
            if let message = rangeRequestProblem(body) { return problem(.badRequest, message) }
            guard let ranges else { return problem(.notFound, disabled) }
            do throws(AdministrationError) { return json(.created, try ranges.block(body)) } catch { return failure(error) }
        }
        router.delete("/v1/ranges") { request, _ in
            guard let selector = request.uri.queryParameters["selector"], !selector.isEmpty else { return problem(.badRequest, "selector: required") }
            guard selector.utf8.count <= maximumSelectorLength else { return problem(.badRequest, "selector: too long") }
            guard let ranges else { return problem(.notFound, disabled) }
            do throws(AdministrationError) { return json(.ok, try ranges.unblock(selector: String(selector))) } catch { return failure(error) }
        }
    }

    /// What is wrong with a block request's fields, or nil.
    static func rangeRequestProblem(_ body: RangeBlockRequestBody) -> String? {
        if body.selector.isEmpty || body.selector.utf8.count > maximumSelectorLength {
            return "selector: expected aws:EC2, AS14061, list:NAME or file:/PATH"
        }
        if let scope = body.scope, scope != "sip", scope != "all" { return "scope: expected sip or all" }
        if let seconds = body.blockSeconds, !(1...maximumBanSeconds).contains(seconds) {
            return "block_seconds: expected 1 to \(maximumBanSeconds), or null for a permanent block"
        }
        return nil
    }
}

extension ControlPlaneClient {
    /// `GET /v1/ranges`.
    public func rangeBlocks() throws(ControlPlaneClientError) -> [RangeBlockView] {
        try decode(RangeBlockList.self, send("GET", "/v1/ranges")).blocks
    }

    /// `POST /v1/ranges`.
    public func block(_ body: RangeBlockRequestBody) throws(ControlPlaneClientError) -> RangeBlockView {
        let data: Data
        do { data = try JSONEncoder().encode(body) } catch { throw .protocolError("cannot encode the request: \(error)") }
        return try decode(RangeBlockView.self, send("POST", "/v1/ranges", body: Array(data)))
    }

    /// `DELETE /v1/ranges?selector=…`.
    public func unblock(selector: String) throws(ControlPlaneClientError) -> RangeUnblockResult {
        try decode(RangeUnblockResult.self, send("DELETE", "/v1/ranges?selector=\(Self.percentEncoded(selector))"))
    }
}
