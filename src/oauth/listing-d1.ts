/**
 * The OAuth tables (oauth_clients, auth_requests, auth_codes, sessions, refresh_tokens, oidc_logins) and
 * revocations are owned by the OAuth store: the token path's reads and writes in store-d1.ts, the admin's and
 * console's ownership checks, listings and task-client changes here. prune.ts is the Cron sweeper over them.
 */
import { DEFAULT_SESSION_POLICY } from "./session-policy";
import { CONSOLE_CLIENT_ID, CONSOLE_CLIENT_NAME, consoleCallbackUri } from "../console/session";

/** Whether `id` is a session of the workspace. */
export async function isWorkspaceSession(db: D1Database, workspace: string, id: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM sessions WHERE workspace_id = ? AND id = ?").bind(workspace, id).first()) !== null;
}

/** Whether a client belongs to the workspace: a task client of it, or a client with a session in it. */
export async function isWorkspaceClient(db: D1Database, workspace: string, clientId: string): Promise<boolean> {
  return (
    (await db
      .prepare("SELECT 1 FROM oauth_clients WHERE client_id = ? AND (workspace_id = ? OR client_id IN (SELECT client_id FROM sessions WHERE workspace_id = ?))")
      .bind(clientId, workspace, workspace)
      .first()) !== null
  );
}

/** Ends every task client of a revoked task principal, in the revocation's batch. */
export function expireTaskClientsStatement(db: D1Database, workspace: string, principal: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE oauth_clients SET expires_at = ? WHERE principal_id = ? AND kind = 'task' AND workspace_id = ?").bind(now, principal, workspace);
}

/** A new secret hash for a live task client of the workspace; changes no row when there is none (batch with its audit row). */
export function rotateTaskSecretStatement(db: D1Database, r: { workspace: string; clientId: string; secretHash: string; now: number }): D1PreparedStatement {
  return db
    .prepare("UPDATE oauth_clients SET secret_hash = ? WHERE client_id = ? AND kind = 'task' AND workspace_id = ? AND (expires_at IS NULL OR expires_at > ?)")
    .bind(r.secretHash, r.clientId, r.workspace, r.now);
}

/** Creates or replaces a task client with a known id and secret hash (the dev stack's fixed demo credentials only). */
export async function upsertDevTaskClient(
  db: D1Database,
  t: { clientId: string; task: string; secretHash: string; workspace: string; principal: string; tools: unknown[]; ttl: number; expiresAt: number; now: number },
): Promise<void> {
  await db
    .prepare(
      "INSERT OR REPLACE INTO oauth_clients (client_id, kind, client_name, secret_hash, workspace_id, principal_id, tools, token_ttl, expires_at, created_at, created_by) VALUES (?, 'task', ?, ?, ?, ?, ?, ?, ?, ?, 'dev')",
    )
    .bind(t.clientId, t.task, t.secretHash, t.workspace, t.principal, JSON.stringify(t.tools), t.ttl, t.expiresAt, t.now)
    .run();
}

/** Live sessions of a workspace (not revoked, within lifetime and idle timeout), most recently used first; read in the caller's batch. */
export function liveSessionsStatement(db: D1Database, workspace: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `SELECT s.id, s.client_id, c.client_name, s.principal_id, s.scope, s.created_at, s.last_used_at, s.expires_at FROM sessions s LEFT JOIN oauth_clients c ON c.client_id = s.client_id
       WHERE s.workspace_id = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2 AND s.last_used_at > ?2 - ${DEFAULT_SESSION_POLICY.idleSeconds} ORDER BY s.last_used_at DESC LIMIT 200`,
    )
    .bind(workspace, now);
}

/** The task clients of a workspace, newest first; read in the caller's batch. */
export function taskClientsStatement(db: D1Database, workspace: string): D1PreparedStatement {
  return db
    .prepare(
      "SELECT client_id, client_name, principal_id, tools, token_ttl, expires_at, last_used_at, created_at, created_by FROM oauth_clients WHERE kind = 'task' AND workspace_id = ? ORDER BY created_at DESC LIMIT 200",
    )
    .bind(workspace);
}

/**
 * Ensures the console's first-party registration: a public client whose one redirect URI is this deployment's
 * /console/callback. Upserted at each sign-in, so a changed PUBLIC_ORIGIN takes effect without a migration.
 */
export async function ensureConsoleClient(db: D1Database, issuer: string, now: number): Promise<void> {
  const uris = JSON.stringify([consoleCallbackUri(issuer)]);
  const meta = JSON.stringify({
    client_name: CONSOLE_CLIENT_NAME,
    redirect_uris: [consoleCallbackUri(issuer)],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code"],
    response_types: ["code"],
  });
  await db
    .prepare(
      "INSERT INTO oauth_clients (client_id, kind, client_name, redirect_uris, metadata, created_at, created_by) VALUES (?, 'public', ?, ?, ?, ?, 'gatehouse') ON CONFLICT (client_id) DO UPDATE SET kind = 'public', client_name = excluded.client_name, redirect_uris = excluded.redirect_uris, metadata = excluded.metadata",
    )
    .bind(CONSOLE_CLIENT_ID, CONSOLE_CLIENT_NAME, uris, meta, now)
    .run();
}

/** Registered names of the given clients, for display (names are the clients' own claims). */
export async function clientNames(db: D1Database, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .prepare("SELECT client_id, client_name FROM oauth_clients WHERE client_id IN (SELECT value FROM json_each(?)) AND client_name IS NOT NULL")
    .bind(JSON.stringify([...new Set(ids)]))
    .all<{ client_id: string; client_name: string }>();
  return new Map(rows.results.map((r) => [r.client_id, r.client_name]));
}
