// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import SIPMessage

/// Real messages from other projects' test suites (../shared/corpus/external/sip-messages:
/// pjsip's fuzz seeds, kamailio's sipsak inputs; deliberately broken ones among them).
/// No expected outcome exists for them, so the properties checked are the parser's own.
@Suite("External SIP messages")
struct ExternalMessagesTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/corpus/external/sip-messages").standardizedFileURL

    static func files() throws -> [URL] {
        var out: [URL] = []
        for sub in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
            let folder = directory.appendingPathComponent(sub)
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() where name.hasSuffix(".sip") {
                out.append(folder.appendingPathComponent(name))
            }
        }
        return out
    }

    @Test("strict, lenient and stream parses never crash; lenient accepts every conforming message identically and marks what it tolerates")
    func parseEveryMessage() throws {
        let files = try Self.files()
        #expect(files.count >= 60, "corpus missing at \(Self.directory.path)")
        var strictOK = 0
        var tolerated = 0
        for file in files {
            let bytes = Array(try Data(contentsOf: file))
            let strict = try? SIPMessage(parsing: bytes, options: .datagram)
            _ = try? SIPMessage(parsing: bytes, options: .stream)
            let lenientResult = Result { () throws(SIPParseError) in try SIPMessage(parsing: bytes, options: SIPParseOptions(lenient: true)) }
            if let strict {
                strictOK += 1
                #expect(try lenientResult.get() == strict, "\(file.lastPathComponent)")
            } else if case .success(let lenient) = lenientResult {
                tolerated += 1
                #expect(lenient.deviation != nil, "\(file.lastPathComponent)")
            }
            // Every prefix too (truncated datagrams).
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 16)) {
                _ = try? SIPMessage(parsing: Array(bytes[0..<cut]), options: SIPParseOptions(lenient: true))
            }
        }
        #expect(strictOK > 0)
        #expect(tolerated > 0)
    }
}
