// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc

/// Why a netlink exchange failed: the one error type of the socket shell, carrying the errno
/// where there is one.
public struct NetlinkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What failed, broadly.
    public enum Kind: Sendable, Hashable {
        /// A system call on the socket failed (`socket`, `bind`, `sendto`, `recvfrom`, `poll`,
        /// …); `errno` says why.
        case system
        /// The kernel refused a request (an `NLMSG_ERROR` with a non-zero errno); the socket is
        /// still usable.
        case kernel
        /// The kernel's reply made no sense (malformed, truncated, of an unexpected type).
        case unexpectedReply
        /// The acknowledgements did not all arrive within the deadline.
        case timedOut
    }

    /// What failed.
    public let kind: Kind
    /// The errno, for `.system` and `.kernel`; 0 otherwise.
    public let errno: Int32
    /// What failed, in words ("<strerror> (errno N)" for kernel refusals).
    public let message: String
    /// The system call that failed, for `.system`.
    public let call: String?

    /// An error with the given fields (prefer the factories below).
    public init(kind: Kind, errno: Int32, message: String, call: String? = nil) {
        self.kind = kind
        self.errno = errno
        self.message = message
        self.call = call
    }

    /// `message`.
    public var description: String { message }

    /// A failed system call: "netlink CALL: <strerror> (errno N)".
    public static func system(_ call: String, errno code: Int32) -> NetlinkError {
        NetlinkError(kind: .system, errno: code, message: "netlink \(call): \(describe(errno: code))", call: call)
    }

    /// A kernel refusal with positive errno `code`: "<strerror> (errno N)".
    public static func kernel(errno code: Int32) -> NetlinkError {
        NetlinkError(kind: .kernel, errno: code, message: describe(errno: code))
    }

    /// A reply that made no sense.
    public static func unexpectedReply(_ what: String) -> NetlinkError {
        NetlinkError(kind: .unexpectedReply, errno: 0, message: "netlink: \(what)")
    }

    /// "<strerror> (errno N)". glibc ≥ 2.32 returns constant strings from `strerror` for
    /// known codes (thread-safe); unknown ones use a thread-local buffer.
    public static func describe(errno code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}
