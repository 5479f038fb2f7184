/**
 * The Cron's sweeper, and the one module besides the stores that prepares SQL: its bounded deletes over the OAuth
 * tables and console_logins/console_sessions are kept together so their order (refresh tokens before their
 * sessions, sessions before their clients) and the per-run bound read in one place. Nothing else deletes by age.
 */
import { DEFAULT_SESSION_POLICY } from "./session-policy";
import { CONSOLE_IDLE_SECONDS } from "../console/session";

/** Rows deleted per table and statement, and statements per table and Cron run (bounded work per run). */
export const PRUNE_BATCH = 1000;
export const PRUNE_BATCHES_PER_RUN = 5;

/**
 * A used or expired authorization code is kept this long past its expiry, so a late replay still finds it and
 * revokes the session it created (RFC 6749 §4.1.2) instead of meeting "unknown code".
 */
export const CODE_KEEP_SECONDS = 24 * 3600;

/** A public registration that no sign-in has used within this long is removed (anyone can register). */
export const UNUSED_CLIENT_SECONDS = 3600;

/** One bounded delete per table; `?` is the cutoff (epoch seconds) and the batch size. */
const DELETES: Array<{ table: string; sql: string; cutoff: (now: number) => number }> = [
  { table: "auth_requests", sql: "DELETE FROM auth_requests WHERE rowid IN (SELECT rowid FROM auth_requests WHERE expires_at <= ? LIMIT ?)", cutoff: (now) => now },
  { table: "oidc_logins", sql: "DELETE FROM oidc_logins WHERE rowid IN (SELECT rowid FROM oidc_logins WHERE expires_at <= ? LIMIT ?)", cutoff: (now) => now },
  // Console sign-ins in flight, and console sessions past their absolute lifetime or idle timeout (src/console/session.ts).
  { table: "console_logins", sql: "DELETE FROM console_logins WHERE rowid IN (SELECT rowid FROM console_logins WHERE expires_at <= ? LIMIT ?)", cutoff: (now) => now },
  {
    table: "console_sessions",
    sql: `DELETE FROM console_sessions WHERE rowid IN (SELECT rowid FROM console_sessions WHERE expires_at <= ?1 OR last_seen_at <= ?1 - ${CONSOLE_IDLE_SECONDS} LIMIT ?2)`,
    cutoff: (now) => now,
  },
  { table: "auth_codes", sql: "DELETE FROM auth_codes WHERE rowid IN (SELECT rowid FROM auth_codes WHERE expires_at <= ? LIMIT ?)", cutoff: (now) => now - CODE_KEEP_SECONDS },
  // A session past its absolute lifetime or idle timeout can never be used again (session-policy.ts); its
  // refresh tokens go with it. A revoked session stays until then: its revocation is what refuses its tokens.
  {
    table: "refresh_tokens",
    sql: `DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE (expires_at <= ?1 OR last_used_at <= ?1 - ${DEFAULT_SESSION_POLICY.idleSeconds}) AND EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = sessions.id) LIMIT ?2)`,
    cutoff: (now) => now,
  },
  {
    table: "sessions",
    sql: `DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE (expires_at <= ?1 OR last_used_at <= ?1 - ${DEFAULT_SESSION_POLICY.idleSeconds}) AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = sessions.id) LIMIT ?2)`,
    cutoff: (now) => now,
  },
  {
    table: "oauth_clients",
    sql: "DELETE FROM oauth_clients WHERE rowid IN (SELECT rowid FROM oauth_clients c WHERE kind = 'public' AND created_at <= ? AND COALESCE(last_used_at, created_at) <= created_at AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.client_id = c.client_id) LIMIT ?)",
    cutoff: (now) => now - UNUSED_CLIENT_SECONDS,
  },
];

/**
 * Cron Trigger: deletes what can never be used again — expired pending sign-ins, upstream logins, codes, dead
 * sessions with their refresh tokens, and registrations nobody signed in with — at most PRUNE_BATCH ×
 * PRUNE_BATCHES_PER_RUN rows per table a run. Returns the rows deleted per table.
 */
export async function pruneExpired(db: D1Database, now: number): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  for (const d of DELETES) {
    let total = 0;
    for (let i = 0; i < PRUNE_BATCHES_PER_RUN; i++) {
      const res = await db.prepare(d.sql).bind(d.cutoff(now), PRUNE_BATCH).run();
      const n = res.meta.changes ?? 0;
      total += n;
      if (n < PRUNE_BATCH) break;
    }
    deleted[d.table] = total;
  }
  return deleted;
}
