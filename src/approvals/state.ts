/** An approval request's lifecycle (README "Write tools and approvals"). `executing` is the claim that makes execution happen once. */
export type ApprovalStatus = "pending" | "approved" | "denied" | "executing" | "executed" | "failed";

export interface ApprovalView {
  id: string;
  status: ApprovalStatus;
  expires_at: number;
  tool_version: string;
  /** 1 once a denial or expiry has been reported to the requester. */
  refusal_reported?: number;
}

/** A stored approval request (the `approvals` table). */
export interface ApprovalRow extends ApprovalView {
  workspace_id: string;
  tool: string;
  args: string;
  args_hash: string;
  sql_text: string;
  approver_group: string;
  requester: string;
  session_id: string | null;
  client_id: string | null;
  created_at: number;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
  executed_at: number | null;
  execution_audit_id: string | null;
  refusal_reported: number;
  on_behalf_of: string | null;
}

/** Default lifetime of a request, pending or approved (seconds). */
export const APPROVAL_TTL_SECONDS = 30 * 60;

/**
 * What a write call with these exact arguments does, given the requester's latest request for them:
 * none yet → ask for approval; pending → still waiting; approved and unexpired → execute (once); anything else →
 * refused with the reason. A changed tool definition invalidates an approval: the approver saw other SQL. A
 * denied, expired or so invalidated request is reported once; after that the same call files a new request. A used
 * (executing, executed or failed) request refuses identical replays until its own expiry; after that the same call
 * is a new change and files a new request.
 */
export type WriteDecision =
  | { kind: "request" }
  | { kind: "wait"; id: string }
  | { kind: "execute"; id: string }
  | { kind: "refuse"; id: string; reason: "denied" | "expired" | "already_used" | "tool_changed" };

export function writeDecision(latest: ApprovalView | null, toolVersion: string, now: number): WriteDecision {
  if (!latest) return { kind: "request" };
  const expired = latest.expires_at <= now;
  switch (latest.status) {
    case "executing":
    case "executed":
    case "failed":
      return expired ? { kind: "request" } : { kind: "refuse", id: latest.id, reason: "already_used" };
  }
  if (latest.refusal_reported === 1) return { kind: "request" };
  switch (latest.status) {
    case "pending":
      return expired ? { kind: "refuse", id: latest.id, reason: "expired" } : { kind: "wait", id: latest.id };
    case "approved":
      if (latest.tool_version !== toolVersion) return { kind: "refuse", id: latest.id, reason: "tool_changed" };
      return expired ? { kind: "refuse", id: latest.id, reason: "expired" } : { kind: "execute", id: latest.id };
    case "denied":
      return { kind: "refuse", id: latest.id, reason: "denied" };
  }
}

/** Who may decide: a member of the tool's approver group, never the requester (README "Write tools and approvals"). */
export function mayDecide(approverGroups: readonly string[], group: string, approver: string, requester: string): boolean {
  return approver !== requester && approverGroups.includes(group);
}
