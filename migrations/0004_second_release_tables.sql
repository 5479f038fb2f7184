-- Migration 0004: the tables and indexes added in the second release, all additive and idempotent (IF NOT EXISTS), so
-- a database that already has some of them (schema.sql of that release re-run over the first one) is completed:
-- flood counters for the audit log, expiry indexes for the minute Cron's pruning, the approvals index that lets an
-- expired request be filed again, console sign-ins and sessions, and the first-run bootstrap marker.

-- Refusals beyond the first 60 a minute per IP (unauthenticated) or principal (authenticated) are counted here, one
-- row per minute, key, event, outcome, rule and workspace, instead of a row each (src/audit/flood-d1.ts). The
-- minute Cron Trigger folds each finished minute into one audit_events row carrying the count, so a flood costs a
-- bounded number of rows and the log still says how many requests were refused. Never a caller-chosen value in
-- the key beyond the IP or principal.
CREATE TABLE IF NOT EXISTS audit_counters (
  minute TEXT NOT NULL,         -- "YYYY-MM-DDTHH:MM" (UTC)
  flood_key TEXT NOT NULL,      -- "ip:<address or IPv6 /64>" or "principal:<workspace>:<principal id>"
  event TEXT NOT NULL,
  outcome TEXT NOT NULL,
  rule TEXT NOT NULL DEFAULT '',
  workspace TEXT NOT NULL DEFAULT '',
  principal TEXT,
  principal_kind TEXT,
  ip TEXT,                      -- the first address seen under the key
  count INTEGER NOT NULL,
  PRIMARY KEY (minute, flood_key, event, outcome, rule, workspace)
);

-- Expired rows of auth_requests, auth_codes, sessions (with their refresh tokens) and oidc_logins are deleted by the
-- minute Cron Trigger (src/oauth/prune.ts).
CREATE INDEX IF NOT EXISTS auth_requests_by_expiry ON auth_requests (expires_at);
CREATE INDEX IF NOT EXISTS auth_codes_by_expiry ON auth_codes (expires_at);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_by_last_use ON sessions (last_used_at);

-- At most one open request per requester, tool and arguments, even when identical first calls race. A request
-- whose expiry (or voiding by a changed tool) has been reported (refusal_reported = 1) is closed, so the same call
-- can file a new one.
-- (Replaces approvals_one_open, which also covered expired requests and so refused every later request.)
DROP INDEX IF EXISTS approvals_one_open;
CREATE UNIQUE INDEX IF NOT EXISTS approvals_one_open_request ON approvals (workspace_id, tool, requester, args_hash) WHERE status IN ('pending', 'approved') AND refusal_reported = 0;

-- Console sign-ins in flight (src/console/): the PKCE verifier of the console's own authorization-code request to
-- /authorize, keyed by its `state` and bound to the browser by the gh_console_login cookie. Single use, 10 minutes.
CREATE TABLE IF NOT EXISTS console_logins (
  state TEXT PRIMARY KEY,
  code_verifier TEXT NOT NULL,
  return_to TEXT NOT NULL,                    -- a /console path to land on after sign-in (the deep link followed)
  expires_at INTEGER NOT NULL
);

-- Console sessions: the verified result of the console's code exchange (principal, workspace, scope), never a
-- token. The browser holds only a random id in an HttpOnly cookie; D1 holds its SHA-256. Ends at the idle timeout,
-- the absolute lifetime, sign-out, or when the OAuth session it came from is revoked.
CREATE TABLE IF NOT EXISTS console_sessions (
  id_hash TEXT PRIMARY KEY,
  csrf TEXT NOT NULL,                         -- bound to this session; every console POST must carry it
  oauth_session_id TEXT NOT NULL,             -- sessions.id of the grant the console signed in with
  principal_id TEXT NOT NULL,
  email TEXT,
  groups TEXT,                                -- JSON array from the IdP
  workspace_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_by_expiry ON console_sessions (expires_at);

-- The first-run bootstrap (POST /admin/api/bootstrap, src/admin/bootstrap-routes.ts): one row once it has applied
-- the first policy. Its primary key admits one row ever, and the row commits in the same transaction as that policy,
-- so BOOTSTRAP_TOKEN is spent for good, even if two bootstraps race or every policy row were later removed.
CREATE TABLE IF NOT EXISTS bootstrap_spent (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  workspace_id TEXT NOT NULL,
  applied_at TEXT NOT NULL
);
