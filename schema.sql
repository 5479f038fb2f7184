-- Gatehouse D1 schema. Idempotent: apply with
--   wrangler d1 execute DB --local  --file schema.sql   (dev; `npm run dev` does this)
--   wrangler d1 execute DB --remote --file schema.sql   (production)

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

-- Revoked sessions, principals, clients and token ids. Checked on every /mcp call.
CREATE TABLE IF NOT EXISTS revocations (
  kind TEXT NOT NULL CHECK (kind IN ('session', 'principal', 'client', 'token')),
  value TEXT NOT NULL,
  revoked_at TEXT NOT NULL,
  revoked_by TEXT,
  reason TEXT,
  PRIMARY KEY (kind, value)
);

-- One row per decision (DESIGN §7). Never token values, secrets, connection strings or result rows.
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
  hash TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (time);
CREATE INDEX IF NOT EXISTS audit_by_principal ON audit_events (principal, time);
CREATE INDEX IF NOT EXISTS audit_by_tool ON audit_events (tool, time);
