import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Bindings, Caller } from "../env";
import { readSecret } from "../env";
import { credentialProblem, credentialsFrom } from "../policy/credentials";
import type { ToolDefinition } from "../policy/types";
import type { AuditCompletion, AuditEvent, RequestContext } from "../audit/event";
import { AuditUnavailable, completeAudit, recordAudit } from "../audit/store-d1";
import { randomId, sha256Hex } from "../lib/sha256";
import { bindArguments } from "./arguments";
import { mapSqlState } from "./pg-errors";
import { renderTable, shapeResult } from "./result";
import { readStatement, TOO_MANY_ROWS_SQLSTATE, wrappedSelect, writeStatement, type Statement } from "./statement";
import { configureNeon, runReadOnly, runWrite } from "./neon";
import { guardSql } from "../guard/index";
import { canonicalJson } from "../lib/canonical-json";
import { nowSeconds } from "../lib/clock";
import { APPROVAL_TTL_SECONDS, writeDecision } from "../approvals/state";
import { claimApproval, finishApproval, insertApproval, latestApproval, markRefusalReported } from "../approvals/store-d1";
import { approvalConsoleUrl, pendingResult } from "../approvals/pending-result";
import { callerFields } from "../mcp/audit";

export interface CallDeps {
  env: Bindings;
  /** The gateway's issuer (origin), for links in results. */
  issuer: string;
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
    ...callerFields(caller),
    tool: tool.name,
    toolVersion: tool.version,
    dbRole: tool.dbRole,
    sqlText: tool.sql,
  };
}

/** `claim`: an approved request to claim once the audit intent is durable (so a failure cannot spend it). */
type Prepared = { ok: true; statement: Statement; claim?: string } | { ok: false; result: CallToolResult };

const REFUSALS = {
  denied: "The approver denied this request. Nothing was run; calling again files a new request.",
  expired: "The approval for this request expired. Nothing was run; call again to ask for a new approval.",
  already_used: "This approved request was already executed (an approval runs once). Nothing was run again.",
  tool_changed: "The tool changed after the request was approved; the approval no longer applies. Nothing was run; call again to ask for a new approval.",
} as const;

/**
 * Runs a granted read or guarded-SQL tool (docs/security.md steps 2–7): validate and bind arguments (and, for
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

  // The deployment, not the stored policy, says which credential this workspace may use (policy/credentials.ts):
  // checked on every call, so a policy stored before a binding changed, or written around validation, runs nothing.
  const credentials = credentialsFrom(deps.env);
  const unusable = credentials.ok ? credentialProblem(credentials.bindings, caller.principal.workspace, tool.secret, tool.tier) : { message: credentials.message };
  if (unusable || (tool.kind === "write") !== (tool.tier === "write")) {
    event.sqlHash = await sha256Hex(tool.sql);
    event.detail = unusable?.message ?? `a ${tool.kind} tool on the ${tool.tier} tier`;
    return refuse("error", "credential_not_bound", `${tool.name} is not available: its database credential is not configured.`).result;
  }

  const bound = bindArguments(tool, args, caller.principal);
  if (!bound.ok) {
    event.sqlHash = await sha256Hex(tool.sql);
    return refuse("invalid_arguments", "input_schema", bound.message).result;
  }
  event.params = bound.redacted;

  let prepared: Prepared;
  if (tool.kind === "read") {
    event.sqlHash = await sha256Hex(tool.sql);
    prepared = { ok: true, statement: readStatement(tool, bound.values, auditId, deps.request.traceId) };
  } else if (tool.kind === "sql") {
    // The submitted SQL is what the audit must show (docs/audit.md); the guard decides before any database call.
    const sql = String((args as { sql: unknown }).sql);
    event.sqlText = sql;
    event.sqlHash = await sha256Hex(sql);
    event.params = {};
    const verdict = await guardSql(sql, { allowedRelations: tool.relations ?? [] });
    prepared = verdict.ok ? { ok: true, statement: wrappedSelect(sql, tool, [], auditId, deps.request.traceId) } : refuse("blocked", `guard:${verdict.rule}`, `Refused by the SQL guard (${verdict.message}). Nothing was run.`);
  } else {
    event.sqlHash = await sha256Hex(tool.sql);
    prepared = await prepareWrite(deps, caller, tool, bound.values, event, auditId, refuse);
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
  // The approval is spent only now, with its audit row durable: exactly one concurrent identical call wins.
  if (prepared.claim && !(await claimApproval(deps.env.DB, prepared.claim, auditId, nowSeconds()))) {
    finish({ outcome: "denied", rule: "approval:already_used" });
    return toolError(REFUSALS.already_used);
  }

  configureNeon(deps.neonLocalEndpoint);
  const write = tool.kind === "write";
  const outcome = await (write ? runWrite : runReadOnly)(connectionString, prepared.statement, tool.limits.timeoutMs, deps.now);
  if (prepared.claim) deps.waitUntil(finishApproval(deps.env.DB, prepared.claim, outcome.ok ? "executed" : "failed").catch(() => undefined));
  if (!outcome.ok) {
    if (write && outcome.kind === "db_error" && outcome.sqlstate === TOO_MANY_ROWS_SQLSTATE) {
      finish({ outcome: "error", rule: "max_affected_rows", sqlstate: outcome.sqlstate, dbMs: outcome.dbMs });
      return toolError(`The change would affect more than ${tool.limits.maxAffectedRows ?? 1} row(s), this tool's limit; it was rolled back and nothing changed.`);
    }
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

  // A write reports only its changed-row count; the limit check column is the statement's own plumbing.
  const raw = write ? { fields: outcome.result.fields.slice(0, 1), rows: outcome.result.rows.map((r) => r.slice(0, 1)) } : outcome.result;
  const data = shapeResult(raw, tool.limits);
  const { bytes, ...structured } = data;
  finish({ outcome: "ok", rows: data.row_count, bytes, truncated: data.truncated, dbMs: outcome.dbMs });
  return { content: [{ type: "text", text: renderTable(tool.name, structured, randomId(8)) }], structuredContent: structured };
}

/**
 * A write call (README "Write tools and approvals"): without approval it runs directly; with approval the requester's latest request for
 * these exact bound values decides — ask, wait, run once, or refuse. The claim before running is atomic, so
 * concurrent identical calls execute once in total.
 */
