// SPDX-License-Identifier: GPL-2.0-or-later

import CNFTables

/// Owns one libnftables context with buffered output and error streams.
///
/// A context is not thread-safe: `NFTablesFirewall` keeps its contexts inside a `Mutex`.
/// Non-copyable so that exactly one owner frees it.
struct NFTContext: ~Copyable {
    private let handle: OpaquePointer

    /// - Parameter json: switch JSON output on (needed to parse listings).
    init(json: Bool) throws(FirewallError) {
        guard let handle = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw FirewallError(.unavailable, "nft_ctx_new failed (libnftables missing or out of memory)")
        }
        guard nft_ctx_buffer_output(handle) == 0, nft_ctx_buffer_error(handle) == 0 else {
            nft_ctx_free(handle)
            throw FirewallError(.unavailable, "libnftables could not buffer its output")
        }
        // Numeric output everywhere; no reverse DNS, no service names.
        var flags = UInt32(NFT_CTX_OUTPUT_NUMERIC_ALL)
        if json { flags |= UInt32(NFT_CTX_OUTPUT_JSON) }
        nft_ctx_output_set_flags(handle, flags)
        self.handle = handle
    }

    deinit {
        nft_ctx_free(handle)
    }

    /// Runs `command` (one or more lines, applied as one kernel transaction) and returns
    /// nft's output. Throws nft's error text on failure.
    func run(_ command: String) throws(FirewallError) -> String {
        let status = command.withCString { nft_run_cmd_from_buffer(handle, $0) }
        // Reading the buffers also rewinds them for the next command.
        let output = nft_ctx_get_output_buffer(handle).map { String(cString: $0) } ?? ""
        let errors = nft_ctx_get_error_buffer(handle).map { String(cString: $0) } ?? ""
        guard status == 0 else {
            let message = errors.isEmpty ? "nft failed with status \(status)" : Self.condense(errors)
            throw FirewallError(.commandFailed, message, command: command)
        }
        return output
    }

    /// nft's error text (error line, offending command, caret line), bounded in size.
    private static func condense(_ errors: String) -> String {
        var text = Substring(errors)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return text.count > 4_000 ? String(text.prefix(4_000)) + " …" : String(text)
    }
}
