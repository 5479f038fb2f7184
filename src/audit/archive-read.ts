import { verifyChain, type AuditRow, type ChainVerdict } from "./chain";
import { INDEX_PREFIX, fromJsonl, isBatchIndex, manifestKey, mergeBySeq, padSeq, type BatchIndex, type ObjectManifest } from "./archive";
import { gunzip, sha256Bytes } from "./archive-r2";

/** Index entries whose batch starts after `afterSeq`, in chain order, at most `limit`. */
export async function listBatches(bucket: R2Bucket, afterSeq: number, limit: number): Promise<{ keys: string[]; more: boolean }> {
  // Keys are `<first>-<last>.json` with padded seqs; every key of a batch starting at or before afterSeq sorts
  // before `<afterSeq padded>.` ("." > "-"), every later batch after it.
  const listed = await bucket.list({ prefix: INDEX_PREFIX, startAfter: `${INDEX_PREFIX}${padSeq(afterSeq)}.`, limit });
  return { keys: listed.objects.map((o) => o.key), more: listed.truncated };
}

export class ArchiveCorrupt extends Error {
  constructor(
    readonly seq: number,
    message: string,
  ) {
    super(message);
  }
}

export async function readIndex(bucket: R2Bucket, key: string): Promise<BatchIndex> {
  const obj = await bucket.get(key);
  const index: unknown = obj ? await obj.json().catch(() => null) : null;
  if (!isBatchIndex(index)) throw new ArchiveCorrupt(0, `index entry ${key} is missing or malformed`);
  return index;
}

/**
 * One archive object's rows, after checking its bytes against the SHA-256 the index entry and the manifest beside
 * it both recorded, and its rows against their seq range and count.
 */
export async function readObject(bucket: R2Bucket, entry: ObjectManifest): Promise<AuditRow[]> {
  const [obj, manifestObj] = await Promise.all([bucket.get(entry.key), bucket.get(manifestKey(entry.key))]);
  if (!obj) throw new ArchiveCorrupt(entry.first_seq, `archive object ${entry.key} is missing`);
  const bytes = new Uint8Array(await obj.arrayBuffer());
  const manifest = manifestObj ? ((await manifestObj.json().catch(() => null)) as Partial<ObjectManifest> | null) : null;
  const digest = await sha256Bytes(bytes);
  if (digest !== entry.sha256 || manifest?.sha256 !== entry.sha256) throw new ArchiveCorrupt(entry.first_seq, `archive object ${entry.key} does not match its manifest`);
  const rows = fromJsonl(await gunzip(bytes));
  if (rows.length !== entry.rows || rows[0]?.seq !== entry.first_seq || rows[rows.length - 1]?.seq !== entry.last_seq || rows[rows.length - 1]?.hash !== entry.head_hash) {
    throw new ArchiveCorrupt(entry.first_seq, `archive object ${entry.key} does not hold the rows its manifest lists`);
  }
  return rows;
}

/** A whole batch in chain order (every workspace's objects merged). */
export async function readBatch(bucket: R2Bucket, index: BatchIndex): Promise<AuditRow[]> {
  const rows = mergeBySeq(await Promise.all(index.objects.map((o) => readObject(bucket, o))));
  if (rows.length !== index.rows || rows[0]?.seq !== index.first_seq || rows[rows.length - 1]?.seq !== index.last_seq)
    throw new ArchiveCorrupt(index.first_seq, "a batch's objects do not add up to its index entry");
  return rows;
}

export interface ArchiveCursor {
  /** The last row verified so far (a batch head); absent at the archive's start. */
  after?: { seq: number; hash: string };
}

export type SegmentVerdict = (ChainVerdict & { ok: false }) | { ok: true; rows: number; head: { seq: number; hash: string } | null; done: boolean };

/**
 * Verifies the archive's chain from `cursor` on, batch by batch, until about `maxRows` rows are checked: each batch's
 * objects against their manifests, its rows' hashes and links, its first row's link to the previous batch's head and
 * its head against the index entry. The archive's first row's prev_hash is trusted, like D1's first kept row.
 */
export async function verifyArchiveSegment(bucket: R2Bucket, cursor: ArchiveCursor, maxRows: number): Promise<SegmentVerdict> {
  let head = cursor.after ?? null;
  let rows = 0;
  for (;;) {
    const { keys, more } = await listBatches(bucket, head?.seq ?? 0, 10);
    if (keys.length === 0) return { ok: true, rows, head, done: true };
    for (const key of keys) {
      let batch: AuditRow[];
      let index: BatchIndex;
      try {
        index = await readIndex(bucket, key);
        batch = await readBatch(bucket, index);
      } catch (e) {
        if (e instanceof ArchiveCorrupt) return { ok: false, rows, seq: e.seq || (head?.seq ?? 0) + 1, reason: "archive_corrupt" };
        throw e;
      }
      const verdict = await verifyChain(batch, null, head ?? undefined);
      if (!verdict.ok) return { ...verdict, rows: rows + verdict.rows };
      if (verdict.head?.hash !== index.head_hash || batch[0]!.prev_hash !== index.prev_hash) return { ok: false, rows, seq: index.first_seq, reason: "archive_corrupt" };
      rows += verdict.rows;
      head = verdict.head;
      if (rows >= maxRows) return { ok: true, rows, head, done: false };
    }
    if (!more && keys.length < 10) return { ok: true, rows, head, done: true };
  }
}

/** The archive's head: the last index entry's (D1's progress row says where it is; it is checked, not trusted). */
export async function archiveHead(bucket: R2Bucket, progressKey: string | undefined): Promise<{ seq: number; hash: string } | null> {
  if (!progressKey) return null;
  const index = await readIndex(bucket, progressKey).catch(() => null);
  return index ? { seq: index.last_seq, hash: index.head_hash } : null;
}

/**
 * Where D1's hot window meets the archive: D1's row at the archive head's seq must be that head, or, when D1 no longer
 * holds it, D1's first row must link to it. Rows purged from D1 but never archived show up as `archive_gap`.
 */
export function junction(d1: readonly AuditRow[], archive: { seq: number; hash: string } | null): ChainVerdict | null {
  if (!archive) return null;
  const sealed = d1.filter((r) => r.hash !== null);
  if (sealed.length === 0) return null;
  const same = sealed.find((r) => r.seq === archive.seq);
  if (same) return same.hash === archive.hash ? null : { ok: false, rows: 0, seq: archive.seq, reason: "archive_mismatch" };
  const first = sealed[0]!;
  if (first.seq > archive.seq) return first.prev_hash === archive.hash ? null : { ok: false, rows: 0, seq: first.seq, reason: "archive_gap" };
  return { ok: false, rows: 0, seq: archive.seq, reason: "archive_mismatch" };
}
