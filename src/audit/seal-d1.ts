import { GENESIS_HASH, rowHash, type AuditRow } from "./chain";

/** A `started` row younger than this is still in flight; sealing waits for its completion. */
export const SEAL_GRACE_MS = 5 * 60 * 1000;
const BATCH = 500;

/**
 * Extends the hash chain over completed rows, in seq order, one batch per D1 transaction. Writers never touch the
 * chain (a tool call's insert and completion stay cheap and contention-free); the sealer is the chain's only
 * writer. Sealing is deterministic, so two sealers racing compute the same hashes, and each update applies only
 * to a row not yet sealed. Stops at the first row still in flight. Returns how many rows it sealed.
 */
export async function sealAudit(db: D1Database, nowMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    // When every sealed row has left D1 (archived and past the hot window), the chain goes on from the recorded head.
    const tail =
      (await db.prepare("SELECT seq, hash FROM audit_events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1").first<{ seq: number; hash: string }>()) ??
      (await db.prepare("SELECT seq, hash FROM audit_anchor WHERE id = 1").first<{ seq: number; hash: string }>());
    const rows = (
      await db
        .prepare("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?")
        .bind(tail?.seq ?? 0, BATCH)
        .all<AuditRow>()
    ).results;
    let prev = tail?.hash ?? GENESIS_HASH;
    const updates: D1PreparedStatement[] = [];
    let last: { seq: number; hash: string } | undefined;
    for (const row of rows) {
      if (row.outcome === "started" && Date.parse(String(row.time)) > nowMs - SEAL_GRACE_MS) break;
      const hash = await rowHash(prev, { ...row, prev_hash: null, hash: null });
      // The content hashed is the content sealed: a row that changed meanwhile (a late completion) is left alone.
      updates.push(db.prepare("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ? AND hash IS NULL AND outcome = ?").bind(prev, hash, row.seq, row.outcome));
      prev = hash;
      last = { seq: row.seq, hash };
    }
    if (!last) return total;
    updates.push(
      db
        .prepare(
          "INSERT INTO audit_anchor (id, seq, hash, sealed_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, sealed_at = excluded.sealed_at WHERE excluded.seq > audit_anchor.seq",
        )
        .bind(last.seq, last.hash, new Date(nowMs).toISOString()),
    );
    await db.batch(updates);
    total += updates.length - 1;
    if (rows.length < BATCH || updates.length - 1 < rows.length) return total;
  }
}

/**
 * Deletes rows older than the retention period (Cron Trigger). Only a prefix of the chain goes — every sealed row
 * before the first row at or after the cutoff — because `time` and `seq` order can differ slightly, and a gap
 * inside the chain would read as tampering. The chain then starts at the first kept row.
 */
export async function purgeAudit(db: D1Database, nowMs: number, retentionDays: number): Promise<number> {
  const cutoff = new Date(nowMs - retentionDays * 24 * 3600 * 1000).toISOString();
  const res = await db
    .prepare("DELETE FROM audit_events WHERE hash IS NOT NULL AND seq < COALESCE((SELECT MIN(seq) FROM audit_events WHERE time >= ? OR hash IS NULL), (SELECT MAX(seq) + 1 FROM audit_events))")
    .bind(cutoff)
    .run();
  return res.meta.changes ?? 0;
}
