/**
 * Reads of the policy tables for admin pages, the console and the dev routes. The policy tables (policy_versions,
 * principals, group_members, tools, grants) are owned by the policy store: writes and the call path's snapshot
 * reads live in store-d1.ts, these listings and lookups here; nothing else prepares SQL over them.
 */

export interface PolicyVersionRow {
  version: number;
  hash: string;
  applied_at: string;
  applied_by: string;
}

/** The workspace's head version with its stored document (null before the first policy). */
export function headPolicyDocument(db: D1Database, workspace: string): Promise<(PolicyVersionRow & { document: string }) | null> {
  return db.prepare("SELECT version, hash, applied_at, applied_by, document FROM policy_versions WHERE workspace_id = ? ORDER BY version DESC LIMIT 1").bind(workspace).first();
}

/** The workspace's head version number (0 before the first policy). */
export async function headPolicyVersion(db: D1Database, workspace: string): Promise<number> {
  return (await db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM policy_versions WHERE workspace_id = ?").bind(workspace).first<{ v: number }>())?.v ?? 0;
}

/** The newest `limit` versions of a workspace, newest first, without their documents. */
export async function policyVersions(db: D1Database, workspace: string, limit: number): Promise<PolicyVersionRow[]> {
  return (await db.prepare("SELECT version, hash, applied_at, applied_by FROM policy_versions WHERE workspace_id = ? ORDER BY version DESC LIMIT ?").bind(workspace, limit).all<PolicyVersionRow>())
    .results;
}

/** The stored documents of the given versions (at most two: a version and the one it replaced). */
export async function policyDocuments(db: D1Database, workspace: string, a: number, b: number): Promise<Array<{ version: number; document: string }>> {
  return (await db.prepare("SELECT version, document FROM policy_versions WHERE workspace_id = ? AND version IN (?, ?)").bind(workspace, a, b).all<{ version: number; document: string }>()).results;
}

/** Whether any workspace has a policy (the bootstrap closes once one has). */
export async function anyPolicyApplied(db: D1Database): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM policy_versions LIMIT 1").first()) !== null;
}

/** Whether `id` is a principal of the workspace's applied policy. */
export async function isPrincipal(db: D1Database, workspace: string, id: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM principals WHERE workspace_id = ? AND id = ?").bind(workspace, id).first()) !== null;
}

/** A principal by id, in `workspace` when given, else in any workspace (the dev token route). */
export function findPrincipal(db: D1Database, id: string, workspace: string | null): Promise<{ workspace_id: string; kind: "user" | "task"; email: string | null } | null> {
  return db.prepare("SELECT workspace_id, kind, email FROM principals WHERE id = ? AND (? IS NULL OR workspace_id = ?) LIMIT 1").bind(id, workspace, workspace).first();
}

/** The task principals of a workspace (ids), for the console's task-client form; read in the caller's batch. */
export function taskPrincipalsStatement(db: D1Database, workspace: string): D1PreparedStatement {
  return db.prepare("SELECT id FROM principals WHERE workspace_id = ? AND kind = 'task' ORDER BY id").bind(workspace);
}

/** The tools of a workspace (name, kind) in policy order; read in the caller's batch. */
export function toolNamesStatement(db: D1Database, workspace: string): D1PreparedStatement {
  return db.prepare("SELECT name, kind FROM tools WHERE workspace_id = ? ORDER BY ordinal").bind(workspace);
}

/** The tool's `bind` list if its current version is the one requested (else the mapping is not claimed). */
export async function bindOfVersion(db: D1Database, workspace: string, tool: string, version: string): Promise<string[] | null> {
  const row = await db.prepare("SELECT definition FROM tools WHERE workspace_id = ? AND name = ? AND version = ?").bind(workspace, tool, version).first<{ definition: string }>();
  if (!row) return null;
  const bind = (JSON.parse(row.definition) as { bind?: unknown }).bind;
  return Array.isArray(bind) && bind.every((b) => typeof b === "string") ? bind : null;
}
