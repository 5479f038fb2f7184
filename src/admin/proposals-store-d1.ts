/** Owns admin_proposals: the changes held for a second admin (proposals.ts), their transitions and guards. */
import type { ProposalKind, ProposalState, ProposalView } from "./two-person";

/** One row of `admin_proposals` (schema.sql). */
export interface ProposalRow extends ProposalView {
  id: string;
  kind: ProposalKind;
  payload: string;
  payload_hash: string;
  /** JSON {reasons: string[], changes: string[]}: why it is held and what it changes, as shown to the approver. */
  summary: string;
  created_at: number;
  state: ProposalState;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
}

export function insertProposalStatement(db: D1Database, p: Omit<ProposalRow, "state" | "decided_by" | "decided_at" | "reason">): D1PreparedStatement {
  return db
    .prepare(
      "INSERT INTO admin_proposals (id, workspace_id, kind, payload, payload_hash, summary, base_version, proposer, created_at, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
    )
    .bind(p.id, p.workspace_id, p.kind, p.payload, p.payload_hash, p.summary, p.base_version, p.proposer, p.created_at, p.expires_at);
}

export function getProposal(db: D1Database, id: string): Promise<ProposalRow | null> {
  return db.prepare("SELECT * FROM admin_proposals WHERE id = ?").bind(id).first<ProposalRow>();
}

/** A workspace's proposals, newest first (pending ones whatever their age, then the decided history). */
export async function listProposals(db: D1Database, workspace: string, limit = 100): Promise<ProposalRow[]> {
  const rows = await db.prepare("SELECT * FROM admin_proposals WHERE workspace_id = ? ORDER BY state = 'pending' DESC, created_at DESC, rowid DESC LIMIT ?").bind(workspace, limit).all<ProposalRow>();
  return rows.results;
}

/** Pending proposals of a workspace already past their expiry (recorded as expired by the caller). */
export async function expiredPending(db: D1Database, workspace: string, now: number): Promise<ProposalRow[]> {
  return (await db.prepare("SELECT * FROM admin_proposals WHERE workspace_id = ? AND state = 'pending' AND expires_at <= ? LIMIT 50").bind(workspace, now).all<ProposalRow>()).results;
}

/** Closes a pending proposal (denied, expired or stale); changes one row only for the transition that takes effect. */
export function closeProposalStatement(db: D1Database, id: string, state: "denied" | "expired" | "stale", by: string | null, reason: string | null, now: number): D1PreparedStatement {
  return db.prepare("UPDATE admin_proposals SET state = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ? AND state = 'pending'").bind(state, by, now, reason, id);
}

/**
 * The approval's claim, for the same batch as what it applies: marks the proposal applied only while it is
 * pending, unexpired, not the approver's own, and the workspace's policy head is `expectedHead` as seen at this
 * point of the batch (for a policy, after the new version's insert: base + 1; for a task client: base). The
 * second statement aborts the whole batch when the claim changed no row (inserting a row with a NULL key fails
 * its NOT NULL constraint), so nothing is applied twice, late, by the proposer, or over a policy that moved.
 */
export function claimProposalStatements(db: D1Database, p: { id: string; workspace: string; by: string; now: number; expectedHead: number }): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `UPDATE admin_proposals SET state = 'applied', decided_by = ?1, decided_at = ?2
         WHERE id = ?3 AND state = 'pending' AND expires_at > ?2 AND proposer <> ?1
           AND (SELECT COALESCE(MAX(version), 0) FROM policy_versions WHERE workspace_id = ?4) = ?5`,
      )
      .bind(p.by, p.now, p.id, p.workspace, p.expectedHead),
    db.prepare("INSERT INTO admin_proposals (id) SELECT NULL WHERE changes() = 0"),
  ];
}

/**
 * Aborts the batch it is part of unless the workspace's policy head is `expected` at that point of it (same NULL-key
 * abort as claimProposalStatements): an unheld apply must not land on a head that moved since it was checked.
 */
export function abortUnlessHeadStatement(db: D1Database, workspace: string, expected: number): D1PreparedStatement {
  return db.prepare("INSERT INTO admin_proposals (id) SELECT NULL WHERE (SELECT COALESCE(MAX(version), 0) FROM policy_versions WHERE workspace_id = ?) <> ?").bind(workspace, expected);
}

/** Pending, unexpired proposals of a workspace (the console overview's count); read in the caller's batch. */
export function pendingProposalCountStatement(db: D1Database, workspace: string, now: number): D1PreparedStatement {
  return db.prepare("SELECT COUNT(*) AS n FROM admin_proposals WHERE workspace_id = ? AND state = 'pending' AND expires_at > ?").bind(workspace, now);
}
