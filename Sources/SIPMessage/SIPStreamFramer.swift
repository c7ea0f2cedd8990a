// SPDX-License-Identifier: GPL-2.0-or-later

/// Why a byte stream can no longer be split into SIP messages. All of these are fatal
/// for the connection (RFC 3261 §18.3: close it), so the framer keeps failing with the
/// same error afterwards.
public enum SIPFramingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A message on a stream has no Content-Length header (RFC 3261 §18.3 requires it).
    case missingContentLength
    /// The Content-Length value is not a non-negative decimal number (RFC 4475 ncl).
    case badContentLength
    /// Several Content-Length headers with different values (RFC 4475 mcl01).
    case conflictingContentLength
    /// A message (headers plus declared body) would exceed the size limit.
    case messageTooLarge(limit: Int)
    /// Appending would make the unread data exceed the buffer bound.
    case bufferFull(limit: Int)

    public var description: String {
        switch self {
        case .missingContentLength: "stream message without Content-Length"
        case .badContentLength: "malformed Content-Length on stream"
        case .conflictingContentLength: "conflicting Content-Length headers on stream"
        case .messageTooLarge(let limit): "stream message larger than \(limit) bytes"
        case .bufferFull(let limit): "more than \(limit) unread bytes buffered"
        }
    }
}

/// Cuts complete SIP messages out of a TCP/TLS byte stream using Content-Length
/// (RFC 3261 §18.3). Feed it bytes as they arrive with ``append(_:)``, then call
/// ``nextMessage()`` until it returns nil. CRLF keep-alives between messages
/// (RFC 5626 §3.5.1) are skipped. Memory is bounded: a message larger than
/// `maxMessageSize`, or more than `maxBufferedBytes` unread bytes, is an error.
///
/// The framer only frames: the returned bytes still have to be parsed (with
/// ``SIPParseOptions/stream``), and a malformed message does not desynchronise the
/// stream as long as its Content-Length is readable.
public struct SIPStreamFramer: Sendable {
    /// Largest message (start line through body) accepted.
    public let maxMessageSize: Int
    /// Largest amount of unread data held at once.
    public let maxBufferedBytes: Int
    /// Number of CRLF / LF keep-alive line ends skipped between messages so far.
    public private(set) var keepAliveLineCount = 0

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for the end of the header section resumes (avoids rescans).
    private var scanIndex = 0
    /// Size (headers plus body) of the message at `readIndex` once its header section
    /// is complete; -1 while unknown.
    private var pendingLength = -1
    private var failure: SIPFramingError?

    /// - Parameters:
    ///   - maxMessageSize: largest message accepted (default 65,535).
    ///   - maxBufferedBytes: bound on unread data (default twice `maxMessageSize`);
    ///     append at most `maxBufferedBytes - maxMessageSize` bytes between drains.
    public init(maxMessageSize: Int = 65_535, maxBufferedBytes: Int? = nil) {
        self.maxMessageSize = min(max(maxMessageSize, 1), Int(Int32.max))
        self.maxBufferedBytes = max(maxBufferedBytes ?? 2 * self.maxMessageSize, self.maxMessageSize)
    }

