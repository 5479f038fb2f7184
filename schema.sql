-- Gatehouse D1 schema: the whole current schema, to read in one place. Databases are created and upgraded by the
-- migrations in migrations/ (`wrangler d1 migrations apply DB --local|--remote`; `npm run dev` and the tests do the
-- same), which must build exactly this (test/unit/schema-migrations.test.ts). A change here needs a new migration.
-- A database created from this file directly has no migration history: adopt it first (docs/deployment.md
-- "Upgrading").

-- One row per applied policy version; the head (highest version) is what the request path enforces.
CREATE TABLE IF NOT EXISTS policy_versions (
  workspace_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  hash TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  applied_by TEXT NOT NULL,
  document TEXT NOT NULL,
  PRIMARY KEY (workspace_id, version)
);

CREATE TABLE IF NOT EXISTS principals (
  workspace_id TEXT NOT NULL,
  id TEXT NOT NULL,            -- "user:<email>" or "task:<id>", as in the token's sub
  kind TEXT NOT NULL CHECK (kind IN ('user', 'task')),
  email TEXT,
  display_name TEXT,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX IF NOT EXISTS principals_by_email ON principals (email);

CREATE TABLE IF NOT EXISTS group_members (
  workspace_id TEXT NOT NULL,
  group_name TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  PRIMARY KEY (workspace_id, group_name, principal_id)
);

-- Compiled tool definitions (src/policy/types.ts ToolDefinition as JSON), references resolved at apply time.
CREATE TABLE IF NOT EXISTS tools (
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('read', 'sql', 'write')),
  definition TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, name)
);

CREATE TABLE IF NOT EXISTS grants (
  workspace_id TEXT NOT NULL,
  tool_name TEXT NOT NULL,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('principal', 'group')),
  subject TEXT NOT NULL,
  expires_at INTEGER,          -- seconds since the epoch; NULL = no expiry
  PRIMARY KEY (workspace_id, tool_name, subject_kind, subject)
);

-- Revoked sessions, principals, clients and token ids. Checked on every /mcp call. A session or token id is
-- revoked for good; a principal or client revocation refuses every token issued at or before `revoked_at`
-- (epoch seconds), so signing in again afterwards works unless the policy no longer grants anything.
-- Each revocation belongs to one workspace and refuses only tokens issued for it: principal ids and client ids
-- are the same strings in every workspace, and one workspace's admin must not end access in another.
-- (Changed in place: a database created before `workspace_id` existed needs this table dropped and re-created.)
CREATE TABLE IF NOT EXISTS revocations (
  workspace_id TEXT NOT NULL,  -- a session's own workspace ('' if the session was revoked before it was created)
  kind TEXT NOT NULL CHECK (kind IN ('session', 'principal', 'client', 'token')),
  value TEXT NOT NULL,
  revoked_at INTEGER NOT NULL,
  revoked_by TEXT,
  reason TEXT,
  PRIMARY KEY (kind, value, workspace_id)
);

-- One row per decision (README "Audit"). Never token values, secrets, connection strings or result rows.
-- A tool call writes its row (outcome 'started') before the database is touched and completes it afterwards.
CREATE TABLE IF NOT EXISTS audit_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  time TEXT NOT NULL,
  event TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('started', 'ok', 'error', 'denied', 'blocked', 'pending_approval', 'rate_limited', 'invalid_arguments')),
  rule TEXT,
  request_id TEXT,
  principal TEXT,
  principal_kind TEXT,
  client_id TEXT,
  client_name TEXT,
  user_agent TEXT,
  ip TEXT,
  colo TEXT,
  session_id TEXT,
  token_jti TEXT,
  workspace TEXT,
  tool TEXT,
  tool_version TEXT,
  db_role TEXT,
  sql_text TEXT,
  sql_hash TEXT,
  param_count INTEGER,
  params TEXT,                 -- JSON; values of parameters the tool does not mark safe are redacted
  rows INTEGER,
  bytes INTEGER,
  truncated INTEGER,
  duration_ms REAL,
  db_ms REAL,
  sqlstate TEXT,
  approval_id TEXT,
  detail TEXT,
  prev_hash TEXT,
  hash TEXT,
  trace_id TEXT,               -- W3C trace id of the client's traceparent (also in the statement's SQL comment); after hash, as migration 0003 added it
  db_login TEXT                -- the per-token Postgres login (gh_…) a dynamic credential ran as, beside db_role; last, as migration 0007 added it
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (time);
CREATE INDEX IF NOT EXISTS audit_by_principal ON audit_events (principal, time);
CREATE INDEX IF NOT EXISTS audit_by_tool ON audit_events (tool, time);

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

-- OAuth clients: dynamically registered public clients (RFC 7591), public clients known by their metadata document
-- (client_id = the document's URL, src/oauth/cimd.ts) and admin-created task clients (client_credentials).
-- Task secrets are stored as SHA-256 hashes of high-entropy values.
CREATE TABLE IF NOT EXISTS oauth_clients (
  client_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('public', 'task')),
  client_name TEXT,
  redirect_uris TEXT NOT NULL DEFAULT '[]',   -- JSON array
  metadata TEXT NOT NULL DEFAULT '{}',        -- registered metadata as returned to the client
  secret_hash TEXT,                           -- task clients only
  workspace_id TEXT,                          -- task clients: their one workspace
  principal_id TEXT,                          -- task clients: "task:<id>"
  tools TEXT,                                 -- task clients: JSON array of tool names
  token_ttl INTEGER,                          -- task clients: access-token lifetime (s)
  expires_at INTEGER,                         -- task clients: client expiry; metadata-document clients: refetch after (epoch s)
  created_at INTEGER NOT NULL,
  created_by TEXT,
  last_used_at INTEGER
);
CREATE INDEX IF NOT EXISTS oauth_clients_stale ON oauth_clients (kind, last_used_at);

