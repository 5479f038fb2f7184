import type { RegisteredMetadata } from "./dcr";
import type { ClientDocument } from "./cimd";

export interface ClientRow {
  client_id: string;
  kind: "public" | "task";
  client_name: string | null;
  redirect_uris: string;
  metadata: string;
  secret_hash: string | null;
  workspace_id: string | null;
  principal_id: string | null;
  tools: string | null;
  token_ttl: number | null;
  expires_at: number | null;
  created_at: number;
  last_used_at: number | null;
}

export async function insertPublicClient(db: D1Database, clientId: string, meta: RegisteredMetadata, now: number): Promise<void> {
  await db
    .prepare("INSERT INTO oauth_clients (client_id, kind, client_name, redirect_uris, metadata, created_at, last_used_at) VALUES (?, 'public', ?, ?, ?, ?, ?)")
    .bind(clientId, meta.client_name ?? null, JSON.stringify(meta.redirect_uris), JSON.stringify(meta), now, now)
    .run();
}

/**
 * Stores (or refreshes) a client known by its metadata document (oauth/cimd.ts) as a public client whose id is the
 * document URL; `expires_at` is when the document must be fetched again (its HTTP freshness, bounded). The token
 * endpoint treats it like any public client; only /authorize refetches a stale one. A row of another kind with
 * the same id is never overwritten.
 */
export async function upsertDocumentClient(db: D1Database, doc: ClientDocument, now: number, freshUntil: number): Promise<void> {
  await db
    .prepare(
      "INSERT INTO oauth_clients (client_id, kind, client_name, redirect_uris, metadata, expires_at, created_at, last_used_at) VALUES (?1, 'public', ?2, ?3, ?4, ?5, ?6, ?6) " +
        "ON CONFLICT (client_id) DO UPDATE SET client_name = excluded.client_name, redirect_uris = excluded.redirect_uris, metadata = excluded.metadata, expires_at = excluded.expires_at WHERE oauth_clients.kind = 'public'",
    )
    .bind(doc.client_id, doc.client_name ?? null, JSON.stringify(doc.redirect_uris), JSON.stringify(doc), freshUntil, now)
    .run();
}

/** A task client's insert, unrun, so the caller can batch it with its audit row (one transaction). */
export function insertTaskClientStatement(
  db: D1Database,
  c: { clientId: string; name: string; secretHash: string; workspace: string; principal: string; tools: string[]; ttl: number; expiresAt: number; createdBy: string },
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      "INSERT INTO oauth_clients (client_id, kind, client_name, secret_hash, workspace_id, principal_id, tools, token_ttl, expires_at, created_at, created_by) VALUES (?, 'task', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.clientId, c.name, c.secretHash, c.workspace, c.principal, JSON.stringify(c.tools), c.ttl, c.expiresAt, now, c.createdBy);
}

export function getClient(db: D1Database, clientId: string): Promise<ClientRow | null> {
  return db.prepare("SELECT * FROM oauth_clients WHERE client_id = ?").bind(clientId).first<ClientRow>();
}

/** Public clients nobody has used for `olderThan` seconds are pruned (Claude registers on every connection). */
export async function pruneStaleClients(db: D1Database, now: number, olderThan: number): Promise<number> {
  const res = await db
    .prepare("DELETE FROM oauth_clients WHERE kind = 'public' AND COALESCE(last_used_at, created_at) < ?")
    .bind(now - olderThan)
    .run();
  return res.meta.changes ?? 0;
}

export interface AuthRequestRow {
  id: string;
  csrf: string;
  client_id: string;
  redirect_uri: string;
  state: string | null;
  code_challenge: string;
  scope: string;
  principal_id: string | null;
  email: string | null;
  groups: string | null;
  created_at: number;
  expires_at: number;
}

