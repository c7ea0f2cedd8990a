// SPDX-License-Identifier: GPL-2.0-or-later

/// One journal entry as the journal reader delivers it: the fields sipwarden needs,
/// copied out of the journal (so it outlives the callback) and bounded in size.
public struct JournalEntry: Sendable, Hashable {
    /// The `MESSAGE` field's bytes (without `MESSAGE=`), at most the reader's
    /// `maxMessageLength` bytes. Binary and multi-line messages are kept as they are.
    public var message: [UInt8]
    /// True when `message` was cut at `maxMessageLength`.
    public var truncated: Bool
    /// When the entry was logged, microseconds since the Unix epoch:
    /// `_SOURCE_REALTIME_TIMESTAMP` (stamped by journald when it received the message),
    /// else the entry's own `__REALTIME_TIMESTAMP`.
    public var realtimeMicroseconds: Int64
    /// `SYSLOG_IDENTIFIER` (e.g. `kamailio`), when present.
    public var identifier: String?
    /// `_SYSTEMD_UNIT` (e.g. `kamailio.service`), when present.
    public var unit: String?

    public init(message: [UInt8], truncated: Bool = false, realtimeMicroseconds: Int64, identifier: String?, unit: String?) {
        self.message = message
        self.truncated = truncated
        self.realtimeMicroseconds = realtimeMicroseconds
        self.identifier = identifier
        self.unit = unit
    }
}

/// Which entries of the journal to read: `_SYSTEMD_UNIT` values or `SYSLOG_IDENTIFIER`
/// values (an entry matching any of them is read). Empty = the whole journal.
public struct JournalMatches: Sendable, Hashable {
    /// Unit names, always with their suffix (`kamailio.service`).
    public var units: [String]
    /// Syslog identifiers (`kamailio`).
    public var identifiers: [String]

    public init(units: [String] = [], identifiers: [String] = []) {
        self.units = units.map(Self.unitName)
        self.identifiers = identifiers
    }

    /// `kamailio` → `kamailio.service`; a name with a unit suffix is kept as it is
    /// (as `journalctl -u` does).
    public static func unitName(_ name: String) -> String {
        let suffixes = [".service", ".socket", ".scope", ".slice", ".target", ".mount", ".timer", ".path", ".swap", ".device"]
        return suffixes.contains(where: { name.hasSuffix($0) }) ? name : name + ".service"
    }

    /// The `FIELD=value` match strings in the order sd-journal needs them: units, then a
    /// disjunction, then identifiers (matches on one field are OR-ed, different fields
    /// AND-ed unless separated by a disjunction). nil marks the disjunction.
    public var matchTerms: [String?] {
        var terms: [String?] = units.map { "_SYSTEMD_UNIT=\($0)" }
        if !units.isEmpty && !identifiers.isEmpty { terms.append(nil) }
        terms += identifiers.map { "SYSLOG_IDENTIFIER=\($0)" }
        return terms
    }

    /// True when a match term is well-formed for sd-journal: not empty, at most 256
    /// bytes, no `=`, control character or whitespace in the value.
    public static func isValidValue(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 256
            && !value.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: "=") })
    }
}
