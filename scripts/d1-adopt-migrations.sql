-- Adopts D1 migrations on a database created from schema.sql directly, before migrations existed (it has no
-- d1_migrations table): records as applied each migration whose effect the database already has, judged from its
-- own schema, so `wrangler d1 migrations apply` then runs only the rest. Safe to run again, and on a database
-- that already uses migrations (it changes nothing there). On an empty database it only creates the table.
--   npx wrangler d1 execute DB --remote --file scripts/d1-adopt-migrations.sql
-- (docs/deployment.md "Upgrading"). Migrations after 0003 are additive and idempotent, so they are left to run.

-- The table exactly as wrangler creates it.
CREATE TABLE IF NOT EXISTS d1_migrations(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);

-- Any Gatehouse database has at least the first release's tables.
INSERT OR IGNORE INTO d1_migrations (name)
  SELECT '0001_first_release.sql' WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_events');
-- Created from a schema.sql with per-workspace revocations.
INSERT OR IGNORE INTO d1_migrations (name)
  SELECT '0002_revocations_per_workspace.sql' WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'revocations' AND instr(sql, 'workspace_id') > 0);
-- Created from a schema.sql with audit_events.trace_id.
INSERT OR IGNORE INTO d1_migrations (name)
  SELECT '0003_audit_trace_id.sql' WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_events' AND instr(sql, 'trace_id') > 0);
