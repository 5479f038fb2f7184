import type { ToolDefinition } from "../policy/types";

export interface Statement {
  text: string;
  params: unknown[];
}

/**
 * The statement actually sent for a read tool (docs/security.md step 5): a leading comment naming the audit id and tool
 * (visible in pg_stat_activity and Postgres logs), the tool's SQL as a subquery, and a bound `LIMIT maxRows + 1`
 * whose extra row proves truncation. Values are bound as $n parameters, never interpolated.
 */
export function readStatement(tool: ToolDefinition, values: unknown[], auditId: string, traceId?: string): Statement {
  return wrappedSelect(tool.sql, tool, values, auditId, traceId);
}

/**
 * The same wrapping for a guarded execute_sql statement (which binds no values). The newlines around the body
 * keep a trailing `--` comment from swallowing the wrapper's `) … LIMIT`.
 */
export function wrappedSelect(sql: string, tool: ToolDefinition, values: unknown[], auditId: string, traceId?: string): Statement {
  const body = stripTrailingSemicolons(sql);
  const limitParam = values.length + 1;
  return {
    text: `${auditComment(auditId, tool.name, traceId)}\nSELECT * FROM (\n${body}\n) AS gatehouse_result LIMIT $${limitParam}`,
    params: [...values, tool.limits.maxRows + 1],
  };
}

/**
 * Only identifier-safe characters reach the comment, so it can never close itself early. The W3C trace id, when
 * the client sent one, joins Postgres's log line to the client's trace and the audit row (which holds both ids).
 */
export function auditComment(auditId: string, toolName: string, traceId?: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.:-]/g, "_");
  return `/* gatehouse audit=${safe(auditId)} tool=${safe(toolName)}${traceId ? ` trace=${safe(traceId)}` : ""} */`;
}

/**
 * Drops trailing semicolons and whitespace as Postgres defines whitespace (space, tab, newline, carriage return,
 * form feed, vertical tab). JavaScript's \s also matches Unicode spaces, which Postgres reads as identifier
 * characters: stripping those would change the statement the guard approved.
 */
function stripTrailingSemicolons(sql: string): string {
  return sql.replace(/[ \t\n\r\f\v;]+$/, "");
}

/**
 * The statement sent for a write tool (README "Write tools and approvals"): the tool's INSERT/UPDATE/DELETE … RETURNING runs as a
 * data-modifying CTE and the outer SELECT counts the changed rows. When more than max_affected_rows changed, the
 * count's CASE yields a name whose cast to regclass fails with SQLSTATE 3F000 (invalid_schema_name) at run time,
 * which aborts the transaction: nothing is committed. The name is not constant, so it is never folded at plan
 * time, and no tool statement can raise 3F000 at run time otherwise (an unknown schema fails at parse time).
 */
export const TOO_MANY_ROWS_SQLSTATE = "3F000";

export function writeStatement(tool: ToolDefinition, values: unknown[], auditId: string, traceId?: string): Statement {
  const body = stripTrailingSemicolons(tool.sql);
  const limitParam = values.length + 1;
  return {
    text: `${auditComment(auditId, tool.name, traceId)}\nWITH gatehouse_changed AS (\n${body}\n)\nSELECT count(*)::int AS affected_rows, (CASE WHEN count(*) > $${limitParam} THEN 'gatehouse_limit.max_affected_rows_exceeded' END)::regclass AS limit_check FROM gatehouse_changed`,
    params: [...values, tool.limits.maxAffectedRows ?? 1],
  };
}
