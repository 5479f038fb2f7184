import type { Context } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { oauthAuditStatement, recordOAuthEvent } from "../oauth/audit";
import { mayDecide } from "./state";
import { decideApprovalStatement, getApproval, type ApprovalRow } from "./store-d1";

/** Who is deciding: the principal, their groups (policy and IdP) and the workspace of their token or session. */
export interface Decider {
  id: string;
  groups: readonly string[];
  workspace: string;
}

/** A request is visible only in its workspace and only to members of its approver group. */
export function visibleTo(a: ApprovalRow | null, d: Decider): a is ApprovalRow {
  return a !== null && a.workspace_id === d.workspace && d.groups.includes(a.approver_group);
}

export type DecisionResult =
  | { ok: true; approval: ApprovalRow }
  | { ok: false; kind: "reason_required" | "not_found" | "requester_cannot_decide" }
  | { ok: false; kind: "conflict"; expired: boolean; status: string };

/**
 * Approves or denies one request (README "Write tools and approvals"), for the admin API and the console alike: a member of the request's
 * approver group, never the requester (nor the admin who created a requesting task); a denial needs a reason.
 * Every refusal after the request is found is audited; a decision commits with its audit row.
 */
export async function decideApproval(c: Context<AppEnv>, d: Decider, id: string, decision: "approve" | "deny", reason: string | null): Promise<DecisionResult> {
  if (decision === "deny" && !reason) return { ok: false, kind: "reason_required" };
  const a = await getApproval(c.env.DB, id);
  if (!visibleTo(a, d)) return { ok: false, kind: "not_found" };
  const base = { principal: d.id, workspace: a.workspace_id, approvalId: a.id, tool: a.tool, detail: `${a.id} ${a.tool} requested by ${a.requester}` };
  if (!mayDecide([...d.groups], a.approver_group, d.id, a.requester) || d.id === a.on_behalf_of) {
    await recordOAuthEvent(c, { event: `approval.${decision}`, outcome: "denied", rule: "requester_cannot_decide", ...base });
    return { ok: false, kind: "requester_cannot_decide" };
  }
  const now = nowSeconds();
  const status = decision === "approve" ? "approved" : "denied";
  // The decision and its audit row commit together: the row is written only if the decision took effect, and a
  // row that cannot be written undoes the decision (docs/audit.md: no decision without its record).
  const [decided] = await c.env.DB.batch([
    decideApprovalStatement(c.env.DB, a.id, status, d.id, reason, now),
    oauthAuditStatement(c, { event: `approval.${status}`, outcome: "ok", ...base, ...(reason ? { detail: `${base.detail}: ${reason}` } : {}) }, { ifChanged: true }),
  ]);
  if ((decided?.meta.changes ?? 0) !== 1) {
    const expired = a.status === "pending" && a.expires_at <= now;
    await recordOAuthEvent(c, { event: `approval.${decision}`, outcome: "denied", rule: expired ? "expired" : `already_${a.status}`, ...base });
    return { ok: false, kind: "conflict", expired, status: a.status };
  }
  return { ok: true, approval: { ...a, status, decided_by: d.id, decided_at: now, reason } };
}
