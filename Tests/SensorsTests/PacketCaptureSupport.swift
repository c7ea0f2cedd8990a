// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import TestNamespaces
import Testing

/// Live capture tests run only inside a throwaway network namespace, as root.
enum PacketCaptureGate {
    static let enabled = ThrowawayNamespace.enabled
    static func check() throws { try ThrowawayNamespace.check(root: true) }
}

/// Runs a helper command (ip, python3) with a deadline; returns its status and output.
@discardableResult
func captureShell(_ arguments: [String], timeout: Duration = .seconds(15)) throws -> (status: Int32, output: String) {
    try ThrowawayNamespace.run(arguments, timeout: timeout)
}