-- Pending authorization requests between /authorize and the consent decision (short-lived).
CREATE TABLE IF NOT EXISTS auth_requests (
  id TEXT PRIMARY KEY,
  csrf TEXT NOT NULL,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  state TEXT,
  code_challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  principal_id TEXT,
  email TEXT,
  groups TEXT,                                -- JSON array from the IdP
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
-- Expired rows of this table, auth_codes, sessions (with their refresh tokens) and oidc_logins are deleted by the
-- minute Cron Trigger (src/oauth/prune.ts).
CREATE INDEX IF NOT EXISTS auth_requests_by_expiry ON auth_requests (expires_at);

-- Authorization codes: single use, stored hashed; a replay revokes the session the first use created.
CREATE TABLE IF NOT EXISTS auth_codes (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  principal_kind TEXT NOT NULL,
  email TEXT,
  groups TEXT,
  workspace_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX IF NOT EXISTS auth_codes_by_expiry ON auth_codes (expires_at);

-- Sessions: one per authorization grant; refresh tokens rotate within it.
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  principal_kind TEXT NOT NULL,
  email TEXT,
  groups TEXT,
  workspace_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,                -- absolute lifetime
  revoked_at INTEGER,
  revoked_reason TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_principal ON sessions (principal_id);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_by_last_use ON sessions (last_used_at);

-- Refresh tokens, stored as SHA-256 hashes. A rotated token keeps, for a short grace window, the pair it was
-- exchanged for, encrypted under a key derived from the rotated token itself (only its holder can read it).
CREATE TABLE IF NOT EXISTS refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER,
  grace_pair TEXT
);
CREATE INDEX IF NOT EXISTS refresh_by_session ON refresh_tokens (session_id);

-- Upstream OpenID Connect sign-ins in flight (src/oauth/oidc-routes.ts): the PKCE verifier and nonce Gatehouse
-- sent to the identity provider, keyed by the `state` it sent, bound to one authorization request (and through
-- it to the browser's gh_authz cookie). Single use: the callback deletes the row it uses. At most 10 minutes.
-- Never an upstream authorization code or token.
CREATE TABLE IF NOT EXISTS oidc_logins (
  state TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,                   -- auth_requests.id
  code_verifier TEXT NOT NULL,                -- PKCE verifier for the upstream code exchange
  nonce TEXT NOT NULL,                        -- expected ID token nonce
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS oidc_logins_by_request ON oidc_logins (request_id);
CREATE INDEX IF NOT EXISTS oidc_logins_by_expiry ON oidc_logins (expires_at);

-- The audit chain's head as last sealed (src/audit/seal-d1.ts): `audit verify` compares it with the last sealed
-- row, so deleting rows from the end is detected too.
CREATE TABLE IF NOT EXISTS audit_anchor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  sealed_at TEXT NOT NULL
);

-- How far the R2 archive has got (src/audit/archive-r2.ts): the last archived row and the archive index entry that
-- ends with it. Rows leave D1's hot window only at or below this seq (docs/audit.md "Archive").
CREATE TABLE IF NOT EXISTS audit_archive (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  index_key TEXT NOT NULL,
  archived_at TEXT NOT NULL
);

-- Approvals for write tools (README "Write tools and approvals"): the exact tool version, canonical arguments and their SHA-256, the SQL
-- that would run, requester, expiry, decision and execution. A request executes at most once.
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  tool TEXT NOT NULL,
  tool_version TEXT NOT NULL,
  args TEXT NOT NULL,            -- canonical JSON of the bound values by name (identity-bound ones included)
  args_hash TEXT NOT NULL,
  sql_text TEXT NOT NULL,
  approver_group TEXT NOT NULL,
  requester TEXT NOT NULL,
  session_id TEXT,
  client_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'executing', 'executed', 'failed')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_by TEXT,
  decided_at INTEGER,
  reason TEXT,
  executed_at INTEGER,
  execution_audit_id TEXT,
  -- A denial or expiry is reported to the requester once; the next identical call then files a new request.
  refusal_reported INTEGER NOT NULL DEFAULT 0,
  -- For a task's call: the admin who created the task client, who may not approve it either.
  on_behalf_of TEXT
);
-- At most one open request per requester, tool and arguments, even when identical first calls race. A request
-- whose expiry (or voiding by a changed tool) has been reported (refusal_reported = 1) is closed, so the same call
-- can file a new one.
-- (Replaces approvals_one_open, which also covered expired requests and so refused every later request.)
DROP INDEX IF EXISTS approvals_one_open;
CREATE UNIQUE INDEX IF NOT EXISTS approvals_one_open_request ON approvals (workspace_id, tool, requester, args_hash) WHERE status IN ('pending', 'approved') AND refusal_reported = 0;
CREATE INDEX IF NOT EXISTS approvals_lookup ON approvals (workspace_id, tool, requester, args_hash, created_at);
CREATE INDEX IF NOT EXISTS approvals_by_status ON approvals (status, created_at);

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
