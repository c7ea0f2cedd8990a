// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress

/// Where the ranges of a selector come from: "all ranges of provider/service X, AS N,
/// named list L". The intelligence store answers providers and AS numbers; named lists and
/// CIDR files are answered by `CIDRFileRangeSource`; `ChainedRangeSource` asks several.
public protocol RangeSource: Sendable {
    /// Every prefix `selector` covers (any order, overlaps allowed). Throws
    /// `.unsupported` when this source does not know that kind of selector.
    func networks(for selector: RangeSelector) throws(RangeSourceError) -> [IPNetwork]
}

/// Why a selector's ranges could not be had.
public struct RangeSourceError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// This source does not answer this kind of selector (try another).
        case unsupported
        /// No such named list, provider, service or AS.
        case unknown
        /// The file could not be read.
        case unreadable
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Asks each source in turn; the first that does not answer `.unsupported` decides.
public struct ChainedRangeSource: RangeSource {
    public let sources: [any RangeSource]

    public init(_ sources: [any RangeSource]) {
        self.sources = sources
    }

    public func networks(for selector: RangeSelector) throws(RangeSourceError) -> [IPNetwork] {
        for source in sources {
            do throws(RangeSourceError) {
                return try source.networks(for: selector)
            } catch  where error.kind == .unsupported {
                continue
            }
        }
        throw RangeSourceError(.unsupported, "no range source knows \(selector) (providers and AS numbers need the intelligence store)")
    }
}
