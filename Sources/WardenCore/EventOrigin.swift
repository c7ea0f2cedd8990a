// SPDX-License-Identifier: GPL-2.0-or-later

/// Where in its input an event was found.
public enum EventOrigin: Hashable, Sendable {
    /// A log line: file and 1-based line number (0 when unknown, e.g. a live tail).
    case logLine(file: String, line: Int)
    /// A captured frame: 1-based frame number in a capture file, or 0 when live.
    case frame(file: String, number: Int)
    /// A live packet sensor (capture interface, HEP listener, inline queue).
    case wire(sensor: String)
}
