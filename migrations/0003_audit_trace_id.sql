-- Migration 0003: the W3C trace id of the client's traceparent on each audit row (also in the statement's SQL
-- comment). Rows written before it read NULL there; the hash chain covers them as they were sealed, without the
-- column (src/audit/chain.ts, ADDED_COLUMNS), so the chain still verifies after this migration.
ALTER TABLE audit_events ADD COLUMN trace_id TEXT;
