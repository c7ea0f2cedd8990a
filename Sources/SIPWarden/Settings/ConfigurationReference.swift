// SPDX-License-Identifier: GPL-2.0-or-later

extension ConfigurationSchema {
    /// The marker lines around the generated table in docs/CONFIGURATION.md.
    public static let referenceBegin =
        "<!-- settings reference: generated from ConfigurationSchema; `swift test --filter ConfigurationSchemaTests` checks it -->"
    public static let referenceEnd = "<!-- end of settings reference -->"

    /// The key reference as a Markdown table, one row per declared setting, in declaration
    /// order: key, type, default, flag, owners, reload rule, meaning.
    public static func referenceTable() -> String {
        var lines = [
            "| key | type | default | flag | services | SIGHUP | meaning |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in settings {
            let reload: String
            switch s.reload {
            case .live?: reload = "live"
            case .restartOnly?: reload = "restart"
            case nil: reload = s.isSection ? "per key" : "as its section"
            }
            let cells = [
                "`\(s.key)`", s.type, s.defaultValue.isEmpty ? "" : "`\(s.defaultValue)`", s.flag.map { "`\($0)`" } ?? "",
                s.owners.map { "`\($0)`" }.joined(separator: ", "), reload, s.summary,
            ].map { $0.replacingPipes() }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func replacingPipes() -> String {
        var out = ""
        for c in self { out += c == "|" ? "\\|" : String(c) }
        return out
    }
}
