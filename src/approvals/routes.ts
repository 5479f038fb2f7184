import { Hono } from "hono";
import type { AppEnv } from "../env";
import { authenticate } from "../mcp/authenticate";
import { nowSeconds } from "../lib/clock";
import { APPROVE_SCOPE } from "../policy/tiers";
import { decideApproval } from "./decide";
import { getApproval, listApprovals, type ApprovalRow } from "./store-d1";

/**
 * Approvers' API (README "Write tools and approvals"): tokens with the gatehouse:approve scope. An approver sees and decides only requests
 * for their approver groups, never their own; each decision is audited with the request it decides.
 */
export const approvalRoutes = new Hono<AppEnv>();

approvalRoutes.use("*", authenticate);
approvalRoutes.use("*", async (c, next) => {
  if (!c.get("caller").claims.scope.split(" ").includes(APPROVE_SCOPE)) return c.json({ error: "insufficient_scope", error_description: "The gatehouse:approve scope is required." }, 403);
  await next();
});

function view(a: ApprovalRow, now: number) {
  return {
    id: a.id,
    tool: a.tool,
    tool_version: a.tool_version,
    status: a.status === "pending" && a.expires_at <= now ? "expired" : a.status,
    requester: a.requester,
    arguments: JSON.parse(a.args) as unknown,
    sql: a.sql_text,
    approver_group: a.approver_group,
    created_at: new Date(a.created_at * 1000).toISOString(),
    expires_at: new Date(a.expires_at * 1000).toISOString(),
    decided_by: a.decided_by,
    reason: a.reason,
    executed_at: a.executed_at === null ? null : new Date(a.executed_at * 1000).toISOString(),
    execution_audit_id: a.execution_audit_id,
  };
}

approvalRoutes.get("/", async (c) => {
  const caller = c.get("caller");
  const status = c.req.query("status");
  const rows = await listApprovals(c.env.DB, { ...(status ? { status } : {}), groups: caller.principal.groups, workspace: caller.principal.workspace, limit: 200 });
  return c.json({ approvals: rows.results.map((r) => view(r, nowSeconds())) });
});

approvalRoutes.get("/:id", async (c) => {
  const caller = c.get("caller");
  const a = await getApproval(c.env.DB, c.req.param("id"));
  if (!a || a.workspace_id !== caller.principal.workspace || !caller.principal.groups.includes(a.approver_group)) return c.json({ error: "not_found" }, 404);
  return c.json(view(a, nowSeconds()));
});

for (const decision of ["approve", "deny"] as const) {
  approvalRoutes.post(`/:id/${decision}`, async (c) => {
    const caller = c.get("caller");
    const body: unknown = await c.req.json().catch(() => ({}));
    const raw = typeof body === "object" && body !== null ? (body as { reason?: unknown }).reason : undefined;
    const reason = typeof raw === "string" ? raw.slice(0, 500) : null;
    const decider = { id: caller.principal.id, groups: caller.principal.groups, workspace: caller.principal.workspace };
    const r = await decideApproval(c, decider, c.req.param("id"), decision, reason);
    if (r.ok) return c.json(view(r.approval, nowSeconds()));
    switch (r.kind) {
      case "reason_required":
        return c.json({ error: "invalid_request", error_description: "A denial needs a reason." }, 400);
      case "not_found":
        return c.json({ error: "not_found" }, 404);
      case "requester_cannot_decide":
        return c.json({ error: "forbidden", error_description: "The requester (or the admin who created the requesting task) cannot decide this request." }, 403);
      case "conflict":
        return c.json({ error: "conflict", error_description: r.expired ? "The request expired." : `The request is already ${r.status}.` }, 409);
    }
  });
}
