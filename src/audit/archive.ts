import { canonicalJson } from "../lib/canonical-json";
import type { AuditRow } from "./chain";

/**
 * The audit archive's layout in R2 (docs/audit.md "Archive"). Sealed rows leave D1's hot window only through it.
 *
 * A batch is a run of consecutive sealed rows of the chain (seq order). Each batch is written as one gzip JSONL object
 * per workspace and UTC day, each object with a manifest beside it, and then one index entry for the whole batch,
 * keyed by its seq range, which is what a reader walks in chain order. Keys are deterministic (the rows decide them),
 * so a run that is repeated after a failure writes the same objects again.
 */

/** Rows that belong to no workspace; workspace names start with a letter (policy/validate.ts), so it cannot clash. */
export const NO_WORKSPACE = "_none";
export const OBJECT_PREFIX = "audit/";
export const INDEX_PREFIX = "audit-index/";

/** Rows per batch (one D1 read, a few objects, one index entry) and batches per Cron run: the run's bounded work. */
export const ARCHIVE_BATCH_ROWS = 5000;
export const ARCHIVE_BATCHES_PER_RUN = 4;

/** Seq numbers in keys are zero-padded so that R2's lexicographic listing is seq order. */
export function padSeq(seq: number): string {
  return String(seq).padStart(15, "0");
}

export function indexKey(firstSeq: number, lastSeq: number): string {
  return `${INDEX_PREFIX}${padSeq(firstSeq)}-${padSeq(lastSeq)}.json`;
}

/** The listing prefix of the index entry that starts at `firstSeq` (whatever its end). */
export function indexPrefixFor(firstSeq: number): string {
  return `${INDEX_PREFIX}${padSeq(firstSeq)}-`;
}

export function objectKey(workspace: string, day: string, firstSeq: number, lastSeq: number): string {
  return `${OBJECT_PREFIX}${workspace}/${day}/${padSeq(firstSeq)}-${padSeq(lastSeq)}.jsonl.gz`;
}

export function manifestKey(objectKey: string): string {
  return objectKey.replace(/\.jsonl\.gz$/, ".manifest.json");
}

/** What the manifest beside an object says about it, and what the batch's index entry lists. */
export interface ObjectManifest {
  key: string;
  workspace: string;
  day: string;
  first_seq: number;
  last_seq: number;
  rows: number;
  /** The hash of the object's last row: the chain head as far as this object goes. */
  head_hash: string;
  /** SHA-256 (hex) of the object's bytes as stored (gzip). */
  sha256: string;
  bytes: number;
}

export interface BatchIndex {
  version: 1;
  first_seq: number;
  last_seq: number;
  rows: number;
  /** prev_hash of the batch's first row: the previous batch's head_hash. */
  prev_hash: string;
  head_hash: string;
  time_min: string;
  time_max: string;
  objects: ObjectManifest[];
}

/** A partition of a batch before it is compressed: its rows in seq order, as JSON lines. */
export interface Partition {
  workspace: string;
  day: string;
  rows: AuditRow[];
  jsonl: string;
}

/**
 * The prefix of `rows` (seq order, after the last archived row) that may be archived now: sealed rows written before
 * `cutoffIso`. It stops at the first row that is not, so batches are always consecutive runs of the chain.
 */
export function archivable(rows: readonly AuditRow[], cutoffIso: string): AuditRow[] {
  const out: AuditRow[] = [];
  for (const row of rows) {
    if (row.hash === null || row.prev_hash === null || String(row.time) >= cutoffIso) break;
    out.push(row);
  }
  return out;
}

/** The start of the current UTC hour: rows of a finished hour are archived, so objects are few and stay whole. */
export function archiveCutoff(nowMs: number): string {
  return new Date(Math.floor(nowMs / 3_600_000) * 3_600_000).toISOString();
}

/** One JSON line per row, keys sorted (the same text whatever column order D1 returns). */
export function toJsonl(rows: readonly AuditRow[]): string {
  return `${rows.map((r) => canonicalJson(r)).join("\n")}\n`;
}

/** Splits a batch into partitions by workspace and UTC day, in a deterministic order. */
export function partition(rows: readonly AuditRow[]): Partition[] {
  const groups = new Map<string, AuditRow[]>();
  for (const row of rows) {
    const ws = typeof row.workspace === "string" && row.workspace !== "" ? row.workspace : NO_WORKSPACE;
    const key = `${ws}\u0000${String(row.time).slice(0, 10)}`;
    const list = groups.get(key);
    if (list) list.push(row);
    else groups.set(key, [row]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, list]) => {
      const [workspace, day] = key.split("\u0000") as [string, string];
      return { workspace, day, rows: list, jsonl: toJsonl(list) };
    });
}

/** The index entry of a batch once its objects are written. */
export function batchIndex(rows: readonly AuditRow[], objects: ObjectManifest[]): BatchIndex {
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  let min = String(first.time);
  let max = min;
  for (const r of rows) {
    const t = String(r.time);
    if (t < min) min = t;
    if (t > max) max = t;
  }
  return { version: 1, first_seq: first.seq, last_seq: last.seq, rows: rows.length, prev_hash: String(first.prev_hash), head_hash: String(last.hash), time_min: min, time_max: max, objects };
}

/** Parses JSON lines back into rows. */
export function fromJsonl(text: string): AuditRow[] {
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AuditRow);
}

/** Merges the partitions of one batch back into chain order. */
export function mergeBySeq(parts: ReadonlyArray<readonly AuditRow[]>): AuditRow[] {
  return parts.flat().sort((a, b) => a.seq - b.seq);
}

/** Type guard for an index entry read back from R2 (it is data, checked before use). */
export function isBatchIndex(v: unknown): v is BatchIndex {
  if (typeof v !== "object" || v === null) return false;
  const b = v as Partial<BatchIndex>;
  return (
    b.version === 1 &&
    Number.isInteger(b.first_seq) &&
    Number.isInteger(b.last_seq) &&
    Number.isInteger(b.rows) &&
    typeof b.prev_hash === "string" &&
    typeof b.head_hash === "string" &&
    Array.isArray(b.objects)
  );
}
