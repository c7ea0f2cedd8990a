// SPDX-License-Identifier: GPL-2.0-or-later

import NIOCore

/// One SMTP reply (RFC 5321 §4.2): a three-digit code and its text lines (a multi-line
/// reply's `250-…` lines and its final `250 …` line).
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]
    /// Bytes had already arrived after this reply when it was decoded (a server must
    /// send nothing after its STARTTLS `220` before the TLS handshake: data there is an
    /// injection attempt).
    public var trailingData: Bool

    public var description: String { "\(code) \(lines.joined(separator: " / "))" }
    /// 2xx and 3xx.
    public var isPositive: Bool { (200..<400).contains(code) }
    /// 4xx: try again later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5xx: refused for good.
    public var isPermanent: Bool { (500..<600).contains(code) }
}

/// Decodes SMTP replies from the byte stream, strictly: every line is `DDD`, `DDD text`
/// or `DDD-text` ended by CRLF (a bare LF is accepted); the lines of one reply share their
/// code; a line is at most 2048 bytes and a reply at most 100 lines (an endless EHLO
/// answer cannot exhaust memory).
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    static let maxLine = 2048
    static let maxLines = 100
    private var code: Int?
    private var lines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLine { throw SMTPProtocolError("reply line longer than \(Self.maxLine) bytes") }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex + 1
        guard length <= Self.maxLine + 2, var bytes = buffer.readBytes(length: length) else {
            throw SMTPProtocolError("reply line longer than \(Self.maxLine) bytes")
        }
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (0x30...0x39).contains($0) }), (0x32...0x35).contains(bytes[0]) else {
            throw SMTPProtocolError("malformed reply line '\(Self.printable(bytes))'")
        }
        let lineCode = Int(bytes[0] - 0x30) * 100 + Int(bytes[1] - 0x30) * 10 + Int(bytes[2] - 0x30)
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw SMTPProtocolError("malformed reply line '\(Self.printable(bytes))'")
        }
        if let code, code != lineCode { throw SMTPProtocolError("reply lines with codes \(code) and \(lineCode)") }
        code = lineCode
        lines.append(bytes.count > 4 ? Self.printable(Array(bytes[4...])) : "")
        guard lines.count <= Self.maxLines else { throw SMTPProtocolError("reply of more than \(Self.maxLines) lines") }
        if separator == UInt8(ascii: " ") {
            let reply = SMTPReply(code: lineCode, lines: lines, trailingData: buffer.readableBytes > 0)
            code = nil
            lines = []
            context.fireChannelRead(wrapInboundOut(reply))
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Server text as printable ASCII (anything else becomes `?`).
    static func printable(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(300).map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}

/// A server that does not speak SMTP as RFC 5321 says.
struct SMTPProtocolError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The DATA section of a message: line ends made CRLF, a line starting with `.` gets a
/// second one (RFC 5321 §4.5.2), the last line ended; the caller sends `.` CRLF after it.
public enum SMTPData {
    public static func stuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 64 + 4)
        var atLineStart = true
        var i = 0
        while i < message.count {
            let b = message[i]
            if atLineStart && b == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            if b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n") {
                out += [0x0D, 0x0A]
                if b == UInt8(ascii: "\r"), i + 1 < message.count, message[i + 1] == UInt8(ascii: "\n") { i += 1 }
                atLineStart = true
            } else {
                out.append(b)
                atLineStart = false
            }
            i += 1
        }
        if !atLineStart { out += [0x0D, 0x0A] }
        return out
    }
}
