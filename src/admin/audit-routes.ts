import { Hono } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { auditQuery, toCsv } from "../audit/query";
import { sealAudit } from "../audit/seal-d1";
import { auditAnchor, auditRowsAscending } from "../audit/query-d1";
import type { AuditRow } from "../audit/chain";
import { verifyDeploymentChain, verifyWithArchive } from "../audit/verify-d1";
import { archiveFilter, exportArchived, type ArchivePage } from "../audit/archive-export";
import { archiveProgress } from "../audit/archive-r2";
import { ArchiveCorrupt } from "../audit/archive-read";
import { auditScope, parseOperators, type AuditScope } from "../audit/visibility";

/** Audit reading (docs/audit.md): query with filters and a seq cursor, export as JSONL or CSV, seal and verify. */
export const auditRoutes = new Hono<AppEnv>();

export const COLUMNS = [
  "seq",
  "id",
  "time",
  "event",
  "outcome",
  "rule",
  "request_id",
  "principal",
  "principal_kind",
  "client_id",
  "client_name",
  "user_agent",
  "ip",
  "colo",
  "session_id",
  "token_jti",
  "workspace",
  "tool",
  "tool_version",
  "db_role",
  "db_login",
  "sql_text",
  "sql_hash",
  "param_count",
  "params",
  "rows",
  "bytes",
  "truncated",
  "duration_ms",
  "db_ms",
  "sqlstate",
  "approval_id",
  "detail",
  "trace_id",
  "prev_hash",
  "hash",
] as const;

/**
 * A workspace admin reads its own workspace's rows only; rows of no workspace and other workspaces' rows are for
 * the deployment's operators (audit/visibility.ts). The chain check (`/verify`) covers every row of the deployment
 * but returns only its verdict.
 */
async function select(db: D1Database, params: URLSearchParams, maxLimit: number, scope: AuditScope) {
  const q = auditQuery(params, maxLimit);
  if (!q.ok) return q;
  const own = scope.kind === "deployment" ? "" : " AND workspace = ?";
  const bind: string[] = scope.kind === "deployment" ? [] : [scope.workspace];
  const rows = await auditRowsAscending<AuditRow>(db, `${q.query.where}${own}`, [...q.query.params, ...bind], q.query.limit);
  const next = rows.length === q.query.limit ? rows[rows.length - 1]!.seq : null;
  return { ok: true as const, rows, next };
}

const scopeOf = (principal: Parameters<typeof auditScope>[0], operators: unknown): AuditScope => auditScope(principal, parseOperators(operators));

auditRoutes.get("/", async (c) => {
  const r = await select(c.env.DB, new URL(c.req.url).searchParams, 1000, scopeOf(c.get("caller").principal, c.env.OPERATORS));
  if (!r.ok) return c.json({ error: "invalid_request", error_description: r.message }, 400);
  return c.json({ rows: r.rows, next: r.next });
});

// Export pages of up to 10,000 rows; X-Next-Cursor carries the `after` value for the next page.
auditRoutes.get("/export", async (c) => {
  const params = new URL(c.req.url).searchParams;
  if (!params.has("limit")) params.set("limit", "10000");
  const format = params.get("format") ?? "jsonl";
  if (format !== "jsonl" && format !== "csv") return c.json({ error: "invalid_request", error_description: "format is jsonl or csv" }, 400);
  const r = await select(c.env.DB, params, 10000, scopeOf(c.get("caller").principal, c.env.OPERATORS));
  if (!r.ok) return c.json({ error: "invalid_request", error_description: r.message }, 400);
  if (r.next !== null) c.header("X-Next-Cursor", String(r.next));
  c.header("Cache-Control", "no-store");
  if (format === "csv") return c.body(toCsv(r.rows, COLUMNS), 200, { "Content-Type": "text/csv; charset=utf-8" });
  return c.body(r.rows.map((row) => JSON.stringify(row)).join("\n") + (r.rows.length ? "\n" : ""), 200, { "Content-Type": "application/x-ndjson" });
});

auditRoutes.get("/anchor", async (c) => c.json((await auditAnchor(c.env.DB)) ?? null));

auditRoutes.post("/seal", async (c) => c.json({ sealed: await sealAudit(c.env.DB, nowSeconds() * 1000) }));

// Seals, then verifies the deployment's whole chain server-side. A workspace's rows are links of that one chain,
// so a workspace admin gets the same verdict as an operator (intact or where it breaks), never other rows' content.
// `archive=1` verifies the R2 archive first, in bounded steps (`after`/`prev` continue where `next` said).
auditRoutes.get("/verify", async (c) => {
  const q = new URL(c.req.url).searchParams;
  if (q.get("archive") !== "1") return c.json(await verifyDeploymentChain(c.env.DB, c.env));
  const after = q.get("after");
  const prev = q.get("prev");
  if ((after === null) !== (prev === null) || (after !== null && !/^[1-9][0-9]{0,14}$/.test(after)) || (prev !== null && !/^[0-9a-f]{64}$/.test(prev))) {
    return c.json({ error: "invalid_request", error_description: "after (a row sequence number) and prev (its hash) go together" }, 400);
  }
  const cursor = after !== null && prev !== null ? { after: { seq: Number(after), hash: prev } } : {};
  return c.json(await verifyWithArchive(c.env.DB, c.env, cursor, 50_000));
});

// Archived rows (R2) in chain order, in the admin's audit scope, with the same filters as /export; the CLI's
// `audit export` reads these pages first and then D1's rows after X-Archive-End (docs/audit.md "Archive").
auditRoutes.get("/archive", async (c) => {
  const params = new URL(c.req.url).searchParams;
  const format = params.get("format") ?? "jsonl";
  if (format !== "jsonl" && format !== "csv") return c.json({ error: "invalid_request", error_description: "format is jsonl or csv" }, 400);
  const after = Number(params.get("after") ?? 0);
  if (!Number.isInteger(after) || after < 0) return c.json({ error: "invalid_request", error_description: "after must be a row sequence number" }, 400);
  const filter = archiveFilter(params);
  if (!filter.ok) return c.json({ error: "invalid_request", error_description: filter.message }, 400);
  const end = c.env.AUDIT_ARCHIVE ? ((await archiveProgress(c.env.DB))?.seq ?? 0) : 0;
  c.header("X-Archive-End", String(end));
  c.header("Cache-Control", "no-store");
  let page: ArchivePage = { rows: [], next: null };
  if (c.env.AUDIT_ARCHIVE && end > 0) {
    try {
      page = await exportArchived(c.env.AUDIT_ARCHIVE, scopeOf(c.get("caller").principal, c.env.OPERATORS), filter, after, end, 10_000);
    } catch (e) {
      if (e instanceof ArchiveCorrupt) return c.json({ error: "archive_corrupt", error_description: "an archive object does not match its manifest; run `gatehouse audit verify --archive`" }, 502);
      throw e;
    }
  }
  if (page.next !== null) c.header("X-Next-Cursor", String(page.next));
  if (format === "csv") return c.body(toCsv(page.rows, COLUMNS), 200, { "Content-Type": "text/csv; charset=utf-8" });
  return c.body(page.rows.map((row) => JSON.stringify(row)).join("\n") + (page.rows.length ? "\n" : ""), 200, { "Content-Type": "application/x-ndjson" });
});
