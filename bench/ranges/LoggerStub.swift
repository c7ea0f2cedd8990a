// SPDX-License-Identifier: GPL-2.0-or-later

// What the firewall uses of swift-log's Logger, doing nothing (the bench compiles the
// firewall's sources into one module without SwiftPM).
public struct Logger: Sendable {
    public typealias Metadata = [String: String]
    public init(label: String) {}
    public func debug(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) {}
    public func info(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) {}
    public func notice(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) {}
    public func warning(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) {}
}
