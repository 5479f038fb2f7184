import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Caller } from "../caller";
import type { AuditCompletion, AuditEvent } from "../audit/event";
import { AuditUnavailable } from "../audit/unavailable";
import { callerFields } from "../audit/caller-fields";
import type { GuardPolicy, GuardResult } from "../guard/types";
import { describeTokenFailure, type TokenFailure } from "../oauth/errors";
import type { ToolDefinition } from "../policy/types";
import { randomId, sha256Hex } from "../lib/sha256";
import { bindArguments } from "./arguments";
import { sqlHashOf } from "./catalog";
import { mapSqlState } from "./pg-errors";
import type { CallerVerdict, PipelinePorts } from "./ports";
import { renderTable, shapeResult } from "./result";
import { readStatement, TOO_MANY_ROWS_SQLSTATE, wrappedSelect, type Statement } from "./statement";
import { prepareWrite, REFUSALS } from "./write-approval";
import { logFailure } from "../lib/background";

/** The request a call belongs to: who, from where, and the links its results may carry. */
export interface CallContext {
  caller: Caller;
  /** The gateway's issuer (origin), for links in results. */
  issuer: string;
  /** The W3C trace id the request carried, for the statement's comment. */
  traceId?: string;
  /** The execute_sql guard (guard/index.ts), injected so that the pipeline loads no WASM itself. */
  guard: (sql: string, policy: GuardPolicy) => Promise<GuardResult>;
}

/**
 * How a call ended. Only `result` is an MCP answer; the others are answered at the HTTP layer: `unauthorized` as
 * a 401 (`audited`: its intent row already records the refusal), `stale` by deciding again on the policy version
 * the caller-state read found.
 */
export type CallOutcome = { kind: "result"; result: CallToolResult } | { kind: "unauthorized"; failure: TokenFailure; audited: boolean } | { kind: "stale"; version: number };

export function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

const AUDIT_DOWN = "The call was refused because the audit log is unavailable. Nothing was run. Try again later.";

/** `claim`: an approved request to claim once the audit intent is durable (so a failure cannot spend it). */
export type Prepared = { ok: true; statement: Statement; claim?: string } | { ok: false; result: CallToolResult };

/**
 * One granted tool call, in one direction (docs/security.md steps 2–7):
 *   decided (by the caller: grant, scope, step-up) → rate limit, started now and awaited with the next round trip
 *   → prepare: credential binding, arguments, then the guard (execute_sql) or the approval (writes)
 *   → the audit intent, durably, in the same round trip as the caller-state read when the gate is deferred
 *   → execute on the tool's own credential → shape the result → complete the audit row off the response path.
 * Nothing runs unless the intent was written; an approval is claimed only after its intent is durable.
 */
