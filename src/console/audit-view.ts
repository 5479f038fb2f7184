import { AUDIT_FILTERS } from "../audit/query";
import type { AuditScope } from "../audit/visibility";

/** The explorer's filters: a subset of the audit API's (src/audit/query.ts), same column conditions. */
export const EXPLORER_FILTERS = ["principal", "client", "tool", "outcome", "event", "from", "to"] as const;
export type ExplorerFilter = (typeof EXPLORER_FILTERS)[number];
export type Filters = Partial<Record<ExplorerFilter, string>>;

export const OUTCOMES = ["ok", "error", "denied", "blocked", "pending_approval", "rate_limited", "invalid_arguments", "started"] as const;

/** A browser's datetime-local value (`2026-11-29T20:15`) or an ISO time, as the ISO UTC text audit rows store. */
export function isoTime(raw: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d{1,3})?)?Z?$/.exec(raw);
  if (!m) return null;
  const t = Date.parse(`${m[1]}T${m[2]}${m[3] ?? ":00"}Z`);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/**
 * Reads the filters from a query string: empty fields are absent, values are bounded, times are normalised, an
 * unknown outcome or an unreadable time is an error (never silently ignored). `before` is the keyset cursor.
 */
export function readFilters(q: URLSearchParams): { ok: true; filters: Filters; before: number | null } | { ok: false; message: string } {
  const filters: Filters = {};
  for (const key of EXPLORER_FILTERS) {
    const v = q.get(key)?.trim();
    if (!v) continue;
    if (v.length > 200) return { ok: false, message: `${key} is too long.` };
    if (key === "outcome" && !(OUTCOMES as readonly string[]).includes(v)) return { ok: false, message: `outcome must be one of ${OUTCOMES.join(", ")}.` };
    if (key === "from" || key === "to") {
      const t = isoTime(v);
      if (!t) return { ok: false, message: `${key} must be a time like 2026-11-29T20:15.` };
      filters[key] = t;
    } else filters[key] = v;
  }
  const rawBefore = q.get("before");
  const before = rawBefore ? Number(rawBefore) : null;
  if (before !== null && (!Number.isInteger(before) || before < 1)) return { ok: false, message: "before must be a row number." };
  return { ok: true, filters, before };
}

/** The WHERE clause of the filtered view inside what the admin may read (audit/visibility.ts). */
export function whereOf(filters: Filters, scope: AuditScope, opts: { eventDefault?: string } = {}): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  for (const key of EXPLORER_FILTERS) {
    const v = filters[key];
    if (v === undefined) continue;
    conditions.push(AUDIT_FILTERS[key]);
    params.push(v);
  }
  if (filters.event === undefined && opts.eventDefault) {
    conditions.push(AUDIT_FILTERS.event);
    params.push(opts.eventDefault);
  }
  if (scope.kind === "workspace") {
    conditions.push("workspace = ?");
    params.push(scope.workspace);
  }
  return { where: conditions.length ? conditions.join(" AND ") : "1 = 1", params };
}

/** The query string of a filtered view (for links: next page, exports). */
export function filterQuery(filters: Filters, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const key of EXPLORER_FILTERS) if (filters[key] !== undefined) q.set(key, filters[key]!);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const CHART_BUCKETS = 24;

/** The chart's window: the filter's time range, or the last 24 hours; split into CHART_BUCKETS equal buckets. */
export function chartWindow(filters: Filters, nowMs: number): { fromMs: number; toMs: number; bucketMs: number } {
  const toMs = filters.to ? Date.parse(filters.to) : nowMs;
  const fromMs = filters.from ? Date.parse(filters.from) : toMs - 24 * 3600 * 1000;
  const span = Math.max(toMs - fromMs, CHART_BUCKETS * 1000);
  return { fromMs, toMs: fromMs + span, bucketMs: Math.ceil(span / CHART_BUCKETS) };
}

export interface Bucket {
  startMs: number;
  counts: Partial<Record<string, number>>;
}

/** Fills every bucket of the window (empty ones too) from `(bucket index, outcome, count)` rows. */
export function buckets(rows: ReadonlyArray<{ b: number; outcome: string; n: number }>, w: { fromMs: number; bucketMs: number }): Bucket[] {
  const out: Bucket[] = Array.from({ length: CHART_BUCKETS }, (_, i) => ({ startMs: w.fromMs + i * w.bucketMs, counts: {} }));
  for (const r of rows) {
    const bucket = out[r.b];
    if (bucket) bucket.counts[r.outcome] = (bucket.counts[r.outcome] ?? 0) + r.n;
  }
  return out;
}
