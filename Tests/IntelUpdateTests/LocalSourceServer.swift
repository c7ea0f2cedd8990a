// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization

/// What the local server answers for one path.
struct ServedFile: Sendable {
    var body: [UInt8]
    var etag: String?
    var lastModified: String?
    /// Answer this status instead of the file (500: a failing source).
    var status: Int = 200
}

/// An HTTP server on 127.0.0.1 inside the test process: serves files from a table the
/// test changes between runs, honours If-None-Match / If-Modified-Since with 304, and
/// records what each request carried. Nothing leaves the machine.
final class LocalSourceServer: Sendable {
    struct Seen: Sendable {
        var path: String
        var ifNoneMatch: String?
        var ifModifiedSince: String?
        var status: Int
    }

    let files = Mutex<[String: ServedFile]>([:])
    let seen = Mutex<[Seen]>([])

    func set(_ path: String, _ file: ServedFile) { files.withLock { $0[path] = file } }

    func requests(to path: String) -> [Seen] { seen.withLock { $0.filter { $0.path == path } } }

    /// Runs `body` with the server listening; its argument is the base URL.
    func run(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.get("/**") { request, _ -> Response in
            self.answer(request)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            guard let port = client.port else { throw CancellationError() }
            try await body("http://127.0.0.1:\(port)")
        }
    }

    private func answer(_ request: Request) -> Response {
        let path = request.uri.path
        let ifNoneMatch = request.headers[.ifNoneMatch]
        let ifModifiedSince = request.headers[.ifModifiedSince]
        guard let file = files.withLock({ $0[path] }) else {
            record(path, ifNoneMatch, ifModifiedSince, 404)
            return Response(status: .notFound)
        }
        if file.status != 200 {
            record(path, ifNoneMatch, ifModifiedSince, file.status)
            return Response(status: .init(code: file.status))
        }
        let notModified =
            (file.etag != nil && ifNoneMatch == file.etag)
            || (file.etag == nil && file.lastModified != nil && ifModifiedSince == file.lastModified)
        var headers = HTTPFields()
        if let etag = file.etag { headers[.eTag] = etag }
        if let lastModified = file.lastModified { headers[.lastModified] = lastModified }
        if notModified {
            record(path, ifNoneMatch, ifModifiedSince, 304)
            return Response(status: .notModified, headers: headers)
        }
        record(path, ifNoneMatch, ifModifiedSince, 200)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.body)))
    }

    private func record(_ path: String, _ inm: String?, _ ims: String?, _ status: Int) {
        seen.withLock { $0.append(Seen(path: path, ifNoneMatch: inm, ifModifiedSince: ims, status: status)) }
    }
}

/// The shared corpus (`../shared/corpus`, relative to the package root).
enum Corpus {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent().appendingPathComponent("shared/corpus").path
    }()

    static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative)))
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "intelfeeds-test-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `bytes` compressed by the system's gzip tool (an independent encoder).
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/data"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-n", "-9", path]
        try process.run()
        process.waitUntilExit()
        return Array(try Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
    }
}
