// SPDX-License-Identifier: GPL-2.0-or-later

/// A capture file's link-layer header type (the tcpdump.org `LINKTYPE_` registry).
///
/// Unknown values are kept as they are; `PacketDecoder` counts their frames as
/// `unsupportedLink` instead of guessing.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    public static let null = LinkType(rawValue: 0)
    /// Ethernet II / 802.3, with 802.1Q and 802.1ad (QinQ) VLAN tags and PPPoE sessions.
    public static let ethernet = LinkType(rawValue: 1)
    /// `DLT_RAW` as some platforms number it in files (12 on most BSDs, 14 on OpenBSD).
    public static let rawBSD = LinkType(rawValue: 12)
    public static let rawOpenBSD = LinkType(rawValue: 14)
    /// Raw IP, version from the first nibble.
    public static let raw = LinkType(rawValue: 101)
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    public static let loop = LinkType(rawValue: 108)
    /// Linux "cooked" capture v1 (16-byte header, `tcpdump -i any`).
    public static let linuxSLL = LinkType(rawValue: 113)
    /// Raw IPv4.
    public static let ipv4 = LinkType(rawValue: 228)
    /// Raw IPv6.
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux "cooked" capture v2 (20-byte header).
    public static let linuxSLL2 = LinkType(rawValue: 276)

    /// Every link type the decoder understands.
    public static let supported: [LinkType] = [.null, .ethernet, .rawBSD, .rawOpenBSD, .raw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2]

    public var description: String {
        switch self {
        case .null: "null"
        case .ethernet: "ethernet"
        case .raw, .rawBSD, .rawOpenBSD: "raw"
        case .loop: "loop"
        case .linuxSLL: "linux-sll"
        case .linuxSLL2: "linux-sll2"
        case .ipv4: "ipv4"
        case .ipv6: "ipv6"
        default: "linktype-\(rawValue)"
        }
    }
}