    /// Bytes received but not yet returned as messages.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(SIPFramingError) {
        if let failure { throw failure }
        guard bytes.count <= maxBufferedBytes - bufferedByteCount else {
            failure = .bufferFull(limit: maxBufferedBytes)
            throw .bufferFull(limit: maxBufferedBytes)
        }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: [UInt8]) throws(SIPFramingError) {
        let result: Result<Void, SIPFramingError> = bytes.withUnsafeBytes { raw in
            do throws(SIPFramingError) {
                try append(raw)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Returns the next complete message (start line through body), or nil if more
    /// bytes are needed.
    public mutating func nextMessage() throws(SIPFramingError) -> [UInt8]? {
        if let failure { throw failure }
        var cursor = Cursor(
            readIndex: readIndex, scanIndex: scanIndex, pendingLength: pendingLength, keepAlives: keepAliveLineCount
        )
        let limit = maxMessageSize
        let result: Result<[UInt8]?, SIPFramingError> = buffer.withUnsafeBufferPointer { buf in
            do throws(SIPFramingError) {
                return .success(try Self.frame(buf, &cursor, limit))
            } catch {
                return .failure(error)
            }
        }
        readIndex = cursor.readIndex
        scanIndex = cursor.scanIndex
        pendingLength = cursor.pendingLength
        keepAliveLineCount = cursor.keepAlives
        if case .failure(let error) = result { failure = error }
        return try result.get()
    }

    private struct Cursor {
        var readIndex: Int
        var scanIndex: Int
        var pendingLength: Int
        var keepAlives: Int
    }

    private static func frame(
        _ buf: UnsafeBufferPointer<UInt8>, _ c: inout Cursor, _ maxMessageSize: Int
    ) throws(SIPFramingError) -> [UInt8]? {
        let n = buf.count
        if c.pendingLength >= 0 {
            return take(buf, &c, c.pendingLength)
        }
        // Skip keep-alive line ends before the start line.
        while c.readIndex < n, buf[c.readIndex] == 0x0d || buf[c.readIndex] == 0x0a {
            if buf[c.readIndex] == 0x0a { c.keepAlives += 1 }
            c.readIndex += 1
        }
        if c.scanIndex < c.readIndex { c.scanIndex = c.readIndex }
        let start = c.readIndex
        // Find the empty line: LF followed by LF or by CRLF.
        var headerEnd = -1
        var i = c.scanIndex
        while i < n {
            if buf[i] == 0x0a {
                if i + 1 < n, buf[i + 1] == 0x0a {
                    headerEnd = i + 2
                    break
                }
                if i + 2 < n, buf[i + 1] == 0x0d, buf[i + 2] == 0x0a {
                    headerEnd = i + 3
                    break
                }
                if i + 2 >= n { break } // the terminator may still be arriving
            }
            i += 1
        }
        guard headerEnd >= 0 else {
            c.scanIndex = max(start, i)
            guard n - start <= maxMessageSize else { throw .messageTooLarge(limit: maxMessageSize) }
            return nil
        }
        guard headerEnd - start <= maxMessageSize else { throw .messageTooLarge(limit: maxMessageSize) }
        let length = try contentLength(buf, start, headerEnd, maxMessageSize)
        let total = headerEnd - start + length
        guard total <= maxMessageSize else { throw .messageTooLarge(limit: maxMessageSize) }
        c.pendingLength = total
        return take(buf, &c, total)
    }

    /// Returns the `total` bytes at the read position once they have all arrived.
    private static func take(_ buf: UnsafeBufferPointer<UInt8>, _ c: inout Cursor, _ total: Int) -> [UInt8]? {
        let start = c.readIndex
        guard buf.count - start >= total else { return nil }
        c.readIndex = start + total
        c.scanIndex = c.readIndex
        c.pendingLength = -1
        return Array(UnsafeBufferPointer(rebasing: buf[start..<(start + total)]))
    }

    /// Finds the Content-Length (long or compact `l`) in the header section `[start, end)`.
    private static func contentLength(
        _ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ maxMessageSize: Int
    ) throws(SIPFramingError) -> Int {
        var found: Int?
        var i = start
        // Skip the start line.
        while i < end, buf[i] != 0x0a { i += 1 }
        i += 1
        while i < end {
            let ls = i
            while i < end, buf[i] != 0x0a { i += 1 }
            let le = i
            i += 1
            guard !CharClass.isWSP(buf[ls]) else { continue }
            var ne = ls
            while ne < le, CharClass.isToken(buf[ne]) { ne += 1 }
            let nameLength = ne - ls
            let isCL: Bool
            if nameLength == 1 {
                isCL = buf[ls] | 0x20 == UInt8(ascii: "l")
            } else if nameLength == 14 {
                let base = buf.baseAddress.map { SIPHeaderName(bytes: $0 + ls, count: 14) }
                isCL = base == .contentLength
            } else {
                isCL = false
            }
            guard isCL else { continue }
            var k = ne
            while k < le, CharClass.isWSP(buf[k]) { k += 1 }
            guard k < le, buf[k] == 0x3a else { continue }
            k += 1
            // The value runs to the end of the line plus any continuation lines.
            var ve = le
            while ve + 1 < end, CharClass.isWSP(buf[ve + 1]) {
                ve += 1
                while ve < end, buf[ve] != 0x0a { ve += 1 }
            }
            i = ve + 1
            while k < ve, CharClass.isLWS(buf[k]) { k += 1 }
            var e = ve
            while e > k, CharClass.isLWS(buf[e - 1]) { e -= 1 }
            guard e > k else { throw .badContentLength }
            var value = 0
            while k < e {
                guard CharClass.isDigit(buf[k]) else { throw .badContentLength }
                value = value * 10 + Int(buf[k] - 0x30)
                guard value <= maxMessageSize else { throw .messageTooLarge(limit: maxMessageSize) }
                k += 1
            }
            if let found, found != value { throw .conflictingContentLength }
            found = value
        }
        guard let found else { throw .missingContentLength }
        return found
    }

    private mutating func compact() {
        guard readIndex > 0 else { return }
        if readIndex >= buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else if readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
        } else {
            return
        }
        scanIndex -= readIndex
        readIndex = 0
    }
}
