// SPDX-License-Identifier: GPL-2.0-or-later

public import ControlPlane

/// The control plane's settings (`control-plane:` in the file, `--http` on `run`).
/// Restart-only: a SIGHUP that changes them names them and keeps the running ones.
public struct ControlPlaneSettings: Sendable, Hashable {
    /// Serve the API on `STATE/api.sock` (mode 0600). The command line uses it to reach
    /// the running daemon; off, `sipwarden bans …` work on the ledger themselves again.
    public var socket = true
    /// Also serve on TCP (every request needs the token there); nil = not.
    public var http: TCPEndpoint?
    /// Allow `http` on an address other than loopback.
    public var allowRemote = false

    public init() {}

    /// Why these settings cannot be used, or nil.
    public func validationError() -> String? {
        if let http, !http.isLoopback, !allowRemote {
            return
                "http: \(http) is not a loopback address; set control-plane.allow-remote: true to serve the API there (every request needs the token)"
        }
        return nil
    }

    /// `--http` and `control-plane.http`: ADDR:PORT, [V6]:PORT or PORT (loopback).
    public static func parseEndpoint(_ text: String) -> TCPEndpoint? {
        TCPEndpoint(parsing: text)
    }
}
