// SPDX-License-Identifier: GPL-2.0-or-later

/// Why received netlink bytes could not be read. The reader and walker throw this instead
/// of trapping; offsets are relative to the buffer the reader was given.
public enum NetlinkDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Fewer than 16 bytes left where a `struct nlmsghdr` must start.
    case truncatedMessageHeader(offset: Int, available: Int)
    /// `nlmsg_len` below the header size or past the end of the buffer.
    case badMessageLength(offset: Int, length: Int, available: Int)
    /// `nla_len` below the attribute header size or past the end of its container.
    case badAttributeLength(offset: Int, length: Int, available: Int)
    /// A fixed-size payload (`nlmsgerr`, `nfgenmsg`, a u32 attribute, …) of the wrong size.
    case shortPayload(needed: Int, available: Int)

    /// The error in words.
    public var description: String {
        switch self {
        case .truncatedMessageHeader(let offset, let available):
            "netlink message header at offset \(offset) truncated (\(available) of 16 bytes)"
        case .badMessageLength(let offset, let length, let available):
            "netlink message at offset \(offset) claims \(length) bytes (16...\(available) possible)"
        case .badAttributeLength(let offset, let length, let available):
            "netlink attribute at offset \(offset) claims \(length) bytes (4...\(available) possible)"
        case .shortPayload(let needed, let available):
            "netlink payload of \(available) bytes where \(needed) are needed"
        }
    }
}

/// Why an attribute or message could not be encoded.
public enum NetlinkEncodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An attribute (nested ones included) longer than `nla_len` (16 bits) can express.
    case attributeTooLong(type: UInt16, length: Int)
    /// A message longer than `nlmsg_len` (32 bits) can express.
    case messageTooLong(length: Int)

    /// The error in words.
    public var description: String {
        switch self {
        case .attributeTooLong(let type, let length): "netlink attribute \(type) of \(length) bytes exceeds 65535"
        case .messageTooLong(let length): "netlink message of \(length) bytes exceeds 2^32 - 1"
        }
    }
}
