// SPDX-License-Identifier: GPL-2.0-or-later

extension NFTablesFirewall {
    /// Replaces the table by the one `setUpCommands` builds, in one transaction that also
    /// re-adds the elements the old sets held (with their remaining timeouts), so that a
    /// table of an older build (sets without `counter`) is upgraded without a moment in
    /// which a banned source passes. When the old elements cannot be read or do not fit
    /// the new sets, the table is rebuilt empty, as before (the caller's reconciliation
    /// with the ledger restores the bans).
    func rebuildCommands(_ setUp: String, carrying elements: [NFTSyntax.SetName: NFTListing.SetContents]?) -> String {
        var text = "add table inet \(configuration.tableName)\ndelete table inet \(configuration.tableName)\n" + setUp
        guard let elements else { return text }
        var changes = SetChanges()
        for set in NFTSyntax.SetName.allCases {
            // An element whose time is up (remaining 0) is not carried: the kernel would read
            // a zero timeout as "never expire".
            let kept = (elements[set]?.elements ?? []).filter { $0.remaining.map { $0 > .zero } ?? true }
            if !kept.isEmpty { changes.adds[set] = kept.map { ($0.interval, $0.remaining) } }
        }
        text += changes.commands(table: configuration.tableName)
        return text
    }
}
