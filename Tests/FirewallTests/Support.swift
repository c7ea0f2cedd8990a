// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import TestNamespaces
import Testing

@testable import Firewall

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

/// A UDP socket bound to `address:port` (IPv4), for tests that count what arrives.
func udpReceiver(_ address: String, port: UInt16) throws -> Int32 {
    try #require(Datagrams.receiver(address, port: port), "bind \(address):\(port) failed: errno \(errno)")
}

/// A set-up firewall on a fresh table, torn down after `body`.
func withFirewall(_ tag: String, ports: [PortMatch] = [], _ body: (NFTablesFirewall) throws -> Void) throws {
    try KernelGate.check()
    let firewall = try NFTablesFirewall(configuration: .init(tableName: uniqueTableName(tag), ports: ports))
    try firewall.setUp()
    defer { try? firewall.tearDown() }
    try body(firewall)
}

/// The firewall's elements, by network, with their remaining timeouts.
func listed(_ firewall: NFTablesFirewall) throws -> [IPNetwork: Duration?] {
    var result: [IPNetwork: Duration?] = [:]
    for element in try firewall.list() { result.updateValue(element.timeout, forKey: element.network) }
    return result
}
