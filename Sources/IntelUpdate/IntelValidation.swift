// SPDX-License-Identifier: GPL-2.0-or-later

/// Why a downloaded source was not accepted by the validator.
public struct IntelValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The full parse a source must pass before it replaces the copy in use: it returns the
/// number of entries (ranges, prefixes) the bytes hold, or throws.
///
/// The daemon plugs the intelligence store's own parser in here (`IntelParser.parse`,
/// whose `IntelDataset` has an entry count) with `ClosureIntelValidator`; until then
/// `StructuralIntelValidator` checks the published shapes itself.
public protocol IntelSourceValidator: Sendable {
    func validate(_ bytes: [UInt8], format: String, name: String) throws(IntelValidationError) -> Int
}

/// A validator made of a closure: `{ bytes, format, name in try IntelParser.parse(bytes:
/// bytes, format: format, name: name).count }` (errors rethrown as `IntelValidationError`).
public struct ClosureIntelValidator: IntelSourceValidator {
    private let body: @Sendable ([UInt8], String, String) throws -> Int

    public init(_ body: @escaping @Sendable (_ bytes: [UInt8], _ format: String, _ name: String) throws -> Int) {
        self.body = body
    }

    public func validate(_ bytes: [UInt8], format: String, name: String) throws(IntelValidationError) -> Int {
        do {
            return try body(bytes, format, name)
        } catch let error as IntelValidationError {
            throw error
        } catch {
            throw IntelValidationError("\(error)")
        }
    }
}

/// The decision whether a validated copy may replace the one in use.
public struct ShrinkGuard: Sendable, Hashable {
    /// A new copy with fewer than `minimumRatio` × the entries of the copy in use is
    /// refused (0.5: half of the ranges gone at once is a broken publication, not news).
    public var minimumRatio: Double

    public init(minimumRatio: Double = 0.5) {
        self.minimumRatio = minimumRatio
    }

    /// Why `newEntries` may not replace `oldEntries` (nil: accepted). `oldEntries` nil:
    /// no copy yet, anything but empty is accepted.
    public func refusal(newEntries: Int, newBytes: Int, oldEntries: Int?) -> String? {
        if newBytes == 0 || newEntries == 0 { return "empty (\(newBytes) bytes, \(newEntries) entries)" }
        guard let oldEntries, oldEntries > 0 else { return nil }
        if Double(newEntries) < Double(oldEntries) * minimumRatio {
            return "shrinks from \(oldEntries) to \(newEntries) entries (below the ratio \(minimumRatio))"
        }
        return nil
    }
}
