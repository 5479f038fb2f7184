-- Migration 0002: each revocation belongs to one workspace (primary key (kind, value, workspace_id)). Principal and
-- client ids are the same strings in every workspace, and one workspace's admin must not end access in another.
-- SQLite cannot change a primary key in place, so the table is rebuilt and its rows copied:
-- - a session revocation takes its session's workspace ('' if the session is unknown; session ids are global and
--   the check ignores the workspace);
-- - a principal, client or token revocation was global before, so it is kept in every workspace that exists now
--   (and under '' so that no row is lost even before any policy exists): nobody revoked regains access.
-- Run it before deploying the release that reads workspace_id (docs/deployment.md "Upgrading").
CREATE TABLE revocations_new (
  workspace_id TEXT NOT NULL,  -- a session's own workspace ('' if the session was revoked before it was created)
  kind TEXT NOT NULL CHECK (kind IN ('session', 'principal', 'client', 'token')),
  value TEXT NOT NULL,
  revoked_at INTEGER NOT NULL,
  revoked_by TEXT,
  reason TEXT,
  PRIMARY KEY (kind, value, workspace_id)
);
INSERT INTO revocations_new (workspace_id, kind, value, revoked_at, revoked_by, reason)
  SELECT COALESCE((SELECT s.workspace_id FROM sessions s WHERE s.id = r.value), ''), r.kind, r.value, r.revoked_at, r.revoked_by, r.reason
  FROM revocations r WHERE r.kind = 'session';
INSERT INTO revocations_new (workspace_id, kind, value, revoked_at, revoked_by, reason)
  SELECT w.workspace_id, r.kind, r.value, r.revoked_at, r.revoked_by, r.reason
  FROM revocations r,
    (SELECT '' AS workspace_id UNION SELECT workspace_id FROM policy_versions UNION SELECT workspace_id FROM principals
     UNION SELECT workspace_id FROM sessions UNION SELECT workspace_id FROM oauth_clients WHERE workspace_id IS NOT NULL) w
  WHERE r.kind <> 'session';
DROP TABLE revocations;
ALTER TABLE revocations_new RENAME TO revocations;
