// SPDX-License-Identifier: GPL-2.0-or-later
import Foundation
import TestNamespaces
import Testing
@testable import Firewall
import NetworkAddress

/// Kernel tests run only inside a throwaway network namespace (see `ThrowawayNamespace`).
typealias KernelGate = ThrowawayNamespace

/// A table name nobody else uses.
func uniqueTableName(_ tag: String) -> String {
    "swt_\(tag)_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
}

func network(_ text: String) -> IPNetwork {
    guard let network = IPNetwork(text, strict: true) else { fatalError("bad test network \(text)") }
    return network
}

/// Runs a helper command (ip, bash) and returns its exit status and output.
@discardableResult
func shell(_ arguments: [String], timeout: Duration = .seconds(10)) throws -> (status: Int32, output: String) {
    try ThrowawayNamespace.run(arguments, timeout: timeout)
}
