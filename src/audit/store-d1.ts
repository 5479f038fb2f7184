/**
 * The audit tables are owned by src/audit: audit_events rows are written here and in flood-d1.ts (audit_counters),
 * read through query-d1.ts, chained and sealed in seal-d1.ts (audit_anchor), verified in verify-d1.ts and moved to
 * R2 by archive-r2.ts (audit_archive). Nothing outside src/audit prepares SQL over them.
 */
import type { AuditCompletion, AuditEvent, RequestContext } from "./event";
import { AuditUnavailable } from "./unavailable";

const COLUMNS = [
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
  "db_login",
] as const;

const INSERT = `INSERT INTO audit_events (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`;

function values(e: AuditEvent, ctx: RequestContext): unknown[] {
  const n = <T>(v: T | undefined) => (v === undefined ? null : v);
  return [
    e.id,
    e.time,
    e.event,
    e.outcome,
    n(e.rule),
    ctx.requestId,
    n(e.principal),
    n(e.principalKind),
    n(e.clientId),
    n(e.clientName),
    n(ctx.userAgent?.slice(0, 256)),
    n(ctx.ip),
    n(ctx.colo),
    n(e.sessionId),
    n(e.tokenJti),
    n(e.workspace),
    n(e.tool),
    n(e.toolVersion),
    n(e.dbRole),
    n(e.sqlText),
    n(e.sqlHash),
    n(e.paramCount),
    e.params === undefined ? null : JSON.stringify(e.params),
    n(e.rows),
    n(e.bytes),
    e.truncated === undefined ? null : e.truncated ? 1 : 0,
    n(e.durationMs),
    n(e.dbMs),
    n(e.sqlstate),
    n(e.approvalId),
    n(e.detail),
    n(ctx.traceId),
    n(e.dbLogin),
  ];
}

export { AuditUnavailable };

/**
 * One audit row as a prepared statement, for a caller to put in the same `db.batch` as the decision it records:
 * the batch is one transaction, so the decision and its row commit together or not at all. With `ifChanged`
 * the row is written only when the statement just before it in the batch changed a row (`changes() > 0`), so
 * a conditional decision that did not take effect records nothing.
 */
export function auditStatement(db: D1Database, event: AuditEvent, ctx: RequestContext, opts: { ifChanged?: boolean } = {}): D1PreparedStatement {
  const sql = opts.ifChanged ? `INSERT INTO audit_events (${COLUMNS.join(", ")}) SELECT ${COLUMNS.map(() => "?").join(", ")} WHERE changes() > 0` : INSERT;
  return db.prepare(sql).bind(...values(event, ctx));
}

const CLIENT_NAME = COLUMNS.indexOf("client_name");
const CLIENT_ID = COLUMNS.indexOf("client_id");
const INTENT = `INSERT INTO audit_events (${COLUMNS.join(", ")}) SELECT ${COLUMNS.map((c) =>
  c === "client_name" ? "COALESCE(?, (SELECT substr(client_name, 1, 200) FROM oauth_clients WHERE client_id = ?))" : "?",
).join(", ")}`;

/**
 * A tool call's intent row as a prepared statement, for the batch that also reads the caller's state
 * (tools/ports-d1.ts): the client's registered name is not known before that read, so the row takes it from
 * `oauth_clients` in the same transaction when the event does not carry it.
 */
export function intentStatement(db: D1Database, event: AuditEvent, ctx: RequestContext): D1PreparedStatement {
  const v = values(event, ctx);
  return db.prepare(INTENT).bind(...v.slice(0, CLIENT_NAME + 1), v[CLIENT_ID], ...v.slice(CLIENT_NAME + 1));
}

/** Writes one audit row and resolves only once D1 has accepted it (the fail-closed intent of docs/security.md step 4). */
export async function recordAudit(db: D1Database, event: AuditEvent, ctx: RequestContext): Promise<void> {
  try {
    await db
      .prepare(INSERT)
      .bind(...values(event, ctx))
      .run();
  } catch (cause) {
    throw new AuditUnavailable("audit store refused the event", { cause });
  }
}

/**
 * Completes a `started` row exactly once: the WHERE clause makes a retried completion a no-op. A row the sealer
 * already chained (a call that outlived the seal grace period) is never edited; its completion is recorded as a
 * row of its own, `tool.call.completed`, naming the call's id in `detail`.
 */
export async function completeAudit(db: D1Database, id: string, c: AuditCompletion): Promise<void> {
  const n = <T>(v: T | undefined) => (v === undefined ? null : v);
  const res = await db
    .prepare(
      "UPDATE audit_events SET outcome = ?, rule = ?, rows = ?, bytes = ?, truncated = ?, duration_ms = ?, db_ms = ?, sqlstate = ?, detail = ? WHERE id = ? AND outcome = 'started' AND hash IS NULL",
    )
    .bind(c.outcome, n(c.rule), n(c.rows), n(c.bytes), c.truncated === undefined ? null : c.truncated ? 1 : 0, c.durationMs, n(c.dbMs), n(c.sqlstate), n(c.detail), id)
    .run();
  if ((res.meta.changes ?? 0) === 1) return;
  await db
    .prepare(
      `INSERT INTO audit_events (id, time, event, outcome, rule, request_id, principal, principal_kind, client_id, session_id, token_jti, workspace, tool, tool_version, db_role, db_login, rows, bytes, truncated, duration_ms, db_ms, sqlstate, detail)
       SELECT ?, ?, 'tool.call.completed', ?, ?, request_id, principal, principal_kind, client_id, session_id, token_jti, workspace, tool, tool_version, db_role, db_login, ?, ?, ?, ?, ?, ?, ? FROM audit_events
       WHERE id = ? AND outcome = 'started' AND hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_events WHERE id = ?)`,
    )
    .bind(
      `${id}-done`,
      new Date().toISOString(),
      c.outcome,
      n(c.rule),
      n(c.rows),
      n(c.bytes),
      c.truncated === undefined ? null : c.truncated ? 1 : 0,
      c.durationMs,
      n(c.dbMs),
      n(c.sqlstate),
      `completes ${id}`,
      id,
      `${id}-done`,
    )
    .run();
}

/** Deletes the not-yet-sealed rows of one synthetic event (the dev stack's audit-insert benchmark cleans up after itself). */
export async function deleteUnsealedEvents(db: D1Database, event: string): Promise<void> {
  await db.prepare("DELETE FROM audit_events WHERE event = ? AND hash IS NULL").bind(event).run();
}
