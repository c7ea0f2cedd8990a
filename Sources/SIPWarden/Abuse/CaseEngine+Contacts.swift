// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import Foundation
import Storage

extension CaseEngine {
    /// Why the operator's contacts were not taken.
    public struct ContactsError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The operator's own contacts for case `id` (`sipwarden cases contacts`): `mailboxes`
    /// are appended to its list (tried after the current one: on a bounce, at the
    /// next-contact step), or with `replace` take the list's place — only while nothing has
    /// been queued for the case (a report already made names its recipient). A case still
    /// waiting for its first contact gets its report now, as a contact found by RDAP gives
    /// it (held for approval in review mode). Returns the case as it is now.
    public func setContacts(_ id: UUID, _ mailboxes: [String], replace: Bool) throws -> AbuseCase {
        guard !mailboxes.isEmpty else { throw ContactsError(description: "no mailbox given") }
        for m in mailboxes where !AbuseSettings.isMailbox(m) {
            throw ContactsError(description: "'\(m)' is not a mail address (local@domain)")
        }
        guard let before = try store.abuseCase(id: id) else { throw ContactsError(description: "no case \(Self.key(id))") }
        if replace, !(try store.outbox(caseID: id, limit: 1)).isEmpty {
            throw ContactsError(
                description: "case \(Self.key(id)) already has a report made for \(before.contacts[safe: before.currentContact] ?? "its contact"): "
                    + "add the next contacts instead (--add)")
        }
        let now = clock()
        _ = try store.update(id: id, at: now) { c in
            var list = replace ? [] : c.contacts
            for m in mailboxes where !list.contains(m) { list.append(m) }
            c.contacts = list
            if replace { c.currentContact = 0 }
            c.annotate("contacts \(replace ? "set" : "added") by the operator: \(mailboxes.joined(separator: ", "))", at: now)
        }
        guard let updated = try store.abuseCase(id: id) else { throw ContactsError(description: "no case \(Self.key(id))") }
        if before.contacts.isEmpty, updated.state == .review {
            try queueReports(updated, contactIndex: 0, approved: false)
        } else if before.contacts.isEmpty, updated.state == .detected {
            try apply(.open, to: id)
        }
        return try store.abuseCase(id: id) ?? updated
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
