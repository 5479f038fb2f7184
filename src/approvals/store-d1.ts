/** Owns approvals: requests for a write tool call held for an approver, their decisions and execution claims. */
import type { ApprovalRow, ApprovalStatus } from "./state";

export type { ApprovalRow };

export function latestApproval(db: D1Database, q: { workspace: string; tool: string; requester: string; argsHash: string }): Promise<ApprovalRow | null> {
  return db
    .prepare("SELECT * FROM approvals WHERE workspace_id = ? AND tool = ? AND requester = ? AND args_hash = ? ORDER BY created_at DESC, rowid DESC LIMIT 1")
    .bind(q.workspace, q.tool, q.requester, q.argsHash)
    .first<ApprovalRow>();
}

/** Files a request; `false` when an open one already exists for the same requester, tool and arguments. */
export async function insertApproval(db: D1Database, a: Omit<ApprovalRow, "decided_by" | "decided_at" | "reason" | "executed_at" | "execution_audit_id" | "refusal_reported">): Promise<boolean> {
  const res = await db
    .prepare(
      "INSERT OR IGNORE INTO approvals (id, workspace_id, tool, tool_version, args, args_hash, sql_text, approver_group, requester, session_id, client_id, status, created_at, expires_at, on_behalf_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(a.id, a.workspace_id, a.tool, a.tool_version, a.args, a.args_hash, a.sql_text, a.approver_group, a.requester, a.session_id, a.client_id, a.status, a.created_at, a.expires_at, a.on_behalf_of)
    .run();
  return (res.meta.changes ?? 0) === 1;
}

export async function markRefusalReported(db: D1Database, id: string): Promise<void> {
  await db.prepare("UPDATE approvals SET refusal_reported = 1 WHERE id = ?").bind(id).run();
}

export function getApproval(db: D1Database, id: string): Promise<ApprovalRow | null> {
  return db.prepare("SELECT * FROM approvals WHERE id = ?").bind(id).first<ApprovalRow>();
}

/**
 * Decides a pending, unexpired request, once: the statement changes one row only for the decision that takes
 * effect. Returned unrun so the caller can batch it with the decision's audit row (one transaction).
 */
export function decideApprovalStatement(db: D1Database, id: string, status: "approved" | "denied", by: string, reason: string | null, now: number): D1PreparedStatement {
  return db.prepare("UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ? AND status = 'pending' AND expires_at > ?").bind(status, by, now, reason, id, now);
}

/**
 * Claims an approved request for execution. The conditional update is atomic in D1, so of any number of
 * concurrent identical calls exactly one gets `true` and runs the statement.
 */
export async function claimApproval(db: D1Database, id: string, auditId: string, now: number): Promise<boolean> {
  const res = await db
    .prepare("UPDATE approvals SET status = 'executing', executed_at = ?, execution_audit_id = ? WHERE id = ? AND status = 'approved' AND expires_at > ?")
    .bind(now, auditId, id, now)
    .run();
  return (res.meta.changes ?? 0) === 1;
}

export async function finishApproval(db: D1Database, id: string, status: Extract<ApprovalStatus, "executed" | "failed">): Promise<void> {
  await db.prepare("UPDATE approvals SET status = ? WHERE id = ? AND status = 'executing'").bind(status, id).run();
}

export function listApprovals(db: D1Database, q: { status?: string; groups: string[]; workspace: string; limit: number }): Promise<D1Result<ApprovalRow>> {
  return db
    .prepare("SELECT * FROM approvals WHERE workspace_id = ? AND (? IS NULL OR status = ?) AND approver_group IN (SELECT value FROM json_each(?)) ORDER BY created_at DESC LIMIT ?")
    .bind(q.workspace, q.status ?? null, q.status ?? null, JSON.stringify(q.groups), q.limit)
    .all<ApprovalRow>();
}

/** The admin who created a task client: a task's write request may not be approved by them (two people). */
export async function taskClientCreator(db: D1Database, clientId: string): Promise<string | null> {
  const row = await db.prepare("SELECT created_by FROM oauth_clients WHERE client_id = ? AND kind = 'task'").bind(clientId).first<{ created_by: string | null }>();
  return row?.created_by ?? null;
}

/** Pending, unexpired approval requests of a workspace (the console overview's count); read in the caller's batch. */
export function pendingApprovalCountStatement(db: D1Database, workspace: string, now: number): D1PreparedStatement {
  return db.prepare("SELECT COUNT(*) AS n FROM approvals WHERE workspace_id = ? AND status = 'pending' AND expires_at > ?").bind(workspace, now);
}

/**
 * Requests in a workspace for the given approver groups (null: every group, for an admin). Pending ones (still
 * decidable) soonest expiry first; the rest, newest decision first.
 */
export async function consoleApprovals(db: D1Database, workspace: string, groups: string[] | null, now: number): Promise<{ pending: ApprovalRow[]; decided: ApprovalRow[] }> {
  const scope = "workspace_id = ?1 AND (?2 IS NULL OR approver_group IN (SELECT value FROM json_each(?2)))";
  const g = groups === null ? null : JSON.stringify(groups);
  const [pending, decided] = await db.batch<ApprovalRow>([
    db.prepare(`SELECT * FROM approvals WHERE ${scope} AND status = 'pending' AND expires_at > ?3 ORDER BY expires_at ASC LIMIT 200`).bind(workspace, g, now),
    db.prepare(`SELECT * FROM approvals WHERE ${scope} AND NOT (status = 'pending' AND expires_at > ?3) ORDER BY COALESCE(decided_at, created_at) DESC LIMIT 50`).bind(workspace, g, now),
  ]);
  return { pending: pending?.results ?? [], decided: decided?.results ?? [] };
}
