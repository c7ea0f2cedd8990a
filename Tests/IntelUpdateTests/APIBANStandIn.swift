// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization

/// A stand-in for apiban.org's `POST /api/get` on 127.0.0.1, answering in the shapes its
/// documentation and clients show: 200 `{"ipaddress":[…≤ 250…],"ID":"NEXT"}`, then
/// 400 `{"ipaddress":["no new bans"],"ID":"none"}`; 403 `{"ipaddress":"none","ID":"unauthorized"}`
/// for a wrong key; 429 `{"ipaddress":"rate limit exceeded","ID":"none"}` when told to.
final class APIBANStandIn: Sendable {
    /// Every ban the service knows, with its ID (an increasing timestamp, as APIBAN's).
    let bans = Mutex<[(id: Int, address: String)]>([])
    let key: String
    let rateLimited = Mutex(false)
    let requests = Mutex<[String]>([])

    init(key: String) { self.key = key }

    func add(_ addresses: [String]) {
        bans.withLock { bans in
            var next = (bans.last?.id ?? 1_700_000_000) + 1
            for address in addresses {
                bans.append((next, address))
                next += 1
            }
        }
    }

    func run(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.post("/api/get") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 4096)
            let fields = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: String] ?? [:]
            return self.answer(authorization: request.headers[.authorization], set: fields["set"], id: fields["id"])
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            guard let port = client.port else { throw CancellationError() }
            try await body("http://127.0.0.1:\(port)/api/get")
        }
    }

    private func answer(authorization: String?, set: String?, id: String?) -> Response {
        requests.withLock { $0.append(id ?? "") }
        guard authorization == "Bearer \(key)" else { return json(403, #"{"ipaddress":"none","ID":"unauthorized"}"#) }
        if rateLimited.withLock({ $0 }) { return json(429, #"{"ipaddress":"rate limit exceeded","ID":"none"}"#) }
        guard set == "sip", let cursor = id.flatMap(Int.init) else { return json(400, #"{"ipaddress":"bad request","ID":"none"}"#) }
        let page = bans.withLock { $0.filter { $0.id > cursor }.prefix(250) }
        guard let last = page.last else { return json(400, #"{"ipaddress":["no new bans"],"ID":"none"}"#) }
        let list = page.map { "\"\($0.address)\"" }.joined(separator: ",")
        return json(200, #"{"ipaddress":[\#(list)],"ID":"\#(last.id)"}"#)
    }

    private func json(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