export async function insertAuthRequest(db: D1Database, r: Omit<AuthRequestRow, "principal_id" | "email" | "groups">): Promise<void> {
  await db
    .prepare("INSERT INTO auth_requests (id, csrf, client_id, redirect_uri, state, code_challenge, scope, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(r.id, r.csrf, r.client_id, r.redirect_uri, r.state, r.code_challenge, r.scope, r.created_at, r.expires_at)
    .run();
}

export function getAuthRequest(db: D1Database, id: string, now: number): Promise<AuthRequestRow | null> {
  return db.prepare("SELECT * FROM auth_requests WHERE id = ? AND expires_at > ?").bind(id, now).first<AuthRequestRow>();
}

export async function setRequestPrincipal(db: D1Database, id: string, p: { principal: string; email: string; groups: string[] }): Promise<void> {
  await db.prepare("UPDATE auth_requests SET principal_id = ?, email = ?, groups = ? WHERE id = ?").bind(p.principal, p.email, JSON.stringify(p.groups), id).run();
}

/** Deletes the request; true only for the caller that actually removed it (a consent is decided once). */
export async function takeAuthRequest(db: D1Database, id: string): Promise<boolean> {
  const res = await db.prepare("DELETE FROM auth_requests WHERE id = ?").bind(id).run();
  return (res.meta.changes ?? 0) === 1;
}

export interface CodeRow {
  code_hash: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  scope: string;
  principal_id: string;
  principal_kind: "user" | "task";
  email: string | null;
  groups: string | null;
  workspace_id: string;
  session_id: string;
  expires_at: number;
  used_at: number | null;
}

export async function insertCode(db: D1Database, c: Omit<CodeRow, "used_at">): Promise<void> {
  await db
    .prepare(
      "INSERT INTO auth_codes (code_hash, client_id, redirect_uri, code_challenge, scope, principal_id, principal_kind, email, groups, workspace_id, session_id, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.code_hash, c.client_id, c.redirect_uri, c.code_challenge, c.scope, c.principal_id, c.principal_kind, c.email, c.groups, c.workspace_id, c.session_id, c.expires_at)
    .run();
}

/** Marks a code used. `first` is true only for the one caller that used it first (single use, RFC 6749 §4.1.2). */
export async function consumeCode(db: D1Database, codeHash: string, now: number): Promise<{ row: CodeRow | null; first: boolean }> {
  const res = await db.prepare("UPDATE auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL").bind(now, codeHash).run();
  const row = await db.prepare("SELECT * FROM auth_codes WHERE code_hash = ?").bind(codeHash).first<CodeRow>();
  return { row, first: (res.meta.changes ?? 0) === 1 };
}

export interface SessionRow {
  id: string;
  client_id: string;
  principal_id: string;
  principal_kind: "user" | "task";
  email: string | null;
  groups: string | null;
  workspace_id: string;
  scope: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** Creates a session and its first refresh token in one transaction. */
export async function createSession(db: D1Database, s: Omit<SessionRow, "revoked_at">, refreshHash: string): Promise<void> {
  await db.batch([
    db
      .prepare("INSERT INTO sessions (id, client_id, principal_id, principal_kind, email, groups, workspace_id, scope, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(s.id, s.client_id, s.principal_id, s.principal_kind, s.email, s.groups, s.workspace_id, s.scope, s.created_at, s.last_used_at, s.expires_at),
    db.prepare("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)").bind(refreshHash, s.id, s.created_at),
  ]);
}

export async function getRefresh(db: D1Database, hash: string): Promise<{ session_id: string; rotated_at: number | null; grace_pair: string | null } | null> {
  return db.prepare("SELECT session_id, rotated_at, grace_pair FROM refresh_tokens WHERE token_hash = ?").bind(hash).first();
}

export function getSession(db: D1Database, id: string): Promise<SessionRow | null> {
  return db.prepare("SELECT * FROM sessions WHERE id = ?").bind(id).first<SessionRow>();
}

/**
 * Rotates a refresh token: marks it rotated (with the sealed new pair for the grace window) and inserts the new
 * one, in one transaction; the insert happens only if this caller's update won (`changes() = 1`), so two
 * concurrent refreshes of one token can never both mint a valid new token.
 */
export async function rotateRefresh(db: D1Database, oldHash: string, newHash: string, sessionId: string, sealed: string, now: number): Promise<boolean> {
  const [update] = await db.batch([
    db.prepare("UPDATE refresh_tokens SET rotated_at = ?, grace_pair = ? WHERE token_hash = ? AND rotated_at IS NULL").bind(now, sealed, oldHash),
    db.prepare("INSERT INTO refresh_tokens (token_hash, session_id, created_at) SELECT ?, ?, ? WHERE changes() = 1").bind(newHash, sessionId, now),
    db.prepare("UPDATE sessions SET last_used_at = ? WHERE id = ? AND changes() = 1").bind(now, sessionId),
  ]);
  return (update?.meta.changes ?? 0) === 1;
}

/**
 * Revokes a session: refresh tokens stop working and /mcp refuses its access tokens (revocations table). The row
 * carries the session's own workspace; a session id is random and belongs to exactly one workspace.
 */
export function revokeSessionStatements(db: D1Database, sessionId: string, reason: string, by: string, now: number): D1PreparedStatement[] {
  return [
    db.prepare("UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?), revoked_reason = COALESCE(revoked_reason, ?) WHERE id = ?").bind(now, reason, sessionId),
    db
      .prepare(
        "INSERT OR IGNORE INTO revocations (workspace_id, kind, value, revoked_at, revoked_by, reason) VALUES (COALESCE((SELECT workspace_id FROM sessions WHERE id = ?1), ''), 'session', ?1, ?2, ?3, ?4)",
      )
      .bind(sessionId, now, by, reason),
  ];
}

export async function revokeSession(db: D1Database, sessionId: string, reason: string, by: string, now: number): Promise<void> {
  await db.batch(revokeSessionStatements(db, sessionId, reason, by, now));
}

export interface Revocation {
  kind: "session" | "principal" | "client" | "token";
  value: string;
  /** The workspace it applies to: principal and client ids are shared by every workspace, their revocation is not. */
  workspace: string;
  reason: string;
  by: string;
  now: number;
}

/**
 * The statements of one revocation, for a caller to batch with its audit row (one transaction). Everything it
 * ends is in `workspace`: the principal's or client's sessions and unexchanged codes there, a task client there.
 * What has no workspace yet is touched only when nothing outside `workspace` uses it: a principal's sign-ins in
 * flight (the workspace is chosen at consent) when it is listed in no other workspace, and a public client's
 * registration when no other workspace has had a session of it.
 */
export function revocationStatements(db: D1Database, r: Revocation): D1PreparedStatement[] {
  if (r.kind === "session") return revokeSessionStatements(db, r.value, r.reason, r.by, r.now);
  const { value, workspace: ws, reason, now } = r;
  const stmts = [db.prepare("INSERT OR REPLACE INTO revocations (workspace_id, kind, value, revoked_at, revoked_by, reason) VALUES (?, ?, ?, ?, ?, ?)").bind(ws, r.kind, value, now, r.by, reason)];
  if (r.kind === "principal") {
    stmts.push(
      db.prepare("UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?), revoked_reason = COALESCE(revoked_reason, ?) WHERE principal_id = ? AND workspace_id = ?").bind(now, reason, value, ws),
    );
    stmts.push(db.prepare("DELETE FROM auth_codes WHERE principal_id = ? AND workspace_id = ?").bind(value, ws));
    stmts.push(db.prepare("DELETE FROM auth_requests WHERE principal_id = ?1 AND NOT EXISTS (SELECT 1 FROM principals WHERE id = ?1 AND workspace_id <> ?2)").bind(value, ws));
  }
  if (r.kind === "client") {
    stmts.push(
      db.prepare("UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?), revoked_reason = COALESCE(revoked_reason, ?) WHERE client_id = ? AND workspace_id = ?").bind(now, reason, value, ws),
    );
    stmts.push(db.prepare("DELETE FROM auth_codes WHERE client_id = ? AND workspace_id = ?").bind(value, ws));
    // A public registration no other workspace uses is removed: the client must register again, and an admin can
    // see it did. One shared with another workspace stays; its tokens for this workspace are refused all the same.
    const unshared = "NOT EXISTS (SELECT 1 FROM sessions WHERE client_id = ?1 AND workspace_id <> ?2)";
    stmts.push(db.prepare(`DELETE FROM auth_requests WHERE client_id = ?1 AND ${unshared}`).bind(value, ws));
    stmts.push(db.prepare(`DELETE FROM oauth_clients WHERE client_id = ?1 AND kind = 'public' AND ${unshared}`).bind(value, ws));
    stmts.push(db.prepare("UPDATE oauth_clients SET expires_at = ? WHERE client_id = ? AND kind = 'task' AND workspace_id = ?").bind(now, value, ws));
  }
  return stmts;
}

export async function revokeValue(db: D1Database, r: Revocation): Promise<void> {
  await db.batch(revocationStatements(db, r));
}

/** Records that a client obtained tokens (a registration someone used is never pruned as unused). */
export async function touchClient(db: D1Database, clientId: string, now: number): Promise<void> {
  await db.prepare("UPDATE oauth_clients SET last_used_at = ? WHERE client_id = ?").bind(now, clientId).run();
}

/**
 * True when the task client, or its task principal since the client was created, is revoked in the client's own
 * workspace: another workspace may list a task of the same id, and its revocations do not count here.
 */
export async function isTaskClientRevoked(db: D1Database, t: { workspace: string; clientId: string; principal: string; createdAt: number }): Promise<boolean> {
  const row = await db
    .prepare("SELECT 1 FROM revocations WHERE workspace_id = ? AND ((kind = 'client' AND value = ?) OR (kind = 'principal' AND value = ? AND revoked_at >= ?)) LIMIT 1")
    .bind(t.workspace, t.clientId, t.principal, t.createdAt)
    .first();
  return row !== null;
}

/** An upstream (OpenID Connect) login in flight: the PKCE verifier and nonce for one `state`. */
export interface OidcLoginRow {
  state: string;
  request_id: string;
  code_verifier: string;
  nonce: string;
  created_at: number;
  expires_at: number;
}

/** One upstream login in flight per authorization request: starting again replaces it; expired ones go too. */
export async function insertOidcLogin(db: D1Database, row: OidcLoginRow): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM oidc_logins WHERE request_id = ? OR expires_at <= ?").bind(row.request_id, row.created_at),
    db
      .prepare("INSERT INTO oidc_logins (state, request_id, code_verifier, nonce, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(row.state, row.request_id, row.code_verifier, row.nonce, row.created_at, row.expires_at),
  ]);
}

/** Removes and returns the upstream login for a state: whoever takes it first is the only one who can use it. */
export function takeOidcLogin(db: D1Database, state: string): Promise<OidcLoginRow | null> {
  return db.prepare("DELETE FROM oidc_logins WHERE state = ? RETURNING *").bind(state).first<OidcLoginRow>();
}
