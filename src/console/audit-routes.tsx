/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { COLUMNS } from "../admin/audit-routes";
import { toCsv } from "../audit/query";
import { auditScope, parseOperators, type AuditScope } from "../audit/visibility";
import { verifyDeploymentChain } from "../audit/verify-d1";
import { auditAnchor, auditOutcomeBuckets, auditRowBySeq, auditRowsDescending } from "../audit/query-d1";
import type { ChainVerdict } from "../audit/chain";
import { nowSeconds } from "../lib/clock";
import { recordOAuthEvent } from "../oauth/audit";
import { CONSOLE_CLIENT_ID } from "./session";
import { auditConsoleRefusal, type ConsoleUser } from "./auth";
import { AuditPage, AuditRowPage, type AuditListRow } from "./audit-pages";
import { buckets, chartWindow, readFilters, whereOf, type Filters } from "./audit-view";
import { forbidden, page, signedIn } from "./guard";
import { MessagePage } from "./pages";

/** Audit explorer (docs/audit.md, §8): admins only, within what their audit scope lets them read. */
export const auditConsole = new Hono<AppEnv>();

const PAGE = 50;

/** Admins only; anyone else signed in (an approver) gets the audited 403. */
function admin(c: Context<AppEnv>, run: (user: ConsoleUser, scope: AuditScope, form: FormData | null) => Promise<Response>): Promise<Response> {
  return signedIn(c, async (user, form) => {
    if (!user.roles.admin) {
      await auditConsoleRefusal(c, "not_admin", { principal: user.principal, workspace: user.workspace });
      return forbidden(c);
    }
    return run(user, auditScope({ id: user.principal, kind: "user", workspace: user.workspace }, parseOperators(c.env.OPERATORS)), form);
  });
}

async function explorer(c: Context<AppEnv>, user: ConsoleUser, scope: AuditScope, verdict?: ChainVerdict): Promise<Response> {
  const read = readFilters(new URL(c.req.url).searchParams);
  const filters: Filters = read.ok ? read.filters : {};
  const before = read.ok ? read.before : null;
  const { where, params } = whereOf(filters, scope);
  const rows = await auditRowsDescending<AuditListRow>(
    c.env.DB,
    `${where}${before !== null ? " AND seq < ?" : ""}`,
    [...params, ...(before !== null ? [before] : [])],
    PAGE,
    "seq, time, event, outcome, rule, principal, client_id, tool",
  );
  // The chart counts tool calls (or the chosen event) in the window, by outcome.
  const w = chartWindow(filters, nowSeconds() * 1000);
  const chartWhere = whereOf(filters, scope, { eventDefault: "tool.call" });
  const chartRows = await auditOutcomeBuckets(c.env.DB, chartWhere.where, chartWhere.params, new Date(w.fromMs).toISOString(), new Date(w.toMs).toISOString(), w.bucketMs);
  const anchor = await auditAnchor(c.env.DB);
  const title = `${filters.event ?? "Tool calls"} by outcome, ${new Date(w.fromMs).toISOString().slice(0, 16)} to ${new Date(w.toMs).toISOString().slice(0, 16)} UTC`;
  return page(c, read.ok ? 200 : 400, (n) => (
    <AuditPage
      nonce={n}
      user={user}
      filters={filters}
      rows={rows}
      next={rows.length === PAGE ? rows[rows.length - 1]!.seq : null}
      buckets={buckets(chartRows, w)}
      chartTitle={title}
      anchor={anchor}
      {...(verdict ? { verdict } : {})}
      {...(read.ok ? {} : { error: read.message })}
    />
  ));
}

auditConsole.get("/", (c) => admin(c, (user, scope) => explorer(c, user, scope)));

// The filtered view as a file: newest first, at most 10,000 rows (the admin API pages further).
auditConsole.get("/export", (c) =>
  admin(c, async (user, scope) => {
    const q = new URL(c.req.url).searchParams;
    const read = readFilters(q);
    const format = q.get("format");
    if (!read.ok || (format !== "jsonl" && format !== "csv"))
      return page(c, 400, (n) => <MessagePage nonce={n} user={user} title="Export refused" message={read.ok ? "format is jsonl or csv." : read.message} />);
    const { where, params } = whereOf(read.filters, scope);
    const rows = await auditRowsDescending<Record<string, unknown>>(c.env.DB, where, params, 10000);
    c.header("Cache-Control", "no-store");
    c.header("Content-Disposition", `attachment; filename="gatehouse-audit.${format}"`);
    if (format === "csv") return c.body(toCsv(rows, COLUMNS), 200, { "Content-Type": "text/csv; charset=utf-8" });
    return c.body(rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : ""), 200, { "Content-Type": "application/x-ndjson" });
  }),
);

// Seal and verify the whole chain; only the verdict is shown.
// Each verification is itself an audit row (audit.verify), which the overview shows as the last check.
auditConsole.post("/verify", (c) =>
  admin(c, async (user, scope) => {
    // Also against the R2 archive's head and the latest signed chain head, like the admin API (docs/audit.md).
    const verdict = await verifyDeploymentChain(c.env.DB, c.env);
    await recordOAuthEvent(c, {
      event: "audit.verify",
      outcome: verdict.ok ? "ok" : "error",
      ...(verdict.ok ? {} : { rule: verdict.reason }),
      principal: user.principal,
      principalKind: "user",
      clientId: CONSOLE_CLIENT_ID,
      workspace: user.workspace,
      detail: verdict.ok ? `${verdict.rows} rows intact` : `broken at row ${verdict.seq}`,
    });
    return explorer(c, user, scope, verdict);
  }),
);

auditConsole.get("/:seq", (c) =>
  admin(c, async (user, scope) => {
    const seq = Number(c.req.param("seq"));
    const row = Number.isInteger(seq) && seq > 0 ? await auditRowBySeq(c.env.DB, seq) : null;
    if (!row || (scope.kind === "workspace" && row.workspace !== scope.workspace))
      return page(c, 404, (n) => <MessagePage nonce={n} user={user} title="No such row" message="There is no audit row with this number in your view." />);
    return page(c, 200, (n) => <AuditRowPage nonce={n} user={user} row={row} />);
  }),
);
