import { toHex } from "../lib/sha256";
import type { AuditRow } from "./chain";
import {
  ARCHIVE_BATCH_ROWS,
  ARCHIVE_BATCHES_PER_RUN,
  archivable,
  archiveCutoff,
  batchIndex,
  indexKey,
  indexPrefixFor,
  isBatchIndex,
  manifestKey,
  objectKey,
  partition,
  type BatchIndex,
  type ObjectManifest,
} from "./archive";

/** Where the archive has got to: the last archived row (the head of the last index entry written). */
export interface ArchiveProgress {
  seq: number;
  hash: string;
  index_key: string;
}

export async function archiveProgress(db: D1Database): Promise<ArchiveProgress | null> {
  return db.prepare("SELECT seq, hash, index_key FROM audit_archive WHERE id = 1").first<ArchiveProgress>();
}

export async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function gunzip(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).text();
}

export async function sha256Bytes(bytes: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

/** Records progress; only forwards, so a slower concurrent run cannot move it back. */
async function advance(db: D1Database, index: BatchIndex, key: string, nowMs: number): Promise<void> {
  await db
    .prepare(
      "INSERT INTO audit_archive (id, seq, hash, index_key, archived_at) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, index_key = excluded.index_key, archived_at = excluded.archived_at WHERE excluded.seq > audit_archive.seq",
    )
    .bind(index.last_seq, index.head_hash, key, new Date(nowMs).toISOString())
    .run();
}

/**
 * Writes a key once: a key that already holds these bytes (a repeated run) is left alone, so a bucket lock on the
 * archive's prefixes never refuses a retry; a key holding other bytes is an error, never overwritten.
 */
async function putOnce(bucket: R2Bucket, key: string, body: Uint8Array, options: R2PutOptions): Promise<void> {
  if (await bucket.head(key)) {
    const existing = await bucket.get(key);
    if (existing && (await sha256Bytes(new Uint8Array(await existing.arrayBuffer()))) === (await sha256Bytes(body))) return;
    throw new Error(`archive key ${key} already holds different bytes`);
  }
  await bucket.put(key, body, options);
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Writes one batch: every object, then its manifest, then the index entry. Each put has returned before the next. */
async function writeBatch(bucket: R2Bucket, rows: AuditRow[]): Promise<{ index: BatchIndex; key: string }> {
  const objects: ObjectManifest[] = [];
  for (const part of partition(rows)) {
    const body = await gzip(part.jsonl);
    const first = part.rows[0]!;
    const last = part.rows[part.rows.length - 1]!;
    const key = objectKey(part.workspace, part.day, first.seq, last.seq);
    const manifest: ObjectManifest = {
      key,
      workspace: part.workspace,
      day: part.day,
      first_seq: first.seq,
      last_seq: last.seq,
      rows: part.rows.length,
      head_hash: String(last.hash),
      sha256: await sha256Bytes(body),
      bytes: body.byteLength,
    };
    await putOnce(bucket, key, body, { httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" }, sha256: manifest.sha256 });
    await putOnce(bucket, manifestKey(key), utf8(JSON.stringify(manifest)), { httpMetadata: { contentType: "application/json" } });
    objects.push(manifest);
  }
  const index = batchIndex(rows, objects);
  const key = indexKey(index.first_seq, index.last_seq);
  await putOnce(bucket, key, utf8(JSON.stringify(index)), { httpMetadata: { contentType: "application/json" } });
  return { index, key };
}

/**
 * A run that failed after writing an index entry but before recording progress left that entry behind; the next
 * run adopts it (when its head is the row D1 holds at that seq) instead of writing an overlapping batch.
 */
async function adoptable(bucket: R2Bucket, db: D1Database, firstSeq: number): Promise<{ index: BatchIndex; key: string } | null> {
  const listed = await bucket.list({ prefix: indexPrefixFor(firstSeq), limit: 1 });
  const found = listed.objects[0];
  if (!found) return null;
  const obj = await bucket.get(found.key);
  const index: unknown = obj ? await obj.json() : null;
  if (!isBatchIndex(index)) return null;
  const head = await db.prepare("SELECT hash FROM audit_events WHERE seq = ?").bind(index.last_seq).first<{ hash: string | null }>();
  return head?.hash === index.head_hash ? { index, key: found.key } : null;
}

export interface ArchiveRun {
  rows: number;
  batches: number;
  objects: number;
}

/**
 * Cron Trigger: archives sealed rows of finished hours, at most ARCHIVE_BATCHES_PER_RUN batches of
 * ARCHIVE_BATCH_ROWS rows. Progress (audit_archive) moves only after a batch's objects, manifests and index entry
 * are written, so a failure anywhere repeats the batch with the same keys next time, and nothing is purged early.
 */
export async function archiveAudit(db: D1Database, bucket: R2Bucket, nowMs: number): Promise<ArchiveRun> {
  const cutoff = archiveCutoff(nowMs);
  const run: ArchiveRun = { rows: 0, batches: 0, objects: 0 };
  for (let i = 0; i < ARCHIVE_BATCHES_PER_RUN; i++) {
    const after = (await archiveProgress(db))?.seq ?? 0;
    const next = await db.prepare("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?").bind(after, ARCHIVE_BATCH_ROWS).all<AuditRow>();
    const rows = archivable(next.results, cutoff);
    if (rows.length === 0) break;
    const written = (await adoptable(bucket, db, rows[0]!.seq)) ?? (await writeBatch(bucket, rows));
    await advance(db, written.index, written.key, nowMs);
    run.rows += written.index.rows;
    run.batches++;
    run.objects += written.index.objects.length;
    if (rows.length < ARCHIVE_BATCH_ROWS) break;
  }
  return run;
}

/** Rows deleted from D1 per Cron run at most. */
export const PURGE_ROWS_PER_RUN = 20000;

/**
 * Deletes rows that have left the hot window AND are archived (seq ≤ the archive's progress). Only a prefix of the
 * chain goes (every sealed row before the first row still inside the window), as with the old retention purge, so
 * the hot window's chain starts where the archive ends.
 */
export async function purgeArchived(db: D1Database, nowMs: number, hotDays: number): Promise<number> {
  const cutoff = new Date(nowMs - hotDays * 24 * 3600 * 1000).toISOString();
  const res = await db
    .prepare(
      `DELETE FROM audit_events WHERE seq IN (
         SELECT seq FROM audit_events
         WHERE hash IS NOT NULL
           AND seq <= COALESCE((SELECT seq FROM audit_archive WHERE id = 1), 0)
           AND seq < COALESCE((SELECT MIN(seq) FROM audit_events WHERE time >= ? OR hash IS NULL), (SELECT MAX(seq) + 1 FROM audit_events))
         ORDER BY seq LIMIT ?)`,
    )
    .bind(cutoff, PURGE_ROWS_PER_RUN)
    .run();
  return res.meta.changes ?? 0;
}
