-- Migration 0007: the per-token Postgres login (gh_…) a dynamic database credential ran as, beside the tier role in
-- db_role (docs/audit.md). Rows written before it, and rows of static credentials, read NULL there; the hash chain
-- covers older rows as they were sealed, without the column (src/audit/chain.ts, ADDED_COLUMNS).
ALTER TABLE audit_events ADD COLUMN db_login TEXT;
