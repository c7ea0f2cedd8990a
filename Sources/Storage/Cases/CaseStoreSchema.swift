// SPDX-License-Identifier: GPL-2.0-or-later

import GRDB

/// Ledger schema v4: abuse cases, every message in and out kept with its case, and the
/// outbox (docs/ABUSE.md). Older ledgers gain the empty tables; nothing else changes.
enum CaseStoreSchema {
    static func create(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE abuse_case (
                  id TEXT PRIMARY KEY NOT NULL,
                  state TEXT NOT NULL,
                  asn INTEGER,
                  organisation TEXT,
                  currentContact TEXT,
                  ticket TEXT,
                  openedAt INTEGER NOT NULL,
                  updatedAt INTEGER NOT NULL,
                  data TEXT NOT NULL
                );
                CREATE INDEX abuse_case_by_state ON abuse_case(state, updatedAt);
                CREATE TABLE abuse_message (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  caseId TEXT NOT NULL REFERENCES abuse_case(id) ON DELETE CASCADE,
                  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
                  messageID TEXT,
                  time INTEGER NOT NULL,
                  peer TEXT,
                  raw BLOB,
                  path TEXT,
                  classification TEXT
                );
                CREATE INDEX abuse_message_by_case ON abuse_message(caseId, time);
                CREATE INDEX abuse_message_by_message_id ON abuse_message(messageID);
                CREATE TABLE abuse_outbox (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  caseId TEXT NOT NULL REFERENCES abuse_case(id) ON DELETE CASCADE,
                  messageID TEXT NOT NULL UNIQUE,
                  sender TEXT NOT NULL,
                  recipient TEXT NOT NULL,
                  message BLOB NOT NULL,
                  state TEXT NOT NULL CHECK (state IN ('pending-approval', 'queued', 'handing-over', 'sent', 'failed')),
                  attempts INTEGER NOT NULL DEFAULT 0,
                  nextAttemptAt INTEGER NOT NULL,
                  createdAt INTEGER NOT NULL,
                  handoverStartedAt INTEGER,
                  handoverTransport TEXT,
                  handoverStage TEXT,
                  handoverPID INTEGER,
                  sentAt INTEGER,
                  lastError TEXT,
                  confirmation TEXT
                );
                CREATE INDEX abuse_outbox_due ON abuse_outbox(state, nextAttemptAt);
                CREATE INDEX abuse_outbox_by_recipient ON abuse_outbox(recipient COLLATE NOCASE, handoverStartedAt);
                CREATE INDEX abuse_outbox_by_case ON abuse_outbox(caseId);
                """)
    }
}
