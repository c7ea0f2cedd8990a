// SPDX-License-Identifier: GPL-2.0-or-later

import CSystemd
import Glibc

/// Looks into the system journal without following it (used to choose the embedded
/// default sources).
public enum JournalProbe {
    /// The names among `names` that have at least one entry in the local journal under
    /// unit `NAME.service` or syslog identifier `NAME`. Empty when there is no journal
    /// (no journald, no journal files) or it cannot be read.
    public static func namesWithEntries(_ names: [String], directory: String? = nil) -> Set<String> {
        var found: Set<String> = []
        var handle: OpaquePointer?
        let rc = directory.map { sd_journal_open_directory(&handle, $0, 0) } ?? sd_journal_open(&handle, Int32(SD_JOURNAL_LOCAL_ONLY))
        guard rc >= 0, let journal = handle else { return found }
        defer { sd_journal_close(journal) }
        for name in names where JournalMatches.isValidValue(name) {
            sd_journal_flush_matches(journal)
            let matches = JournalMatches(units: [name], identifiers: [name])
            var ok = true
            for term in matches.matchTerms {
                let r = term.map { t in t.withCString { sd_journal_add_match(journal, $0, 0) } } ?? sd_journal_add_disjunction(journal)
                if r < 0 { ok = false }
            }
            guard ok, sd_journal_seek_tail(journal) >= 0 else { continue }
            if sd_journal_previous(journal) > 0 { found.insert(name) }
        }
        return found
    }
}
