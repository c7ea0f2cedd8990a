// SPDX-License-Identifier: GPL-2.0-or-later

import CZlib

/// gzip decompression through the system's zlib (`inflate`), bounded in output.
public enum Gunzip {
    /// Why a body could not be inflated.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case corrupt(String)
        case tooLarge(limit: Int)

        public var description: String {
            switch self {
            case .corrupt(let message): "not valid gzip: \(message)"
            case .tooLarge(let limit): "decompressed size over \(limit) bytes"
            }
        }
    }

    /// True when `bytes` start with the gzip magic (1f 8b).
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// The decompressed bytes of a gzip stream (several members are concatenated, as
    /// `gzip` itself does); `.tooLarge` past `maxBytes` of output.
    public static func decompress(_ input: [UInt8], maxBytes: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: a gzip header and trailer are required.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var failure: Failure?
        input.withUnsafeBufferPointer { inBuffer in
            stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.avail_in = UInt32(inBuffer.count)
            while failure == nil {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > maxBytes {
                    failure = .tooLarge(limit: maxBytes)
                    break
                }
                output.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_OK:
                    if produced == 0 && stream.avail_in == 0 { failure = .corrupt("truncated stream") }
                case Z_STREAM_END:
                    // Another member follows: start again on the rest of the input.
                    if stream.avail_in == 0 { return }
                    if inflateReset(&stream) != Z_OK { failure = .corrupt("inflateReset failed") }
                case Z_BUF_ERROR:
                    // No progress possible with a fresh output buffer: the input ended early.
                    failure = .corrupt("truncated stream")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "inflate error \(status)"
                    failure = .corrupt(message)
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
