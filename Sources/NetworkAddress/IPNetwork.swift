// SPDX-License-Identifier: GPL-2.0-or-later

/// A CIDR prefix such as `198.18.0.0/15` or `2001:2::/48`. The stored address is always
/// the network address (host bits cleared).
public struct IPNetwork: Hashable, Sendable, Comparable {
    public let address: IPAddress
    public let prefixLength: Int

    /// Creates a prefix, clearing any host bits of `address`. Returns nil when the
    /// length does not fit the family.
    public init?(address: IPAddress, prefixLength: Int) {
        guard prefixLength >= 0, prefixLength <= address.family.bitWidth else { return nil }
        self.address = address.masked(to: prefixLength)
        self.prefixLength = prefixLength
    }

    /// The single-address network (/32 or /128).
    public init(host: IPAddress) {
        address = host
        prefixLength = host.family.bitWidth
    }

    /// Parses `ADDR/LEN` or a bare address (a host prefix). Host bits must be zero
    /// unless `strict` is false, in which case they are cleared.
    public init?(_ text: some StringProtocol, strict: Bool = false) {
        if let slash = text.firstIndex(of: "/") {
            guard let address = IPAddress(text[..<slash]),
                let length = Int(text[text.index(after: slash)...]),
                let network = IPNetwork(address: address, prefixLength: length)
            else { return nil }
            if strict && network.address != address { return nil }
            self = network
        } else {
            guard let address = IPAddress(text) else { return nil }
            self.init(host: address)
        }
    }

    public var family: IPAddress.Family { address.family }

    /// True when this prefix covers exactly one address.
    public var isHost: Bool { prefixLength == address.family.bitWidth }

    /// True when `other` lies inside this prefix (same family).
    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && other.masked(to: prefixLength) == address
    }

    /// True when `other` is this prefix or a more specific one inside it.
    public func contains(_ other: IPNetwork) -> Bool {
        other.prefixLength >= prefixLength && contains(other.address)
    }

    public static func < (lhs: IPNetwork, rhs: IPNetwork) -> Bool {
        lhs.address == rhs.address ? lhs.prefixLength < rhs.prefixLength : lhs.address < rhs.address
    }
}

extension IPNetwork: CustomStringConvertible {
    /// `ADDR/LEN`, or just `ADDR` for a host prefix.
    public var description: String {
        isHost ? address.description : "\(address)/\(prefixLength)"
    }
}

extension IPNetwork: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let network = IPNetwork(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a CIDR prefix: \(text)")
        }
        self = network
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension IPAddress {
    /// The address with all bits after the first `prefixLength` cleared.
    public func masked(to prefixLength: Int) -> IPAddress {
        switch self {
        case .v4(let v):
            if prefixLength <= 0 { return .v4(0) }
            if prefixLength >= 32 { return self }
            return .v4(v & ~(UInt32.max >> UInt32(prefixLength)))
        case .v6(let hi, let lo):
            if prefixLength <= 0 { return .v6(0, 0) }
            if prefixLength >= 128 { return self }
            if prefixLength <= 64 {
                let mask = prefixLength == 64 ? UInt64.max : ~(UInt64.max >> UInt64(prefixLength))
                return .v6(hi & mask, 0)
            }
            return .v6(hi, lo & ~(UInt64.max >> UInt64(prefixLength - 64)))
        }
    }
}

/// A set of prefixes answering "is this address covered?" — used for allowlists.
/// Lookup cost is one hash probe per distinct prefix length present (at most 33 or 129),
/// independent of how many prefixes the set holds.
public struct IPNetworkSet: Sendable, Hashable {
    private var byLength: [Int: Set<IPAddress>] = [:]
    private var lengths4: [Int] = []
    private var lengths6: [Int] = []

    public init() {}

    public init(_ networks: some Sequence<IPNetwork>) {
        for n in networks { insert(n) }
    }

    /// Adds a prefix to the set.
    public mutating func insert(_ network: IPNetwork) {
        let key = network.family == .v4 ? network.prefixLength : 1000 + network.prefixLength
        byLength[key, default: []].insert(network.address)
        if network.family == .v4 {
            if !lengths4.contains(network.prefixLength) {
                lengths4.append(network.prefixLength)
                lengths4.sort()
            }
        } else {
            if !lengths6.contains(network.prefixLength) {
                lengths6.append(network.prefixLength)
                lengths6.sort()
            }
        }
    }

    public var isEmpty: Bool { byLength.isEmpty }

    /// All prefixes in the set, sorted.
    public var networks: [IPNetwork] {
        byLength.flatMap { key, addresses in
            addresses.compactMap { IPNetwork(address: $0, prefixLength: key >= 1000 ? key - 1000 : key) }
        }.sorted()
    }

    /// The shortest prefix in the set that covers `address`, if any.
    public func match(_ address: IPAddress) -> IPNetwork? {
        let probe = address.unmapped
        let lengths = probe.family == .v4 ? lengths4 : lengths6
        let offset = probe.family == .v4 ? 0 : 1000
        for length in lengths where byLength[offset + length]?.contains(probe.masked(to: length)) == true {
            return IPNetwork(address: probe, prefixLength: length)
        }
        return nil
    }

    /// True when some prefix in the set covers `address`.
    public func contains(_ address: IPAddress) -> Bool { match(address) != nil }
}
