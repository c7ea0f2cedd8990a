// SPDX-License-Identifier: GPL-2.0-or-later

/// Why a delivered file is not read as an answer (it goes to the quarantine folder, kept
/// as it came, with this reason logged).
public enum MailRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file is empty.
    case empty
    /// Larger than the bound read.
    case tooLarge(bytes: Int, limit: Int)
    /// No blank line within the bound a header may take (a header of hundreds of KiB).
    case headerTooLarge(limit: Int)
    /// A NUL byte in the header section (RFC 5322 forbids it; mail systems do not write it).
    case nulInHeader
    /// Not a single `Name: value` field before the body.
    case noHeaderFields
    /// None of the fields that every answer has (`From`, `Return-Path`, `Sender`).
    case noOriginator

    public var description: String {
        switch self {
        case .empty: "empty message"
        case .tooLarge(let n, let limit): "\(n) bytes, more than the \(limit) read"
        case .headerTooLarge(let limit): "no end of header within \(limit) bytes"
        case .nulInHeader: "a NUL byte in the header"
        case .noHeaderFields: "no header field"
        case .noOriginator: "no From, Sender or Return-Path field"
        }
    }
}

/// The gate every delivered file passes before it is matched: bounded, and only things
/// that are mail. Pure; never traps (fuzzed by Fuzz/MailFuzz together with the matcher).
public enum MailIntake {
    /// Largest file read as an answer (the ingest command refuses larger ones).
    public static let maxMessageBytes = 16 << 20
    /// Largest header section (everything before the first empty line).
    public static let maxHeaderBytes = 256 << 10

    /// The parsed message, or why the file is not one.
    public static func read(_ bytes: [UInt8]) -> Result<MailMessage, MailRejection> {
        guard !bytes.isEmpty else { return .failure(.empty) }
        guard bytes.count <= maxMessageBytes else { return .failure(.tooLarge(bytes: bytes.count, limit: maxMessageBytes)) }
        // The header ends at the first empty line (LF LF or CRLF CRLF).
        var end: Int?
        var i = 0
        var lineStart = 0
        let limit = min(bytes.count, maxHeaderBytes)
        while i < limit {
            let b = bytes[i]
            if b == 0 { return .failure(.nulInHeader) }
            if b == 0x0A {
                let length = i - lineStart
                if length == 0 || (length == 1 && bytes[lineStart] == 0x0D) {
                    end = i
                    break
                }
                lineStart = i + 1
            }
            i += 1
        }
        if end == nil, bytes.count > maxHeaderBytes { return .failure(.headerTooLarge(limit: maxHeaderBytes)) }
        let message = MailMessage(parsing: bytes)
        guard !message.headers.isEmpty else { return .failure(.noHeaderFields) }
        guard message.header("From") != nil || message.header("Return-Path") != nil || message.header("Sender") != nil else {
            return .failure(.noOriginator)
        }
        return .success(message)
    }
}
