-- Migration 0006: the audit archive's progress marker (additive).

-- How far the R2 archive has got (src/audit/archive-r2.ts): the last archived row and the archive index entry that
-- ends with it. Rows leave D1's hot window only at or below this seq (docs/audit.md "Archive").
CREATE TABLE IF NOT EXISTS audit_archive (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  index_key TEXT NOT NULL,
  archived_at TEXT NOT NULL
);
