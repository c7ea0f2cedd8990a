// SPDX-License-Identifier: GPL-2.0-or-later

import IntelStore
public import IntelUpdate

/// The check a downloaded source must pass before it replaces the copy in use: the
/// intelligence store's own full parse (`IntelParser`), so that a copy the updater swaps
/// in is one the daemon and `intel lookup` can load. Returns the number of ranges.
public struct IntelStoreValidator: IntelSourceValidator {
    public init() {}

    public func validate(_ bytes: [UInt8], format: String, name: String) throws(IntelValidationError) -> Int {
        guard let parsedFormat = IntelFormat(rawValue: format) else { throw IntelValidationError("unknown format '\(format)'") }
        do {
            return try IntelParser.parse(bytes: bytes, format: parsedFormat, name: name).entryCount
        } catch {
            throw IntelValidationError(error.line > 0 ? "line \(error.line): \(error.message)" : error.message)
        }
    }
}
