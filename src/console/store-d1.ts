import type { ApprovalRow } from "../approvals/store-d1";
import { CONSOLE_CLIENT_ID, CONSOLE_CLIENT_NAME, consoleCallbackUri } from "./session";

/**
 * Ensures the console's first-party registration: a public client whose one redirect URI is this deployment's
 * /console/callback. Upserted at each sign-in, so a changed PUBLIC_ORIGIN takes effect without a migration.
 */
export async function ensureConsoleClient(db: D1Database, issuer: string, now: number): Promise<void> {
  const uris = JSON.stringify([consoleCallbackUri(issuer)]);
  const meta = JSON.stringify({ client_name: CONSOLE_CLIENT_NAME, redirect_uris: [consoleCallbackUri(issuer)], token_endpoint_auth_method: "none", grant_types: ["authorization_code"], response_types: ["code"] });
  await db
    .prepare("INSERT INTO oauth_clients (client_id, kind, client_name, redirect_uris, metadata, created_at, created_by) VALUES (?, 'public', ?, ?, ?, ?, 'gatehouse') ON CONFLICT (client_id) DO UPDATE SET kind = 'public', client_name = excluded.client_name, redirect_uris = excluded.redirect_uris, metadata = excluded.metadata")
    .bind(CONSOLE_CLIENT_ID, CONSOLE_CLIENT_NAME, uris, meta, now)
    .run();
}

export async function insertLogin(db: D1Database, l: { state: string; code_verifier: string; return_to: string; expires_at: number }): Promise<void> {
  await db.prepare("INSERT INTO console_logins (state, code_verifier, return_to, expires_at) VALUES (?, ?, ?, ?)").bind(l.state, l.code_verifier, l.return_to, l.expires_at).run();
}

/** Takes (deletes and returns) a sign-in in flight: single use. */
export function takeLogin(db: D1Database, state: string, now: number): Promise<{ code_verifier: string; return_to: string } | null> {
  return db.prepare("DELETE FROM console_logins WHERE state = ? AND expires_at > ? RETURNING code_verifier, return_to").bind(state, now).first();
}

export interface ConsoleSessionRow {
  id_hash: string;
  csrf: string;
  oauth_session_id: string;
  principal_id: string;
  email: string | null;
  groups: string | null;
  workspace_id: string;
  scope: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export async function insertConsoleSession(db: D1Database, s: ConsoleSessionRow): Promise<void> {
  await db
    .prepare("INSERT INTO console_sessions (id_hash, csrf, oauth_session_id, principal_id, email, groups, workspace_id, scope, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(s.id_hash, s.csrf, s.oauth_session_id, s.principal_id, s.email, s.groups, s.workspace_id, s.scope, s.created_at, s.last_seen_at, s.expires_at)
    .run();
}

/**
 * The session with `revoked` = 1 when the OAuth session it came from was revoked, or its principal or the console
 * client was revoked in its workspace since it began (the same revocations /mcp honours).
 */
export function getConsoleSession(db: D1Database, idHash: string): Promise<(ConsoleSessionRow & { revoked: number }) | null> {
  return db
    .prepare(
      `SELECT cs.*, EXISTS (SELECT 1 FROM revocations r WHERE
         (r.kind = 'session' AND r.value = cs.oauth_session_id AND r.workspace_id IN (cs.workspace_id, ''))
         OR (r.workspace_id = cs.workspace_id AND r.revoked_at >= cs.created_at AND ((r.kind = 'principal' AND r.value = cs.principal_id) OR (r.kind = 'client' AND r.value = ?2)))
       ) AS revoked FROM console_sessions cs WHERE cs.id_hash = ?1`,
    )
    .bind(idHash, CONSOLE_CLIENT_ID)
    .first();
}

export async function touchConsoleSession(db: D1Database, idHash: string, now: number): Promise<void> {
  await db.prepare("UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ?").bind(now, idHash).run();
}

export async function deleteConsoleSession(db: D1Database, idHash: string): Promise<void> {
  await db.prepare("DELETE FROM console_sessions WHERE id_hash = ?").bind(idHash).run();
}

/**
 * Requests in a workspace for the given approver groups (null: every group, for an admin). Pending ones (still
 * decidable) soonest expiry first; the rest, newest decision first.
 */
export async function consoleApprovals(db: D1Database, workspace: string, groups: string[] | null, now: number): Promise<{ pending: ApprovalRow[]; decided: ApprovalRow[] }> {
  const scope = "workspace_id = ?1 AND (?2 IS NULL OR approver_group IN (SELECT value FROM json_each(?2)))";
  const g = groups === null ? null : JSON.stringify(groups);
  const [pending, decided] = await db.batch<ApprovalRow>([
    db.prepare(`SELECT * FROM approvals WHERE ${scope} AND status = 'pending' AND expires_at > ?3 ORDER BY expires_at ASC LIMIT 200`).bind(workspace, g, now),
    db.prepare(`SELECT * FROM approvals WHERE ${scope} AND NOT (status = 'pending' AND expires_at > ?3) ORDER BY COALESCE(decided_at, created_at) DESC LIMIT 50`).bind(workspace, g, now),
  ]);
  return { pending: pending?.results ?? [], decided: decided?.results ?? [] };
}

/** Registered names of the given clients, for display (names are the clients' own claims). */
export async function clientNames(db: D1Database, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.prepare("SELECT client_id, client_name FROM oauth_clients WHERE client_id IN (SELECT value FROM json_each(?)) AND client_name IS NOT NULL").bind(JSON.stringify([...new Set(ids)])).all<{ client_id: string; client_name: string }>();
  return new Map(rows.results.map((r) => [r.client_id, r.client_name]));
}

/** The tool's `bind` list if its current version is the one requested (else the mapping is not claimed). */
export async function bindOfVersion(db: D1Database, workspace: string, tool: string, version: string): Promise<string[] | null> {
  const row = await db.prepare("SELECT definition FROM tools WHERE workspace_id = ? AND name = ? AND version = ?").bind(workspace, tool, version).first<{ definition: string }>();
  if (!row) return null;
  const bind = (JSON.parse(row.definition) as { bind?: unknown }).bind;
  return Array.isArray(bind) && bind.every((b) => typeof b === "string") ? bind : null;
}
