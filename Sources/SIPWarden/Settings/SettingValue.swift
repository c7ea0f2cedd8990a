// SPDX-License-Identifier: GPL-2.0-or-later

public import ControlPlane
public import Firewall
public import Inline
public import LogFormats
public import NetworkAddress
public import PacketDecoding
public import Sensors

/// A value a setting holds, read from its text form: a scalar of the configuration file or
/// the argument of a command-line flag. One parser per type, shared by both, so the file
/// and the flags accept the same spellings and reject them with the same words.
public protocol SettingValue: Sendable {
    /// Reads the value; throws what was expected (without the location, which the caller
    /// knows: `FILE:LINE: key` or `--flag`).
    init(settingText text: String) throws(SettingValueError)
}

/// Why a text is not a value of a setting's type: "expected …, got '…'".
public struct SettingValueError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// `expected WHAT, got 'TEXT'`.
    public static func expected(_ what: String, got text: String) -> SettingValueError {
        SettingValueError("expected \(what), got '\(text)'")
    }
}

extension Bool: SettingValue {
    public init(settingText text: String) throws(SettingValueError) {
        switch text.lowercased() {
        case "true", "yes", "on": self = true
        case "false", "no", "off": self = false
        default: throw .expected("true or false", got: text)
        }
    }
}

extension Int: SettingValue {
    public init(settingText text: String) throws(SettingValueError) {
        guard let v = Int(text) else { throw SettingValueError("expected an integer, got '\(text)'") }
        self = v
    }
}

extension String: SettingValue {
    public init(settingText text: String) { self = text }
}

extension Duration: SettingValue {
    /// A positive duration: `250ms`, `90s`, `10m`, `1h`, `7d`, `2w`, `1h30m` or seconds.
    public init(settingText text: String) throws(SettingValueError) {
        guard let d = DurationParser.parse(text), d > .zero else {
            throw .expected("a positive duration such as 90s, 10m, 1h or 7d", got: text)
        }
        self = d
    }
}

extension IPNetwork: SettingValue {
    /// An address or CIDR prefix (numeric only).
    public init(settingText text: String) throws(SettingValueError) {
        guard let n = IPNetwork(text) else { throw .expected("an address or CIDR prefix", got: text) }
        self = n
    }
}

extension PortMatch: SettingValue {
    /// A port (`5060`) or an inclusive range (`5060-5061`).
    public init(settingText text: String) throws(SettingValueError) {
        guard let p = PortMatch(text) else { throw .expected("a port such as 5060 or a range such as 5060-5061", got: text) }
        self = p
    }
}

extension PortSet: SettingValue {
    /// Ports and ranges separated by commas: `5060-5061,5080`.
    public init(settingText text: String) throws(SettingValueError) {
        guard let p = PortSet(parsing: text) else { throw .expected("ports such as 5060-5061,5080", got: text) }
        self = p
    }
}

extension FirewallKind: SettingValue {
    public init(settingText text: String) throws(SettingValueError) {
        guard let f = FirewallKind(rawValue: text) else { throw .expected("nftables or dry-run", got: text) }
        self = f
    }
}

extension InlineFailMode: SettingValue {
    public init(settingText text: String) throws(SettingValueError) {
        guard let m = InlineFailMode(rawValue: text) else { throw .expected("bypass, open or closed", got: text) }
        self = m
    }
}

extension DialectSelection: SettingValue {
    public init(settingText text: String) throws(SettingValueError) {
        guard let d = DialectSelection(name: text) else { throw .expected("auto, asterisk, freeswitch, kamailio or opensips", got: text) }
        self = d
    }
}

extension PacketCaptureConfiguration: SettingValue {
    /// `IFACE[:PORTS]`; `any` is every interface.
    public init(settingText text: String) throws(SettingValueError) {
        guard let c = PacketCaptureConfiguration(spec: text) else {
            throw .expected("IFACE[:PORTS] such as eth0:5060 or any:5060-5061", got: text)
        }
        self = c
    }
}

extension TCPEndpoint: SettingValue {
    /// `ADDR:PORT`, `[IPv6]:PORT` or a bare `PORT` (loopback).
    public init(settingText text: String) throws(SettingValueError) {
        guard let e = TCPEndpoint(parsing: text) else { throw .expected("ADDR:PORT, [IPv6]:PORT or PORT (loopback)", got: text) }
        self = e
    }
}

extension LogSource: SettingValue {
    /// `DIALECT:PATH` or a bare `PATH` (dialect `auto`).
    public init(settingText text: String) throws(SettingValueError) {
        do { try self.init(argument: text) } catch { throw SettingValueError(error.message) }
    }
}

/// The control plane's TCP address (`--http`), under a name the command line can use
/// without depending on the ControlPlane module.
public typealias HTTPEndpoint = TCPEndpoint

/// SIP ports of a capture (`--ports`, `IFACE:PORTS`), likewise.
public typealias CapturePorts = PortSet

/// A HEP listening address: `IPv4:PORT` or `[IPv6]:PORT` (numeric).
public struct HEPEndpoint: SettingValue, Hashable {
    public var text: String
    public init(settingText text: String) throws(SettingValueError) {
        guard HEPListener.parseEndpoint(text) != nil else { throw .expected("IPv4:PORT or [IPv6]:PORT", got: text) }
        self.text = text
    }
}

/// A zone offset for log times that carry none: `+HH:MM`, `-HHMM`, `Z` or `UTC`.
public struct UTCOffsetValue: SettingValue, Hashable {
    /// Seconds east of UTC.
    public var seconds: Int
    public init(settingText text: String) throws(SettingValueError) {
        guard let s = parseUTCOffset(text) else { throw .expected("an offset such as +00:00 or -05:00", got: text) }
        seconds = s
    }
}

/// The `--flood-guard` argument: `off`, `RATE` or `RATE/BURST` (packets per second and
/// packets). Applied over the file's guard, whose other settings it keeps.
public enum FloodGuardOverride: SettingValue, Hashable {
    case off
    case limit(rate: Int, burst: Int?)

    public init(settingText text: String) throws(SettingValueError) {
        let problem = SettingValueError.expected("off, RATE or RATE/BURST in packets per second, e.g. 1000/100", got: text)
        if text == "off" {
            self = .off
            return
        }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, first.count <= 8, let rate = Int(first), rate > 0 else { throw problem }
        var burst: Int?
        if parts.count == 2 {
            guard parts[1].count <= 8, let b = Int(parts[1]), b > 0 else { throw problem }
            burst = b
        }
        self = .limit(rate: rate, burst: burst)
    }

    /// The guard `base` becomes with this override (nil = off).
    public func applied(to base: FloodGuard?) -> FloodGuard? {
        guard case .limit(let rate, let burst) = self else { return nil }
        var result = base ?? .standard
        result.packetsPerSecond = rate
        if let burst { result.burst = burst }
        // A flood ban is never for less than what the ceiling tolerates.
        result.banPacketsPerSecond = max(result.banPacketsPerSecond, rate)
        result.banBurst = max(result.banBurst, result.burst)
        return result
    }
}
