import type { AuditRow } from "./chain";
import { NO_WORKSPACE, mergeBySeq } from "./archive";
import { listBatches, readIndex, readObject } from "./archive-read";
import { AUDIT_FILTERS } from "./query";
import type { AuditScope } from "./visibility";

/** Columns the equality filters of the audit API compare (query.ts AUDIT_FILTERS), for rows read from the archive. */
const COLUMN: Record<string, string> = {
  principal: "principal",
  client: "client_id",
  tool: "tool",
  outcome: "outcome",
  event: "event",
  session: "session_id",
  jti: "token_jti",
  login: "db_login",
  workspace: "workspace",
};

export type RowFilter = (row: AuditRow) => boolean;

/** The audit API's filters as a predicate over archived rows; unknown parameters are an error, as for D1. */
export function archiveFilter(params: URLSearchParams): { ok: true; filter: RowFilter; from?: string; to?: string } | { ok: false; message: string } {
  const checks: RowFilter[] = [];
  let from: string | undefined;
  let to: string | undefined;
  for (const key of new Set(params.keys())) {
    if (key === "after" || key === "limit" || key === "format") continue;
    if (!Object.hasOwn(AUDIT_FILTERS, key)) return { ok: false, message: `unknown filter "${key}"; filters: ${Object.keys(AUDIT_FILTERS).join(", ")}, after, limit` };
    const value = params.get(key) ?? "";
    if (key === "from") from = value;
    else if (key === "to") to = value;
    else if (key === "workspace" && value === "") checks.push((r) => r.workspace === null || r.workspace === undefined);
    else {
      const column = COLUMN[key]!;
      checks.push((r) => r[column] === value);
    }
  }
  if (from !== undefined) checks.push((r) => String(r.time) >= from!);
  if (to !== undefined) checks.push((r) => String(r.time) < to!);
  return { ok: true, filter: (r) => checks.every((c) => c(r)), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

export interface ArchivePage {
  rows: AuditRow[];
  /** The `after` of the next page, or null when the archive (up to `end`) is exhausted. */
  next: number | null;
}

/**
 * Archived rows in chain order, batch by batch after `after`, up to the archive's recorded end (`endSeq`, the rows
 * D1's export continues after): only the objects of the admin's workspace unless the admin is an operator
 * (audit/visibility.ts), batches outside [from, to) skipped by their time range. Stops after about `maxRows` rows.
 */
export async function exportArchived(
  bucket: R2Bucket,
  scope: AuditScope,
  filter: { filter: RowFilter; from?: string; to?: string },
  after: number,
  endSeq: number,
  maxRows: number,
): Promise<ArchivePage> {
  const rows: AuditRow[] = [];
  let cursor = after;
  for (;;) {
    const { keys } = await listBatches(bucket, cursor, 20);
    if (keys.length === 0) return { rows, next: null };
    for (const key of keys) {
      const index = await readIndex(bucket, key);
      if (index.last_seq > endSeq) return { rows, next: null };
      cursor = index.last_seq;
      if ((filter.to !== undefined && index.time_min >= filter.to) || (filter.from !== undefined && index.time_max < filter.from)) continue;
      const objects = index.objects.filter((o) => (scope.kind === "deployment" ? true : o.workspace === scope.workspace && o.workspace !== NO_WORKSPACE));
      const batch = mergeBySeq(await Promise.all(objects.map((o) => readObject(bucket, o))));
      for (const row of batch) if ((scope.kind === "deployment" || row.workspace === scope.workspace) && filter.filter(row)) rows.push(row);
      if (rows.length >= maxRows) return { rows, next: cursor };
    }
  }
}