async function prepareWrite(
  deps: CallDeps,
  caller: Caller,
  tool: ToolDefinition,
  values: unknown[],
  event: AuditEvent,
  auditId: string,
  refuse: (outcome: AuditEvent["outcome"], rule: string, message: string) => { ok: false; result: CallToolResult },
): Promise<Prepared> {
  const statement = writeStatement(tool, values, auditId, deps.request.traceId);
  if (!tool.requiresApproval) return { ok: true, statement };
  const now = nowSeconds();
  const args = canonicalJson(Object.fromEntries(tool.bind.map((name, i) => [name, values[i] ?? null])));
  const argsHash = await sha256Hex(args);
  const key = { workspace: caller.principal.workspace, tool: tool.name, requester: caller.principal.id, argsHash };
  const decision = writeDecision(await latestApproval(deps.env.DB, key), tool.version, now);
  const group = tool.approverGroup ?? "approvers";
  if (decision.kind !== "request") event.approvalId = decision.id;
  switch (decision.kind) {
    case "request": {
      const id = randomId();
      const onBehalfOf = caller.principal.kind === "task" ? await taskCreator(deps.env.DB, caller.claims.client_id) : null;
      const filed = await insertApproval(deps.env.DB, {
        id, workspace_id: key.workspace, tool: tool.name, tool_version: tool.version, args, args_hash: argsHash, sql_text: tool.sql, approver_group: group,
        requester: key.requester, session_id: caller.claims.sid, client_id: caller.claims.client_id, status: "pending", created_at: now, expires_at: now + APPROVAL_TTL_SECONDS, on_behalf_of: onBehalfOf,
      });
      if (!filed) {
        // An identical first call won the race to file the request: this one waits on it.
        const open = await latestApproval(deps.env.DB, key);
        event.approvalId = open?.id;
        deps.waitUntil(recordAudit(deps.env.DB, { ...event, outcome: "pending_approval", rule: "awaiting_decision" }, deps.request).catch(() => undefined));
        return { ok: false, result: pendingResult({ id: open?.id ?? id, tool: tool.name, approverGroup: group, expiresAt: open?.expires_at ?? now, issuer: deps.issuer, created: false }) };
      }
      deps.waitUntil(recordAudit(deps.env.DB, { ...event, outcome: "pending_approval", rule: "approval_requested", approvalId: id }, deps.request).catch(() => undefined));
      notifyWebhook(deps, { approval_id: id, url: approvalConsoleUrl(deps.issuer, id), tool: tool.name, requester: key.requester, approver_group: group, expires_at: new Date((now + APPROVAL_TTL_SECONDS) * 1000).toISOString() });
      return { ok: false, result: pendingResult({ id, tool: tool.name, approverGroup: group, expiresAt: now + APPROVAL_TTL_SECONDS, issuer: deps.issuer, created: true }) };
    }
    case "wait": {
      deps.waitUntil(recordAudit(deps.env.DB, { ...event, outcome: "pending_approval", rule: "awaiting_decision", approvalId: decision.id }, deps.request).catch(() => undefined));
      const latest = await latestApproval(deps.env.DB, key);
      return { ok: false, result: pendingResult({ id: decision.id, tool: tool.name, approverGroup: group, expiresAt: latest?.expires_at ?? now, issuer: deps.issuer, created: false }) };
    }
    case "refuse":
      // Reported once; then the request is closed and the same call files a new one. A used one stays used.
      if (decision.reason !== "already_used") await markRefusalReported(deps.env.DB, decision.id);
      return refuse("denied", `approval:${decision.reason}`, REFUSALS[decision.reason]);
    case "execute":
      return { ok: true, statement, claim: decision.id };
  }
}

/** The admin who created a task client: a task's write request may not be approved by them (two people). */
async function taskCreator(db: D1Database, clientId: string): Promise<string | null> {
  const row = await db.prepare("SELECT created_by FROM oauth_clients WHERE client_id = ? AND kind = 'task'").bind(clientId).first<{ created_by: string | null }>();
  return row?.created_by ?? null;
}

/** Optional webhook on each new request (APPROVAL_WEBHOOK_URL): ids, names and the console deep link, never argument values. */
function notifyWebhook(deps: CallDeps, body: Record<string, string>): void {
  const url = deps.env.APPROVAL_WEBHOOK_URL;
  if (!url) return;
  deps.waitUntil(fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ event: "approval.requested", ...body }) }).catch(() => undefined));
}
