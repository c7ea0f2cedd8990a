// SPDX-License-Identifier: GPL-2.0-or-later

import Abuse
import Foundation

/// The shared corpus (../shared/corpus relative to the package root), read in place.
enum Corpus {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = packageRoot.deletingLastPathComponent().appending(path: "shared/corpus")

    static func data(_ path: String) throws -> Data { try Data(contentsOf: root.appending(path: path)) }

    static func json(_ path: String) throws -> JSONValue { try JSONValue.parse(try data(path)) }

    static func answer(_ file: String) throws -> RDAPAnswer { try RDAPAnswer(try json("rdap/\(file)")) }
}