export async function runToolCall(p: PipelinePorts, ctx: CallContext, tool: ToolDefinition, args: unknown): Promise<CallOutcome> {
  const started = p.clock.ms();
  const auditId = randomId();
  const event: AuditEvent = {
    id: auditId,
    time: new Date(started).toISOString(),
    event: "tool.call",
    outcome: "started",
    ...callerFields(ctx.caller),
    tool: tool.name,
    toolVersion: tool.version,
    dbRole: tool.dbRole,
    sqlText: tool.sql,
    paramCount: tool.bind.length,
  };
  // Per workspace, principal and tool, decided before any argument handling: its answer is awaited together with
  // the next round trip, never in series with it.
  const allowed = p.limiter.allow(tool);
  allowed.catch(() => undefined);
  const rateLimited = (): CallToolResult => toolError(`Rate limit reached: ${tool.name} allows ${tool.limits.ratePerMinute} calls per minute per user. Try again in up to 60 seconds.`);
  const rateRule = `rate_per_minute:${tool.limits.ratePerMinute}`;

  /** A call that ends before its intent: the caller is checked (a revoked one gets 401), then one row, off the response path. */
  const refuse = async (outcome: AuditEvent["outcome"], rule: string, message: string): Promise<CallOutcome> => {
    const [verdict, ok] = await Promise.all([p.gate.check(), allowed]);
    if (verdict.kind === "refused") return { kind: "unauthorized", failure: verdict.failure, audited: false };
    if (verdict.kind === "stale") return verdict;
    const row = { ...event, ...(verdict.clientName ? { clientName: verdict.clientName.slice(0, 200) } : {}) };
    if (!ok) {
      p.background(p.audit.recordBounded({ ...row, outcome: "rate_limited", rule: rateRule, durationMs: p.clock.ms() - started }).catch(logFailure("rate-limited call audit")));
      return { kind: "result", result: rateLimited() };
    }
    p.background(p.audit.record({ ...row, outcome, rule, durationMs: p.clock.ms() - started }).catch(logFailure("refused call audit")));
    return { kind: "result", result: toolError(message) };
  };

  // The deployment, not the stored policy, says which credential this workspace may use (policy/credentials.ts):
  // checked on every call, so a policy stored before a binding changed, or written around validation, runs nothing.
  const unusable = p.db.bindingProblem(ctx.caller.principal.workspace, tool);
  if (unusable || (tool.kind === "write") !== (tool.tier === "write")) {
    event.sqlHash = await sqlHashOf(tool);
    event.detail = unusable ?? `a ${tool.kind} tool on the ${tool.tier} tier`;
    return refuse("error", "credential_not_bound", `${tool.name} is not available: its database credential is not configured.`);
  }

  // The per-token login of a dynamic credential is derived, not looked up; it is named in the intent row.
  const login = p.db.login(tool);
  login.catch(() => undefined);

  const bound = bindArguments(tool, args, ctx.caller.principal);
  event.sqlHash = await sqlHashOf(tool);
  if (!bound.ok) return refuse("invalid_arguments", "input_schema", bound.message);
  event.params = bound.redacted;

  let prepared: Prepared;
  if (tool.kind === "read") {
    prepared = { ok: true, statement: readStatement(tool, bound.values, auditId, ctx.traceId) };
  } else if (tool.kind === "sql") {
    // The submitted SQL is what the audit must show (docs/audit.md); the guard decides before any database call.
    const sql = String((args as { sql: unknown }).sql);
    event.sqlText = sql;
    event.sqlHash = await sha256Hex(sql);
    event.params = {};
    const verdict = await ctx.guard(sql, { allowedRelations: tool.relations ?? [] });
    if (!verdict.ok) return refuse("blocked", `guard:${verdict.rule}`, `Refused by the SQL guard (${verdict.message}). Nothing was run.`);
    prepared = { ok: true, statement: wrappedSelect(sql, tool, [], auditId, ctx.traceId) };
  } else {
    // A write may file or read approvals: the caller and the rate limit are settled first (a gate that was not
    // checked yet costs its round trip here).
    const [verdict, ok] = await Promise.all([p.gate.check(), allowed]);
    if (verdict.kind !== "ok") return verdict.kind === "refused" ? { kind: "unauthorized", failure: verdict.failure, audited: false } : verdict;
    if (!ok) return refuse("rate_limited", rateRule, "");
    prepared = await prepareWrite(p, ctx, tool, bound.values, event, auditId);
  }
  if (!prepared.ok) return { kind: "result", result: prepared.result };
  if (!p.db.hasCredential(tool)) return refuse("error", "credential_missing", `${tool.name} is not available: its database credential is not configured.`);
  const dbLogin = await login;
  if (dbLogin) event.dbLogin = dbLogin;

  // The one round trip before the database: the audit intent (and, deferred, the caller-state read) with the
  // rate limit's answer. Fail closed: no durable intent, nothing runs.
  let verdict: CallerVerdict;
  let ok: boolean;
  try {
    [verdict, ok] = await Promise.all([p.gate.admit(event), allowed]);
  } catch (e) {
    if (e instanceof AuditUnavailable) return { kind: "result", result: toolError(AUDIT_DOWN) };
    throw e;
  }
  const finish = (c: Omit<AuditCompletion, "durationMs">) => {
    const done = { ...c, durationMs: p.clock.ms() - started };
    p.audit.finished?.({ ...event, ...done });
    p.background(p.audit.complete(auditId, done).catch(logFailure("call audit completion")));
  };
  if (verdict.kind === "refused") {
    finish({ outcome: "denied", rule: `token:${describeTokenFailure(verdict.failure)}` });
    return { kind: "unauthorized", failure: verdict.failure, audited: true };
  }
  if (verdict.kind === "stale") {
    finish({ outcome: "denied", rule: "policy_changed", detail: `decided on an older policy version; decided again on version ${verdict.version}` });
    return verdict;
  }
  if (!ok) {
    p.background(p.audit.throttled(event, { outcome: "rate_limited", rule: rateRule, durationMs: p.clock.ms() - started }).catch(logFailure("rate-limited call audit")));
    return { kind: "result", result: rateLimited() };
  }
  // The approval is spent only now, with its audit row durable: exactly one concurrent identical call wins.
  if (prepared.claim && !(await p.approvals.claim(prepared.claim, auditId, p.clock.seconds()))) {
    finish({ outcome: "denied", rule: "approval:already_used" });
    return { kind: "result", result: toolError(REFUSALS.already_used) };
  }

  const write = tool.kind === "write";
  const outcome = await p.db.execute(tool, prepared.statement);
  if (prepared.claim) p.background(p.approvals.finish(prepared.claim, outcome.ok ? "executed" : "failed").catch(logFailure("approval finish")));
  if (!outcome.ok) {
    if (write && outcome.kind === "db_error" && outcome.sqlstate === TOO_MANY_ROWS_SQLSTATE) {
      finish({ outcome: "error", rule: "max_affected_rows", sqlstate: outcome.sqlstate, dbMs: outcome.dbMs });
      return { kind: "result", result: toolError(`The change would affect more than ${tool.limits.maxAffectedRows ?? 1} row(s), this tool's limit; it was rolled back and nothing changed.`) };
    }
    if (outcome.kind === "db_error") {
      const mapped = mapSqlState(outcome.sqlstate, tool.limits);
      finish({ outcome: "error", rule: mapped.rule, sqlstate: outcome.sqlstate, dbMs: outcome.dbMs });
      return { kind: "result", result: toolError(mapped.message) };
    }
    if (outcome.kind === "revoked") {
      finish({ outcome: "error", rule: "credential_revoked", dbMs: outcome.dbMs });
      return { kind: "result", result: toolError(`Nothing was run: the database login of this access token was revoked. Sign in again to use ${tool.name}.`) };
    }
    if (outcome.kind === "login_failed") {
      finish({ outcome: "error", rule: "credential_unavailable", ...(outcome.sqlstate ? { sqlstate: outcome.sqlstate } : {}), dbMs: outcome.dbMs });
      return { kind: "result", result: toolError("Nothing was run: the database login for this call could not be set up. Try again later.") };
    }
    finish({ outcome: "error", rule: outcome.kind === "too_large" ? "result_too_large" : outcome.kind, dbMs: outcome.dbMs });
    return {
      kind: "result",
      result: toolError(
        outcome.kind === "deadline"
          ? `The query exceeded this tool's time limit of ${tool.limits.timeoutMs} ms.`
          : outcome.kind === "too_large"
            ? "The result was too large to transfer. Select fewer or shorter columns, filter, or aggregate in SQL."
            : "The database could not be reached. Try again later.",
      ),
    };
  }

  // A write reports only its changed-row count; the limit check column is the statement's own plumbing.
  const raw = write ? { fields: outcome.result.fields.slice(0, 1), rows: outcome.result.rows.map((r) => r.slice(0, 1)) } : outcome.result;
  const { bytes, ...structured } = shapeResult(raw, tool.limits);
  finish({ outcome: "ok", rows: structured.row_count, bytes, truncated: structured.truncated, dbMs: outcome.dbMs });
  return { kind: "result", result: { content: [{ type: "text", text: renderTable(tool.name, structured, randomId(8)) }], structuredContent: structured } };
}
