import type { AuditEvent } from "../audit/event";
import type { ToolDefinition } from "../policy/types";
import { APPROVAL_TTL_SECONDS, writeDecision } from "../approvals/state";
import { approvalConsoleUrl, pendingResult } from "../approvals/pending-result";
import { canonicalJson } from "../lib/canonical-json";
import { randomId, sha256Hex } from "../lib/sha256";
import type { CallContext, Prepared } from "./pipeline";
import type { PipelinePorts } from "./ports";
import { writeStatement } from "./statement";
import { logFailure } from "../lib/background";

export const REFUSALS = {
  denied: "The approver denied this request. Nothing was run; calling again files a new request.",
  expired: "The approval for this request expired. Nothing was run; call again to ask for a new approval.",
  already_used: "This approved request was already executed (an approval runs once). Nothing was run again.",
  tool_changed: "The tool changed after the request was approved; the approval no longer applies. Nothing was run; call again to ask for a new approval.",
} as const;

const toolError = (text: string) => ({ content: [{ type: "text" as const, text }], isError: true });

/**
 * The prepare stage of a write call (README "Write tools and approvals"): without approval it runs directly;
 * with approval the requester's latest request for these exact bound values decides — ask, wait, run once, or
 * refuse. Only `execute` continues to the intent; the claim itself comes after the intent is durable
 * (pipeline.ts), so concurrent identical calls execute once in total. Round trips: one read of the latest
 * request, plus one insert when a request is filed (and a task's creator read), or one update when a refusal is
 * reported; none more while it waits.
 */
export async function prepareWrite(p: PipelinePorts, ctx: CallContext, tool: ToolDefinition, values: unknown[], event: AuditEvent, auditId: string): Promise<Prepared> {
  const statement = writeStatement(tool, values, auditId, ctx.traceId);
  if (!tool.requiresApproval) return { ok: true, statement };
  const { caller, issuer } = ctx;
  const now = p.clock.seconds();
  const args = canonicalJson(Object.fromEntries(tool.bind.map((name, i) => [name, values[i] ?? null])));
  const argsHash = await sha256Hex(args);
  const key = { workspace: caller.principal.workspace, tool: tool.name, requester: caller.principal.id, argsHash };
  const latest = await p.approvals.latest(key);
  const decision = writeDecision(latest, tool.version, now);
  const group = tool.approverGroup ?? "approvers";
  if (decision.kind !== "request") event.approvalId = decision.id;
  const pending = (row: Partial<AuditEvent>) => p.background(p.audit.record({ ...event, outcome: "pending_approval", ...row }).catch(logFailure("approval pending audit")));
  switch (decision.kind) {
    case "request": {
      const id = randomId();
      const onBehalfOf = caller.principal.kind === "task" ? await p.approvals.taskCreator(caller.claims.client_id) : null;
      const filed = await p.approvals.file({
        id,
        workspace_id: key.workspace,
        tool: tool.name,
        tool_version: tool.version,
        args,
        args_hash: argsHash,
        sql_text: tool.sql,
        approver_group: group,
        requester: key.requester,
        session_id: caller.claims.sid,
        client_id: caller.claims.client_id,
        status: "pending",
        created_at: now,
        expires_at: now + APPROVAL_TTL_SECONDS,
        on_behalf_of: onBehalfOf,
      });
      if (!filed) {
        // An identical first call won the race to file the request: this one waits on it.
        const open = await p.approvals.latest(key);
        if (open?.id !== undefined) event.approvalId = open.id;
        pending({ rule: "awaiting_decision" });
        return { ok: false, result: pendingResult({ id: open?.id ?? id, tool: tool.name, approverGroup: group, expiresAt: open?.expires_at ?? now, issuer, created: false }) };
      }
      pending({ rule: "approval_requested", approvalId: id });
      p.notify({
        approval_id: id,
        url: approvalConsoleUrl(issuer, id),
        tool: tool.name,
        requester: key.requester,
        approver_group: group,
        expires_at: new Date((now + APPROVAL_TTL_SECONDS) * 1000).toISOString(),
      });
      return { ok: false, result: pendingResult({ id, tool: tool.name, approverGroup: group, expiresAt: now + APPROVAL_TTL_SECONDS, issuer, created: true }) };
    }
    case "wait": {
      pending({ rule: "awaiting_decision", approvalId: decision.id });
      return { ok: false, result: pendingResult({ id: decision.id, tool: tool.name, approverGroup: group, expiresAt: latest?.expires_at ?? now, issuer, created: false }) };
    }
    case "refuse":
      // Reported once; then the request is closed and the same call files a new one. A used one stays used.
      if (decision.reason !== "already_used") await p.approvals.markRefusalReported(decision.id);
      p.background(p.audit.record({ ...event, outcome: "denied", rule: `approval:${decision.reason}`, durationMs: p.clock.ms() - Date.parse(event.time) }).catch(logFailure("approval refusal audit")));
      return { ok: false, result: toolError(REFUSALS[decision.reason]) };
    case "execute":
      return { ok: true, statement, claim: decision.id };
  }
}
