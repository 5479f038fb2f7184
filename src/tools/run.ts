import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Bindings, Caller } from "../env";
import { readSecret } from "../env";
import type { ToolDefinition } from "../policy/types";
import type { AuditCompletion, AuditEvent, RequestContext } from "../audit/event";
import { AuditUnavailable, completeAudit, recordAudit } from "../audit/store-d1";
import { randomId, sha256Hex } from "../lib/sha256";
import { bindArguments } from "./arguments";
import { mapSqlState } from "./pg-errors";
import { renderTable, shapeResult } from "./result";
import { readStatement, wrappedSelect, type Statement } from "./statement";
import { configureNeon, runReadOnly } from "./neon";
import { guardSql } from "../guard/index";

export interface CallDeps {
  env: Bindings;
  request: RequestContext;
  /** Milliseconds since the epoch. */
  now: () => number;
  waitUntil: (p: Promise<unknown>) => void;
  neonLocalEndpoint: string | undefined;
}

export function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

function baseEvent(caller: Caller, tool: ToolDefinition, id: string, time: number): AuditEvent {
  return {
    id,
    time: new Date(time).toISOString(),
    event: "tool.call",
    outcome: "started",
    principal: caller.principal.id,
    principalKind: caller.principal.kind,
    clientId: caller.claims.client_id,
    sessionId: caller.claims.sid,
    tokenJti: caller.claims.jti,
    workspace: caller.principal.workspace,
    tool: tool.name,
    toolVersion: tool.version,
    dbRole: tool.dbRole,
    sqlText: tool.sql,
  };
}

type Prepared = { ok: true; statement: Statement } | { ok: false; result: CallToolResult };

/**
 * Runs a granted read or guarded-SQL tool (DESIGN §5 steps 2–7): validate and bind arguments (and, for
 * execute_sql, run the guard), record the audit intent durably (refusing the call if the audit store cannot
 * take it), execute on the tool's own credential, shape the result, and complete the audit row without holding
 * the response.
 */
export async function callTool(deps: CallDeps, caller: Caller, tool: ToolDefinition, args: unknown): Promise<CallToolResult> {
  const started = deps.now();
  const auditId = randomId();
  const event = baseEvent(caller, tool, auditId, started);
  event.paramCount = tool.bind.length;
  const refuse = (outcome: AuditEvent["outcome"], rule: string, message: string): { ok: false; result: CallToolResult } => {
    deps.waitUntil(recordAudit(deps.env.DB, { ...event, outcome, rule, durationMs: deps.now() - started }, deps.request).catch(() => undefined));
    return { ok: false, result: toolError(message) };
  };

  const bound = bindArguments(tool, args, caller.principal);
  if (!bound.ok) {
    event.sqlHash = await sha256Hex(tool.sql);
    return refuse("invalid_arguments", "input_schema", bound.message).result;
  }
  event.params = bound.redacted;

  let prepared: Prepared;
  if (tool.kind === "read") {
    event.sqlHash = await sha256Hex(tool.sql);
    prepared = { ok: true, statement: readStatement(tool, bound.values, auditId) };
  } else if (tool.kind === "sql") {
    // The submitted SQL is what the audit must show (DESIGN §7); the guard decides before any database call.
    const sql = String((args as { sql: unknown }).sql);
    event.sqlText = sql;
    event.sqlHash = await sha256Hex(sql);
    event.params = {};
    const verdict = await guardSql(sql, { allowedRelations: tool.relations ?? [] });
    prepared = verdict.ok ? { ok: true, statement: wrappedSelect(sql, tool, [], auditId) } : refuse("blocked", `guard:${verdict.rule}`, `Refused by the SQL guard (${verdict.message}). Nothing was run.`);
  } else {
    prepared = refuse("denied", "unsupported_kind", `${tool.name} is a ${tool.kind} tool, which this gateway version does not run.`);
  }
  if (!prepared.ok) return prepared.result;

  const connectionString = readSecret(deps.env, tool.secret);
  if (!connectionString) return refuse("error", "credential_missing", `${tool.name} is not available: its database credential is not configured.`).result;

  try {
    await recordAudit(deps.env.DB, event, deps.request);
  } catch (e) {
    if (e instanceof AuditUnavailable) return toolError("The call was refused because the audit log is unavailable. Nothing was run. Try again later.");
    throw e;
  }
  const finish = (c: Omit<AuditCompletion, "durationMs">) => deps.waitUntil(completeAudit(deps.env.DB, auditId, { ...c, durationMs: deps.now() - started }).catch(() => undefined));

  configureNeon(deps.neonLocalEndpoint);
  const outcome = await runReadOnly(connectionString, prepared.statement, tool.limits.timeoutMs, deps.now);
  if (!outcome.ok) {
    if (outcome.kind === "db_error") {
      const mapped = mapSqlState(outcome.sqlstate, tool.limits);
      finish({ outcome: "error", rule: mapped.rule, sqlstate: outcome.sqlstate, dbMs: outcome.dbMs });
      return toolError(mapped.message);
    }
    finish({ outcome: "error", rule: outcome.kind === "too_large" ? "result_too_large" : outcome.kind, dbMs: outcome.dbMs });
    return toolError(
      outcome.kind === "deadline"
        ? `The query exceeded this tool's time limit of ${tool.limits.timeoutMs} ms.`
        : outcome.kind === "too_large"
          ? "The result was too large to transfer. Select fewer or shorter columns, filter, or aggregate in SQL."
          : "The database could not be reached. Try again later.",
    );
  }

  const data = shapeResult(outcome.result, tool.limits);
  const { bytes, ...structured } = data;
  finish({ outcome: "ok", rows: data.row_count, bytes, truncated: data.truncated, dbMs: outcome.dbMs });
  return { content: [{ type: "text", text: renderTable(tool.name, structured, randomId(8)) }], structuredContent: structured };
}
