-- Migration 0005: proposals of the two-person rule for admin operations (additive).

-- Proposals of the two-person rule (src/admin/two-person.ts, docs/console.md "Proposals"): an admin operation that
-- widens write access or moves a tool to another credential waits here until a second admin of the workspace
-- approves it. `payload` is exactly what is applied (the policy document as JSON, or the task client spec with its
-- secret's hash, never the secret), `payload_hash` its SHA-256; `base_version` the policy version the proposal was
-- computed against (an approval applies only while it is still the head). Approval and application are one
-- transaction with their audit rows, so a proposal goes pending → applied exactly once.
CREATE TABLE IF NOT EXISTS admin_proposals (
  id TEXT PRIMARY KEY NOT NULL,
  workspace_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('policy', 'task')),
  payload TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  summary TEXT NOT NULL,                      -- JSON: the reasons it is held and the changes it makes
  base_version INTEGER NOT NULL,
  proposer TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'denied', 'expired', 'stale')),
  decided_by TEXT,
  decided_at INTEGER,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS admin_proposals_by_workspace ON admin_proposals (workspace_id, state, created_at);
