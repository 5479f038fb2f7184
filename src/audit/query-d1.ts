/**
 * Reads of audit_events and audit_anchor for the admin API, the console's explorer and its overview. `where` is a
 * fragment built by the pure query cores (audit/query.ts, console/audit-view.ts) from fixed column names and `?`
 * placeholders; every value arrives in `params`, never in the SQL text.
 */

/** Rows matching `where`, oldest first from the cursor the fragment holds, at most `limit`. */
export async function auditRowsAscending<T>(db: D1Database, where: string, params: unknown[], limit: number): Promise<T[]> {
  return (
    await db
      .prepare(`SELECT * FROM audit_events WHERE ${where} ORDER BY seq LIMIT ?`)
      .bind(...params, limit)
      .all<T>()
  ).results;
}

/** Rows matching `where`, newest first, at most `limit`, with only `columns` (a fixed list) or every column. */
export async function auditRowsDescending<T>(db: D1Database, where: string, params: unknown[], limit: number, columns = "*"): Promise<T[]> {
  return (
    await db
      .prepare(`SELECT ${columns} FROM audit_events WHERE ${where} ORDER BY seq DESC LIMIT ?`)
      .bind(...params, limit)
      .all<T>()
  ).results;
}

/** Rows matching `where` in [from, to), counted by outcome per bucket of `bucketMs` from `from` (the console chart). */
export async function auditOutcomeBuckets(db: D1Database, where: string, params: unknown[], from: string, to: string, bucketMs: number): Promise<Array<{ b: number; outcome: string; n: number }>> {
  return (
    await db
      .prepare(`SELECT CAST((julianday(time) - julianday(?)) * 86400000 / ? AS INTEGER) AS b, outcome, COUNT(*) AS n FROM audit_events WHERE ${where} AND time >= ? AND time < ? GROUP BY b, outcome`)
      .bind(from, bucketMs, ...params, from, to)
      .all<{ b: number; outcome: string; n: number }>()
  ).results;
}

/** One row by its sequence number. */
export function auditRowBySeq(db: D1Database, seq: number): Promise<Record<string, unknown> | null> {
  return db.prepare("SELECT * FROM audit_events WHERE seq = ?").bind(seq).first<Record<string, unknown>>();
}

/** The seal anchor: the last sealed row's seq and hash, and when it was sealed (null before the first seal). */
export function auditAnchor(db: D1Database): Promise<{ seq: number; hash: string; sealed_at: string } | null> {
  return db.prepare("SELECT seq, hash, sealed_at FROM audit_anchor WHERE id = 1").first();
}

/** The console overview's reads of a workspace since `since` (ISO time), for the caller's batch. */
export function overviewStatements(db: D1Database, workspace: string, since: string): { byOutcome: D1PreparedStatement; topTools: D1PreparedStatement; lastVerify: D1PreparedStatement } {
  return {
    byOutcome: db.prepare("SELECT outcome, COUNT(*) AS n FROM audit_events WHERE workspace = ? AND event = 'tool.call' AND time >= ? GROUP BY outcome ORDER BY n DESC").bind(workspace, since),
    topTools: db
      .prepare("SELECT tool, COUNT(*) AS n FROM audit_events WHERE workspace = ? AND event = 'tool.call' AND time >= ? AND tool IS NOT NULL GROUP BY tool ORDER BY n DESC, tool LIMIT 5")
      .bind(workspace, since),
    lastVerify: db.prepare("SELECT time, outcome, detail, principal FROM audit_events WHERE workspace = ? AND event = 'audit.verify' ORDER BY seq DESC LIMIT 1").bind(workspace),
  };
}
