// SPDX-License-Identifier: GPL-2.0-or-later

/// Why an intelligence file was refused. `line` is 1-based (0 when the error is about the
/// file as a whole, such as its size); callers prefix the file name to print `FILE:LINE: message`.
public struct IntelParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the offending text, or 0 for the whole file.
    public let line: Int
    /// What is wrong, in words (never echoes more than a short excerpt of the input).
    public let message: String

    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    /// `LINE: message`, or just the message for whole-file errors.
    public var description: String { line > 0 ? "\(line): \(message)" : message }

    /// `FILE:LINE: message` for a named file.
    public func located(in file: String) -> String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}

/// Upper bounds applied to every file before and while it is parsed.
public enum IntelLimits {
    /// Largest file accepted (the full ip2asn combined table is ~35 MB; Azure's ~4 MB).
    public static let maxFileBytes = 256 << 20
    /// Most ranges one file may contribute.
    public static let maxEntries = 4_000_000
    /// Deepest JSON nesting accepted.
    public static let maxJSONDepth = 32
    /// Longest single text field kept (AS names, services, regions), in bytes.
    public static let maxFieldBytes = 512
}

/// A short printable excerpt of untrusted bytes for an error message.
func excerpt(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
    let upper = min(range.upperBound, range.lowerBound + 60)
    var out = ""
    for i in range.lowerBound..<upper {
        let c = bytes[i]
        out.unicodeScalars.append(c >= 0x20 && c < 0x7F ? Unicode.Scalar(c) : "?")
    }
    return upper < range.upperBound ? out + "…" : out
}
