/** Owns console_logins and console_sessions: the console's sign-ins in flight and its signed-in sessions. */
import { CONSOLE_CLIENT_ID } from "./session";

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
    .prepare(
      "INSERT INTO console_sessions (id_hash, csrf, oauth_session_id, principal_id, email, groups, workspace_id, scope, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
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

/** Signs a console session out: deletes it and returns the OAuth session it was bound to (null when already gone). */
export async function endConsoleSession(db: D1Database, idHash: string): Promise<string | null> {
  return (await db.prepare("DELETE FROM console_sessions WHERE id_hash = ? RETURNING oauth_session_id").bind(idHash).first<{ oauth_session_id: string }>())?.oauth_session_id ?? null;
}
