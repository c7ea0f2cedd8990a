// SPDX-License-Identifier: GPL-2.0-or-later

/// One netlink message read from a received datagram: its header and payload.
///
/// A view: `payload` points into the received buffer and is valid only as long as it is.
public struct NetlinkMessage {
    /// The `struct nlmsghdr`.
    public let header: NetlinkHeader
    /// The `nlmsg_len - 16` bytes after the header, without trailing padding.
    public let payload: UnsafeRawBufferPointer
    /// Where the message starts in the datagram.
    public let offset: Int

    /// `NLMSG_ERROR`: an acknowledgement or an error.
    public var isError: Bool { header.type == NetlinkMessageType.error }
    /// `NLMSG_DONE`: end of a multipart reply.
    public var isDone: Bool { header.type == NetlinkMessageType.done }

    /// The `struct nlmsgerr` of an `NLMSG_ERROR` message. Throws when the payload cannot
    /// hold its error code; the echoed request header is optional (nil when cut short).
    public func acknowledgement() throws(NetlinkDecodeError) -> NetlinkAcknowledgement {
        guard payload.count >= 4 else { throw .shortPayload(needed: 4, available: payload.count) }
        let code = payload.loadUnaligned(as: Int32.self)
        return NetlinkAcknowledgement(
            sequence: header.sequence, portID: header.portID,
            errno: NetlinkAcknowledgement.positiveErrno(code),
            request: NetlinkHeader(payload, at: 4))
    }

    /// The `struct nfgenmsg` of an nfnetlink message and a reader over the attributes after it.
    public func nfnetlink() throws(NetlinkDecodeError) -> (header: NFGenHeader, attributes: NetlinkAttributeReader) {
        let generic = try NFGenHeader(payload)
        let rest = UnsafeRawBufferPointer(rebasing: payload[NFGenHeader.size...])
        return (generic, NetlinkAttributeReader(rest, baseOffset: offset + NetlinkHeader.size + NFGenHeader.size))
    }
}

/// What an `NLMSG_ERROR` message says (`struct nlmsgerr`: int error, the request's header).
public struct NetlinkAcknowledgement: Sendable, Hashable {
    /// The sequence number of the request it answers (the reply's `nlmsg_seq`).
    public let sequence: UInt32
    /// The port it was sent to (the reply's `nlmsg_pid`).
    public let portID: UInt32
    /// 0 for an acknowledgement, else the positive errno the kernel refused the request with.
    public let errno: Int32
    /// The echoed request header, when present.
    public let request: NetlinkHeader?

    /// An acknowledgement with the given fields.
    public init(sequence: UInt32, portID: UInt32, errno: Int32, request: NetlinkHeader?) {
        self.sequence = sequence
        self.portID = portID
        self.errno = errno
        self.request = request
    }

    /// The kernel sends `-errno`; a positive value is taken as is, and `Int32.min` (which has
    /// no positive counterpart) becomes `Int32.max`.
    static func positiveErrno(_ code: Int32) -> Int32 {
        code == .min ? .max : (code < 0 ? -code : code)
    }
}

/// Walks the messages of one received netlink datagram, stepping by
/// `NLMSG_ALIGN(nlmsg_len)` (`<linux/netlink.h>`); multipart replies simply continue until
/// `NLMSG_DONE`, which the caller sees like any message.
///
/// Untrusted input never traps it: a header cut short, or an `nlmsg_len` below 16 or past
/// the end, ends the walk with a typed error (the messages before it were returned). The
/// last message may lack its padding.
public struct NetlinkMessageReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private var failed = false

    /// A walker over one datagram.
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The next message; nil at the end. After an error it returns nil.
    public mutating func next() throws(NetlinkDecodeError) -> NetlinkMessage? {
        guard !failed, position < bytes.count else { return nil }
        let available = bytes.count - position
        guard let header = NetlinkHeader(bytes, at: position) else {
            failed = true
            throw .truncatedMessageHeader(offset: position, available: available)
        }
        let length = Int(header.length)
        guard length >= NetlinkHeader.size, length <= available else {
            failed = true
            throw .badMessageLength(offset: position, length: length, available: available)
        }
        let message = NetlinkMessage(
            header: header,
            payload: UnsafeRawBufferPointer(rebasing: bytes[(position + NetlinkHeader.size)..<(position + length)]),
            offset: position)
        position += netlinkAligned(length) // length ≤ available: no overflow; may pass the end
        return message
    }
}
