import { canonicalJson } from "../lib/canonical-json";
import { sha256Hex } from "../lib/sha256";

/** The chain starts from this value; a purged head leaves the first kept row's prev_hash as the new start. */
export const GENESIS_HASH = "0".repeat(64);

/** A stored audit row as D1 returns it (column names as in schema.sql). */
export type AuditRow = Record<string, unknown> & { seq: number; prev_hash: string | null; hash: string | null };

/** Every column except the chain's own: editing any of them, or the row's position (seq), changes the hash. */
export function chainedContent(row: AuditRow): string {
  const { prev_hash: _p, hash: _h, ...content } = row;
  return canonicalJson(content);
}

/** hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ canonical row n). */
export function rowHash(prevHash: string, row: AuditRow): Promise<string> {
  return sha256Hex(`${prevHash}\n${chainedContent(row)}`);
}

/**
 * audit_events columns added by a migration after rows had been sealed, oldest first (migrations/0003: trace_id, 0007: db_login).
 * A row sealed before column k existed was hashed without it and every later one, and reads NULL in them once
 * migrated. A migration adding a column to audit_events appends it here (test/unit/schema-migrations.test.ts
 * checks this list against schema.sql and the first release's schema).
 */
export const ADDED_COLUMNS: readonly string[] = ["trace_id", "db_login"];

/**
 * True when `row.hash` is the hash of the row as it was sealed: with every column it has now, or, for a row sealed
 * before ADDED_COLUMNS[k] existed, without that column and the later ones, which must all be NULL. A value in such
 * a column is never left out, so writing one into an older row reads as an edit (docs/deployment.md "Upgrading").
 */
export async function sealedHashMatches(row: AuditRow): Promise<boolean> {
  if (row.prev_hash === null || row.hash === null) return false;
  if ((await rowHash(row.prev_hash, row)) === row.hash) return true;
  for (let k = ADDED_COLUMNS.length - 1; k >= 0; k--) {
    const later = ADDED_COLUMNS.slice(k);
    if (!later.every((column) => row[column] === null)) break;
    const older: AuditRow = { ...row };
    for (const column of later) delete older[column];
    if ((await rowHash(row.prev_hash, older)) === row.hash) return true;
  }
  return false;
}

/**
 * Why a chain does not verify. Beyond the D1 chain's own reasons: an archive object that does not match its manifest
 * or index (`archive_corrupt`), rows purged from D1 that the archive does not hold (`archive_gap`), D1 disagreeing
 * with the archive where they overlap (`archive_mismatch`), the chain disagreeing with the latest signed head
 * (`anchor_mismatch`), and a signed head whose signature does not verify (`anchor_invalid`). docs/audit.md.
 */
export type ChainBreak = "edited" | "broken_link" | "unsealed_gap" | "head_mismatch" | "out_of_order" | "archive_corrupt" | "archive_gap" | "archive_mismatch" | "anchor_mismatch" | "anchor_invalid";

export type ChainVerdict = { ok: true; rows: number; head: { seq: number; hash: string } | null } | { ok: false; rows: number; seq: number; reason: ChainBreak };

/**
 * Verifies sealed rows in seq order: each row's hash must match its content and its prev_hash must be the
 * previous row's hash (an edit breaks the first, a deletion or reordering the second). The first row's prev_hash
 * is trusted (retention purges the oldest rows). The anchor, written by the sealer, catches a deleted tail.
 */
export async function verifyChain(rows: readonly AuditRow[], anchor?: { seq: number; hash: string } | null, start?: { seq: number; hash: string }): Promise<ChainVerdict> {
  // With `start` (the head of what was verified before, e.g. the archive), the first row must link to it.
  let prev: Pick<AuditRow, "seq" | "hash"> | undefined = start;
  let checked = 0;
  let sealedDone = false;
  for (const row of rows) {
    if (row.hash === null || row.prev_hash === null) {
      sealedDone = true;
      continue;
    }
    if (sealedDone) return { ok: false, rows: checked, seq: row.seq, reason: "unsealed_gap" };
    if (prev && row.seq <= prev.seq) return { ok: false, rows: checked, seq: row.seq, reason: "out_of_order" };
    if (prev && row.prev_hash !== prev.hash) return { ok: false, rows: checked, seq: row.seq, reason: "broken_link" };
    if (!(await sealedHashMatches(row))) return { ok: false, rows: checked, seq: row.seq, reason: "edited" };
    prev = row;
    checked++;
  }
  const head = prev ? { seq: prev.seq, hash: prev.hash as string } : null;
  if (anchor && (!head || head.seq < anchor.seq || (head.seq === anchor.seq && head.hash !== anchor.hash))) {
    return { ok: false, rows: checked, seq: anchor.seq, reason: "head_mismatch" };
  }
  return { ok: true, rows: checked, head };
}
